//! Detection as a new user runs it: `leukotrack segment REC -o OUT` with only the calibration,
//! scored with `eval`'s rules (one-to-one within 5 µm; partly visible cells count neither way;
//! rows flagged as artefacts are not cells) — on every simulator preset (small scenes) and on
//! a real recording no simulator made.

mod common;

use std::path::Path;
use std::process::Command;

use leukotrack::eval::{self, DetectionScore, EvalConfig};
use leukotrack::{Detections, Tracks};

fn run(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_leukotrack")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// A preset's scene (seed, 4 frames, 128 × 128 × `z`) segmented at defaults and scored.
fn preset(name: &str, z: usize, seed: u64) -> (DetectionScore, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let (scene, out) = (dir.path().join("scene"), dir.path().join("out"));
    let size = format!("128,128,{z}");
    let seed = seed.to_string();
    let s = scene.to_str().unwrap();
    run(&[
        "synth", "-o", s, "--preset", name, "--frames", "4", "--size", &size, "--seed", &seed,
        "--quiet",
    ]);
    run(&["segment", &format!("{s}/recording.tif"), "-o", out.to_str().unwrap(), "--quiet"]);
    let truth = Tracks::read_csv(scene.join("ground_truth.csv"), None).unwrap();
    let det = Detections::read_csv(out.join("detections.csv")).unwrap();
    let partial = Detections::read_csv(scene.join("partial.csv")).unwrap();
    let cfg = EvalConfig::default();
    let det = eval::without_partial(&truth, &det, &partial, &cfg).unwrap();
    (eval::score_detections(&truth, &det, &cfg).unwrap(), summary(&out))
}

#[test]
fn every_preset_is_detected_at_defaults() {
    // (preset, planes, smallest F1 over two seeds; measured 0.96–1.0, 0.76–0.83, 0.86–0.90,
    // 1.0, 0.94–0.96 — see BENCHMARKS.md for the full-size scenes)
    for (name, z, min_f1) in [
        ("default", 16, 0.93),
        ("hard", 16, 0.70),
        ("2d", 1, 0.80),
        ("thin", 5, 0.95),
        ("swarm", 16, 0.90),
    ] {
        for seed in [1, 2] {
            let (s, sum) = preset(name, z, seed);
            assert!(s.f1 >= min_f1, "{name} seed {seed}: {s}");
            let seg = &sum["segment"];
            let d = seg["estimated_cell_diameter_um"].as_f64().unwrap();
            let (lo, hi) = if name == "thin" { (14.0, 20.0) } else { (8.0, 12.0) };
            assert!(d > 0.8 * lo && d < 1.2 * hi, "{name}: estimated diameter {d}");
            assert_eq!(seg["thin_stack"], name == "thin", "{name}: {seg}");
        }
    }
}

#[test]
fn the_hard_preset_s_phenomena_are_scored_apart() {
    let (s, _) = preset("hard", 16, 2);
    for p in ["amoeboid", "textured", "dim", "touching", "cut"] {
        let r = s.by_phenomenon.get(p).unwrap_or_else(|| panic!("no `{p}` in {s}"));
        assert!(r.n > 0 && r.recall >= 0.4, "{p}: {r:?}");
    }
}

#[test]
fn real_2d_recording_of_migrating_nuclei() {
    // 48 frames of 130 × 130, nuclei ~20 px, crowded and textured: the README's flags only.
    let data = common::shared_data().join("real/cancer_migration");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let rec = data.join("recording.tif");
    run(&[
        "segment",
        rec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--shape",
        "48,1,1",
        "--voxel-size",
        "1,1,1",
        "--frame-interval",
        "60",
        "--quiet",
    ]);
    // reference_centroids.csv: frame, label, x_px, y_px, area_px (pixels read as µm).
    let text = std::fs::read_to_string(data.join("reference_centroids.csv")).unwrap();
    let mut truth = Tracks::default();
    let mut ids = Vec::new();
    for (i, line) in text.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let frame: u32 = f[0].parse().unwrap();
        truth.frame.push(frame);
        truth.t_s.push(frame as f64 * 60.0);
        truth.x_um.push(f[2].parse().unwrap());
        truth.y_um.push(f[3].parse().unwrap());
        ids.push(i as u64);
    }
    truth.track_id = leukotrack::table::TrackIds::Int(ids);
    let det = Detections::read_csv(out.join("detections.csv")).unwrap();
    let cfg = EvalConfig { match_um: 6.0, ..Default::default() };
    let s = eval::score_detections(&truth, &det, &cfg).unwrap();
    // Measured 0.92 (the blob default of before: 0.10; scikit-image Otsu + watershed: 0.96).
    assert!(s.f1 >= 0.90, "{s}");
    let d = summary(&out)["segment"]["estimated_cell_diameter_um"].as_f64().unwrap();
    assert!((15.0..=26.0).contains(&d), "estimated diameter {d} (reference median 20 px)");
}
