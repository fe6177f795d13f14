//! Per-track measures: one row per track.

use std::path::Path;

use nalgebra::{Matrix2, Matrix3};
use rayon::prelude::*;

use super::steps::for_each_step;
use super::{angle, cosine, dot, sub, write_table, Points, Reference, StepMetrics, TrackSet};
use crate::error::Result;
use crate::table::TrackIds;

/// Per-track motility measures, one row per analysed track (columnar).
///
/// Definitions are celltrackR 1.2.2's (`R/track-measures.R`), with its values for undefined
/// cases; p_1 … p_n are the track's positions sorted by frame, s_i = p_{i+1} − p_i its steps.
/// The optional columns are present only when asked for in [`super::MetricsConfig`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackMetrics {
    /// Track id, as given.
    pub track_id: TrackIds,
    /// Number of points.
    pub n_points: Vec<u32>,
    /// t_n − t_1, s; 0 for a single point.
    pub duration_s: Vec<f64>,
    /// Σ |s_i| (path length), µm; 0 for a single point.
    pub track_length_um: Vec<f64>,
    /// |p_n − p_1| (net displacement), µm; 0 for a single point.
    pub displacement_um: Vec<f64>,
    /// max_i |p_i − p_1| (farthest distance from the *first* point, not the largest pairwise
    /// distance), µm; 0 for a single point.
    pub max_displacement_um: Vec<f64>,
    /// Track length / duration, µm/min (a time-weighted mean speed); NaN for a single point
    /// (celltrackR's 0/0).
    pub speed_um_per_min: Vec<f64>,
    /// Mean of the step speeds |s_i| / (t_{i+1} − t_i), µm/min; NaN for a single point.
    pub mean_step_speed_um_per_min: Vec<f64>,
    /// Median of the step speeds (mean of the two middle ones for an even count), µm/min; NaN
    /// for a single point.
    pub median_step_speed_um_per_min: Vec<f64>,
    /// Displacement / track length (confinement ratio, meandering index); **1** for a track of
    /// zero length (celltrackR's code; its documentation says NaN).
    pub straightness: Vec<f64>,
    /// Displacement / max displacement; NaN when the max displacement is 0.
    pub displacement_ratio: Vec<f64>,
    /// Max displacement / track length; NaN when the track length is 0.
    pub outreach_ratio: Vec<f64>,
    /// From the eigenvalues λ_k of the sample covariance (n − 1) of the positions:
    /// Σ_k (λ_k − λ̄)² / (d (d − 1) λ̄²), in [0, 1], 1 for a straight line. **1** for tracks of
    /// one or two points; NaN when every position is the same (0/0).
    pub asphericity: Vec<f64>,
    /// Mean angle between consecutive steps, degrees (0 = straight on, 90 for an uncorrelated
    /// walk); NaN for fewer than 3 points. Angles with a zero-length step are NaN and left out
    /// of the mean (celltrackR's `na.rm = TRUE`); NaN when all are.
    pub mean_turning_angle_deg: Vec<f64>,
    /// Angle between the first and the last step, degrees; **0** for fewer than 3 points
    /// (celltrackR), NaN when either step has zero length.
    pub overall_angle_deg: Vec<f64>,
    /// Fraction of the steps whose speed is below the arrest threshold (Mempel et al. 2004);
    /// NaN for a single point.
    pub arrest_coefficient: Vec<f64>,
    /// |p_n − p_1|², µm²; 0 for a single point.
    pub square_displacement_um2: Vec<f64>,
    /// Mean z of the points as given (also in a 2D analysis), µm; NaN for tracks without z.
    pub mean_z_um: Vec<f64>,
    /// With a reference: (p_n − p_1)·u / track length, u the reference direction (for a
    /// reference point, the unit vector from p_1 to it); NaN for a zero-length track or when
    /// p_1 is the point.
    pub forward_migration_index: Option<Vec<f64>>,
    /// With a reference: cosine of the angle between the net displacement p_n − p_1 and u (as
    /// for the forward migration index), in [−1, 1] (Andrew & Insall 2007); NaN for a zero
    /// displacement.
    pub chemotactic_index: Option<Vec<f64>>,
    /// With a reference: mean over the steps of the angle between s_i and the reference
    /// direction (for a point, the direction from p_i to it: celltrackR's `angleToDir` and
    /// `angleToPoint`), degrees; 90 without bias. Undefined angles (zero step, p_i at the
    /// point) are left out; NaN for a single point.
    pub mean_angle_to_reference_deg: Option<Vec<f64>>,
    /// With `staggered`: mean straightness over every sub-track of one or more steps
    /// (celltrackR's `staggered(straightness)`, `min.segments = 1`); NaN for a single point.
    pub staggered_straightness: Option<Vec<f64>>,
    /// Further per-track columns added by later stages (the interactions' `<partner>_…`),
    /// written after the others.
    pub extra: Vec<(String, Vec<f64>)>,
}

/// One track's measures.
#[derive(Debug, Clone, Copy, Default)]
struct Row {
    n_points: u32,
    duration_s: f64,
    track_length_um: f64,
    displacement_um: f64,
    max_displacement_um: f64,
    speed_um_per_min: f64,
    mean_step_speed_um_per_min: f64,
    median_step_speed_um_per_min: f64,
    straightness: f64,
    displacement_ratio: f64,
    outreach_ratio: f64,
    asphericity: f64,
    mean_turning_angle_deg: f64,
    overall_angle_deg: f64,
    arrest_coefficient: f64,
    square_displacement_um2: f64,
    forward_migration_index: f64,
    chemotactic_index: f64,
    mean_angle_to_reference_deg: f64,
    staggered_straightness: f64,
}

/// One track's steps: lengths (µm), speeds (µm/min), turning angles (degrees).
struct StepCols<'b> {
    len: &'b [f64],
    speed: &'b [f64],
    turn_deg: &'b [f64],
}

/// Per-thread buffers.
#[derive(Default)]
struct Scratch {
    len: Vec<f64>,
    speed: Vec<f64>,
    turn_deg: Vec<f64>,
    sorted: Vec<f64>,
}

impl TrackSet<'_> {
    /// Per-track measures (parallel over tracks).
    pub fn track_metrics(&self) -> TrackMetrics {
        self.track_metrics_from(None)
    }

    /// Per-track and per-step measures together: the per-track measures read the step
    /// lengths, speeds and turning angles from the step table instead of computing them again
    /// (the values are the same as [`TrackSet::track_metrics`]'s).
    pub fn track_and_step_metrics(&self) -> (TrackMetrics, StepMetrics) {
        let steps = self.steps();
        (self.track_metrics_from(Some(&steps)), steps)
    }

    /// Per-track measures; with `steps` (this set's own step table) the step lengths, speeds
    /// and turning angles are read from it.
    fn track_metrics_from(&self, steps: Option<&StepMetrics>) -> TrackMetrics {
        let reference = self.reference();
        let threshold = self.config.arrest_threshold_um_per_min;
        let staggered = self.config.staggered;
        let rows: Vec<Row> = (0..self.n_tracks())
            .into_par_iter()
            .map_init(Scratch::default, |sc, k| {
                let r = self.range(k);
                let (t, p) = (&self.t_s[r.clone()], self.points(r.clone()));
                let Scratch { len, speed, turn_deg, sorted } = sc;
                let cols = match steps {
                    Some(st) => {
                        // Track k's steps follow the k earlier tracks' (one step fewer each).
                        let s = r.start - k..r.end - 1 - k;
                        StepCols {
                            len: &st.step_um[s.clone()],
                            speed: &st.speed_um_per_min[s.clone()],
                            turn_deg: &st.turning_angle_deg[s],
                        }
                    }
                    None => {
                        len.clear();
                        speed.clear();
                        turn_deg.clear();
                        for_each_step(t, p, |_, s| {
                            len.push(s.len);
                            speed.push(s.speed);
                            turn_deg.push(s.turn_deg);
                        });
                        StepCols { len, speed, turn_deg }
                    }
                };
                measure(t, p, self.dims, threshold, reference, staggered, cols, sorted)
            })
            .collect();
        let col = |f: fn(&Row) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
        let opt = |on: bool, f: fn(&Row) -> f64| on.then(|| col(f));
        let has_ref = reference.is_some();
        TrackMetrics {
            track_id: self.ids.clone(),
            n_points: rows.iter().map(|r| r.n_points).collect(),
            duration_s: col(|r| r.duration_s),
            track_length_um: col(|r| r.track_length_um),
            displacement_um: col(|r| r.displacement_um),
            max_displacement_um: col(|r| r.max_displacement_um),
            speed_um_per_min: col(|r| r.speed_um_per_min),
            mean_step_speed_um_per_min: col(|r| r.mean_step_speed_um_per_min),
            median_step_speed_um_per_min: col(|r| r.median_step_speed_um_per_min),
            straightness: col(|r| r.straightness),
            displacement_ratio: col(|r| r.displacement_ratio),
            outreach_ratio: col(|r| r.outreach_ratio),
            asphericity: col(|r| r.asphericity),
            mean_turning_angle_deg: col(|r| r.mean_turning_angle_deg),
            overall_angle_deg: col(|r| r.overall_angle_deg),
            arrest_coefficient: col(|r| r.arrest_coefficient),
            square_displacement_um2: col(|r| r.square_displacement_um2),
            mean_z_um: self.mean_z_um.clone(),
            forward_migration_index: opt(has_ref, |r| r.forward_migration_index),
            chemotactic_index: opt(has_ref, |r| r.chemotactic_index),
            mean_angle_to_reference_deg: opt(has_ref, |r| r.mean_angle_to_reference_deg),
            staggered_straightness: opt(staggered, |r| r.staggered_straightness),
            extra: Vec::new(),
        }
    }
}

/// All measures of one track: times `t` (s), positions `p` (µm), `dims` 2 or 3, its steps.
#[allow(clippy::too_many_arguments)]
fn measure(
    t: &[f64],
    p: Points<'_>,
    dims: usize,
    arrest_threshold: f64,
    reference: Option<Reference>,
    staggered: bool,
    steps: StepCols<'_>,
    sorted: &mut Vec<f64>,
) -> Row {
    let n = p.len();
    let mut row = Row { n_points: n as u32, ..Default::default() };
    let first = p.get(0);
    let last = p.get(n - 1);

    let length: f64 = steps.len.iter().sum();
    let arrested = steps.speed.iter().filter(|&&v| v < arrest_threshold).count();
    let (turn_sum, turn_n) = steps
        .turn_deg
        .iter()
        .filter(|a| !a.is_nan())
        .fold((0.0, 0usize), |(s, c), &a| (s + a, c + 1));
    let mut max_sq = 0.0f64;
    for i in 0..n {
        let d = sub(p.get(i), first);
        max_sq = max_sq.max(dot(d, d));
    }
    let net = sub(last, first);
    let sq_disp = if n < 2 { 0.0 } else { dot(net, net) };
    let disp = sq_disp.sqrt();
    let max_disp = max_sq.sqrt();

    row.duration_s = if n < 2 { 0.0 } else { t[n - 1] - t[0] };
    row.track_length_um = length;
    row.displacement_um = disp;
    row.square_displacement_um2 = sq_disp;
    row.max_displacement_um = max_disp;
    row.speed_um_per_min = length / row.duration_s * 60.0; // 0/0 = NaN for one point
    row.straightness = if length > 0.0 { disp / length } else { 1.0 };
    row.displacement_ratio = if max_disp > 0.0 { disp / max_disp } else { f64::NAN };
    row.outreach_ratio = if length > 0.0 { max_disp / length } else { f64::NAN };
    row.asphericity = asphericity(n, |i| p.get(i), dims);
    row.mean_turning_angle_deg = if n < 3 { f64::NAN } else { turn_sum / turn_n as f64 };
    row.overall_angle_deg =
        if n < 3 { 0.0 } else { angle(sub(p.get(1), first), sub(last, p.get(n - 2))).to_degrees() };
    let n_steps = steps.speed.len() as f64;
    row.arrest_coefficient = arrested as f64 / n_steps; // NaN for one point
    row.mean_step_speed_um_per_min = steps.speed.iter().sum::<f64>() / n_steps;
    sorted.clear();
    sorted.extend_from_slice(steps.speed);
    row.median_step_speed_um_per_min = median(sorted);

    if let Some(reference) = reference {
        // u: the reference direction; for a point, from the first position to it.
        let u = match reference {
            Reference::Direction { vector } => vector,
            Reference::Point { position_um } => sub(position_um, first),
        };
        row.forward_migration_index = dot(net, u) / dot(u, u).sqrt() / length;
        row.chemotactic_index = cosine(net, u);
        let (mut sum, mut count) = (0.0, 0usize);
        for i in 0..n - 1 {
            let towards = match reference {
                Reference::Direction { vector } => vector,
                Reference::Point { position_um } => sub(position_um, p.get(i)),
            };
            let a = angle(sub(p.get(i + 1), p.get(i)), towards);
            if !a.is_nan() {
                sum += a;
                count += 1;
            }
        }
        row.mean_angle_to_reference_deg = (sum / count as f64).to_degrees();
    }
    if staggered {
        row.staggered_straightness = staggered_straightness(n, |i| p.get(i));
    }
    row
}

/// Median of `v` (reordered); NaN when empty.
fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, &mut hi, _) = v.select_nth_unstable_by(n / 2, |a, b| a.total_cmp(b));
    if n % 2 == 1 {
        return hi;
    }
    let lo = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo + hi) / 2.0
}

/// celltrackR's asphericity: 1 for n ≤ 2; from the covariance's eigenvalues otherwise.
fn asphericity(n: usize, p: impl Fn(usize) -> [f64; 3], dims: usize) -> f64 {
    if n <= 2 {
        return 1.0;
    }
    let mut mean = [0.0; 3];
    for i in 0..n {
        let q = p(i);
        for a in 0..3 {
            mean[a] += q[a];
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut c = [[0.0; 3]; 3];
    for i in 0..n {
        let d = sub(p(i), mean);
        for a in 0..3 {
            for b in a..3 {
                c[a][b] += d[a] * d[b];
            }
        }
    }
    let cov = |a: usize, b: usize| c[a.min(b)][a.max(b)] / (n - 1) as f64;
    let eig: Vec<f64> = if dims == 3 {
        Matrix3::from_fn(cov).symmetric_eigenvalues().iter().copied().collect()
    } else {
        Matrix2::from_fn(cov).symmetric_eigenvalues().iter().copied().collect()
    };
    let d = dims as f64;
    let mean_eig = eig.iter().sum::<f64>() / d;
    eig.iter().map(|l| (l - mean_eig).powi(2) / d / (d - 1.0) / (mean_eig * mean_eig)).sum()
}

/// Mean straightness over all sub-tracks rows j..k, j < k (celltrackR's
/// `staggered(straightness)`: its per-length means weighted by the number of sub-tracks of each
/// length are this plain mean). NaN for one point.
fn staggered_straightness(n: usize, p: impl Fn(usize) -> [f64; 3]) -> f64 {
    let mut cum = Vec::with_capacity(n);
    cum.push(0.0);
    for i in 1..n {
        let s = sub(p(i), p(i - 1));
        cum.push(cum[i - 1] + dot(s, s).sqrt());
    }
    let mut sum = 0.0;
    let mut count = 0usize;
    for j in 0..n {
        for k in j + 1..n {
            let len = cum[k] - cum[j];
            let d = sub(p(k), p(j));
            sum += if len > 0.0 { dot(d, d).sqrt() / len } else { 1.0 };
            count += 1;
        }
    }
    sum / count as f64
}

impl TrackMetrics {
    /// Number of tracks.
    pub fn len(&self) -> usize {
        self.n_points.len()
    }
    /// True when there are no tracks.
    pub fn is_empty(&self) -> bool {
        self.n_points.is_empty()
    }

    /// The numeric columns in CSV order (optional ones only when present), by name.
    pub fn columns(&self) -> Vec<(&str, &[f64])> {
        let mut cols: Vec<(&str, &[f64])> = vec![
            ("duration_s", &self.duration_s),
            ("track_length_um", &self.track_length_um),
            ("displacement_um", &self.displacement_um),
            ("max_displacement_um", &self.max_displacement_um),
            ("speed_um_per_min", &self.speed_um_per_min),
            ("mean_step_speed_um_per_min", &self.mean_step_speed_um_per_min),
            ("median_step_speed_um_per_min", &self.median_step_speed_um_per_min),
            ("straightness", &self.straightness),
            ("displacement_ratio", &self.displacement_ratio),
            ("outreach_ratio", &self.outreach_ratio),
            ("asphericity", &self.asphericity),
            ("mean_turning_angle_deg", &self.mean_turning_angle_deg),
            ("overall_angle_deg", &self.overall_angle_deg),
            ("arrest_coefficient", &self.arrest_coefficient),
            ("square_displacement_um2", &self.square_displacement_um2),
            ("mean_z_um", &self.mean_z_um),
        ];
        let optional = [
            ("forward_migration_index", &self.forward_migration_index),
            ("chemotactic_index", &self.chemotactic_index),
            ("mean_angle_to_reference_deg", &self.mean_angle_to_reference_deg),
            ("staggered_straightness", &self.staggered_straightness),
        ];
        for (name, col) in optional {
            if let Some(c) = col {
                cols.push((name, c));
            }
        }
        cols.extend(self.extra.iter().map(|(n, c)| (n.as_str(), c.as_slice())));
        cols
    }

    /// Writes `track_metrics.csv`: `track_id, n_points`, then [`TrackMetrics::columns`].
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let cols = self.columns();
        let mut header = vec!["track_id", "n_points"];
        header.extend(cols.iter().map(|(n, _)| *n));
        write_table(path.as_ref(), &header, self.len(), |i, w| {
            w.id(&self.track_id, i)?;
            w.int(self.n_points[i] as u64)?;
            cols.iter().try_for_each(|(_, c)| w.num(c[i]))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn asphericity_of_line_square_and_point_cloud() {
        let line: Vec<[f64; 3]> = (0..5).map(|i| [i as f64, 2.0 * i as f64, 0.0]).collect();
        let asph = |q: &[[f64; 3]], d| asphericity(q.len(), |i| q[i], d);
        assert!((asph(&line, 2) - 1.0).abs() < 1e-12);
        assert!((asph(&line, 3) - 1.0).abs() < 1e-12);
        // A square's corners: equal eigenvalues in 2D -> 0.
        let square = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]];
        assert!(asph(&square, 2).abs() < 1e-12);
        // In 3D the same square is flat: eigenvalues (λ, λ, 0) -> ((λ/3)²·2 + (2λ/3)²)/(6 (2λ/3)²) = 1/4.
        assert!((asph(&square, 3) - 0.25).abs() < 1e-12);
        assert!(asph(&[[1.0, 1.0, 1.0]; 3], 3).is_nan());
        assert_eq!(asph(&[[0.0; 3], [1.0, 0.0, 0.0]], 3), 1.0);
    }

    #[test]
    fn staggered_straightness_by_hand() {
        // An L of two unit steps: sub-tracks (0,1), (1,2) straight, (0,2) √2/2.
        let l = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]];
        let want = (1.0 + 1.0 + 2f64.sqrt() / 2.0) / 3.0;
        assert!((staggered_straightness(3, |i| l[i]) - want).abs() < 1e-15);
        assert!(staggered_straightness(1, |i| l[i]).is_nan());
    }
}
