//! Motility metrics: per-track measures, per-step measures and population curves.
//!
//! Definitions follow Beltman, Marée & de Boer, "Analysing immune cell migration", Nat Rev
//! Immunol 9:789 (2009) and the celltrackR package 1.2.2 (Wortel et al. 2021). Where the two
//! differ, or where celltrackR's documentation and code differ, the code of celltrackR is
//! followed; every such case is documented on the field concerned.
//!
//! Units: positions in µm, times and durations in s; speeds in µm/min, the motility
//! coefficient in µm²/min, the persistence time in min. Every column name carries its unit.
//!
//! ```
//! use leukotrack::metrics::{self, MetricsConfig};
//! use leukotrack::{TrackIds, Tracks};
//!
//! # fn main() -> leukotrack::Result<()> {
//! // One cell moving along x at 1 µm per 30-s frame, then turning 90° to y.
//! let tracks = Tracks {
//!     track_id: TrackIds::Int(vec![7; 4]),
//!     frame: vec![0, 1, 2, 3],
//!     t_s: vec![0.0, 30.0, 60.0, 90.0],
//!     x_um: vec![0.0, 1.0, 2.0, 2.0],
//!     y_um: vec![0.0, 0.0, 0.0, 1.0],
//!     ..Default::default()
//! };
//! let m = metrics::track_metrics(&tracks, &MetricsConfig::default())?;
//! assert_eq!(m.track_length_um[0], 3.0);
//! assert_eq!(m.speed_um_per_min[0], 2.0); // 3 µm in 1.5 min
//! assert_eq!(m.mean_turning_angle_deg[0], 45.0); // 0° then 90°
//!
//! // Everything at once: per track, per step, MSD, autocorrelation and a summary.
//! let analysis = metrics::analyze(&tracks, &MetricsConfig::default())?;
//! assert_eq!(analysis.msd.lag_frames, vec![1, 2, 3]);
//! assert_eq!(analysis.msd.msd_um2[0], 1.0);
//! # Ok(())
//! # }
//! ```
//!
//! ## Steps, sub-tracks and gaps
//!
//! A *step* joins two consecutive points of a track (consecutive rows once sorted by frame),
//! as in celltrackR. Per-track measures and the per-step table use these steps even across a
//! missing frame (a gap): the step's speed divides by its real duration. The MSD and the
//! autocorrelation instead count by *frame difference*: on a regularly sampled track this is
//! exactly celltrackR's `aggregate(…, squareDisplacement)` count of sub-tracks of k steps; on a
//! track with a missing frame, celltrackR would count rows (so a two-frame displacement would
//! enter its lag-1 mean), whereas here a pair of points enters the lag of its frame difference —
//! a gap is never taken for a single step.
//!
//! ## Entry points
//!
//! - [`track_metrics`], [`steps`], [`msd`], [`autocorrelation`]: one table each.
//! - [`analyze`]: all of them and the population [`Summary`] (fits, distributions, tests);
//!   [`Analysis::write`] writes `track_metrics.csv`, `steps.csv`, `msd.csv`,
//!   `autocorrelation.csv` and `metrics_summary.json`.
//! - [`TrackSet`]: the validated, grouped tracks, prepared once and measured many ways.

use std::path::Path;

use crate::error::{Error, Result};
use crate::table::Tracks;

mod config;
mod math;
mod msd;
pub(crate) mod population;
mod steps;
mod track;
mod track_set;
mod write;

pub use config::{MetricsConfig, Reference};
pub use msd::{Autocorrelation, FurthFit, Msd, MsdFit};
pub use population::{
    distribution, CellBased, Distribution, Histogram, HotellingTest, RayleighTest, StepBased,
    Summary, Tests, TrackCounts,
};
pub use steps::StepMetrics;
pub use track::TrackMetrics;
pub use track_set::TrackSet;

pub(crate) use math::{acos, angle, cosine, dot, sub};
pub(crate) use track_set::Points;
pub(crate) use write::write_table;

/// Per-track measures (see [`TrackMetrics`] for each column's definition).
pub fn track_metrics(tracks: &Tracks, config: &MetricsConfig) -> Result<TrackMetrics> {
    Ok(TrackSet::new(tracks, config)?.track_metrics())
}

/// Per-step measures of every track, in 3D when the tracks have z (see [`StepMetrics`]).
pub fn steps(tracks: &Tracks) -> Result<StepMetrics> {
    steps_with(tracks, &MetricsConfig::default())
}

/// Per-step measures of the tracks `config` selects (2D projection, minimum length, border).
pub fn steps_with(tracks: &Tracks, config: &MetricsConfig) -> Result<StepMetrics> {
    Ok(TrackSet::new(tracks, config)?.steps())
}

/// Mean square displacement against lag (see [`Msd`]).
pub fn msd(tracks: &Tracks, config: &MetricsConfig) -> Result<Msd> {
    Ok(TrackSet::new(tracks, config)?.msd())
}

/// Velocity autocorrelation against lag (see [`Autocorrelation`]).
pub fn autocorrelation(tracks: &Tracks, config: &MetricsConfig) -> Result<Autocorrelation> {
    Ok(TrackSet::new(tracks, config)?.autocorrelation())
}

/// Every table and the population summary.
pub fn analyze(tracks: &Tracks, config: &MetricsConfig) -> Result<Analysis> {
    let suspect = crate::track::suspect::suspect_rows(tracks);
    if !config.exclude_suspect || !suspect.contains(&true) {
        return Ok(TrackSet::new(tracks, config)?.analyze());
    }
    // Every track's own measures; the population's from the tracks not suspect.
    let (track_metrics, steps) = TrackSet::new(tracks, config)?.track_and_step_metrics();
    let keep: Vec<usize> = (0..tracks.len()).filter(|&r| !suspect[r]).collect();
    let population = tracks.take(&keep);
    let mut a = TrackSet::new(&population, config)?.analyze();
    let n_suspect = tracks.rows_by_track().iter().filter(|rows| suspect[rows[0]]).count();
    a.summary.tracks.excluded_suspect = n_suspect;
    a.summary.tracks.input += n_suspect;
    a.track_metrics = track_metrics;
    a.steps = steps;
    Ok(a)
}

/// The complete motility analysis of a set of tracks.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// One row per track.
    pub track_metrics: TrackMetrics,
    /// One row per step.
    pub steps: StepMetrics,
    /// Mean square displacement against lag.
    pub msd: Msd,
    /// Velocity autocorrelation against lag.
    pub autocorrelation: Autocorrelation,
    /// Fits, distributions, tests and the settings used.
    pub summary: Summary,
}

impl Analysis {
    /// Writes `track_metrics.csv`, `steps.csv`, `msd.csv`, `autocorrelation.csv` and
    /// `metrics_summary.json` into `dir` (created if needed), each atomically.
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        self.track_metrics.write_csv(dir.join("track_metrics.csv"))?;
        self.steps.write_csv(dir.join("steps.csv"))?;
        self.msd.write_csv(dir.join("msd.csv"))?;
        self.autocorrelation.write_csv(dir.join("autocorrelation.csv"))?;
        self.summary.write_json(dir.join("metrics_summary.json"))
    }
}
