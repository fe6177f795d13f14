//! Interactions (issue 18): the distance to a vessel seen in a second channel matches the
//! simulator's geometry, contacts are per-detection flags and events with the gap tolerance,
//! a mask partner gives analytic distances, bad input is named, empty masks give empty
//! distances.

use std::path::{Path, PathBuf};
use std::process::Command;

use leukotrack::calib::Calibration;
use leukotrack::interact::{self, InteractConfig, Partner};
use leukotrack::io::write::write_imagej;
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::{PixelType, Recording, Shape, TrackIds, Tracks, Volume};

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("leukotrack-interact-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn leukotrack(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leukotrack")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

fn col(h: &[String], name: &str) -> usize {
    h.iter().position(|c| c == name).unwrap_or_else(|| panic!("no column {name} in {h:?}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A two-channel scene with one vessel (channel 1), no drift.
fn vessel_scene(dir: &Path) -> PathBuf {
    let cfg = SynthConfig {
        seed: 3,
        frames: 8,
        size: [128, 128, 16],
        channels: 2,
        vessel_count: 1,
        // The vessel's channel holds the vessel only (the issue's layout: a channel each).
        reporter2_fraction: 0.0,
        drift_um_per_min: 0.0,
        drift_jitter_um: 0.0,
        density_per_1e5_um3: 3.0,
        ..SynthConfig::default()
    };
    Simulation::new(&cfg).unwrap().write(dir).unwrap();
    dir.join("recording.tif")
}

#[test]
fn the_distance_to_a_vessel_matches_the_simulated_geometry() {
    let dir = temp("vessel");
    let rec = vessel_scene(&dir);
    // The true tracks with their true sizes, through `leukotrack interact`.
    let (h, rows) = read_csv(&dir.join("ground_truth.csv"));
    let mut text = h.join(",") + ",volume_um3\n";
    for r in &rows {
        let d: f64 = r[col(&h, "diameter_um")].parse().unwrap();
        text += &format!("{},{}\n", r.join(","), std::f64::consts::PI / 6.0 * d.powi(3));
    }
    std::fs::write(dir.join("truth_tracks.csv"), text).unwrap();
    let out = dir.join("gt");
    let (ok, err) = leukotrack(&[
        "interact",
        dir.join("truth_tracks.csv").to_str().unwrap(),
        rec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--partner",
        "vessels=1:structure",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    // The vessel: a tube of radius b along u through c (structures.csv).
    let (sh, srows) = read_csv(&dir.join("structures.csv"));
    let v = srows.iter().find(|r| r[0] == "vessel").unwrap();
    let f = |n: &str| -> f64 { v[col(&sh, n)].parse().unwrap() };
    let (c, u, b) = (
        [f("x_um"), f("y_um"), f("z_um")],
        [f("axis_x"), f("axis_y"), f("axis_z")],
        f("radius_um"),
    );
    let truth_of = |p: [f64; 3]| {
        let q = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
        let along = q[0] * u[0] + q[1] * u[1] + q[2] * u[2];
        let r = [q[0] - along * u[0], q[1] - along * u[1], q[2] - along * u[2]];
        (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt() - b
    };
    let truth: std::collections::HashMap<(String, String), ([f64; 3], f64)> = rows
        .iter()
        .map(|r| {
            let p = |n| r[col(&h, n)].parse::<f64>().unwrap();
            (
                (r[col(&h, "track_id")].clone(), r[col(&h, "frame")].clone()),
                ([p("x_um"), p("y_um"), p("z_um")], p("diameter_um") / 2.0),
            )
        })
        .collect();
    let (ih, irows) = read_csv(&out.join("interactions.csv"));
    assert_eq!(ih, interact::INTERACTION_COLUMNS);
    let (mut err_d, mut bias, mut tp, mut fp, mut fneg) = (Vec::new(), Vec::new(), 0, 0, 0);
    for r in &irows {
        let (p, radius) = truth[&(r[col(&ih, "track_id")].clone(), r[col(&ih, "frame")].clone())];
        let want = truth_of(p);
        let got: f64 = r[col(&ih, "distance_um")].parse().unwrap();
        // Cells within 30 µm of the vessel and inside the imaged stack (0–45 µm).
        if want.abs() < 30.0 && (0.0..=45.0).contains(&p[2]) {
            err_d.push((got - want).abs());
            bias.push(got - want);
            let (want_c, got_c) = (want - radius <= 1.0, r[col(&ih, "in_contact")] == "1");
            if want_c != got_c {
                eprintln!("mismatch: truth distance {want:.2} radius {radius:.2} z {:.1}; ours {got:.2} gap {}", p[2], r[col(&ih, "gap_um")]);
            }
            match (want_c, got_c) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fneg += 1,
                _ => {}
            }
        }
        assert_eq!(r[col(&ih, "gap_method")], "centre_distance_minus_equivalent_radius");
    }
    let mae = median(err_d.clone());
    eprintln!("bias (median signed error) {:.3} µm", median(bias));
    let f1 = 2.0 * tp as f64 / (2 * tp + fp + fneg).max(1) as f64;
    eprintln!("vessel distance: median abs error {mae:.3} µm over {} cells; contact F1 {f1:.3} ({tp} tp, {fp} fp, {fneg} fn)", err_d.len());
    assert!(err_d.len() > 40);
    assert!(mae <= 1.0, "median abs error {mae}");
    assert!(f1 >= 0.9, "contact F1 {f1}");
    // track_metrics.csv has the per-track columns.
    let (th, _) = read_csv(&out.join("track_metrics.csv"));
    for s in interact::PER_TRACK {
        col(&th, &format!("vessels_{s}"));
    }

    // The whole pipeline with the partner: the files, summary.json's counts.
    let res = dir.join("track");
    let (ok, err) = leukotrack(&[
        "track",
        rec.to_str().unwrap(),
        "-o",
        res.to_str().unwrap(),
        "--partner",
        "vessels=1:structure",
        "--no-plots",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let (ch, _) = read_csv(&res.join("contacts.csv"));
    assert_eq!(ch, interact::CONTACT_COLUMNS);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(res.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["interact"]["partners"][0]["name"], "vessels");
    assert!(summary["interact"]["partners"][0]["foreground_fraction"].as_f64().unwrap() > 0.01);
    assert_eq!(summary["config"]["interact"]["partner"][0]["kind"], "structure");
    let (th, trows) = read_csv(&res.join("track_metrics.csv"));
    let k = col(&th, "vessels_mean_distance_um");
    assert!(trows.iter().filter(|r| r[k] != "NaN").count() > 5);

    // A study of such recordings compares the per-track interaction columns too.
    std::fs::write(
        dir.join("study.csv"),
        "recording,mouse,group\nrecording.tif,m1,A\nrecording.tif,m2,B\n",
    )
    .unwrap();
    let sout = dir.join("study");
    let (ok, err) = leukotrack(&[
        "study",
        dir.join("study.csv").to_str().unwrap(),
        "-o",
        sout.to_str().unwrap(),
        "--partner",
        "vessels=1:structure",
        "--no-plots",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let (sh, _) = read_csv(&sout.join("tracks_all.csv"));
    col(&sh, "vessels_fraction_in_contact");
    let (ch, crows) = read_csv(&sout.join("comparisons.csv"));
    assert!(crows.iter().any(|r| r[col(&ch, "measure")] == "vessels_contact_time_s"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A recording and a mask partner: the mask is the slab x ≥ 20 µm of a 40 × 8 × 1 field
/// (1 µm pixels), timepoint 2 empty.
fn slab(dir: &Path, frames: usize) -> (PathBuf, PathBuf) {
    let cal = Calibration::new(leukotrack::VoxelSize::new(1.0, 1.0, 1.0).unwrap(), 30.0);
    let shape = Shape { t: frames, c: 1, z: 1, y: 8, x: 40 };
    let rec = dir.join("rec.tif");
    write_imagej(&rec, shape, PixelType::U16, &cal, |_, _| {
        Ok(Volume::U16(ndarray::Array3::from_elem((1, 8, 40), 100)))
    })
    .unwrap();
    let mask = dir.join("mask.tif");
    write_imagej(&mask, shape, PixelType::U16, &cal, |t, _| {
        Ok(Volume::U16(ndarray::Array3::from_shape_fn((1, 8, 40), |(_, _, x)| {
            (t != 2 && x >= 20) as u16
        })))
    })
    .unwrap();
    (rec, mask)
}

#[test]
fn mask_partners_contacts_and_empty_frames() {
    let dir = temp("mask");
    let (rec, mask) = slab(&dir, 10);
    let rec = Recording::open(&rec).unwrap();
    // One cell walking up to the slab (x = 10, 14, 18, 19.5 …), touching it for frames 3–7
    // (frame 5 just outside the contact distance: the gap tolerance joins the two runs), then
    // leaving; radius 0 (no volume column).
    let xs = [10.0, 14.0, 18.0, 19.0, 19.3, 17.0, 19.2, 19.4, 12.0, 8.0];
    let tracks = Tracks {
        track_id: TrackIds::Int(vec![7; 10]),
        frame: (0..10).collect(),
        t_s: (0..10).map(|f| f as f64 * 30.0).collect(),
        x_um: xs.to_vec(),
        y_um: vec![4.0; 10],
        z_um: None,
        ..Default::default()
    };
    let cfg = InteractConfig {
        partner: vec![Partner::Mask { name: "region".into(), path: mask.clone() }],
        ..Default::default()
    };
    let found = interact::analyse(&rec, &tracks, None, &cfg, 30.0, 2.0).unwrap();
    // The surface lies at x = 19.5 µm (between the pixels 19 and 20).
    for (i, &x) in xs.iter().enumerate() {
        if i == 2 {
            assert!(found.distance_um[i].is_nan(), "frame 2's mask is empty: no distance");
            continue;
        }
        assert!(
            (found.distance_um[i] - (19.5 - x)).abs() < 1e-6,
            "frame {i}: {}",
            found.distance_um[i]
        );
    }
    assert_eq!(found.partners[0].empty_frames, vec![2]);
    assert_eq!(found.gap_method, "centre_distance");
    let contacts: Vec<(u32, u32)> =
        found.contacts.iter().map(|c| (c.start_frame, c.end_frame)).collect();
    // Frames 3, 4 in contact (gap ≤ 1), 5 not (2.5), 6, 7 in contact: one contact 3–7.
    assert_eq!(contacts, vec![(3, 7)]);
    assert_eq!(found.contacts[0].duration_s, 150.0);
    assert!(!found.contacts[0].stable);
    let per = |name: &str| found.per_track.iter().find(|(n, _)| n == name).unwrap().1[0];
    assert_eq!(per("region_contacts"), 1.0);
    assert_eq!(per("region_time_to_first_contact_s"), 90.0);
    assert!((per("region_fraction_in_contact") - 4.0 / 9.0).abs() < 1e-12);
    // Without the tolerance: two contacts.
    let strict = InteractConfig { contact_gap_frames: 0, ..cfg.clone() };
    assert_eq!(
        interact::analyse(&rec, &tracks, None, &strict, 30.0, 2.0).unwrap().contacts.len(),
        2
    );
    // The approach speed of the first step: 4 µm in 0.5 min toward the surface.
    assert!((found.approach_um_per_min[1] - 8.0).abs() < 1e-9);
    assert!(found.approach_angle_deg[1] < 1e-6);

    // Bad input: a mask of another size, a channel that does not exist, objects.
    let (small, _) = slab(&temp("mask-small"), 3);
    let bad = InteractConfig {
        partner: vec![Partner::Mask { name: "r".into(), path: small.clone() }],
        ..Default::default()
    };
    let e = interact::analyse(&rec, &tracks, None, &bad, 30.0, 2.0).unwrap_err().to_string();
    assert!(e.contains("rec.tif") && e.contains("timepoints"), "{e}");
    let e = interact::analyse(
        &rec,
        &tracks,
        None,
        &InteractConfig {
            partner: vec![Partner::parse("v=3:structure").unwrap()],
            ..Default::default()
        },
        30.0,
        2.0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("channel 3 does not exist") && e.contains("rec.tif"), "{e}");
    assert!(Partner::parse("t=1:objects:20")
        .unwrap_err()
        .to_string()
        .contains("not implemented yet"));
    assert!(Partner::parse("nothing").unwrap_err().to_string().contains("NAME=CHANNEL:structure"));
    assert_eq!(Partner::parse("v=2:structure:static").unwrap().kind(), "structure");
    // On the command line: a bad --partner is named, nothing is written.
    let out = dir.join("out");
    let (ok, err) = leukotrack(&[
        "track",
        dir.join("rec.tif").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--partner",
        "v=9:structure",
    ]);
    assert!(!ok && err.contains("channel 9 does not exist"), "{err}");
    assert!(!out.join("summary.json").exists());
    std::fs::remove_dir_all(&dir).ok();
}
