//! The simulator: ground truth consistent with the rendered images, determinism, and the
//! default scene's statistics.

mod common;

use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::Recording;

fn small() -> SynthConfig {
    SynthConfig { frames: 6, size: [96, 96, 12], seed: 7, ..Default::default() }
}

#[test]
fn deterministic_and_seed_dependent() {
    let a = Simulation::new(&small()).unwrap();
    let b = Simulation::new(&small()).unwrap();
    assert_eq!(a.truth(), b.truth());
    assert_eq!(a.render(3, 0).unwrap(), b.render(3, 0).unwrap());
    // The same image whatever the number of threads.
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert_eq!(one.install(|| a.render(3, 0).unwrap()), a.render(3, 0).unwrap());
    let c = Simulation::new(&SynthConfig { seed: 8, ..small() }).unwrap();
    assert_ne!(a.truth(), c.truth());
}

#[test]
fn truth_is_inside_the_imaged_volume_and_tracks_are_valid() {
    let cfg = SynthConfig { frames: 40, ..small() };
    let sim = Simulation::new(&cfg).unwrap();
    let t = sim.truth();
    t.validate().unwrap();
    let f = cfg.field_um();
    let z = t.z_um.as_ref().unwrap();
    for i in 0..t.len() {
        for (a, v) in [t.x_um[i], t.y_um[i], z[i]].into_iter().enumerate() {
            assert!(v >= f[a][0] && v < f[a][1], "axis {a}: {v} outside {:?}", f[a]);
        }
    }
    // Frames within a track are consecutive: a cell that leaves gets a new id on return.
    for rows in t.rows_by_track() {
        for w in rows.windows(2) {
            assert_eq!(t.frame[w[1]], t.frame[w[0]] + 1);
        }
    }
    // Over 40 frames some cells leave and some enter.
    let tracks = t.rows_by_track();
    assert!(tracks.iter().any(|r| t.frame[r[0]] > 0), "no cell entered");
    assert!(
        tracks.iter().any(|r| (t.frame[*r.last().unwrap()] as usize) < cfg.frames - 1),
        "no cell left"
    );
}

#[test]
fn default_scene_statistics() {
    // The default scene: ~50 cells in a 256×256×24 field at 0.8×0.8×3 µm, 20 % arrested,
    // speeds 2–15 µm/min, drift ≈ 0.4 µm/min.
    let cfg = SynthConfig { frames: 30, ..Default::default() };
    let sim = Simulation::new(&cfg).unwrap();
    let t = sim.truth();
    let per_frame = t.len() as f64 / cfg.frames as f64;
    assert!((40.0..=65.0).contains(&per_frame), "{per_frame} cells per frame");
    let arrested = t.column("arrested").unwrap().as_f64().unwrap();
    let frac = arrested.iter().sum::<f64>() / arrested.len() as f64;
    assert!((0.08..=0.35).contains(&frac), "arrested fraction {frac}");
    // Measured speeds of moving cells lie in the set range (steps of 30 s).
    let z = t.z_um.as_ref().unwrap();
    let mut speeds = Vec::new();
    for rows in t.rows_by_track() {
        for w in rows.windows(2) {
            let (a, b) = (w[0], w[1]);
            let d = ((t.x_um[b] - t.x_um[a]).powi(2)
                + (t.y_um[b] - t.y_um[a]).powi(2)
                + (z[b] - z[a]).powi(2))
            .sqrt();
            if arrested[a] == 0.0 {
                speeds.push(d / 0.5);
            }
        }
    }
    speeds.sort_by(f64::total_cmp);
    let median = speeds[speeds.len() / 2];
    assert!((3.0..=12.0).contains(&median), "median speed {median} µm/min");
    assert!(speeds[speeds.len() - 1] < 17.0, "max speed {}", speeds[speeds.len() - 1]);
    // Drift: about 0.4 µm/min, i.e. ~5.8 µm over 29 intervals of 30 s.
    let d = sim.drift()[cfg.frames - 1];
    let total = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
    assert!((4.5..=7.0).contains(&total), "drift {total} µm");
}

#[test]
fn cells_are_bright_where_the_truth_says() {
    let cfg = small();
    let sim = Simulation::new(&cfg).unwrap();
    let t = sim.truth();
    let frame = 2;
    let vol = sim.render(frame, 0).unwrap();
    let (nz, ny, nx) = vol.dim();
    let v = cfg.voxel_um;
    let bg_level = cfg.offset + cfg.gain * cfg.background_photons;
    let z = t.z_um.as_ref().unwrap();
    let mut n = 0;
    for i in (0..t.len()).filter(|&i| t.frame[i] == frame as u32) {
        let idx = |p: f64, v: f64, n: usize| ((p / v).round() as usize).min(n - 1);
        let (k, j, ii) = (idx(z[i], v[2], nz), idx(t.y_um[i], v[1], ny), idx(t.x_um[i], v[0], nx));
        // Mean over a 3×3 patch at the centre: well above the background.
        let mut s = 0.0;
        for dj in 0..3 {
            for di in 0..3 {
                s += vol[[
                    k,
                    (j + dj).saturating_sub(1).min(ny - 1),
                    (ii + di).saturating_sub(1).min(nx - 1),
                ]] as f64;
            }
        }
        let mean = s / 9.0;
        assert!(
            mean > bg_level + 0.5 * cfg.gain * cfg.cell_photons,
            "cell {i}: {mean} at its centre"
        );
        n += 1;
    }
    assert!(n > 0);
    // The background far from cells sits near offset + gain × background photons.
    let mut sorted: Vec<u16> = vol.iter().copied().collect();
    sorted.sort();
    let median = sorted[sorted.len() / 2] as f64;
    assert!(
        (median - bg_level).abs() < 0.6 * cfg.gain * cfg.background_photons,
        "median {median} vs {bg_level}"
    );
}

#[test]
fn written_recording_reads_back_with_its_calibration() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig { frames: 3, size: [40, 32, 6], channels: 2, ..small() };
    let sim = Simulation::new(&cfg).unwrap();
    sim.write(dir.path()).unwrap();
    let rec = Recording::open(dir.path().join("recording.tif")).unwrap();
    let s = rec.shape();
    assert_eq!((s.t, s.c, s.z, s.y, s.x), (3, 2, 6, 32, 40));
    assert!(rec.calibration().is_calibrated());
    assert_eq!(rec.calibration().voxel_z_um.unwrap().value, 3.0);
    assert_eq!(rec.volume(2, 1).unwrap(), leukotrack::Volume::U16(sim.render(2, 1).unwrap()));
    for f in ["ground_truth.csv", "drift.csv", "debris.csv", "synth.json"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    let gt = leukotrack::Tracks::read_csv(dir.path().join("ground_truth.csv"), None).unwrap();
    assert_eq!(gt.len(), sim.truth().len());
    let head = std::fs::read_to_string(dir.path().join("ground_truth.csv")).unwrap();
    assert!(head.starts_with("track_id,frame,t_s,x_um,y_um,z_um,diameter_um,arrested"), "{head}");
}

#[test]
fn bad_parameters_are_named() {
    for (cfg, name) in [
        (SynthConfig { frames: 0, ..small() }, "frames"),
        (SynthConfig { voxel_um: [0.8, -1.0, 3.0], ..small() }, "voxel_um"), // its key (was "voxel-size")
        (SynthConfig { diameter_um: [12.0, 8.0], ..small() }, "diameter"),
        (SynthConfig { channels: 3, ..small() }, "channels"),
    ] {
        let e = Simulation::new(&cfg).unwrap_err();
        assert!(
            matches!(e, leukotrack::Error::InvalidParameter { name: ref n, .. } if n == name),
            "{e}"
        );
    }
}
