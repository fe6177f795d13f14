//! # leukotrack
//!
//! Segmentation, tracking and motility statistics for two-photon intravital recordings of
//! leukocytes (T cells, macrophages, neutrophils) — 4D/5D 16-bit TIFFs of (t, c, z, y, x).
//!
//! The whole pipeline — read, segment, link, drift, metrics — on the bundled fixture, with
//! the tables in memory (the same as `examples/embed.rs`, which runs with
//! `default-features = false`):
//!
//! ```
//! use leukotrack::pipeline::{self, Config};
//! use leukotrack::Recording;
//!
//! # fn main() -> leukotrack::Result<()> {
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/two_photon_2ch.tif");
//! let recording = Recording::open(path)?; // lazy: the page index and calibration
//! let config = Config {
//!     segment: leukotrack::segment::SegmentConfig::for_diameter(10.0), // µm
//!     ..Config::default()
//! };
//! let analysis = pipeline::run(&recording, &config, &|_| true)?;
//!
//! let det = &analysis.detections; // one row per cell and timepoint, µm
//! let tracks = &analysis.tracks; // `detection` = row of `det`
//! assert_eq!(tracks.len(), det.len()); // every detection is in one track
//! let speeds = &analysis.metrics.track_metrics.speed_um_per_min; // one per track
//! assert_eq!(speeds.len(), tracks.rows_by_track().len());
//! println!("motility coefficient {:.1} µm²/min",
//!     analysis.metrics.summary.motility_coefficient_um2_per_min);
//! // analysis.save("results/")? writes the files of `leukotrack track`.
//! # Ok(())
//! # }
//! ```
//!
//! Simulated recordings with ground truth, to test a setting before using it:
//!
//! ```
//! use leukotrack::synth::{Simulation, SynthConfig};
//! use leukotrack::{eval, Recording};
//!
//! # fn main() -> leukotrack::Result<()> {
//! // Simulate a small two-photon recording with ground truth and write it as an ImageJ
//! // hyperstack (recording.tif) beside its ground_truth.csv.
//! let dir = std::env::temp_dir().join(format!("leukotrack-doc-{}", std::process::id()));
//! let config = SynthConfig { frames: 3, size: [64, 64, 8], ..Default::default() };
//! let sim = Simulation::new(&config)?;
//! sim.write(&dir)?;
//!
//! // Open it lazily: the page index and calibration, no pixels yet.
//! let rec = Recording::open(dir.join("recording.tif"))?;
//! let shape = rec.shape();
//! assert_eq!((shape.t, shape.z, shape.y, shape.x), (3, 8, 64, 64));
//! let voxel = rec.calibration().voxel_size_um()?; // µm, x/y/z
//! assert_eq!(voxel.z, 3.0);
//!
//! // One (z, y, x) stack of timepoint 1, channel 0, as stored (uint16).
//! let volume = rec.volume(1, 0)?;
//! assert_eq!(volume.dim(), (8, 64, 64));
//!
//! // Score a "detector" that reports the true positions: perfect by construction.
//! let truth = sim.truth();
//! let mut detections = leukotrack::Detections::new(true);
//! for i in 0..truth.len() {
//!     detections.push(truth.frame[i], truth.x_um[i], truth.y_um[i], truth.z_um.as_ref().map(|z| z[i]));
//! }
//! let score = eval::score_detections(truth, &detections, &eval::EvalConfig::default())?;
//! assert_eq!(score.recall, 1.0);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
//!
//! ## The data flow
//!
//! ```text
//! TIFF --io--> Recording (lazy) --volume(t, c)--> Volume (z, y, x)
//!      --segment--> Detections --track--> Tracks --metrics--> per-track and population tables
//! ```
//!
//! - [`io`]: [`Recording`] — ImageJ hyperstacks, OME-TIFF (multi-file too), ScanImage, Bruker
//!   Prairie View, plain multi-page TIFFs with a given shape, and folders or globs of
//!   per-timepoint files, with [`Calibration`] — and the ImageJ hyperstack and label-image
//!   writers.
//! - [`table`]: the columnar [`Detections`] and [`Tracks`] tables every stage passes on, with
//!   CSV reading and writing.
//! - [`synth`]: a simulator of two-photon recordings with ground truth.
//! - [`eval`]: scores against ground truth (detection precision/recall/F1, centroid RMSE,
//!   link recall/precision).
//! - [`metrics`]: motility measures as celltrackR and Beltman et al. define them — per track
//!   ([`TrackMetrics`]), per step ([`StepMetrics`]), MSD with the motility coefficient and
//!   persistence time, velocity autocorrelation, distributions and directionality tests.
//! - [`segment`]: finds the cells of each 3D timepoint ([`segment::segment`],
//!   [`segment::segment_recording`]) with a threshold or a blob (LoG) detector.
//! - [`track`]: linking ([`track::link`]: k-d tree candidates, global assignment, gap
//!   closing, motion prediction) and drift estimation ([`track::drift`]).
//! - [`export`]: TrackMate XML that Fiji loads against the image ([`export::trackmate`]) and
//!   the Cell Tracking Challenge result format ([`export::ctc`]).
//! - [`import`]: tracks from other tools — TrackMate XML and Imaris Position CSV exports.
//! - [`pipeline`]: [`pipeline::Config`] (TOML) and [`pipeline::run`], chaining every stage,
//!   [`pipeline::Analysis::save`] writing the result files, and [`pipeline::batch`] for many
//!   recordings.
//!
//! ## Conventions
//!
//! - Positions in µm, with the centre of voxel (i, j, k) at (i·vx, j·vy, k·vz) — ImageJ's and
//!   TrackMate's convention; the imaged volume spans [−v/2, (n − ½)·v) on each axis.
//! - Times in seconds; speeds in µm/min. Every column name carries its unit.
//! - Image arrays are (t, c, z, y, x); frames and channels are 0-based.
//! - Voxels are anisotropic: sizes are given in µm and converted per axis.
//! - A missing calibration value is `None`, never silently 1 µm or 1 s.
//! - Errors are one typed [`Error`] naming the file, the frame or page, and the reason.
//!
//! ## Features
//!
//! - `cli` (default): the `leukotrack` command line (clap, indicatif). With
//!   `default-features = false` the crate is a pure library.
#![warn(missing_docs)]
#![warn(rustdoc::broken_intra_doc_links)]

mod buf;
pub mod calib;
pub mod error;
pub mod eval;
pub mod export;
pub mod import;
pub mod interact;
pub mod io;
pub mod metrics;
pub mod pipeline;
pub mod qc;
pub mod segment;
pub mod study;
pub mod synth;
pub mod table;
pub mod track;
pub mod tune;
pub mod twin;

pub use calib::{Calibration, Source, VoxelSize};
pub use error::{Error, ErrorKind, Result};
pub use io::{PageOrder, PixelType, ReadOptions, Recording, Shape, Volume, VolumeView};
pub use metrics::{MetricsConfig, StepMetrics, TrackMetrics};
pub use table::{Column, Detections, TrackIds, Tracks};
