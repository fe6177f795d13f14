//! The simulated twin and the tuner on small seeded scenes: the twin's measured parameters
//! against the simulator's true ones, the tuner's outputs, and bad input.

use std::path::{Path, PathBuf};

use leukotrack::io::write::{HyperstackWriter, SampleType};
use leukotrack::pipeline::Config;
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::tune::{self, TuneOptions};
use leukotrack::{twin, Recording, Volume};

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("leukotrack-twin-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// 64 × 64 × 8 voxels of 1.5 × 1.5 × 3 µm, 8 frames, about a dozen cells.
fn scene() -> SynthConfig {
    SynthConfig {
        size: [64, 64, 8],
        voxel_um: [1.5, 1.5, 3.0],
        frames: 8,
        seed: 11,
        density_per_1e5_um3: 6.0,
        margin_um: [15.0, 6.0],
        ..SynthConfig::default()
    }
}

fn write_scene(dir: &Path, cfg: &SynthConfig) -> PathBuf {
    Simulation::new(cfg).unwrap().write(dir).unwrap();
    dir.join("recording.tif")
}

fn within(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol * want.abs(), "{what}: {got} against {want} (±{tol})");
}

#[test]
fn twin_measures_the_scene_and_tune_writes_its_files() {
    let dir = temp("scene");
    let cfg = scene();
    let path = write_scene(&dir.join("rec"), &cfg);
    let rec = Recording::open(&path).unwrap();
    let (t, _) = twin::measure(&rec, &Config::default()).unwrap();
    let m = &t.measured;
    // The noise at the background: sqrt(gain² · photons + read²).
    let noise = (cfg.gain * cfg.gain * cfg.background_photons + cfg.read_noise.powi(2)).sqrt();
    within(m.noise_sd, noise, 0.15, "noise");
    within(m.gain, cfg.gain, 0.25, "gain");
    within(m.background_level, cfg.offset + cfg.gain * cfg.background_photons, 0.1, "background");
    within(m.median_diameter_um, 10.0, 0.15, "diameter");
    assert_eq!(m.shape, [8, 8, 64, 64]);
    assert!(m.cells_per_frame >= 5.0, "{m:?}");

    let out = dir.join("twin");
    twin::write(&t, &rec, &out).unwrap();
    for f in twin::TWIN_FILES {
        assert!(out.join(f).is_file(), "{f}");
    }
    let again: twin::Twin =
        serde_json::from_str(&std::fs::read_to_string(out.join("twin.json")).unwrap()).unwrap();
    assert_eq!(again.synth.size, [64, 64, 8]);

    // The tuner: 5 settings, the given ones first; best.toml loads; never worse than them.
    let tuned = dir.join("tune");
    let opts = TuneOptions { budget: 5, jobs: 2 };
    let report =
        tune::tune_recording(&rec, &Config::default(), None, &opts, &tuned, &|_, _| {}).unwrap();
    assert_eq!(report.trials.len(), 5);
    assert_eq!(report.trials[0].stage, "default");
    let best = Config::load(tuned.join("best.toml")).unwrap();
    assert_eq!(best.channel, 0);
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tuned.join("expected.json")).unwrap())
            .unwrap();
    for k in ["detection_f1", "link_f1", "tra"] {
        let v = e[k].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{k} {v}");
    }
    let score0 = report.trials[0].score;
    assert!(report.trials.iter().all(|t| t.error.is_none()), "{:?}", report.trials);
    let best_score = report.trials[report.expected.trial].score;
    assert!(best_score >= score0, "{best_score} < {score0}");
    assert!(report.expected.detection_f1 > 0.7, "{:?}", report.expected);
    let csv = std::fs::read_to_string(tuned.join("tune.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6);
    assert!(csv.starts_with("trial,stage,cell_diameter_um"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_input_is_named_and_nothing_is_written() {
    let dir = temp("bad");
    let cfg = scene();
    let path = write_scene(&dir.join("rec"), &cfg);
    let rec = Recording::open(&path).unwrap();
    let out = dir.join("out");
    let run = |truth: Option<&Path>, budget| {
        tune::tune_recording(
            &rec,
            &Config::default(),
            truth,
            &TuneOptions { budget, jobs: 1 },
            &out,
            &|_, _| {},
        )
        .map(|_| ())
        .unwrap_err()
        .to_string()
    };
    assert!(run(None, 0).contains("budget"));
    let gt = dir.join("gt.csv");
    std::fs::write(&gt, "frame,x_um\n0,3\n").unwrap();
    let e = run(Some(&gt), 4);
    assert!(e.contains("gt.csv") && e.contains("y_um"), "{e}");
    std::fs::write(&gt, "frame,x_um,y_um,z_um\n0,30,30,10\n1,500,30,10\n").unwrap();
    let e = run(Some(&gt), 4);
    assert!(e.contains("gt.csv") && e.contains("row 3") && e.contains("outside"), "{e}");
    std::fs::write(&gt, "frame,x_um,y_um\n9,30,30\n").unwrap();
    assert!(run(Some(&gt), 4).contains("frame 9"));
    assert!(!out.exists());

    // A recording without cells: no twin.
    let blank = dir.join("blank.tif");
    let mut w =
        HyperstackWriter::create(&blank, cfg.shape(), SampleType::U16, &cfg.calibration()).unwrap();
    for _ in 0..cfg.frames {
        w.write_timepoint(&[Volume::U16(ndarray::Array3::from_elem((8, 64, 64), 100))]).unwrap();
    }
    w.finish().unwrap();
    let rec = Recording::open(&blank).unwrap();
    let e = twin::measure(&rec, &Config::default()).unwrap_err().to_string();
    assert!(e.contains("blank.tif") && e.contains("no cells"), "{e}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn napari_points_are_read_in_pixels() {
    let dir = temp("napari");
    let gt = dir.join("points.csv");
    std::fs::write(&gt, "index,axis-0,axis-1,axis-2,axis-3\n0,1,2,10,20\n").unwrap();
    let d = tune::read_truth(&gt, [0.5, 0.5, 2.0], [4, 8, 64, 64]).unwrap();
    assert_eq!(d.frame, vec![1]);
    assert_eq!((d.x_um[0], d.y_um[0], d.z_um.as_ref().unwrap()[0]), (10.0, 5.0, 4.0));
    std::fs::remove_dir_all(dir).ok();
}
