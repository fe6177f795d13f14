//! The linker's settings from the data: the gate follows the recording's steps, a given gate is
//! used as given (and checked), too few steps fall back, tissue jumps are found and corrected
//! while steady directed motion is not, suspect tracks are flagged and kept out of the
//! population.

mod common;

use leukotrack::eval::{score_tracks, EvalConfig};
use leukotrack::metrics::{analyze, MetricsConfig};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::track::{link_report, Gate, LinkConfig};
use leukotrack::{Calibration, Detections, Tracks, VoxelSize};

fn scene(speed: f64, seed: u64) -> (Tracks, Calibration) {
    scene_at(speed, seed, 1.7)
}

fn scene_at(speed: f64, seed: u64, density: f64) -> (Tracks, Calibration) {
    let cfg = SynthConfig {
        density_per_1e5_um3: density,
        frames: 20,
        size: [256, 256, 24],
        seed,
        speed_um_per_min: [speed, speed],
        arrested_fraction: 0.0,
        persistence_min: 10.0,
        ..Default::default()
    };
    let sim = Simulation::new(&cfg).unwrap();
    (sim.truth().clone(), cfg.calibration())
}

/// The truth's positions, each frame shifted by `shift(frame)`.
fn detections(truth: &Tracks, shift: impl Fn(u32) -> [f64; 3]) -> Detections {
    let mut d = Detections::new(true);
    for i in 0..truth.len() {
        let s = shift(truth.frame[i]);
        let z = truth.z_um.as_ref().unwrap()[i];
        d.push(truth.frame[i], truth.x_um[i] + s[0], truth.y_um[i] + s[1], Some(z + s[2]));
    }
    d
}

fn score(truth: &Tracks, t: &Tracks) -> leukotrack::eval::TrackingScore {
    // Tracks keep the raw (shifted) positions; score the corrected ones when present.
    let mut t = t.clone();
    if let Some(x) = t.column("x_um_corrected").and_then(|c| c.as_f64()) {
        t.x_um = x.to_vec();
        t.y_um = t.column("y_um_corrected").unwrap().as_f64().unwrap().to_vec();
        t.z_um = Some(t.column("z_um_corrected").unwrap().as_f64().unwrap().to_vec());
    }
    score_tracks(truth, &t, &EvalConfig::default()).unwrap()
}

#[test]
fn the_gate_follows_the_steps() {
    // 36 µm/min at 30 s: 18 µm steps, beyond the fallback's 15 µm; sparse cells.
    let (truth, cal) = scene_at(36.0, 21, 0.6);
    let d = detections(&truth, |_| [0.0; 3]);
    let (t, r) = link_report(&d, &cal, &LinkConfig::default(), None).unwrap();
    assert_eq!(r.gate_source, "data", "{r:?}");
    assert!(r.gate_um > 18.0 && r.gate_um < 40.0, "{r:?}");
    assert!(r.first_pass_links > 200 && r.warnings.is_empty(), "{r:?}");
    // Fast cells leave and enter the small field every frame, so some ends are linked to
    // starts; the fixed default loses most true links instead.
    let auto = score(&truth, &t);
    assert!(auto.link_recall >= 0.95 && auto.link_precision >= 0.8, "{auto:?}");
    // The old fixed default (30 µm/min) loses most links here, and says so.
    let fixed = LinkConfig { gate: Gate::MaxSpeed { um_per_min: 30.0 }, ..Default::default() };
    let (t30, r30) = link_report(&d, &cal, &fixed, None).unwrap();
    assert_eq!((r30.gate_source.as_str(), r30.gate_um), ("given", 15.0));
    assert!(r30.warnings.iter().any(|w| w.contains("cuts the steps")), "{r30:?}");
    let s30 = score(&truth, &t30);
    assert!(s30.link_f1 < auto.link_f1 - 0.1, "{s30:?} vs {auto:?}");

    // Slow cells get a narrow gate; the gap gates grow with the gap.
    let (slow, cal) = scene(4.0, 22);
    let (_, rs) =
        link_report(&detections(&slow, |_| [0.0; 3]), &cal, &LinkConfig::default(), None).unwrap();
    assert!(rs.gate_um < 0.5 * r.gate_um, "{rs:?} vs {r:?}");
    let a = rs.gap_exponent.unwrap();
    assert!((0.5..=1.0).contains(&a), "{rs:?}");
    assert_eq!(rs.gap_gates_um.len(), 2);
    assert!(rs.gap_gates_um[0][1] > rs.gate_um && rs.gap_gates_um[1][1] > rs.gap_gates_um[0][1]);
}

#[test]
fn too_few_steps_fall_back_to_the_documented_gate() {
    let mut d = Detections::new(false);
    for f in 0..6 {
        for c in 0..3 {
            d.push(f, 100.0 * c as f64 + 2.0 * f as f64, 50.0, None);
        }
    }
    let cal = Calibration::new(VoxelSize::new(1.0, 1.0, 1.0).unwrap(), 30.0);
    let (t, r) = link_report(&d, &cal, &LinkConfig::default(), None).unwrap();
    assert_eq!(r.gate_source, "fallback");
    assert_eq!(r.gate_um_per_min, 30.0);
    assert!(r.warnings[0].contains("too few first-pass links"), "{r:?}");
    assert_eq!(t.rows_by_track().len(), 3);
}

#[test]
fn tissue_jumps_are_found_and_corrected() {
    let (truth, cal) = scene(8.0, 23);
    let jump = |f: u32| {
        let mut s = [0.0; 3];
        if f >= 7 {
            s[0] += 7.0;
            s[1] -= 2.0;
        }
        if f >= 14 {
            s[1] += 6.0;
        }
        s
    };
    let plain = detections(&truth, |_| [0.0; 3]);
    let jumped = detections(&truth, jump);
    let (t0, r0) = link_report(&plain, &cal, &LinkConfig::default(), None).unwrap();
    let (t1, r1) = link_report(&jumped, &cal, &LinkConfig::default(), None).unwrap();
    assert!(r0.jumps.is_empty(), "{r0:?}");
    let frames: Vec<u32> = r1.jumps.iter().map(|j| j.frame).collect();
    assert_eq!(frames, vec![7, 14], "{r1:?}");
    let (j0, j1) = (r1.jumps[0], r1.jumps[1]);
    assert!((j0.dx_um - 7.0).abs() < 2.5 && (j0.dy_um + 2.0).abs() < 2.5, "{j0:?}");
    assert!((j1.dy_um - 6.0).abs() < 2.5 && j1.dx_um.abs() < 2.5, "{j1:?}");
    let (s0, s1) = (score(&truth, &t0), score(&truth, &t1));
    assert!(s1.link_recall >= s0.link_recall - 0.005, "{s1:?} vs {s0:?}");
    // Off: the jumps cost links.
    let off = LinkConfig { detect_jumps: false, ..Default::default() };
    let s_off = score(&truth, &link_report(&jumped, &cal, &off, None).unwrap().0);
    assert!(s_off.link_recall < s1.link_recall, "{s_off:?} vs {s1:?}");
}

#[test]
fn steady_directed_motion_is_not_a_jump() {
    // Every cell carried 5 µm per frame the same way (a tissue flow or collective migration).
    let (truth, cal) = scene(4.0, 24);
    let d = detections(&truth, |f| [5.0 * f as f64, 0.0, 0.0]);
    let (_, r) = link_report(&d, &cal, &LinkConfig::default(), None).unwrap();
    assert!(r.jumps.is_empty(), "{r:?}");
}

#[test]
fn suspect_tracks_are_flagged_and_left_out_of_the_population() {
    let (truth, cal) = scene(8.0, 25);
    let mut d = detections(&truth, |_| [0.0; 3]);
    // Lone false detections far from every cell: single-point tracks.
    for f in 0..20 {
        d.push(f, 50.0, 400.0 + 100.0 * f as f64, Some(30.0));
    }
    let (t, _) = link_report(&d, &cal, &LinkConfig::default(), None).unwrap();
    let col = t.column("suspect").unwrap();
    let flagged = leukotrack::track::suspect::suspect_rows(&t);
    assert!(flagged.iter().filter(|&&b| b).count() >= 20, "{col:?}");
    let a = analyze(&t, &MetricsConfig::default()).unwrap();
    let all = analyze(&t, &MetricsConfig { exclude_suspect: false, ..Default::default() }).unwrap();
    assert!(a.summary.tracks.excluded_suspect >= 20, "{:?}", a.summary.tracks);
    assert_eq!(a.summary.tracks.input, all.summary.tracks.input);
    // Their rows stay in the per-track table.
    assert_eq!(a.track_metrics.track_id.len(), all.track_metrics.track_id.len());
}

#[test]
fn persistent_cells_faster_than_the_gate_stay_linked() {
    // The default scene's speeds (2–15 µm/min), denser.
    let cfg = SynthConfig {
        frames: 20,
        size: [256, 256, 24],
        seed: 26,
        density_per_1e5_um3: 5.0,
        ..Default::default()
    };
    let truth = Simulation::new(&cfg).unwrap().truth().clone();
    let cal = cfg.calibration();
    let base = detections(&truth, |_| [0.0; 3]);
    let (_, r) = link_report(&base, &cal, &LinkConfig::default(), None).unwrap();
    // Three straight cells faster than the first pass's gate (the larger of the neighbour
    // distance and 15 µm), so no gate holds their steps.
    let first = r.neighbour_distance_um.unwrap().max(15.0);
    let step = 1.1 * first;
    assert!(step < 3.5 * r.gate_um, "{r:?}");
    let mut d = base.clone();
    for c in 0..3 {
        for f in 0..8u32 {
            d.push(f + 2, 10.0 + step * f as f64, 40.0 + 60.0 * c as f64, Some(150.0));
        }
    }
    let (t, r2) = link_report(&d, &cal, &LinkConfig::default(), None).unwrap();
    assert!(r2.fast_links >= 21, "{r2:?}");
    let n = base.len();
    let det = t.detection.as_ref().unwrap();
    let ids: std::collections::BTreeSet<String> =
        (0..t.len()).filter(|&i| det[i] as usize >= n).map(|i| t.track_id.label(i)).collect();
    assert_eq!(ids.len(), 3, "each fast cell one track");
}
