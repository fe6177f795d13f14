//! The command line, end to end: `info`, `synth`, `eval`, and errors.

mod common;

use std::process::Command;

use serde_json::Value;

fn leukotrack(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leukotrack")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn info_json_on_the_fixture() {
    let path = common::fixtures().join("two_photon_2ch.tif");
    let (ok, out, err) = leukotrack(&["info", path.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["shape"], serde_json::json!({"t": 12, "c": 2, "z": 16, "y": 128, "x": 128}));
    assert_eq!(v["dtype"], "uint16");
    assert_eq!(v["voxel_size_um"], serde_json::json!({"x": 0.8, "y": 0.8, "z": 3.0}));
    assert_eq!(v["frame_interval_s"], 30.0);
    assert_eq!(v["calibrated"], true);
}

#[test]
fn info_reports_missing_calibration_and_takes_overrides() {
    let path = common::shared_data().join("tiff-layouts/plain_pages.tif");
    let p = path.to_str().unwrap();
    let (ok, out, _) = leukotrack(&["info", p, "--json"]);
    assert!(ok);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["calibrated"], false);
    assert_eq!(v["voxel_size_um"]["x"], Value::Null);
    assert_eq!(v["frame_interval_s"], Value::Null);
    let (ok, out, err) = leukotrack(&[
        "info",
        p,
        "--shape",
        "3,2,4",
        "--voxel-size",
        "0.6,0.6,2.5",
        "--frame-interval",
        "30",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["shape"]["t"], 3);
    assert_eq!(v["shape"]["c"], 2);
    assert_eq!(v["voxel_size_um"]["z"], 2.5);
    assert_eq!(v["calibration_source"]["z"], "user");
    assert_eq!(v["calibrated"], true);
    // Text form warns on stderr.
    let (ok, _, err) = leukotrack(&["info", p]);
    assert!(ok && err.contains("--voxel-size"), "{err}");
}

#[test]
fn errors_are_one_line_naming_the_cause() {
    let (ok, _, err) = leukotrack(&["info", "no/such/file.tif"]);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no/such/file.tif"), "{err}");
    let path = common::fixtures().join("two_photon_2ch.tif");
    let (ok, _, err) = leukotrack(&["info", path.to_str().unwrap(), "--voxel-size", "0.8,0.8"]);
    assert!(!ok && err.contains("voxel-size"), "{err}");
    let (ok, _, err) = leukotrack(&["info", path.to_str().unwrap(), "--page-order", "czz"]);
    assert!(!ok && err.contains("page-order"), "{err}");
    let readme = common::fixtures().join("make.sh");
    let (ok, _, err) = leukotrack(&["info", readme.to_str().unwrap()]);
    assert!(!ok && err.contains("not a TIFF"), "{err}");
}

#[test]
fn synth_then_eval_scores_truth_as_perfect() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, _, err) = leukotrack(&[
        "synth",
        "-o",
        d,
        "--frames",
        "4",
        "--size",
        "128,128,12",
        "--seed",
        "3",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let gt = dir.path().join("ground_truth.csv");
    let gt = gt.to_str().unwrap();
    let (ok, out, err) = leukotrack(&["eval", "--truth", gt, "--detections", gt, "--json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["n_truth"].as_u64().unwrap() > 4, "{v}");
    assert_eq!(v["f1"], 1.0);
    assert_eq!(v["rmse_xy_um"], 0.0);
    let (ok, out, err) = leukotrack(&["eval", "--truth", gt, "--tracks", gt, "--json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["link_recall"], 1.0);
    assert_eq!(v["link_precision"], 1.0);
    // Text output names the measures.
    let (ok, out, _) = leukotrack(&["eval", "--truth", gt, "--tracks", gt]);
    assert!(ok && out.contains("link recall") && out.contains("F1"), "{out}");
    // A recording it wrote reads back calibrated.
    let rec = dir.path().join("recording.tif");
    let (ok, out, _) = leukotrack(&["info", rec.to_str().unwrap(), "--json"]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["calibrated"], true);
    // Bad flags are named.
    let (ok, _, err) = leukotrack(&["synth", "-o", d, "--size", "64,64"]);
    assert!(!ok && err.contains("size"), "{err}");
    let (ok, _, err) = leukotrack(&["eval", "--truth", gt, "--detections", gt, "--match-um=-1"]);
    assert!(!ok && err.contains("match"), "{err}");
}

/// TrackMate's spots as a detections CSV; returns the spot ids by row.
fn trackmate_detections(cfg: &str, out: &std::path::Path) -> Vec<u64> {
    let path = common::shared_data()
        .join(format!("faketracks/trackmate/trackmate_tracks_{cfg}_spots.csv"));
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let mut w = csv::Writer::from_path(out).unwrap();
    w.write_record(["frame", "x_um", "y_um", "spot_id"]).unwrap();
    let mut ids = Vec::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        ids.push(rec[1].parse().unwrap());
        w.write_record([&rec[2], &rec[3], &rec[4], &rec[1]]).unwrap();
    }
    w.flush().unwrap();
    ids
}

#[test]
fn link_reproduces_trackmate_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    for (cfg, gap) in [("without_gap_closing", "0"), ("with_gap_closing", "2")] {
        let det = dir.path().join(format!("{cfg}.csv"));
        let ids = trackmate_detections(cfg, &det);
        let out = dir.path().join(cfg);
        let (ok, _, err) = leukotrack(&[
            "link",
            det.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--frame-interval",
            "1",
            "--max-distance",
            "15",
            "--gap-frames",
            gap,
            "--gap-max-distance",
            "15",
            "--no-prediction",
        ]);
        assert!(ok, "{err}");
        let tracks = leukotrack::Tracks::read_csv(out.join("tracks.csv"), None).unwrap();
        let head = std::fs::read_to_string(out.join("tracks.csv")).unwrap();
        assert!(
            head.starts_with("track_id,frame,t_s,x_um,y_um,detection,spot_id,suspect\n"),
            "{head}"
        );
        // The gate is used as given and no jump is found in FakeTracks' random walks.
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["link"]["derived"]["gate_source"], "given");
        assert_eq!(summary["link"]["derived"]["gate_um"], 15.0);
        assert_eq!(summary["link"]["derived"]["jumps"], serde_json::json!([]));
        assert!(!out.join("drift.csv").exists());
        let det_rows = tracks.detection.as_ref().unwrap();
        let mut got = std::collections::BTreeSet::new();
        for rows in tracks.rows_by_track() {
            for w in rows.windows(2) {
                got.insert((ids[det_rows[w[0]] as usize], ids[det_rows[w[1]] as usize]));
            }
        }
        let edges = common::shared_data()
            .join(format!("faketracks/trackmate/trackmate_tracks_{cfg}_edges.csv"));
        let want: std::collections::BTreeSet<(u64, u64)> = csv::Reader::from_path(edges)
            .unwrap()
            .records()
            .map(|r| r.unwrap())
            .map(|r| (r[1].parse().unwrap(), r[2].parse().unwrap()))
            .collect();
        assert_eq!(got, want, "{cfg}");
    }
    // Errors name the flag.
    let det = dir.path().join("with_gap_closing.csv");
    let (ok, _, err) = leukotrack(&[
        "link",
        det.to_str().unwrap(),
        "-o",
        dir.path().to_str().unwrap(),
        "--frame-interval",
        "0",
    ]);
    assert!(!ok && err.contains("frame-interval"), "{err}");
}

#[test]
fn segment_writes_detections_labels_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, _, err) = leukotrack(&[
        "synth",
        "-o",
        d,
        "--frames",
        "2",
        "--size",
        "128,128,12",
        "--channels",
        "2",
        "--seed",
        "4",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let rec = dir.path().join("recording.tif");
    let out = dir.path().join("seg");
    let (ok, _, err) = leukotrack(&[
        "segment",
        rec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--labels",
        "--cell-diameter",
        "10",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(out.join("detections.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("frame,x_um,y_um,z_um,volume_um3,mean_intensity,"), "{header}");
    assert!(header.contains("mean_intensity_c1"), "{header}");
    assert!(csv.lines().count() > 3, "{csv}");
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("segment.json")).unwrap()).unwrap();
    assert_eq!(settings["detector"]["kind"], "hybrid");
    // The label images: one channel, the recording's size and calibration.
    let (ok, info, _) = leukotrack(&["info", out.join("labels.tif").to_str().unwrap(), "--json"]);
    assert!(ok);
    let v: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(v["shape"], serde_json::json!({"t": 2, "c": 1, "z": 12, "y": 128, "x": 128}));
    assert_eq!(v["voxel_size_um"]["z"], 3.0);
    // Scored against the truth it is good.
    let gt = dir.path().join("ground_truth.csv");
    let (ok, o, err) = leukotrack(&[
        "eval",
        "--truth",
        gt.to_str().unwrap(),
        "--detections",
        out.join("detections.csv").to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{err}");
    let s: Value = serde_json::from_str(&o).unwrap();
    assert!(s["f1"].as_f64().unwrap() > 0.8, "{s}");
    // The threshold detector, and errors naming the flag.
    let (ok, _, err) = leukotrack(&[
        "segment",
        rec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--method",
        "threshold",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = leukotrack(&[
        "segment",
        rec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--channel",
        "2",
    ]);
    assert!(!ok && err.contains("channel") && err.trim().lines().count() == 1, "{err}");
    let (ok, _, err) = leukotrack(&[
        "segment",
        rec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--cell-diameter=-4",
    ]);
    assert!(!ok && err.contains("cell_diameter_um"), "{err}");
    let (ok, help, _) = leukotrack(&["segment", "--help"]);
    assert!(ok && help.contains("Default: hybrid"), "{help}");
}
