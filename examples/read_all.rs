//! Reads every timepoint and channel of a recording, one volume at a time, and prints the
//! sum of all voxels — a checksum for cross-checking against other readers, and a probe of
//! peak memory (run it under `/usr/bin/time -v`: the peak should be about two volumes).
//!
//! ```text
//! cargo run --release --example read_all -- RECORDING [T,C,Z]
//! ```

use std::time::Instant;

use leukotrack::{ReadOptions, Recording, Volume};

fn main() -> leukotrack::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: read_all RECORDING [T,C,Z]");
    let shape = args.next().map(|s| ReadOptions::parse_shape(&s)).transpose()?;
    let t0 = Instant::now();
    let rec = Recording::open_with(&path, &ReadOptions { shape, ..Default::default() })?;
    let opened = t0.elapsed();
    let s = rec.shape();
    let mut sum = 0f64;
    let mut bytes = 0usize;
    for t in 0..s.t {
        for c in 0..s.c {
            let v = rec.volume(t, c)?;
            bytes += s.volume_len() * rec.dtype().bytes();
            sum += match &v {
                Volume::U8(a) => a.iter().map(|&x| x as u64).sum::<u64>() as f64,
                Volume::U16(a) => {
                    let v = a.as_slice().expect("standard layout");
                    v.chunks(1 << 16)
                        .map(|c| c.iter().map(|&x| x as u32).sum::<u32>() as u64)
                        .sum::<u64>() as f64
                }
                Volume::F32(a) => a.iter().map(|&x| x as f64).sum::<f64>(),
            };
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{path}: t={} c={} z={} y={} x={} {}; sum {sum}; {bytes} bytes in {secs:.3} s ({:.2} GB/s); opened in {:.1} ms",
        s.t,
        s.c,
        s.z,
        s.y,
        s.x,
        rec.dtype(),
        bytes as f64 / secs / 1e9,
        opened.as_secs_f64() * 1e3
    );
    Ok(())
}
