//! Reading every timepoint of a ~500 MB uncompressed uint16 recording (checksumming every
//! voxel, so nothing is skipped) against reading the same bytes with `std::fs::read`; and the
//! same for a smaller Deflate-compressed recording.
//!
//! ```text
//! cargo bench --bench read
//! LEUKOTRACK_BENCH_DIR=/tmp/lt-bench cargo bench --bench read   # keep the files
//! ```
//!
//! The recordings are written by the crate's `HyperstackWriter` (ImageJ layout) into a
//! temporary folder: cheap synthetic content (a gradient plus noise), what matters is the byte
//! layout. Numbers are warm-cache (the file is read once before measuring).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leukotrack::io::write::{HyperstackWriter, SampleType};
use leukotrack::{Calibration, Recording, Shape, Volume, VoxelSize};
use ndarray::Array3;

/// (t, c, z, y, x) of the uncompressed recording: 20 × 25 × 512 × 1024 × 2 B = 524 MB.
const RAW: Shape = Shape { t: 20, c: 1, z: 25, y: 512, x: 1024 };
/// The Deflate recording: 4 timepoints (105 MB decoded).
const DEFLATE: Shape = Shape { t: 4, c: 1, z: 25, y: 512, x: 1024 };

fn volume(t: usize, shape: Shape) -> Volume {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ t as u64;
    Volume::U16(Array3::from_shape_fn((shape.z, shape.y, shape.x), |(z, y, x)| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (200 + (x / 8 + y / 8 + z * 3 + t) % 400 + (state % 64) as usize) as u16
    }))
}

fn write(path: &Path, shape: Shape, deflate: bool) {
    if path.exists() {
        return;
    }
    let cal = Calibration::new(VoxelSize::new(0.8, 0.8, 3.0).unwrap(), 30.0);
    let mut w = if deflate {
        HyperstackWriter::create_deflate(path, shape, SampleType::U16, &cal).unwrap()
    } else {
        HyperstackWriter::create(path, shape, SampleType::U16, &cal).unwrap()
    };
    for t in 0..shape.t {
        w.write_timepoint(&[volume(t, shape)]).unwrap();
    }
    w.finish().unwrap();
}

/// Opens the recording and reads every (t, c) volume, summing its voxels.
fn read_all(path: &Path) -> u64 {
    let rec = Recording::open(path).unwrap();
    let s = rec.shape();
    let mut sum = 0u64;
    for t in 0..s.t {
        for c in 0..s.c {
            match rec.volume(t, c).unwrap() {
                Volume::U16(a) => sum += checksum(a.as_slice().expect("standard layout")),
                _ => unreachable!("uint16 recording"),
            }
        }
    }
    sum
}

/// Sum of the voxels (vectorisable: u32 partial sums of 64 Ki values cannot overflow).
fn checksum(v: &[u16]) -> u64 {
    v.chunks(1 << 16).map(|c| c.iter().map(|&x| x as u32).sum::<u32>() as u64).sum()
}

/// Reads the whole file with `std::fs::read`, summing it as little-endian uint16.
fn raw_read(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    bytes
        .chunks(1 << 17)
        .map(|c| {
            c.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]) as u32).sum::<u32>() as u64
        })
        .sum()
}

/// Reads the whole file in volume-sized pieces into one reused buffer, summing it: the
/// fastest plain read with memory bounded like the reader's (no page faults after the first
/// piece).
fn raw_read_reused(path: &Path, buf: &mut [u8]) -> u64 {
    use std::io::Read;
    let mut f = std::fs::File::open(path).unwrap();
    let mut sum = 0u64;
    loop {
        let mut n = 0;
        while n < buf.len() {
            match f.read(&mut buf[n..]).unwrap() {
                0 => break,
                k => n += k,
            }
        }
        sum += buf[..n]
            .chunks(1 << 17)
            .map(|c| {
                c.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]) as u32).sum::<u32>()
                    as u64
            })
            .sum::<u64>();
        if n < buf.len() {
            return sum;
        }
    }
}

fn bench(c: &mut Criterion) {
    // `cargo test --all-targets` runs this once as a smoke test (no `--bench` argument):
    // then small recordings keep the test suite fast.
    let full = std::env::args().any(|a| a == "--bench");
    let small = |s: Shape| Shape { t: 2, z: 3, y: 64, x: 128, ..s };
    let (raw_shape, def_shape) = if full { (RAW, DEFLATE) } else { (small(RAW), small(DEFLATE)) };
    let keep = std::env::var_os("LEUKOTRACK_BENCH_DIR").map(PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let dir = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let raw = dir.join("bench_u16_raw.tif");
    let def = dir.join("bench_u16_deflate.tif");
    let (raw, def) =
        if full { (raw, def) } else { (dir.join("smoke_raw.tif"), dir.join("smoke_deflate.tif")) };
    write(&raw, raw_shape, false);
    write(&def, def_shape, true);
    let raw_bytes = std::fs::metadata(&raw).unwrap().len();
    let voxel_bytes = (raw_shape.planes() * raw_shape.y * raw_shape.x * 2) as u64;
    // Warm the cache and check both readers see the same voxels (the header is tiny
    // against the data, so the raw sum differs only by it).
    let (a, b) = (read_all(&raw), raw_read(&raw));
    assert!(b >= a);

    let mut g = c.benchmark_group("uncompressed_u16_524MB");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15));
    g.throughput(Throughput::Bytes(voxel_bytes));
    g.bench_function("leukotrack_every_timepoint", |bench| {
        bench.iter(|| black_box(read_all(&raw)))
    });
    g.throughput(Throughput::Bytes(raw_bytes));
    g.bench_function("std_fs_read", |bench| bench.iter(|| black_box(raw_read(&raw))));
    let mut buf = vec![0u8; raw_shape.volume_len() * 2];
    g.bench_function("read_into_reused_buffer", |bench| {
        bench.iter(|| black_box(raw_read_reused(&raw, &mut buf)))
    });
    g.finish();

    let mut g = c.benchmark_group("deflate_u16_105MB_decoded");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes((def_shape.planes() * def_shape.y * def_shape.x * 2) as u64));
    g.bench_function("leukotrack_every_timepoint", |bench| {
        bench.iter(|| black_box(read_all(&def)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
