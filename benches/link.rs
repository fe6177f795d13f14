//! Linking speed at 10k, 100k and 1M detections (1,000 cells per frame, realistic motion from
//! the simulator's motion model, no images), with the default settings: speed gate 30 µm/min,
//! motion prediction and gap closing (3 frames) on.
//!
//! `cargo bench --bench link`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::track::{link, LinkConfig};
use leukotrack::Detections;

/// About `cells` cells in view per frame for `frames` frames.
fn detections(frames: usize, cells: usize) -> (Detections, leukotrack::Calibration) {
    // Field volume for `cells` at the default density of 1.7 per 100,000 µm³, 24 planes deep.
    let cfg0 = SynthConfig::default();
    let depth = 24.0 * cfg0.voxel_um[2];
    let side = ((cells as f64 / (cfg0.density_per_1e5_um3 / 1e5)) / depth).sqrt();
    let n = (side / cfg0.voxel_um[0]).round() as usize;
    let cfg = SynthConfig {
        frames,
        size: [n, n, 24],
        seed: 42,
        debris_count: 0,
        drift_um_per_min: 0.0,
        ..cfg0
    };
    let sim = Simulation::new(&cfg).expect("scene");
    let t = sim.truth();
    let mut d = Detections::new(true);
    for i in 0..t.len() {
        d.push(t.frame[i], t.x_um[i], t.y_um[i], t.z_um.as_ref().map(|z| z[i]));
    }
    (d, cfg.calibration())
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("link");
    g.sample_size(10);
    // `cargo test --benches` runs each bench once as a smoke test: keep that small.
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full { &[10, 100, 1000] } else { &[10] };
    for &frames in sizes {
        let (d, cal) = detections(frames, 1000);
        let cfg = LinkConfig::default();
        g.bench_with_input(BenchmarkId::new("detections", d.len()), &d, |b, d| {
            b.iter(|| link(d, &cal, &cfg, None).expect("link"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
