//! The pipeline (library and `track`/`batch`/`config` commands) end to end on simulated
//! recordings with ground truth.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use leukotrack::eval::{self, EvalConfig};
use leukotrack::pipeline::{self, batch, Config};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::{Recording, Tracks};

fn leukotrack(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leukotrack")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn small(seed: u64, frames: usize) -> SynthConfig {
    SynthConfig { seed, frames, size: [96, 96, 12], ..SynthConfig::default() }
}

/// Writes a simulated recording to `path` (a .tif name) and returns its simulation.
fn write_recording(path: &Path, cfg: &SynthConfig) -> Simulation {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Simulation::new(cfg).unwrap();
    sim.write(tmp.path()).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(tmp.path().join("recording.tif"), path).unwrap();
    sim
}

#[test]
fn pipeline_recovers_simulated_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.tif");
    let sim = write_recording(&path, &SynthConfig { seed: 5, frames: 10, ..small(5, 10) });
    let rec = Recording::open(&path).unwrap();
    let reports = std::sync::Mutex::new(Vec::new());
    let a = pipeline::run(&rec, &Config::default(), &|p| {
        reports.lock().unwrap().push(p);
        true
    })
    .unwrap();
    let truth = sim.truth();
    assert!(truth.len() > 30, "scene too empty: {} true points", truth.len());
    let score = eval::score_tracks(truth, &a.tracks, &EvalConfig::default()).unwrap();
    assert!(score.detection.f1 > 0.85, "detection F1 {}", score.detection.f1);
    assert!(score.link_f1 > 0.8, "link F1 {}", score.link_f1);
    // Every detection is in exactly one track; counts agree.
    assert_eq!(a.tracks.len(), a.detections.len());
    assert_eq!(a.summary.counts.detections, a.detections.len());
    assert_eq!(a.summary.counts.tracks, a.tracks.rows_by_track().len());
    assert_eq!(a.summary.counts.frames, 10);
    assert_eq!(a.drift.frame.len(), 10);
    assert!(a.drift.dx_um.iter().all(|&d| d == 0.0));
    // The projection covers the image at its pixel size.
    let p = a.projection.as_ref().unwrap();
    assert_eq!(p.image.dim(), (96, 96));
    assert_eq!(p.pixel_um, [0.8, 0.8]);
    // Progress: every stage reported, segmentation once per timepoint, ending complete.
    let reports = reports.into_inner().unwrap();
    for stage in [pipeline::Stage::Segment, pipeline::Stage::Link, pipeline::Stage::Metrics] {
        let last = reports.iter().rfind(|p| p.stage == stage).unwrap();
        assert_eq!(last.done, last.total, "{stage:?}");
    }
    assert_eq!(reports.iter().filter(|p| p.stage == pipeline::Stage::Segment).count(), 11);
}

#[test]
fn pipeline_stops_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.tif");
    write_recording(&path, &small(2, 6));
    let rec = Recording::open(&path).unwrap();
    let e = pipeline::run(&rec, &Config::default(), &|p| {
        !(p.stage == pipeline::Stage::Segment && p.done >= 2)
    })
    .unwrap_err();
    assert!(matches!(e, leukotrack::Error::Interrupted { ref stage } if stage == "segment"), "{e}");
}

#[test]
fn channel_out_of_range_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.tif");
    write_recording(&path, &small(2, 3));
    let rec = Recording::open(&path).unwrap();
    let cfg = Config { channel: 3, ..Config::default() };
    let e = pipeline::run(&rec, &cfg, &|_| true).unwrap_err().to_string();
    assert!(e.contains("channel 3") && e.contains("rec.tif"), "{e}");
}

fn read_tracks(p: &Path) -> Tracks {
    Tracks::read_csv(p, None).unwrap()
}

#[test]
fn track_command_writes_every_file_and_its_settings() {
    let out = tempfile::tempdir().unwrap();
    let fixture = common::fixtures().join("two_photon_2ch.tif");
    let cfg = out.path().join("params.toml");
    std::fs::write(&cfg, "[link]\ngap_frames = 2\n[metrics]\nmin_points = 3\n").unwrap();
    let o = out.path().join("res");
    let (ok, _, err) = leukotrack(&[
        "track",
        fixture.to_str().unwrap(),
        "-o",
        o.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--max-speed",
        "25",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    assert!(err.is_empty(), "--quiet prints nothing: {err}");
    for f in pipeline::OUTPUT_FILES.iter().chain(&["tracks.xml"]) {
        assert!(o.join(f).is_file(), "{f} missing");
    }
    for p in ["tracks", "rose", "msd", "speed", "straightness", "arrest"] {
        for ext in ["png", "svg"] {
            let f = o.join("plots").join(format!("{p}.{ext}"));
            assert!(std::fs::metadata(&f).unwrap().len() > 1000, "{}", f.display());
        }
    }
    // tracks.xml reads back as the tracks of more than one point.
    let xml = leukotrack::import::read_trackmate(o.join("tracks.xml")).unwrap();
    let csv = read_tracks(&o.join("tracks.csv"));
    let multi: usize = csv.rows_by_track().iter().filter(|r| r.len() > 1).map(Vec::len).sum();
    assert_eq!(xml.len(), multi);
    // No temporary file is left behind.
    for e in std::fs::read_dir(&o).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.') && !name.contains(".tmp"), "left over: {name}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(o.join("summary.json")).unwrap()).unwrap();
    // The effective config: the file's values, the flag overriding the default.
    assert_eq!(summary["config"]["link"]["gap_frames"], 2);
    assert_eq!(summary["config"]["metrics"]["min_points"], 3);
    assert_eq!(summary["config"]["link"]["gate"]["um_per_min"], 25.0);
    assert_eq!(summary["recording"]["shape"]["t"], 12);
    assert_eq!(summary["recording"]["voxel_size_um"][2], 3.0);
    assert_eq!(summary["version"], env!("CARGO_PKG_VERSION"));
    for stage in ["segment", "drift", "link", "metrics", "save", "total"] {
        assert!(summary["timings_s"][stage].as_f64().unwrap() >= 0.0, "{stage}");
    }
    // The tables agree with the library run with the same settings.
    let mut config = Config::load(&cfg).unwrap();
    config.link.gate = leukotrack::track::Gate::MaxSpeed { um_per_min: 25.0 };
    let rec = Recording::open(&fixture).unwrap();
    let lib = pipeline::run(&rec, &config, &|_| true).unwrap();
    let cli = read_tracks(&o.join("tracks.csv"));
    assert_eq!(cli.len(), lib.tracks.len());
    assert_eq!(cli.frame, lib.tracks.frame);
    assert_eq!(summary["counts"]["tracks"], lib.summary.counts.tracks);
    // The fixture's ground truth is found.
    let truth =
        Tracks::read_csv(common::fixtures().join("two_photon_2ch.ground_truth.csv"), None).unwrap();
    let score = eval::score_tracks(&truth, &cli, &EvalConfig::default()).unwrap();
    assert!(score.detection.f1 > 0.8, "F1 {}", score.detection.f1);
}

#[test]
fn track_command_errors_name_the_key_or_file() {
    let out = tempfile::tempdir().unwrap();
    let fixture = common::fixtures().join("two_photon_2ch.tif");
    let cfg = out.path().join("bad.toml");
    std::fs::write(&cfg, "[segment]\ncell_diameter = 8\n").unwrap();
    let o = out.path().join("res");
    let (ok, _, err) = leukotrack(&[
        "track",
        fixture.to_str().unwrap(),
        "-o",
        o.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cell_diameter") && err.contains("bad.toml"), "{err}");
    let (ok, _, err) = leukotrack(&["track", "/nonexistent/rec.tif", "-o", o.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/rec.tif"), "{err}");
    let (ok, _, err) = leukotrack(&[
        "track",
        fixture.to_str().unwrap(),
        "-o",
        o.to_str().unwrap(),
        "--drift",
        "channel:7",
    ]);
    assert!(!ok);
    assert!(err.contains("channel 7"), "{err}");
}

#[test]
fn config_default_is_the_schema() {
    let (ok, text, err) = leukotrack(&["config", "--default"]);
    assert!(ok, "{err}");
    assert_eq!(Config::from_toml_str(&text).unwrap(), Config::default());
    assert!(text.contains("# ") && text.contains("µm"));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, "[link.gate]\nkind = \"max_distance\"\num = 12\n").unwrap();
    let (ok, text, err) = leukotrack(&["config", p.to_str().unwrap()]);
    assert!(ok, "{err}");
    let c = Config::from_toml_str(&text).unwrap();
    assert_eq!(c.link.gate, leukotrack::track::Gate::MaxDistance { um: 12.0 });
}

/// A batch input folder: two good recordings (one in a subfolder), a name collision and a
/// broken file.
fn batch_inputs(root: &Path) {
    write_recording(&root.join("m1.tif"), &small(11, 5));
    write_recording(&root.join("day2/m2.ome.tif"), &small(12, 5));
    write_recording(&root.join("day2/m2.tif"), &small(13, 4));
    std::fs::write(root.join("broken.tif"), b"II*\0\x08\0\0\0\xff\xff").unwrap();
}

fn summary_rows(out: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(out.join("summary.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, batch::SUMMARY_COLUMNS);
    let mut rows: Vec<Vec<String>> =
        r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    rows.sort();
    rows
}

#[test]
fn batch_analyses_each_recording_records_failures_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    batch_inputs(&input);
    let out = dir.path().join("out");
    let args = ["batch", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--no-plots"];
    let (ok, _, err) = leukotrack(&args);
    assert!(!ok, "a failed recording makes the batch exit non-zero");
    assert!(err.contains("1 of 4 recordings failed"), "{err}");
    let rows = summary_rows(&out);
    let by_name =
        |n: &str| rows.iter().find(|r| r[0] == n).unwrap_or_else(|| panic!("{n}: {rows:?}"));
    assert_eq!(by_name("broken")[2], "failed");
    assert!(by_name("broken")[12].contains("broken.tif"));
    for n in ["m1", "day2/m2", "day2/m2_2"] {
        let r = by_name(n);
        assert_eq!(r[2], "done", "{n}");
        assert!(r[4].parse::<usize>().unwrap() > 0, "{n} detections");
        for f in pipeline::OUTPUT_FILES.iter().chain(&[batch::MANIFEST]) {
            assert!(out.join(n).join(f).is_file(), "{n}/{f}");
        }
    }
    // A rerun skips the complete recordings and retries the failed one.
    let before = std::fs::read(out.join("m1/tracks.csv")).unwrap();
    let (ok, _, err) = leukotrack(&args);
    assert!(!ok);
    assert!(err.contains("3 skipped"), "{err}");
    let rows = summary_rows(&out);
    assert_eq!(rows.iter().filter(|r| r[2] == "skipped").count(), 3);
    assert_eq!(std::fs::read(out.join("m1/tracks.csv")).unwrap(), before);
    // Other settings: the recordings are analysed again.
    let mut args2 = args.to_vec();
    args2.extend(["--gap-frames", "2"]);
    let (_, _, err) = leukotrack(&args2);
    assert!(err.contains("3 analysed, 0 skipped"), "{err}");
}

fn tables_of(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = Vec::new();
    for n in ["a", "b", "c", "d"] {
        for f in ["detections.csv", "tracks.csv", "track_metrics.csv", "msd.csv", "steps.csv"] {
            let p = out.join(n).join(f);
            v.push((
                p.clone(),
                std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            ));
        }
    }
    v
}

#[test]
fn interrupted_batch_is_completed_by_a_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    for (i, n) in ["a", "b", "c", "d"].iter().enumerate() {
        write_recording(&input.join(format!("{n}.tif")), &small(20 + i as u64, 8));
    }
    // Uninterrupted reference.
    let full = dir.path().join("full");
    let (ok, _, err) = leukotrack(&[
        "batch",
        input.to_str().unwrap(),
        "-o",
        full.to_str().unwrap(),
        "--jobs",
        "1",
        "--no-plots",
    ]);
    assert!(ok, "{err}");
    // Interrupted: killed once the first recording is complete.
    let cut = dir.path().join("cut");
    let mut child = Command::new(env!("CARGO_BIN_EXE_leukotrack"))
        .args(["batch", input.to_str().unwrap(), "-o", cut.to_str().unwrap(), "--jobs", "1"])
        .args(["--no-plots"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !cut.join("a").join(batch::MANIFEST).exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "batch did not progress");
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().ok();
    child.wait().unwrap();
    let complete =
        ["a", "b", "c", "d"].iter().filter(|n| cut.join(n).join(batch::MANIFEST).exists()).count();
    assert!(complete < 4, "the batch finished before it could be interrupted");
    // The rerun completes it, with the same results as the uninterrupted run.
    let (ok, _, err) = leukotrack(&[
        "batch",
        input.to_str().unwrap(),
        "-o",
        cut.to_str().unwrap(),
        "--jobs",
        "1",
        "--no-plots",
    ]);
    assert!(ok, "{err}");
    assert!(err.contains(&format!("{} skipped", complete)), "{err}");
    let a = tables_of(&full);
    let b = tables_of(&cut);
    for ((pa, da), (pb, db)) in a.iter().zip(&b) {
        assert!(da == db, "{} differs from {}", pb.display(), pa.display());
    }
    let ra: Vec<Vec<String>> = summary_rows(&full).into_iter().map(|r| r[..11].to_vec()).collect();
    let rb: Vec<Vec<String>> = summary_rows(&cut).into_iter().map(|r| r[..11].to_vec()).collect();
    assert_eq!(
        ra.iter().map(|r| [&r[0], &r[3], &r[4], &r[5]]).collect::<Vec<_>>(),
        rb.iter().map(|r| [&r[0], &r[3], &r[4], &r[5]]).collect::<Vec<_>>()
    );
}

#[test]
fn discover_names_recordings_by_relative_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for f in [
        "x/a.tif",
        "x/b.TIFF",
        "x/sub/c.ome.tif",
        "x/sub/c.tif",
        "x/notes.txt",
        "y/t1.tif",
        "y/t2.tif",
    ] {
        std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
        std::fs::write(root.join(f), b"").unwrap();
    }
    let names: Vec<String> =
        batch::discover(&[root.join("x")], false).unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["a", "b", "sub/c", "sub/c_2"]);
    let globbed = batch::discover(&[root.join("x/*.tif")], false).unwrap();
    assert_eq!(globbed.len(), 1);
    assert_eq!(globbed[0].name, "a");
    // With --series each folder of TIFFs is one recording.
    let series: Vec<String> =
        batch::discover(&[root.to_path_buf()], true).unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(series, ["x", "x/sub", "y"]);
    assert!(batch::discover(&[root.join("y/*.png")], false).is_err());
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.tif");
    write_recording(&path, &SynthConfig { touching_pairs: 2, ..small(8, 7) });
    let rec = Recording::open(&path).unwrap();
    let cfg = Config { drift: pipeline::DriftConfig::Channel { channel: 0 }, ..Config::default() };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| pipeline::run(&rec, &cfg, &|_| true).unwrap())
    };
    let tables = |a: &pipeline::Analysis| {
        let d = tempfile::tempdir().unwrap();
        a.detections.write_csv(d.path().join("d.csv")).unwrap();
        a.tracks.write_csv(d.path().join("t.csv")).unwrap();
        a.metrics.write(d.path()).unwrap();
        a.drift.write_csv(d.path().join("drift.csv")).unwrap();
        ["d.csv", "t.csv", "track_metrics.csv", "steps.csv", "msd.csv", "drift.csv"]
            .map(|f| std::fs::read(d.path().join(f)).unwrap())
    };
    let one = tables(&run(1));
    let two = tables(&run(2));
    let again = tables(&run(2));
    assert!(one == two, "1 vs 2 threads differ");
    assert!(two == again, "two runs differ");
    assert!(!one[0].is_empty());
}

#[test]
fn track_command_writes_the_ctc_format_on_request() {
    let out = tempfile::tempdir().unwrap();
    let fixture = common::fixtures().join("two_photon_2ch.tif");
    let o = out.path().join("res");
    let (ok, _, err) = leukotrack(&[
        "track",
        fixture.to_str().unwrap(),
        "-o",
        o.to_str().unwrap(),
        "--ctc",
        "--no-plots",
        "--no-trackmate",
    ]);
    assert!(ok, "{err}");
    assert!(!o.join("tracks.xml").exists());
    let segments = leukotrack::export::ctc::read_track_file(o.join("res_track.txt")).unwrap();
    let tracks = read_tracks(&o.join("tracks.csv"));
    assert!(segments.len() >= tracks.rows_by_track().len());
    for t in 0..12 {
        let mask = Recording::open(o.join(format!("mask{t:03}.tif"))).unwrap();
        assert_eq!(mask.shape().z, 16);
        assert_eq!(mask.dtype(), leukotrack::PixelType::U16);
    }
}
