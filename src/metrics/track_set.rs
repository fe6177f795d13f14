//! [`TrackSet`]: the tracks grouped by track, sorted by frame, validated and selected by the
//! config, ready to be measured; and [`Points`], a run of their positions.

use std::borrow::Cow;
use std::collections::HashSet;

use rayon::prelude::*;

use super::{dot, Analysis, MetricsConfig, Reference, TrackCounts};
use crate::error::{Error, Result};
use crate::table::{Column, TrackIds, Tracks};

/// Validated tracks, grouped and sorted by frame, ready to be measured.
///
/// Built once by [`TrackSet::new`] (which applies the config's filters and projection), then
/// measured by its methods; the free functions of this module build one and call them. When
/// the table's rows are already grouped by track and sorted by frame and every track is kept
/// (the usual layout), the set borrows the table's columns instead of copying them.
#[derive(Debug, Clone)]
pub struct TrackSet<'a> {
    /// Id of each analysed track, in order of first appearance.
    pub(super) ids: TrackIds,
    /// Points of track k are rows `offsets[k]..offsets[k + 1]`.
    offsets: Vec<usize>,
    pub(super) frame: Cow<'a, [u32]>,
    pub(super) t_s: Cow<'a, [f64]>,
    /// Positions, µm; no z in a 2D analysis.
    pub(super) x: Cow<'a, [f64]>,
    pub(super) y: Cow<'a, [f64]>,
    pub(super) z: Option<Cow<'a, [f64]>>,
    /// Mean z of each track from the input (even in a 2D analysis), NaN without z.
    pub(super) mean_z_um: Vec<f64>,
    pub(super) dims: usize,
    pub(super) frame_interval_s: Option<f64>,
    pub(super) config: MetricsConfig,
    reference: Option<Reference>,
    pub(super) counts: TrackCounts,
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

    pub(super) fn range(&self, k: usize) -> std::ops::Range<usize> {
        self.offsets[k]..self.offsets[k + 1]
    }

    /// Position of row `i`, µm (z = 0 in 2D).
    #[inline]
    pub(super) fn p(&self, i: usize) -> [f64; 3] {
        [self.x[i], self.y[i], self.z.as_ref().map_or(0.0, |z| z[i])]
    }

    /// Positions of the rows `r`.
    pub(super) fn points(&self, r: std::ops::Range<usize>) -> Points<'_> {
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
                    "metrics.reference.vector",
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
            "metrics.exclude_border",
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

#[cfg(test)]
mod tests {
    use super::*;

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
