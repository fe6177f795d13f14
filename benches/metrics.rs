//! Motility metrics on 1,000,000 track points (10,000 3D random walks of 100 points), in
//! memory: the target is every per-track measure, the steps and the MSD (lags capped at
//! 20) in ≤ 0.1 s on 2 cores.
//!
//! `cargo bench --bench metrics -- --warm-up-time 1 --measurement-time 3`
//! (the `csv_1M_points` group times the command line's reading and writing).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use leukotrack::metrics::{MetricsConfig, TrackSet};
use leukotrack::{TrackIds, Tracks};

const POINTS: usize = 100;

/// 3D Gaussian random walks (σ = 2 µm per axis per step), 30 s apart, 100 points each.
fn random_walks(tracks: usize) -> Tracks {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = tracks * POINTS;
    let mut t = Tracks { z_um: Some(Vec::with_capacity(n)), ..Default::default() };
    let mut ids = Vec::with_capacity(n);
    for id in 0..tracks {
        let mut p = [rng.random_range(0.0..500.0), rng.random_range(0.0..500.0), 0.0];
        for f in 0..POINTS {
            for c in &mut p {
                *c += 2.0 * rng.sample::<f64, _>(StandardNormal);
            }
            ids.push(id as u64);
            t.frame.push(f as u32);
            t.t_s.push(f as f64 * 30.0);
            t.x_um.push(p[0]);
            t.y_um.push(p[1]);
            t.z_um.as_mut().unwrap().push(p[2]);
        }
    }
    t.track_id = TrackIds::Int(ids);
    t
}

fn bench(c: &mut Criterion) {
    // `cargo test --all-targets` runs each bench once, without `--bench`: a small set keeps the
    // test suite fast.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let tracks = random_walks(if bench_mode { 10_000 } else { 100 });
    let cfg = MetricsConfig { max_lag_frames: Some(20), ..Default::default() };
    let set = TrackSet::new(&tracks, &cfg).unwrap();
    let mut g = c.benchmark_group("metrics_1M_points");
    g.sample_size(10);
    g.bench_function("target: prepare + per-track + steps + msd(20)", |b| {
        b.iter(|| {
            let set = TrackSet::new(black_box(&tracks), &cfg).unwrap();
            black_box((set.track_and_step_metrics(), set.msd()))
        })
    });
    g.bench_function("prepare (group, validate)", |b| {
        b.iter(|| TrackSet::new(black_box(&tracks), &cfg).unwrap())
    });
    g.bench_function("per-track measures", |b| b.iter(|| black_box(set.track_metrics())));
    g.bench_function("steps", |b| b.iter(|| black_box(set.steps())));
    g.bench_function("per-track + steps together", |b| {
        b.iter(|| black_box(set.track_and_step_metrics()))
    });
    g.bench_function("msd(20)", |b| b.iter(|| black_box(set.msd())));
    g.bench_function("autocorrelation(20)", |b| b.iter(|| black_box(set.autocorrelation())));
    g.bench_function("analyze (everything + summary)", |b| b.iter(|| black_box(set.analyze())));
    g.finish();

    // Where the command line's time goes besides the measures: reading the CSV and writing
    // the five output files (steps.csv alone is ~120 MB).
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("tracks.csv");
    tracks.write_csv(&csv).unwrap();
    let analysis = set.analyze();
    let mut g = c.benchmark_group("csv_1M_points");
    g.sample_size(10);
    g.bench_function("read tracks CSV", |b| {
        b.iter(|| black_box(Tracks::read_csv(&csv, None).unwrap()))
    });
    g.bench_function("write the five outputs", |b| {
        b.iter(|| analysis.write(dir.path().join("out")).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
