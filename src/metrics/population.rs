//! Population summaries: distributions (cell-based and step-based), directionality tests and
//! the summary written as `metrics_summary.json`.

use std::path::Path;

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor};

use super::{angle, dot, sub, FurthFit, MetricsConfig, Msd, MsdFit, Reference, StepMetrics};
use super::{TrackMetrics, TrackSet};
use crate::error::{Error, Result};
use crate::io::write::write_atomic;

/// Numbers of tracks read, analysed and left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrackCounts {
    /// Tracks in the input.
    pub input: usize,
    /// Tracks analysed.
    pub analysed: usize,
    /// Tracks left out for having fewer than `min_points` points.
    pub excluded_short: usize,
    /// Tracks left out for touching the border.
    pub excluded_border: usize,
    /// Tracks left out of the population summaries (summary, MSD, autocorrelation) for being
    /// flagged in the `suspect` column; their rows stay in `track_metrics.csv`.
    pub excluded_suspect: usize,
}

/// Summary of a distribution of values (NaN values are left out and not counted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    /// Number of (non-NaN) values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1); NaN for n < 2.
    pub sd: f64,
    /// Standard error of the mean, sd / √n.
    pub sem: f64,
    /// Smallest value.
    pub min: f64,
    /// 5th percentile (R's default quantile, type 7), as the following ones.
    pub p05: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub median: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest value.
    pub max: f64,
    /// Counts in equal-width bins from `min` to `max`.
    pub histogram: Histogram,
}

/// A histogram: `counts[i]` values in [`edges[i]`, `edges[i + 1]`) (the last bin closed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// Bin edges (one more than bins).
    pub edges: Vec<f64>,
    /// Values per bin.
    pub counts: Vec<u64>,
}

/// Bins of the histograms.
const BINS: usize = 20;

/// Summary statistics, percentiles and a 20-bin histogram of `values` (NaN left out).
pub fn distribution(values: &[f64]) -> Distribution {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    let n = v.len();
    let nan = f64::NAN;
    if n == 0 {
        return Distribution {
            n,
            mean: nan,
            sd: nan,
            sem: nan,
            min: nan,
            p05: nan,
            p25: nan,
            median: nan,
            p75: nan,
            p95: nan,
            max: nan,
            histogram: Histogram { edges: Vec::new(), counts: Vec::new() },
        };
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    let sd = if n < 2 {
        nan
    } else {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    let (min, max) =
        v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let histogram = histogram(&v, min, max);
    let q = quantiles(&mut v, &[0.05, 0.25, 0.5, 0.75, 0.95]);
    Distribution {
        n,
        mean,
        sd,
        sem: sd / (n as f64).sqrt(),
        min,
        p05: q[0],
        p25: q[1],
        median: q[2],
        p75: q[3],
        p95: q[4],
        max,
        histogram,
    }
}

fn histogram(v: &[f64], min: f64, max: f64) -> Histogram {
    let span = max - min;
    if span <= 0.0 || !span.is_finite() {
        return Histogram { edges: vec![min, max], counts: vec![v.len() as u64] };
    }
    let width = span / BINS as f64;
    let edges = (0..=BINS).map(|i| if i == BINS { max } else { min + width * i as f64 }).collect();
    let mut counts = vec![0u64; BINS];
    for &x in v {
        let b = (((x - min) / width) as usize).min(BINS - 1);
        counts[b] += 1;
    }
    Histogram { edges, counts }
}

/// R's type-7 quantiles of `v` (non-empty, no NaN; reordered) at increasing probabilities,
/// by successive selection (linear time, no full sort).
pub(crate) fn quantiles(v: &mut [f64], probs: &[f64]) -> Vec<f64> {
    let n = v.len();
    let mut base = 0; // v[..base] holds values ≤ everything after it
    let mut order_stat = |k: usize, v: &mut [f64]| -> f64 {
        if k < base {
            // Selected before (requests never decrease, and v[base..] alone is reordered).
            return v[k];
        }
        let (_, x, _) = v[base..].select_nth_unstable_by(k - base, |a, b| a.total_cmp(b));
        let x = *x;
        base = k + 1;
        x
    };
    probs
        .iter()
        .map(|&p| {
            let h = (n - 1) as f64 * p;
            let lo = h.floor() as usize;
            let x_lo = order_stat(lo, v);
            if lo + 1 >= n {
                return x_lo;
            }
            let x_hi = order_stat(lo + 1, v);
            x_lo + (h - lo as f64) * (x_hi - x_lo)
        })
        .collect()
}

/// Hotelling's T² test that the mean step is zero (celltrackR's `hotellingsTest`).
///
/// Steps are taken every `step_spacing + 1` steps of each track from its first (celltrackR's
/// 1-step sub-tracks with overlap −`step.spacing`), as displacement vectors (not divided by
/// time); X their n × p matrix, m its column means, S its sample covariance:
/// T² = n·mᵀS⁻¹m, F = T²(n − p)/(p(n − 1)) with (p, n − p) degrees of freedom.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotellingTest {
    /// Axes used (`x`, `y`[, `z`]).
    pub axes: Vec<String>,
    /// Steps skipped between two steps used.
    pub step_spacing: usize,
    /// Number of steps n.
    pub n_steps: usize,
    /// Mean step, µm, per axis.
    pub mean_step_um: Vec<f64>,
    /// T² statistic; NaN when n ≤ p or S is singular.
    pub t_squared: f64,
    /// F statistic.
    pub f: f64,
    /// Numerator degrees of freedom, p.
    pub df1: f64,
    /// Denominator degrees of freedom, n − p.
    pub df2: f64,
    /// P-value, 1 − F_cdf(F; p, n − p).
    pub p_value: f64,
}

/// Rayleigh test of uniformly distributed step directions.
///
/// The unit vectors u_i of the steps (every `step_spacing + 1` steps, zero steps left out) in
/// d dimensions; R̄ = |Σu_i| / n; S = d·n·R̄², compared with χ²(d) (its large-n distribution
/// under uniformity on the circle or sphere; Mardia & Jupp 2000, §10.4.1). In 2D this is
/// p = exp(−n·R̄²), the classic Rayleigh approximation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RayleighTest {
    /// Dimensions d.
    pub dims: usize,
    /// Steps skipped between two steps used.
    pub step_spacing: usize,
    /// Number of (non-zero) steps n.
    pub n_steps: usize,
    /// Mean resultant length R̄ in [0, 1] (0: no preferred direction).
    pub mean_resultant_length: f64,
    /// S = d·n·R̄².
    pub statistic: f64,
    /// P-value, 1 − χ²_cdf(S; d); NaN without steps.
    pub p_value: f64,
}

/// The population tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tests {
    /// Is the mean step non-zero (drift or directed migration)?
    pub hotelling: HotellingTest,
    /// Are step directions non-uniform?
    pub rayleigh: RayleighTest,
}

/// Cell-based summaries: one value per track, each track weighted equally (Beltman et al.
/// 2009).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellBased {
    /// Track speeds (length / duration), µm/min.
    pub speed_um_per_min: Distribution,
    /// Per-track mean step speeds, µm/min.
    pub mean_step_speed_um_per_min: Distribution,
    /// Straightness.
    pub straightness: Distribution,
    /// Net displacements, µm.
    pub displacement_um: Distribution,
    /// Track lengths, µm.
    pub track_length_um: Distribution,
    /// Durations, s.
    pub duration_s: Distribution,
    /// Arrest coefficients.
    pub arrest_coefficient: Distribution,
    /// Mean turning angles, degrees.
    pub mean_turning_angle_deg: Distribution,
    /// Asphericities.
    pub asphericity: Distribution,
    /// Forward migration indices (with a reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_migration_index: Option<Distribution>,
    /// Chemotactic indices (with a reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chemotactic_index: Option<Distribution>,
    /// Mean angles to the reference, degrees (with a reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_angle_to_reference_deg: Option<Distribution>,
    /// Staggered straightness (with `staggered`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staggered_straightness: Option<Distribution>,
}

/// Step-based summaries: all steps of all tracks pooled, each step weighted equally (Beltman
/// et al. 2009).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepBased {
    /// Step speeds, µm/min.
    pub speed_um_per_min: Distribution,
    /// Step lengths, µm.
    pub step_um: Distribution,
    /// Turning angles, degrees.
    pub turning_angle_deg: Distribution,
    /// Fraction of all steps slower than the arrest threshold.
    pub arrest_fraction: f64,
    /// Angles between each step and the reference, degrees (with a reference): uniform on
    /// [0°, 180°] in 2D and sine-distributed in 3D without bias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub angle_to_reference_deg: Option<Distribution>,
}

/// The population summary written as `metrics_summary.json` (NaN is written as `null`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Tracks read, analysed and left out.
    pub tracks: TrackCounts,
    /// Points of the analysed tracks.
    pub n_points: usize,
    /// Steps of the analysed tracks.
    pub n_steps: usize,
    /// Dimensions of the analysis (2 or 3).
    pub dimensions: usize,
    /// Frame interval used, s (`null` without any step).
    pub frame_interval_s: Option<f64>,
    /// Motility coefficient from the linear MSD fit, µm²/min (as in `msd_fit`).
    pub motility_coefficient_um2_per_min: f64,
    /// The linear MSD fit: range, slope, R².
    pub msd_fit: MsdFit,
    /// Persistence time from the Fürth fit, min (as in `furth_fit`).
    pub persistence_time_min: f64,
    /// The Fürth fit.
    pub furth_fit: FurthFit,
    /// One value per track.
    pub cell_based: CellBased,
    /// All steps pooled.
    pub step_based: StepBased,
    /// Hotelling and Rayleigh tests.
    pub tests: Tests,
    /// The settings used.
    pub config: MetricsConfig,
}

impl Summary {
    /// Writes the summary as pretty-printed JSON, atomically.
    pub fn write_json(&self, path: impl AsRef<Path>) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::data(e.to_string()))?;
        write_atomic(path.as_ref(), |w| writeln!(w, "{text}"))
    }
}

impl TrackSet<'_> {
    /// The steps the tests use: every `test_step_spacing + 1`-th step of each track from its
    /// first, as displacement vectors.
    fn test_steps(&self) -> Vec<[f64; 3]> {
        let every = self.config.test_step_spacing + 1;
        (0..self.n_tracks())
            .flat_map(|k| {
                let r = self.range(k);
                (r.start..r.end - 1).step_by(every).map(move |i| sub(self.p(i + 1), self.p(i)))
            })
            .collect()
    }

    /// Hotelling's T² test of the mean step (axes x, y unless `hotelling_all_axes`).
    pub fn hotelling_test(&self) -> HotellingTest {
        self.hotelling_of(&self.test_steps())
    }

    fn hotelling_of(&self, steps: &[[f64; 3]]) -> HotellingTest {
        let p = if self.config.hotelling_all_axes { self.dims } else { 2 };
        let n = steps.len();
        let mut mean = [0.0; 3];
        for s in steps {
            for a in 0..3 {
                mean[a] += s[a];
            }
        }
        let mean: Vec<f64> = mean[..p].iter().map(|m| m / n as f64).collect();
        let mut c = [[0.0; 3]; 3];
        for s in steps {
            for a in 0..p {
                for b in 0..p {
                    c[a][b] += (s[a] - mean[a]) * (s[b] - mean[b]);
                }
            }
        }
        let cov = DMatrix::from_fn(p, p, |a, b| c[a][b] / (n as f64 - 1.0));
        let m = DVector::from_column_slice(&mean);
        let t2 = match cov.try_inverse() {
            Some(inv) if n > p => n as f64 * (m.transpose() * inv * &m)[(0, 0)],
            _ => f64::NAN,
        };
        let (df1, df2) = (p as f64, n as f64 - p as f64);
        let f = t2 * df2 / (df1 * (n as f64 - 1.0));
        let p_value = match FisherSnedecor::new(df1, df2) {
            Ok(dist) if f.is_finite() => dist.sf(f),
            _ => f64::NAN,
        };
        HotellingTest {
            axes: ["x", "y", "z"][..p].iter().map(|s| s.to_string()).collect(),
            step_spacing: self.config.test_step_spacing,
            n_steps: n,
            mean_step_um: mean,
            t_squared: t2,
            f,
            df1,
            df2,
            p_value,
        }
    }

    /// Rayleigh test of the step directions (in the dimensions of the analysis).
    pub fn rayleigh_test(&self) -> RayleighTest {
        self.rayleigh_of(&self.test_steps())
    }

    fn rayleigh_of(&self, steps: &[[f64; 3]]) -> RayleighTest {
        let d = self.dims;
        let mut n = 0usize;
        let mut sum = [0.0; 3];
        for &s in steps {
            let len = dot(s, s).sqrt();
            if len > 0.0 {
                n += 1;
                for a in 0..3 {
                    sum[a] += s[a] / len;
                }
            }
        }
        let r_bar = dot(sum, sum).sqrt() / n as f64;
        let statistic = d as f64 * n as f64 * r_bar * r_bar;
        let p_value = match ChiSquared::new(d as f64) {
            Ok(dist) if statistic.is_finite() => dist.sf(statistic),
            _ => f64::NAN,
        };
        RayleighTest {
            dims: d,
            step_spacing: self.config.test_step_spacing,
            n_steps: n,
            mean_resultant_length: r_bar,
            statistic,
            p_value,
        }
    }

    /// Angle of every step to the reference, degrees (NaN where undefined).
    fn step_angles_to_reference(&self, reference: Reference) -> Vec<f64> {
        (0..self.n_tracks())
            .into_par_iter()
            .flat_map_iter(|k| {
                let r = self.range(k);
                (r.start..r.end - 1).map(move |i| {
                    let towards = match reference {
                        Reference::Direction { vector } => vector,
                        Reference::Point { position_um } => sub(position_um, self.p(i)),
                    };
                    angle(sub(self.p(i + 1), self.p(i)), towards).to_degrees()
                })
            })
            .collect()
    }

    /// The population summary of the tables computed from this set.
    pub fn summary(&self, tracks: &TrackMetrics, steps: &StepMetrics, msd: &Msd) -> Summary {
        let msd_fit = msd.fit_linear(self.dims, self.config.fit_lag_frames);
        let furth_range = self.config.fit_lag_frames.map(|[_, b]| [1, b]);
        let furth_fit = msd.fit_furth(self.dims, furth_range);
        let opt = |c: &Option<Vec<f64>>| c.as_deref().map(distribution);
        let threshold = self.config.arrest_threshold_um_per_min;
        // The large step-based distributions and the tests run side by side.
        let ((speed, step_um), (turning, (tests, to_reference))) = rayon::join(
            || {
                rayon::join(
                    || distribution(&steps.speed_um_per_min),
                    || distribution(&steps.step_um),
                )
            },
            || {
                rayon::join(
                    || distribution(&steps.turning_angle_deg),
                    || {
                        rayon::join(
                            || {
                                let test_steps = self.test_steps();
                                Tests {
                                    hotelling: self.hotelling_of(&test_steps),
                                    rayleigh: self.rayleigh_of(&test_steps),
                                }
                            },
                            || {
                                self.reference()
                                    .map(|r| distribution(&self.step_angles_to_reference(r)))
                            },
                        )
                    },
                )
            },
        );
        let arrested = steps.speed_um_per_min.iter().filter(|&&v| v < threshold).count();
        Summary {
            tracks: self.counts,
            n_points: self.n_points(),
            n_steps: self.n_steps(),
            dimensions: self.dims,
            frame_interval_s: self.frame_interval_s,
            motility_coefficient_um2_per_min: msd_fit.motility_coefficient_um2_per_min,
            msd_fit,
            persistence_time_min: furth_fit.persistence_time_min,
            furth_fit,
            cell_based: CellBased {
                speed_um_per_min: distribution(&tracks.speed_um_per_min),
                mean_step_speed_um_per_min: distribution(&tracks.mean_step_speed_um_per_min),
                straightness: distribution(&tracks.straightness),
                displacement_um: distribution(&tracks.displacement_um),
                track_length_um: distribution(&tracks.track_length_um),
                duration_s: distribution(&tracks.duration_s),
                arrest_coefficient: distribution(&tracks.arrest_coefficient),
                mean_turning_angle_deg: distribution(&tracks.mean_turning_angle_deg),
                asphericity: distribution(&tracks.asphericity),
                forward_migration_index: opt(&tracks.forward_migration_index),
                chemotactic_index: opt(&tracks.chemotactic_index),
                mean_angle_to_reference_deg: opt(&tracks.mean_angle_to_reference_deg),
                staggered_straightness: opt(&tracks.staggered_straightness),
            },
            step_based: StepBased {
                speed_um_per_min: speed,
                step_um,
                turning_angle_deg: turning,
                arrest_fraction: arrested as f64 / steps.len() as f64,
                angle_to_reference_deg: to_reference,
            },
            tests,
            config: self.config.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_r_type_7() {
        // R: quantile(c(1, 2, 3, 4, 10), c(.05, .25, .5, .75, .95)) = 1.2 2 3 4 8.8
        let mut v = [10.0, 3.0, 1.0, 4.0, 2.0];
        let q = quantiles(&mut v, &[0.05, 0.25, 0.5, 0.75, 0.95]);
        let want = [1.2, 2.0, 3.0, 4.0, 8.8];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
        assert_eq!(quantiles(&mut [5.0], &[0.05, 0.5, 0.95]), vec![5.0, 5.0, 5.0]);
    }

    #[test]
    fn distribution_skips_nan_and_bins_everything() {
        let d = distribution(&[1.0, f64::NAN, 3.0, 2.0, 4.0]);
        assert_eq!(d.n, 4);
        assert_eq!(d.mean, 2.5);
        assert!((d.sd - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!((d.min, d.median, d.max), (1.0, 2.5, 4.0));
        assert_eq!(d.histogram.counts.iter().sum::<u64>(), 4);
        assert_eq!(d.histogram.edges.len(), BINS + 1);
        assert_eq!(d.histogram.counts[BINS - 1], 1); // the maximum lands in the last bin
        let one = distribution(&[7.0]);
        assert!(one.sd.is_nan());
        assert_eq!(one.histogram.counts, vec![1]);
        let none = distribution(&[f64::NAN]);
        assert_eq!(none.n, 0);
        assert!(none.mean.is_nan());
    }
}
