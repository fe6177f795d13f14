//! Quality control: `qc.json`'s warnings fire on recordings made to show each problem (focus
//! loss in the middle, too small a gate, a wrong diameter) and stay quiet on the default scene.

use std::path::{Path, PathBuf};

use leukotrack::io::write::{HyperstackWriter, SampleType};
use leukotrack::pipeline::{self, Config};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::track::Gate;
use leukotrack::{Recording, Volume};

fn scene() -> SynthConfig {
    SynthConfig { size: [192, 192, 12], frames: 10, seed: 3, ..SynthConfig::default() }
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("leukotrack-qc-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes the scene, with the cells' brightness scaled by `dim` in `frames` (focus loss: the
/// same noise, less signal).
fn write_scene(dir: &Path, cfg: &SynthConfig, frames: std::ops::Range<usize>, dim: f64) -> PathBuf {
    let sim = Simulation::new(cfg).unwrap();
    let dimmed =
        Simulation::new(&SynthConfig { cell_photons: cfg.cell_photons * dim, ..cfg.clone() })
            .unwrap();
    let path = dir.join("recording.tif");
    let mut w =
        HyperstackWriter::create(&path, cfg.shape(), SampleType::U16, &cfg.calibration()).unwrap();
    for t in 0..cfg.frames {
        let v = if frames.contains(&t) { dimmed.render(t, 0) } else { sim.render(t, 0) }.unwrap();
        w.write_timepoint(&[Volume::U16(v)]).unwrap();
    }
    w.finish().unwrap();
    path
}

fn qc_of(path: &Path, config: &Config) -> leukotrack::qc::Qc {
    let rec = Recording::open(path).unwrap();
    pipeline::run(&rec, config, &|_| true).unwrap().qc
}

#[test]
fn quiet_on_the_default_scene() {
    let dir = temp("default");
    let qc = qc_of(&write_scene(&dir, &scene(), 0..0, 1.0), &Config::default());
    assert!(qc.warnings.is_empty(), "{:?}", qc.warnings);
    assert_eq!(qc.frames.len(), 10);
    let f = &qc.frames[4];
    // The simulator's background: offset + gain × photons; its noise at least the read noise.
    let cfg = scene();
    let level = cfg.offset + cfg.gain * cfg.background_photons;
    assert!((f.background - level).abs() < 0.25 * level, "{f:?}");
    assert!(f.noise >= cfg.read_noise * 0.8, "{f:?}");
    assert!(f.snr > 3.0 && f.detections > 5, "{f:?}");
    assert!(qc.median_cell_diameter_um > 7.0 && qc.median_cell_diameter_um < 13.0, "{qc:?}");
    assert!(qc.linked_fraction > 0.9, "{}", qc.linked_fraction);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn focus_loss_in_the_middle() {
    let dir = temp("focus");
    let qc = qc_of(&write_scene(&dir, &scene(), 4..6, 0.3), &Config::default());
    let w = qc
        .warnings
        .iter()
        .find(|w| w.contains("focus or laser loss"))
        .unwrap_or_else(|| panic!("{:?} {:?}", qc.warnings, qc.frames));
    assert!(w.contains("frames 4–5"), "{w}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn too_small_a_gate() {
    let dir = temp("gate");
    let path = write_scene(&dir, &scene(), 0..0, 1.0);
    let mut config = Config::default();
    config.link.gate = Gate::MaxSpeed { um_per_min: 1.0 };
    let qc = qc_of(&path, &config);
    assert!(qc.warnings.iter().any(|w| w.contains("1–2 points long")), "{:?}", qc.warnings);
    // The linker's own warning is in the same list.
    assert!(qc.warnings.iter().any(|w| w.contains("cuts")), "{:?}", qc.warnings);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn wrong_diameter() {
    let dir = temp("diameter");
    let path = write_scene(&dir, &scene(), 0..0, 1.0);
    let mut config = Config::default();
    config.segment.cell_diameter_um = Some(25.0);
    let qc = qc_of(&path, &config);
    assert!(qc.warnings.iter().any(|w| w.contains("diameter")), "{:?}", qc.warnings);
    std::fs::remove_dir_all(dir).ok();
}
