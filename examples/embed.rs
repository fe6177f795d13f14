//! Embedding leukotrack in another Rust tool: the whole pipeline on the bundled fixture,
//! with the tables read in memory. Works with `default-features = false` (no CLI
//! dependencies):
//!
//! ```sh
//! cargo run --no-default-features --example embed
//! ```

use leukotrack::pipeline::{self, Config};
use leukotrack::Recording;

fn main() -> leukotrack::Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/two_photon_2ch.tif");
    let recording = Recording::open(path)?;
    let config = Config {
        segment: leukotrack::segment::SegmentConfig::for_diameter(10.0), // µm
        ..Config::default()
    };
    let analysis = pipeline::run(&recording, &config, &|_| true)?;

    // Detections: one row per cell and timepoint, positions in µm.
    let det = &analysis.detections;
    println!("{} detections in {} timepoints", det.len(), analysis.summary.counts.frames);

    // Tracks: columnar, `detection` is the row of `det`.
    let tracks = &analysis.tracks;
    let per_track = tracks.rows_by_track();
    let longest = per_track.iter().map(Vec::len).max().unwrap_or(0);
    println!("{} tracks, the longest {longest} points", per_track.len());

    // Motility metrics, one row per track, and population measures.
    let m = &analysis.metrics;
    // (A one-point track has no speed: NaN.)
    let speeds: Vec<f64> =
        m.track_metrics.speed_um_per_min.iter().copied().filter(|v| v.is_finite()).collect();
    let mean = speeds.iter().sum::<f64>() / speeds.len().max(1) as f64;
    println!("mean track speed {mean:.2} µm/min over {} tracks", speeds.len());
    println!("motility coefficient {:.2} µm²/min", m.summary.motility_coefficient_um2_per_min);
    assert_eq!(tracks.len(), det.len(), "every detection is in one track");
    Ok(())
}
