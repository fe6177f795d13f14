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

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::write::write_atomic;
use crate::table::{Column, TrackIds, Tracks};

mod msd;
mod population;
mod steps;
mod track;

pub use msd::{Autocorrelation, FurthFit, Msd, MsdFit};
pub use population::{
    distribution, CellBased, Distribution, Histogram, HotellingTest, RayleighTest, StepBased,
    Summary, Tests, TrackCounts,
};
pub use steps::StepMetrics;
pub use track::TrackMetrics;

/// Settings of the motility analysis (serde; every field has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Frame interval, s: a lag of k frames lasts k × this. `None`: the median over all steps
    /// of (time difference / frame difference) (the lower middle value for an even count).
    pub frame_interval_s: Option<f64>,
    /// A step slower than this counts as arrested, µm/min (default 2, after Mempel et al.
    /// 2004 and Beltman et al. 2009).
    pub arrest_threshold_um_per_min: f64,
    /// Analyse the xy projection (drop z), as many papers do. Tracks without z are always 2D.
    pub two_d: bool,
    /// Tracks with fewer points are left out of every result (default 1: none is).
    pub min_points: usize,
    /// Leave out every track with a point flagged in the `touches_border` column of the tracks
    /// (numbers: non-zero; text: `true`/`yes`/`1`). An error when that column is absent.
    pub exclude_border: bool,
    /// Largest lag of the MSD and the autocorrelation, frames. `None`: every lag present.
    pub max_lag_frames: Option<u32>,
    /// First and last lag (frames, inclusive) of the linear MSD fit that gives the motility
    /// coefficient. `None`: chosen automatically (see [`Msd::auto_fit_range`]).
    pub fit_lag_frames: Option<[u32; 2]>,
    /// A reference direction or point: adds the directionality columns per track.
    pub reference: Option<Reference>,
    /// Adds `staggered_straightness` per track (celltrackR's `staggered(straightness)`).
    pub staggered: bool,
    /// Axes of the Hotelling test: `false` (default) x and y only, as celltrackR's
    /// `hotellingsTest` does even for 3D data; `true` every axis of the analysis.
    pub hotelling_all_axes: bool,
    /// Steps skipped between two steps used by the Hotelling and Rayleigh tests (celltrackR's
    /// `step.spacing`, default 0): consecutive steps of a persistent cell are correlated, which
    /// the tests assume they are not.
    pub test_step_spacing: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            frame_interval_s: None,
            arrest_threshold_um_per_min: 2.0,
            two_d: false,
            min_points: 1,
            exclude_border: false,
            max_lag_frames: None,
            fit_lag_frames: None,
            reference: None,
            staggered: false,
            hotelling_all_axes: false,
            test_step_spacing: 0,
        }
    }
}

/// What directionality is measured against (z is ignored in a 2D analysis).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reference {
    /// A direction (x, y, z); only its orientation counts.
    Direction {
        /// The direction vector (any non-zero length).
        vector: [f64; 3],
    },
    /// A point (x, y, z) in µm, e.g. a chemokine source or an infection site.
    Point {
        /// Its position, µm.
        position_um: [f64; 3],
    },
}

impl MetricsConfig {
    /// Checks every value; errors name the parameter.
    pub fn validate(&self) -> Result<()> {
        if let Some(f) = self.frame_interval_s {
            if !(f.is_finite() && f > 0.0) {
                return Err(Error::param("frame_interval_s", format!("must be > 0 s, got {f}")));
            }
        }
        let a = self.arrest_threshold_um_per_min;
        if !(a.is_finite() && a >= 0.0) {
            return Err(Error::param(
                "arrest_threshold_um_per_min",
                format!("must be ≥ 0 µm/min, got {a}"),
            ));
        }
        if self.max_lag_frames == Some(0) {
            return Err(Error::param("max_lag_frames", "must be at least 1 frame"));
        }
        if let Some([lo, hi]) = self.fit_lag_frames {
            if lo == 0 || hi <= lo {
                return Err(Error::param(
                    "fit_lag_frames",
                    format!("give two lags 1 ≤ first < last, got [{lo}, {hi}]"),
                ));
            }
        }
        match self.reference {
            Some(Reference::Direction { vector }) => {
                // (A direction along z alone is refused later, for a 2D analysis.)
                if !vector.iter().all(|c| c.is_finite()) || vector == [0.0; 3] {
                    return Err(Error::param(
                        "reference_direction",
                        format!("must be a finite non-zero vector, got {vector:?}"),
                    ));
                }
            }
            Some(Reference::Point { position_um })
                if !position_um.iter().all(|c| c.is_finite()) =>
            {
                return Err(Error::param(
                    "reference_point",
                    format!("must be finite, got {position_um:?}"),
                ));
            }
            Some(Reference::Point { .. }) | None => {}
        }
        Ok(())
    }
}

/// Validated tracks, grouped and sorted by frame, ready to be measured.
///
/// Built once by [`TrackSet::new`] (which applies the config's filters and projection), then
/// measured by its methods; the free functions of this module build one and call them. When
/// the table's rows are already grouped by track and sorted by frame and every track is kept
/// (the usual layout), the set borrows the table's columns instead of copying them.
#[derive(Debug, Clone)]
pub struct TrackSet<'a> {
    /// Id of each analysed track, in order of first appearance.
    ids: TrackIds,
    /// Points of track k are rows `offsets[k]..offsets[k + 1]`.
    offsets: Vec<usize>,
    frame: Cow<'a, [u32]>,
    t_s: Cow<'a, [f64]>,
    /// Positions, µm; no z in a 2D analysis.
    x: Cow<'a, [f64]>,
    y: Cow<'a, [f64]>,
    z: Option<Cow<'a, [f64]>>,
    /// Mean z of each track from the input (even in a 2D analysis), NaN without z.
    mean_z_um: Vec<f64>,
    dims: usize,
    frame_interval_s: Option<f64>,
    config: MetricsConfig,
    reference: Option<Reference>,
    counts: TrackCounts,
}

impl<'a> TrackSet<'a> {
    /// Groups, sorts by frame and validates `tracks`, then keeps the tracks the config selects.
    ///
    /// Errors (naming the track): positions or times that are not finite, two points of a
    /// track in one frame, times that do not increase with the frame; a missing
    /// `touches_border` column when `exclude_border` is set; an invalid config.
    pub fn new(tracks: &'a Tracks, config: &MetricsConfig) -> Result<Self> {
        config.validate()?;
        let n = tracks.len();
        let len_ok = |name: &str, got: usize| {
            if got == n {
                Ok(())
            } else {
                Err(Error::data(format!("column `{name}` has {got} values for {n} rows")))
            }
        };
        len_ok("track_id", tracks.track_id.len())?;
        len_ok("t_s", tracks.t_s.len())?;
        len_ok("x_um", tracks.x_um.len())?;
        len_ok("y_um", tracks.y_um.len())?;
        if let Some(z) = &tracks.z_um {
            len_ok("z_um", z.len())?;
        }
        let border = if config.exclude_border { Some(border_flags(tracks)?) } else { None };
        let groups = group_by_track(tracks);
        let z_in = tracks.z_um.as_deref();
        let use_z = z_in.filter(|_| !config.two_d);
        let dims = if use_z.is_some() { 3 } else { 2 };
        let reference = config.reference.map(|r| project_reference(r, dims)).transpose()?;

        // Validate and select each track (parallel); the first bad track in order is reported.
        let verdicts: Vec<Result<Verdict>> = (0..groups.len())
            .into_par_iter()
            .map(|g| {
                let rows = groups.rows(g);
                check_track(tracks, rows.clone(), &groups)?;
                Ok(if border.as_ref().is_some_and(|f| rows.clone().any(|j| f[groups.row(j)])) {
                    Verdict::Border
                } else if rows.len() < config.min_points {
                    Verdict::Short
                } else {
                    Verdict::Keep
                })
            })
            .collect();
        let mut counts = TrackCounts { input: groups.len(), ..Default::default() };
        let mut kept = Vec::with_capacity(groups.len());
        for (g, v) in verdicts.into_iter().enumerate() {
            match v? {
                Verdict::Keep => kept.push(g),
                Verdict::Short => counts.excluded_short += 1,
                Verdict::Border => counts.excluded_border += 1,
            }
        }
        counts.analysed = kept.len();

        // Gather the kept tracks' rows, sorted by frame, into contiguous columns (parallel).
        let mut offsets = Vec::with_capacity(kept.len() + 1);
        offsets.push(0);
        for &g in &kept {
            offsets.push(offsets[offsets.len() - 1] + groups.rows(g).len());
        }
        let all = kept.len() == groups.len();
        let rows: Option<Vec<usize>> = match (&groups.order, all) {
            (None, true) => None, // every row, in input order
            _ => Some(kept.iter().flat_map(|&g| groups.rows(g).map(|j| groups.row(j))).collect()),
        };
        let src = |i: usize| rows.as_ref().map_or(i, |r| r[i]);
        let rows_ref = rows.as_deref();
        let mean_z_um = (0..kept.len())
            .into_par_iter()
            .map(|k| match z_in {
                Some(z) => {
                    let sum: f64 = (offsets[k]..offsets[k + 1]).map(|i| z[src(i)]).sum();
                    sum / (offsets[k + 1] - offsets[k]) as f64
                }
                None => f64::NAN,
            })
            .collect();
        let first = |k: usize| src(offsets[k]);
        let ids = match &tracks.track_id {
            TrackIds::Int(v) => TrackIds::Int((0..kept.len()).map(|k| v[first(k)]).collect()),
            TrackIds::Label(v) => {
                TrackIds::Label((0..kept.len()).map(|k| v[first(k)].clone()).collect())
            }
        };
        let mut set = TrackSet {
            ids,
            offsets,
            frame: gather(&tracks.frame, rows_ref),
            t_s: gather(&tracks.t_s, rows_ref),
            x: gather(&tracks.x_um, rows_ref),
            y: gather(&tracks.y_um, rows_ref),
            z: use_z.map(|z| gather(z, rows_ref)),
            mean_z_um,
            dims,
            frame_interval_s: config.frame_interval_s,
            config: config.clone(),
            reference,
            counts,
        };
        if set.frame_interval_s.is_none() {
            set.frame_interval_s = set.median_frame_interval();
        }
        Ok(set)
    }
}

impl TrackSet<'_> {
    /// Number of analysed tracks.
    pub fn n_tracks(&self) -> usize {
        self.offsets.len() - 1
    }
    /// Number of points of the analysed tracks.
    pub fn n_points(&self) -> usize {
        self.frame.len()
    }
    /// Number of steps (consecutive points of a track) of the analysed tracks.
    pub fn n_steps(&self) -> usize {
        self.n_points() - self.n_tracks()
    }
    /// Dimensions of the analysis: 3, or 2 for tracks without z or a 2D analysis.
    pub fn dims(&self) -> usize {
        self.dims
    }
    /// The frame interval, s: the config's, else inferred (`None` without any step).
    pub fn frame_interval_s(&self) -> Option<f64> {
        self.frame_interval_s
    }
    /// Ids of the analysed tracks, in order of first appearance.
    pub fn ids(&self) -> &TrackIds {
        &self.ids
    }
    /// Tracks read, analysed and left out.
    pub fn counts(&self) -> TrackCounts {
        self.counts
    }
    /// The config the set was built with.
    pub fn config(&self) -> &MetricsConfig {
        &self.config
    }

    fn range(&self, k: usize) -> std::ops::Range<usize> {
        self.offsets[k]..self.offsets[k + 1]
    }

    /// Position of row `i`, µm (z = 0 in 2D).
    #[inline]
    fn p(&self, i: usize) -> [f64; 3] {
        [self.x[i], self.y[i], self.z.as_ref().map_or(0.0, |z| z[i])]
    }

    /// Positions of the rows `r`.
    fn points(&self, r: std::ops::Range<usize>) -> Points<'_> {
        Points { x: &self.x[r.clone()], y: &self.y[r.clone()], z: self.z.as_ref().map(|z| &z[r]) }
    }

    /// The config's reference in the dimensions of the analysis (z = 0 in 2D), a direction as
    /// a unit vector.
    pub(crate) fn reference(&self) -> Option<Reference> {
        self.reference
    }

    fn median_frame_interval(&self) -> Option<f64> {
        // Time per frame of each step, (t_{i+1} − t_i) / (f_{i+1} − f_i).
        let ratios = |k: usize| {
            let r = self.range(k);
            (r.start..r.end - 1).map(move |i| {
                (self.t_s[i + 1] - self.t_s[i]) / (self.frame[i + 1] - self.frame[i]) as f64
            })
        };
        let first = (0..self.n_tracks()).find_map(|k| ratios(k).next())?;
        if (0..self.n_tracks()).into_par_iter().all(|k| ratios(k).all(|r| r == first)) {
            return Some(first); // regular sampling: nothing to sort
        }
        let mut all: Vec<f64> =
            (0..self.n_tracks()).into_par_iter().flat_map_iter(ratios).collect();
        let mid = (all.len() - 1) / 2;
        let (_, m, _) = all.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
        Some(*m)
    }

    /// Everything: per-track and per-step tables, MSD, autocorrelation and the summary.
    pub fn analyze(&self) -> Analysis {
        let (track_metrics, steps) = self.track_and_step_metrics();
        let msd = self.msd();
        let autocorrelation = self.autocorrelation();
        let summary = self.summary(&track_metrics, &steps, &msd);
        Analysis { track_metrics, steps, msd, autocorrelation, summary }
    }
}

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
    Ok(TrackSet::new(tracks, config)?.analyze())
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

/// Positions of a run of points as slices of the columns, µm; z is 0 in 2D.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Points<'p> {
    x: &'p [f64],
    y: &'p [f64],
    z: Option<&'p [f64]>,
}

impl Points<'_> {
    pub(crate) fn len(&self) -> usize {
        self.x.len()
    }
    #[inline]
    pub(crate) fn get(&self, i: usize) -> [f64; 3] {
        [self.x[i], self.y[i], self.z.map_or(0.0, |z| z[i])]
    }
}

/// `col` in the order `rows` (borrowed as is when `rows` is `None`), gathered in parallel.
fn gather<'a, T: Copy + Send + Sync>(col: &'a [T], rows: Option<&[usize]>) -> Cow<'a, [T]>
where
    [T]: ToOwned<Owned = Vec<T>>,
{
    match rows {
        None => Cow::Borrowed(col),
        Some(r) => Cow::Owned(r.par_iter().map(|&i| col[i]).collect()),
    }
}

/// `r` with z = 0 in 2D, a direction scaled to unit length (an error when it is zero).
fn project_reference(r: Reference, dims: usize) -> Result<Reference> {
    let flat = |mut v: [f64; 3]| {
        if dims == 2 {
            v[2] = 0.0;
        }
        v
    };
    Ok(match r {
        Reference::Direction { vector } => {
            let v = flat(vector);
            let n = dot(v, v).sqrt();
            if n == 0.0 {
                return Err(Error::param(
                    "reference_direction",
                    format!("{vector:?} has no x or y component, and the analysis is 2D"),
                ));
            }
            Reference::Direction { vector: [v[0] / n, v[1] / n, v[2] / n] }
        }
        Reference::Point { position_um } => Reference::Point { position_um: flat(position_um) },
    })
}

/// What becomes of a track.
enum Verdict {
    Keep,
    Short,
    Border,
}

/// Rows grouped by track: tracks in order of first appearance, rows sorted by frame.
struct Groups {
    /// Row of each grouped position; `None` when it is the identity (each track's rows are
    /// contiguous and sorted: the usual CSV layout).
    order: Option<Vec<usize>>,
    /// Track g holds grouped positions `bounds[g]..bounds[g + 1]`.
    bounds: Vec<usize>,
}

impl Groups {
    fn len(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }
    fn rows(&self, g: usize) -> std::ops::Range<usize> {
        self.bounds[g]..self.bounds[g + 1]
    }
    /// The input row at grouped position `j`.
    fn row(&self, j: usize) -> usize {
        self.order.as_ref().map_or(j, |o| o[j])
    }
}

fn group_by_track(tracks: &Tracks) -> Groups {
    let n = tracks.len();
    let same = |a: usize, b: usize| match &tracks.track_id {
        TrackIds::Int(v) => v[a] == v[b],
        TrackIds::Label(v) => v[a] == v[b],
    };
    // Fast path: each track's rows are contiguous.
    let mut bounds = vec![0];
    for i in 1..n {
        if !same(i - 1, i) {
            bounds.push(i);
        }
    }
    if n > 0 {
        bounds.push(n);
    }
    let starts = &bounds[..bounds.len().saturating_sub(1)];
    let contiguous = match &tracks.track_id {
        TrackIds::Int(v) => {
            let mut seen = HashSet::with_capacity(starts.len());
            starts.iter().all(|&s| seen.insert(v[s]))
        }
        TrackIds::Label(v) => {
            let mut seen = HashSet::with_capacity(starts.len());
            starts.iter().all(|&s| seen.insert(v[s].as_str()))
        }
    };
    if contiguous {
        let sorted = |w: &[usize]| (w[0] + 1..w[1]).all(|i| tracks.frame[i - 1] < tracks.frame[i]);
        if bounds.windows(2).all(sorted) {
            return Groups { order: None, bounds };
        }
        let mut order: Vec<usize> = (0..n).collect();
        for w in bounds.windows(2) {
            order[w[0]..w[1]].sort_by_key(|&r| tracks.frame[r]);
        }
        return Groups { order: Some(order), bounds };
    }
    let groups = tracks.rows_by_track();
    let mut bounds = Vec::with_capacity(groups.len() + 1);
    bounds.push(0);
    let mut order = Vec::with_capacity(n);
    for g in groups {
        order.extend(g);
        bounds.push(order.len());
    }
    Groups { order: Some(order), bounds }
}

/// Checks one track (grouped positions `rows`, sorted by frame): finite values, one point per
/// frame, increasing times.
fn check_track(tracks: &Tracks, rows: std::ops::Range<usize>, groups: &Groups) -> Result<()> {
    let name = || tracks.track_id.label(groups.row(rows.start));
    for j in rows.clone() {
        let r = groups.row(j);
        let z = tracks.z_um.as_ref().map_or(0.0, |z| z[r]);
        if !(tracks.x_um[r].is_finite() && tracks.y_um[r].is_finite() && z.is_finite()) {
            return Err(Error::data(format!(
                "track {} frame {}: position is not a finite number",
                name(),
                tracks.frame[r]
            )));
        }
        if !tracks.t_s[r].is_finite() {
            return Err(Error::data(format!(
                "track {} frame {}: time is not a finite number",
                name(),
                tracks.frame[r]
            )));
        }
    }
    for j in rows.start + 1..rows.end {
        let (a, b) = (groups.row(j - 1), groups.row(j));
        if tracks.frame[a] == tracks.frame[b] {
            return Err(Error::data(format!(
                "track {} has two points in frame {}",
                name(),
                tracks.frame[a]
            )));
        }
        if tracks.t_s[b] <= tracks.t_s[a] {
            return Err(Error::data(format!(
                "track {}: time does not increase between frames {} and {} ({} s, {} s)",
                name(),
                tracks.frame[a],
                tracks.frame[b],
                tracks.t_s[a],
                tracks.t_s[b]
            )));
        }
    }
    Ok(())
}

/// Per-row flags of the `touches_border` column.
fn border_flags(tracks: &Tracks) -> Result<Vec<bool>> {
    let flags = tracks.column("touches_border");
    if let Some(c) = flags.filter(|c| c.len() != tracks.len()) {
        return Err(Error::data(format!(
            "column `touches_border` has {} values for {} rows",
            c.len(),
            tracks.len()
        )));
    }
    match flags {
        None => Err(Error::param(
            "exclude_border",
            "the tracks have no `touches_border` column to exclude border tracks by",
        )),
        Some(Column::Float(v)) => Ok(v.iter().map(|&x| x != 0.0 && !x.is_nan()).collect()),
        Some(Column::Text(v)) => v
            .iter()
            .enumerate()
            .map(|(i, s)| match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(true),
                "false" | "no" | "0" | "" => Ok(false),
                other => Err(Error::data(format!(
                    "track {} frame {}: `touches_border` = `{other}` is not true/false",
                    tracks.track_id.label(i),
                    tracks.frame[i]
                ))),
            })
            .collect(),
    }
}

pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// Cosine of the angle between two vectors, computed as celltrackR's `vecAngle` does before
/// its acos: each vector divided by its length, the dot product clamped to [−1, 1]. A zero
/// vector gives NaN (0/0), as in celltrackR.
pub(crate) fn cosine(a: [f64; 3], b: [f64; 3]) -> f64 {
    let na = dot(a, a).sqrt();
    let nb = dot(b, b).sqrt();
    let ua = [a[0] / na, a[1] / na, a[2] / na];
    let ub = [b[0] / nb, b[1] / nb, b[2] / nb];
    dot(ua, ub).clamp(-1.0, 1.0)
}

/// Angle between two vectors, radians in [0, π] (celltrackR's `vecAngle`); NaN for a zero
/// vector.
pub(crate) fn angle(a: [f64; 3], b: [f64; 3]) -> f64 {
    acos(cosine(a, b))
}

/// Coefficients, highest degree first, of P(z) = (asin(√z)/√z − 1)/z on z ∈ [0, 1/4]: the
/// Chebyshev interpolant of degree 12 (mpmath `chebyfit`, 50 digits; its error is 1.5e-17,
/// below the rounding of the evaluation).
const ASIN_P: [f64; 13] = [
    0.028757851367421566,
    -0.014851887071247204,
    0.01740087944269402,
    0.005457506718640358,
    0.01032281435018578,
    0.011479177415184906,
    0.013971212973552933,
    0.017352392720869973,
    0.02237217294214989,
    0.030381944138531247,
    0.04464285714635543,
    0.07499999999998433,
    0.16666666666666669,
];

/// asin(x) − x = x·z·P(z), z = x², for |x| ≤ 1/2.
#[inline(always)]
fn asin_tail(x: f64, z: f64) -> f64 {
    let mut p = ASIN_P[0];
    for &c in &ASIN_P[1..] {
        p = p * z + c;
    }
    x * z * p
}

/// arccos in radians for x in [−1, 1] (NaN stays NaN), within a few ulp of the libm's — the
/// turning angles call it once per step, and the libm's correctly rounded arccos costs ~30 ns.
/// The reduction is the classic one (as in fdlibm): asin's polynomial for |x| ≤ 1/2, and
/// acos(x) = 2·asin(√((1 − x)/2)) (or π minus that of −x) beyond, where 1 − x is exact.
#[inline]
pub(crate) fn acos(x: f64) -> f64 {
    const PIO2_HI: f64 = std::f64::consts::FRAC_PI_2; // π/2 rounded to f64
    const PIO2_LO: f64 = 6.123_233_995_736_766e-17; // π/2 − PIO2_HI
    if x.abs() <= 0.5 {
        PIO2_HI - (x - (PIO2_LO - asin_tail(x, x * x)))
    } else if x > 0.5 {
        let z = (1.0 - x) * 0.5;
        let s = z.sqrt();
        2.0 * (s + asin_tail(s, z))
    } else {
        // x < −1/2, or NaN (which every step below keeps).
        let z = (1.0 + x) * 0.5;
        let s = z.sqrt();
        2.0 * (PIO2_HI - (s + (asin_tail(s, z) - PIO2_LO)))
    }
}

/// The fields of one CSV row, written in order straight into the chunk's text (no
/// allocation per field).
pub(crate) struct RowWriter<'w> {
    out: &'w mut Vec<u8>,
    first: bool,
}

impl RowWriter<'_> {
    fn sep(&mut self) {
        if !std::mem::replace(&mut self.first, false) {
            self.out.push(b',');
        }
    }
    /// A number, as [`crate::table::fmt_f64`] writes it (shortest round trip, `NaN`).
    pub(crate) fn num(&mut self, v: f64) -> csv::Result<()> {
        self.sep();
        crate::table::push_f64(self.out, v);
        Ok(())
    }
    /// An integer.
    pub(crate) fn int(&mut self, v: u64) -> csv::Result<()> {
        self.sep();
        crate::table::push_int(self.out, v);
        Ok(())
    }
    /// Row `i`'s track id.
    pub(crate) fn id(&mut self, ids: &TrackIds, i: usize) -> csv::Result<()> {
        match ids {
            TrackIds::Int(v) => self.int(v[i]),
            TrackIds::Label(v) => {
                self.sep();
                crate::table::push_text(self.out, v[i].as_bytes());
                Ok(())
            }
        }
    }
}

/// Rows formatted per unit of parallel work.
const WRITE_CHUNK: usize = 16_384;

/// Writes a CSV of `n` rows, atomically: `header`, then the fields `row(i, …)` writes for each
/// row. Rows are formatted in parallel, a few chunks at a time (memory stays bounded), and
/// written in order.
pub(crate) fn write_table(
    path: &Path,
    header: &[&str],
    n: usize,
    row: impl Fn(usize, &mut RowWriter) -> csv::Result<()> + Sync,
) -> Result<()> {
    let format_chunk = |c: usize| -> std::io::Result<Vec<u8>> {
        let rows = c * WRITE_CHUNK..((c + 1) * WRITE_CHUNK).min(n);
        let mut out = Vec::with_capacity(rows.len() * 16 * header.len());
        for i in rows {
            row(i, &mut RowWriter { out: &mut out, first: true })?;
            out.push(b'\n');
        }
        Ok(out)
    };
    write_atomic(path, |w: &mut dyn Write| {
        let mut head = Vec::new();
        for (j, name) in header.iter().enumerate() {
            if j > 0 {
                head.push(b',');
            }
            crate::table::push_text(&mut head, name.as_bytes());
        }
        head.push(b'\n');
        w.write_all(&head)?;
        let chunks: Vec<usize> = (0..n.div_ceil(WRITE_CHUNK)).collect();
        for batch in chunks.chunks(4 * rayon::current_num_threads().max(1)) {
            let texts: Vec<std::io::Result<Vec<u8>>> =
                batch.par_iter().map(|&c| format_chunk(c)).collect();
            for text in texts {
                w.write_all(&text?)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The polynomial arccos agrees with the libm's to a few ulp over [−1, 1]: a dense sweep,
    /// the branch boundaries ±1/2, the ends, values next to them, and NaN.
    #[test]
    fn acos_matches_libm_to_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut check = |x: f64| {
            let (got, want) = (acos(x), x.acos());
            let ulp = f64::EPSILON * want.max(f64::MIN_POSITIVE);
            worst = worst.max((got - want).abs() / ulp);
        };
        let n = 2_000_000;
        for i in 0..=n {
            check(-1.0 + 2.0 * i as f64 / n as f64);
        }
        for x in [0.5f64, -0.5, 1.0, -1.0, 0.0, -0.0, 1e-300, 0.999_999_999_999, -0.999_999_999_999]
        {
            for y in [x, x.next_up(), x.next_down()] {
                if (-1.0..=1.0).contains(&y) {
                    check(y);
                }
            }
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(acos(1.0), 0.0);
        assert!(acos(f64::NAN).is_nan());
        assert!((acos(-1.0) - std::f64::consts::PI).abs() <= 4.5e-16);
    }

    fn tracks(ids: Vec<u64>, frames: Vec<u32>) -> Tracks {
        let n = ids.len();
        Tracks {
            track_id: TrackIds::Int(ids),
            t_s: frames.iter().map(|&f| f as f64 * 10.0).collect(),
            frame: frames,
            x_um: (0..n).map(|i| i as f64).collect(),
            y_um: vec![0.0; n],
            ..Default::default()
        }
    }

    #[test]
    fn numbers_are_written_as_the_table_writes_them() {
        let values =
            [0.0, -0.0, 1.0, 0.1, 1e-300, 1e21, -2.5e-7, f64::NAN, f64::INFINITY, 1.0 / 3.0];
        let mut out = Vec::new();
        let mut row = RowWriter { out: &mut out, first: true };
        for v in values {
            row.num(v).unwrap();
        }
        row.id(&TrackIds::Label(vec!["a,b".into()]), 0).unwrap();
        out.push(b'\n');
        let text = String::from_utf8(out).unwrap();
        let want: Vec<String> = values.iter().map(|&v| crate::table::fmt_f64(v)).collect();
        assert_eq!(text, format!("{},\"a,b\"\n", want.join(",")));
    }

    #[test]
    fn tables_of_many_chunks_keep_their_row_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let n = 3 * WRITE_CHUNK + 17;
        write_table(&path, &["i", "half"], n, |i, w| {
            w.int(i as u64)?;
            w.num(i as f64 / 2.0)
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), n + 1);
        assert_eq!(lines[0], "i,half");
        for (i, line) in lines[1..].iter().enumerate() {
            assert_eq!(*line, format!("{i},{}", i as f64 / 2.0));
        }
    }

    #[test]
    fn grouping_handles_interleaved_and_unsorted_rows() {
        let t = tracks(vec![1, 2, 1, 2, 1], vec![2, 0, 0, 1, 1]);
        let set = TrackSet::new(&t, &MetricsConfig::default()).unwrap();
        assert_eq!(set.offsets, vec![0, 3, 5]);
        assert_eq!(set.frame, vec![0, 1, 2, 0, 1]);
        assert_eq!(set.ids, TrackIds::Int(vec![1, 2]));
        // Rows 2, 4, 0 of track 1 (frames 0, 1, 2) carry x = 2, 4, 0.
        assert_eq!(set.x.to_vec(), vec![2.0, 4.0, 0.0, 1.0, 3.0]);
        let contiguous = tracks(vec![5, 5, 5, 9, 9], vec![1, 0, 2, 0, 1]);
        let set = TrackSet::new(&contiguous, &MetricsConfig::default()).unwrap();
        assert_eq!(set.frame, vec![0, 1, 2, 0, 1]);
        assert_eq!(set.frame_interval_s(), Some(10.0));
    }

    #[test]
    fn invalid_tracks_are_errors_naming_the_track() {
        let mut t = tracks(vec![3, 3], vec![0, 1]);
        t.t_s = vec![10.0, 10.0];
        let e = TrackSet::new(&t, &MetricsConfig::default()).unwrap_err().to_string();
        assert!(e.contains("track 3") && e.contains("does not increase"), "{e}");
        let t = tracks(vec![4, 4], vec![1, 1]);
        let e = TrackSet::new(&t, &MetricsConfig::default()).unwrap_err().to_string();
        assert!(e.contains("track 4") && e.contains("two points in frame 1"), "{e}");
        let mut t = tracks(vec![6, 6], vec![0, 1]);
        t.y_um[1] = f64::NAN;
        let e = TrackSet::new(&t, &MetricsConfig::default()).unwrap_err().to_string();
        assert!(e.contains("track 6") && e.contains("finite"), "{e}");
        let mut t = tracks(vec![6, 6], vec![0, 1]);
        t.x_um.pop();
        assert!(TrackSet::new(&t, &MetricsConfig::default()).is_err());
    }

    #[test]
    fn config_values_are_checked() {
        let bad = [
            MetricsConfig { frame_interval_s: Some(0.0), ..Default::default() },
            MetricsConfig { arrest_threshold_um_per_min: f64::NAN, ..Default::default() },
            MetricsConfig { max_lag_frames: Some(0), ..Default::default() },
            MetricsConfig { fit_lag_frames: Some([3, 3]), ..Default::default() },
            MetricsConfig {
                reference: Some(Reference::Direction { vector: [0.0, 0.0, 0.0] }),
                ..Default::default()
            },
            MetricsConfig {
                reference: Some(Reference::Point { position_um: [0.0, f64::NAN, 0.0] }),
                ..Default::default()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
        assert!(MetricsConfig::default().validate().is_ok());
        let json = r#"{"reference": {"kind": "point", "position_um": [1, 2, 3]}, "two_d": true}"#;
        let c: MetricsConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.reference, Some(Reference::Point { position_um: [1.0, 2.0, 3.0] }));
        assert_eq!(c.arrest_threshold_um_per_min, 2.0);
    }

    #[test]
    fn border_and_short_tracks_are_left_out() {
        let mut t = tracks(vec![1, 1, 2, 2, 3], vec![0, 1, 0, 1, 0]);
        let cfg = MetricsConfig { exclude_border: true, min_points: 2, ..Default::default() };
        let e = TrackSet::new(&t, &cfg).unwrap_err().to_string();
        assert!(e.contains("touches_border"), "{e}");
        t.set_column("touches_border", Column::Float(vec![0.0, 0.0, 0.0, 1.0, 0.0])).unwrap();
        let set = TrackSet::new(&t, &cfg).unwrap();
        assert_eq!(set.ids, TrackIds::Int(vec![1]));
        let c = set.counts();
        assert_eq!((c.input, c.analysed, c.excluded_border, c.excluded_short), (3, 1, 1, 1));
        let words = ["false", "no", "", "TRUE", "0"].map(String::from).to_vec();
        t.set_column("touches_border", Column::Text(words)).unwrap();
        assert_eq!(TrackSet::new(&t, &cfg).unwrap().ids, TrackIds::Int(vec![1]));
        let words = ["false", "maybe", "", "TRUE", "0"].map(String::from).to_vec();
        t.set_column("touches_border", Column::Text(words)).unwrap();
        let e = TrackSet::new(&t, &cfg).unwrap_err().to_string();
        assert!(e.contains("track 1") && e.contains("maybe"), "{e}");
        t.extra[0].1 = Column::Float(vec![0.0; 2]); // built by hand with a wrong length
        assert!(TrackSet::new(&t, &cfg).is_err());
    }
}
