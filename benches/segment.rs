//! Criterion benchmarks of each segmentation step and of the whole per-volume pipeline, on a
//! realistic simulated 512×512×32 volume (0.8×0.8×3 µm, default scene).
//!
//! `cargo bench --bench segment -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use leukotrack::segment::blob::{find_blobs, response, sigma_for_radius, BlobFilter};
use leukotrack::segment::features::{intensities, measure, Grid};
use leukotrack::segment::filter::{gaussian, subtract_gaussian_background, Dims};
use leukotrack::segment::label::{label, Connectivity};
use leukotrack::segment::split::{distance_transform_sq, watershed};
use leukotrack::segment::threshold::{threshold, ThresholdMethod};
use leukotrack::segment::{segment_frame, DetectorConfig, SegmentConfig, ThresholdDetector};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::Volume;

fn volume() -> (Volume, SynthConfig) {
    let sc = SynthConfig { frames: 1, size: [512, 512, 32], seed: 2, ..Default::default() };
    let sim = Simulation::new(&sc).expect("valid config");
    (Volume::U16(sim.render(0, 0).expect("render")), sc)
}

fn steps(c: &mut Criterion) {
    let (vol, sc) = volume();
    let cal = sc.calibration();
    let n_in = vol.dim().0 * vol.dim().1 * vol.dim().2;
    let voxel = [0.8, 0.8, 3.0];
    let cfg = SegmentConfig::for_diameter(10.0);
    let bin = cfg.bin_for(voxel, 10.0);
    let din = Dims { nz: 32, ny: 512, nx: 512 };
    let grid = Grid::new(din, voxel, bin);
    let wv = grid.work_voxel_um();
    let d = grid.work;
    // The working image (binned as the pipeline does), for the steps after binning.
    let full = vol.to_f32();
    let full = full.as_slice().expect("standard layout");
    let mut work = vec![0.0f32; d.len()];
    for z in 0..d.nz {
        for y in 0..512 {
            for x in 0..512 {
                work[(z * d.ny + y / bin) * d.nx + x / bin] +=
                    full[(z * 512 + y) * 512 + x] / (bin * bin) as f32;
            }
        }
    }

    let mut g = c.benchmark_group("segment_512x512x32");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n_in as u64));
    g.bench_function("background_gaussian", |b| {
        b.iter(|| {
            let mut w = work.clone();
            subtract_gaussian_background(&mut w, d, wv, 20.0);
            w
        })
    });
    let mut signal = work.clone();
    subtract_gaussian_background(&mut signal, d, wv, 20.0);
    g.bench_function("denoise_gaussian", |b| b.iter(|| gaussian(&signal, d, [1.0; 3], wv)));
    let smooth = gaussian(&signal, d, [1.0; 3], wv);
    let sigma = sigma_for_radius(5.0, 3);
    for f in [BlobFilter::Log, BlobFilter::Dog] {
        let name = if f == BlobFilter::Log { "log" } else { "dog" };
        g.bench_function(BenchmarkId::new("blob_filter", name), |b| {
            b.iter(|| response(&signal, d, sigma, wv, f))
        });
    }
    let resp = response(&signal, d, sigma, wv, BlobFilter::Log);
    g.bench_function("blob_maxima_nms_subpixel", |b| {
        b.iter(|| find_blobs(&resp, d, wv, 20.0, 5.0, true))
    });
    let blobs = find_blobs(&resp, d, wv, 20.0, 5.0, true);
    let seeds: Vec<usize> = blobs.iter().map(|b| b.index).collect();
    let floor: Vec<f32> = seeds.iter().map(|&i| 0.5 * smooth[i]).collect();
    g.bench_function("blob_regions_watershed", |b| {
        b.iter(|| watershed(&smooth, None, d, &seeds, &floor))
    });
    let labels = watershed(&smooth, None, d, &seeds, &floor);
    let t = threshold(&smooth, ThresholdMethod::Noise { k: 6.0 }).expect("threshold");
    let mask: Vec<bool> = smooth.iter().map(|&v| v > t).collect();
    g.bench_function("threshold_noise", |b| {
        b.iter(|| threshold(&smooth, ThresholdMethod::Noise { k: 6.0 }))
    });
    g.bench_function("label_26", |b| b.iter(|| label(&mask, d, Connectivity::TwentySix)));
    g.bench_function("distance_transform", |b| b.iter(|| distance_transform_sq(&mask, d, wv)));
    g.bench_function("features_measure", |b| {
        b.iter(|| measure(&labels, seeds.len(), &smooth, &grid))
    });
    g.bench_function("features_intensities_full_res", |b| {
        b.iter(|| intensities(&labels, seeds.len(), &grid, &vol))
    });
    g.bench_function("pipeline_blob", |b| {
        b.iter(|| segment_frame(std::slice::from_ref(&vol), 0, 0, &cal, &cfg).expect("segment"))
    });
    let tcfg = SegmentConfig {
        detector: DetectorConfig::Threshold(ThresholdDetector::default()),
        ..Default::default()
    };
    g.bench_function("pipeline_threshold", |b| {
        b.iter(|| segment_frame(std::slice::from_ref(&vol), 0, 0, &cal, &tcfg).expect("segment"))
    });
    let unbinned = SegmentConfig { bin_xy: Some(1), ..Default::default() };
    g.bench_function("pipeline_blob_unbinned", |b| {
        b.iter(|| {
            segment_frame(std::slice::from_ref(&vol), 0, 0, &cal, &unbinned).expect("segment")
        })
    });
    g.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);
