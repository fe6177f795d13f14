//! Population curves against lag: mean square displacement (with the motility-coefficient and
//! Fürth fits) and velocity autocorrelation.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::{dot, sub, write_table, TrackSet};
use crate::error::Result;

/// Mean square displacement against lag (columnar; only lags with at least one pair).
///
/// For a lag of k frames, every pair of points of a track whose frames differ by k
/// contributes |p_j − p_i|². On regularly sampled tracks these are exactly celltrackR's
/// sub-tracks of k steps (`aggregate(x, squareDisplacement, FUN = "mean.se")`), overlapping,
/// pooled over all tracks. Across a missing frame the pair counts at its real frame difference
/// (celltrackR would count rows; see the [module docs](super)).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Msd {
    /// Lag, frames (k ≥ 1).
    pub lag_frames: Vec<u32>,
    /// Lag, s: k × frame interval.
    pub lag_s: Vec<f64>,
    /// Mean square displacement, µm².
    pub msd_um2: Vec<f64>,
    /// Number of point pairs (sub-tracks) averaged.
    pub n: Vec<u64>,
    /// Standard error of the mean, sd / √n (sample sd, n − 1), µm²; NaN for n = 1.
    pub sem_um2: Vec<f64>,
}

/// Velocity autocorrelation against lag (columnar; only lags with at least one pair).
///
/// Uses the steps that span exactly one frame and have non-zero length (a step across a gap is
/// a velocity over a longer time; a zero step has no direction). For a lag of k frames, every
/// pair of such steps of a track whose **start frames differ by k** contributes — the lag is
/// the time between the starts of the two steps, so lag 0 pairs each step with itself. (On a
/// regular track this is celltrackR's `aggregate(x, overallNormDot, subtrack.length = k + 1)`,
/// whose own lag axis i counts the steps of the sub-track: lag here = i − 1.)
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Autocorrelation {
    /// Lag between the starts of the two steps, frames (k ≥ 0).
    pub lag_frames: Vec<u32>,
    /// Lag, s: k × frame interval.
    pub lag_s: Vec<f64>,
    /// Mean cosine of the angle between the two steps (1 at lag 0, 0 without correlation).
    pub mean_cos: Vec<f64>,
    /// Standard error of `mean_cos` (sample sd / √n); NaN for n = 1.
    pub sem_cos: Vec<f64>,
    /// Mean dot product of the two velocities (step / its duration), (µm/min)².
    pub mean_velocity_dot_um2_per_min2: Vec<f64>,
    /// Number of step pairs averaged.
    pub n: Vec<u64>,
}

/// Linear least-squares fit of the MSD against lag time, giving the motility coefficient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MsdFit {
    /// First and last lag of the fit, frames (`None` when no range was available).
    pub lag_frames: Option<[u32; 2]>,
    /// The same range in s.
    pub lag_s: Option<[f64; 2]>,
    /// True when the range was chosen by [`Msd::auto_fit_range`].
    pub automatic: bool,
    /// Number of lags fitted.
    pub n_lags: usize,
    /// Slope of MSD against lag time, µm²/min.
    pub slope_um2_per_min: f64,
    /// Intercept, µm² (negative for a persistent walk: MSD ≈ 2·d·M·(t − P) for t ≫ P).
    pub intercept_um2: f64,
    /// Coefficient of determination R² of the fit.
    pub r_squared: f64,
    /// Motility coefficient M = slope / (2·d), d the dimensions (slope/6 in 3D, slope/4 in 2D;
    /// Miller et al. 2002), µm²/min; NaN with fewer than 2 lags.
    pub motility_coefficient_um2_per_min: f64,
}

/// Least-squares fit of Fürth's persistent random walk, MSD(t) = 2·d·M·(t − P·(1 − e^(−t/P))).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FurthFit {
    /// First and last lag of the fit, frames (`None` when no range was available).
    pub lag_frames: Option<[u32; 2]>,
    /// Number of lags fitted.
    pub n_lags: usize,
    /// Persistence time P, min. NaN with fewer than 3 lags, or when the best P lies at the
    /// edge of the searched range (below 1/100 of the first lag time — no persistence visible —
    /// or above 100 × the last — ballistic throughout).
    pub persistence_time_min: f64,
    /// Motility coefficient M of the fitted curve, µm²/min (NaN as P).
    pub motility_coefficient_um2_per_min: f64,
    /// Coefficient of determination R² of the fit.
    pub r_squared: f64,
}

/// Tracks per unit of parallel work: fixed, so sums are added in the same order whatever the
/// number of threads (results are deterministic).
const CHUNK: usize = 64;

/// Running sums for one lag.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    n: u64,
    sum: f64,
    sum_sq: f64,
    /// A second mean (the velocity dot product of the autocorrelation).
    sum2: f64,
}

impl Acc {
    fn add(&mut self, v: f64, v2: f64) {
        self.n += 1;
        self.sum += v;
        self.sum_sq += v * v;
        self.sum2 += v2;
    }
    fn add_sums(&mut self, n: u64, sum: f64, sum_sq: f64, sum2: f64) {
        self.n += n;
        self.sum += sum;
        self.sum_sq += sum_sq;
        self.sum2 += sum2;
    }
    fn merge(&mut self, o: &Acc) {
        self.add_sums(o.n, o.sum, o.sum_sq, o.sum2);
    }
    fn mean(&self) -> f64 {
        self.sum / self.n as f64
    }
    /// sd / √n with the sample sd; NaN for n < 2.
    fn sem(&self) -> f64 {
        if self.n < 2 {
            return f64::NAN;
        }
        let n = self.n as f64;
        let var = ((self.sum_sq - self.sum * self.mean()) / (n - 1.0)).max(0.0);
        var.sqrt() / n.sqrt()
    }
}

impl TrackSet<'_> {
    /// Accumulates `f(track, accumulators)` over all tracks, `lags` accumulators, in fixed
    /// chunks of tracks (parallel), then adds the chunks in order.
    fn accumulate(
        &self,
        lags: usize,
        f: impl Fn(usize, &mut [Acc], &mut Vec<Step>) + Sync,
    ) -> Vec<Acc> {
        let n = self.n_tracks();
        let parts: Vec<Vec<Acc>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut acc = vec![Acc::default(); lags];
                let mut scratch = Vec::new();
                for k in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    f(k, &mut acc, &mut scratch);
                }
                acc
            })
            .collect();
        let mut total = vec![Acc::default(); lags];
        for part in &parts {
            for (t, p) in total.iter_mut().zip(part) {
                t.merge(p);
            }
        }
        total
    }

    /// Largest frame span of a track.
    fn max_span(&self) -> u32 {
        (0..self.n_tracks())
            .map(|k| {
                let r = self.range(k);
                self.frame[r.end - 1] - self.frame[r.start]
            })
            .max()
            .unwrap_or(0)
    }

    fn lag_s(&self, lag: u32) -> f64 {
        self.frame_interval_s.map_or(f64::NAN, |dt| lag as f64 * dt)
    }

    /// Mean square displacement for lags 1 … `max_lag_frames` (default: the longest track's
    /// frame span), by frame difference (parallel over tracks).
    pub fn msd(&self) -> Msd {
        let span = self.max_span();
        let max_lag = self.config.max_lag_frames.map_or(span, |m| m.min(span)) as usize;
        let acc = self.accumulate(max_lag + 1, |k, acc, _| {
            let r = self.range(k);
            let f = &self.frame[r.clone()];
            let n = f.len();
            if (f[n - 1] - f[0]) as usize == n - 1 {
                // No missing frame: the lag is the row difference.
                let (x, y) = (&self.x[r.clone()], &self.y[r.clone()]);
                let z = self.z.as_ref().map(|z| &z[r]);
                for (lag, a) in acc.iter_mut().enumerate().take(n).skip(1) {
                    let (sum, sum_sq) = match z {
                        Some(z) => lag_sums(lag, [x, y, z]),
                        None => lag_sums(lag, [x, y]),
                    };
                    a.add_sums((n - lag) as u64, sum, sum_sq, 0.0);
                }
                return;
            }
            let p = self.points(r);
            for i in 0..n {
                for j in i + 1..n {
                    let lag = (f[j] - f[i]) as usize;
                    if lag > max_lag {
                        break;
                    }
                    let d = sub(p.get(j), p.get(i));
                    acc[lag].add(dot(d, d), 0.0);
                }
            }
        });
        let mut out = Msd::default();
        for (lag, a) in acc.iter().enumerate().skip(1).filter(|(_, a)| a.n > 0) {
            out.lag_frames.push(lag as u32);
            out.lag_s.push(self.lag_s(lag as u32));
            out.msd_um2.push(a.mean());
            out.n.push(a.n);
            out.sem_um2.push(a.sem());
        }
        out
    }

    /// Velocity autocorrelation for lags 0 … `max_lag_frames` (default: every lag present).
    pub fn autocorrelation(&self) -> Autocorrelation {
        let span = self.max_span().saturating_sub(1);
        let max_lag = self.config.max_lag_frames.map_or(span, |m| m.min(span)) as usize;
        let acc = self.accumulate(max_lag + 1, |k, acc, steps| {
            let r = self.range(k);
            steps.clear();
            for i in r.start..r.end - 1 {
                if self.frame[i + 1] - self.frame[i] != 1 {
                    continue;
                }
                let s = sub(self.p(i + 1), self.p(i));
                let len = dot(s, s).sqrt();
                if len == 0.0 {
                    continue;
                }
                let per_min = 60.0 / (self.t_s[i + 1] - self.t_s[i]);
                steps.push(Step {
                    frame: self.frame[i],
                    unit: [s[0] / len, s[1] / len, s[2] / len],
                    velocity: [s[0] * per_min, s[1] * per_min, s[2] * per_min],
                });
            }
            let m = steps.len();
            if m > 0 && (steps[m - 1].frame - steps[0].frame) as usize == m - 1 {
                // Consecutive steps: the lag is the index difference.
                for (lag, a) in acc.iter_mut().enumerate().take(m) {
                    let (mut sum, mut sum_sq, mut sum_dot) = (0.0, 0.0, 0.0);
                    for (sa, sb) in steps.iter().zip(&steps[lag..]) {
                        let c = dot(sa.unit, sb.unit);
                        sum += c;
                        sum_sq += c * c;
                        sum_dot += dot(sa.velocity, sb.velocity);
                    }
                    a.add_sums((m - lag) as u64, sum, sum_sq, sum_dot);
                }
                return;
            }
            for (a, sa) in steps.iter().enumerate() {
                for sb in &steps[a..] {
                    let lag = (sb.frame - sa.frame) as usize;
                    if lag > max_lag {
                        break;
                    }
                    acc[lag].add(dot(sa.unit, sb.unit), dot(sa.velocity, sb.velocity));
                }
            }
        });
        let mut out = Autocorrelation::default();
        for (lag, a) in acc.iter().enumerate().filter(|(_, a)| a.n > 0) {
            out.lag_frames.push(lag as u32);
            out.lag_s.push(self.lag_s(lag as u32));
            out.mean_cos.push(a.mean());
            out.sem_cos.push(a.sem());
            out.mean_velocity_dot_um2_per_min2.push(a.sum2 / a.n as f64);
            out.n.push(a.n);
        }
        out
    }
}

/// Σ v and Σ v² of the square displacements v = Σ_axes (c[i + lag] − c[i])² over i, for the
/// coordinate columns `cols` of one track (four interleaved partial sums, so the loop runs in
/// SIMD lanes; the order is fixed, so the result is deterministic).
#[inline]
fn lag_sums<const D: usize>(lag: usize, cols: [&[f64]; D]) -> (f64, f64) {
    let m = cols[0].len() - lag;
    let early = cols.map(|c| &c[..m]);
    let late = cols.map(|c| &c[lag..lag + m]);
    let (mut s, mut q) = ([0.0f64; 4], [0.0f64; 4]);
    for j in 0..m / 4 {
        let mut v = [0.0f64; 4];
        for k in 0..D {
            let (a, b) = (&early[k][4 * j..4 * j + 4], &late[k][4 * j..4 * j + 4]);
            for l in 0..4 {
                let d = b[l] - a[l];
                v[l] += d * d;
            }
        }
        for l in 0..4 {
            s[l] += v[l];
            q[l] += v[l] * v[l];
        }
    }
    let (mut sum, mut sum_sq) = ((s[0] + s[1]) + (s[2] + s[3]), (q[0] + q[1]) + (q[2] + q[3]));
    for i in m / 4 * 4..m {
        let mut v = 0.0;
        for k in 0..D {
            let d = late[k][i] - early[k][i];
            v += d * d;
        }
        sum += v;
        sum_sq += v * v;
    }
    (sum, sum_sq)
}

/// A one-frame step for the autocorrelation.
#[derive(Debug, Clone, Copy)]
struct Step {
    frame: u32,
    unit: [f64; 3],
    velocity: [f64; 3],
}

impl Msd {
    /// Number of lags.
    pub fn len(&self) -> usize {
        self.lag_frames.len()
    }
    /// True when there is no lag.
    pub fn is_empty(&self) -> bool {
        self.lag_frames.is_empty()
    }

    /// The automatic range of the linear fit: with L the largest lag up to which every lag
    /// still averages at least half as many pairs as the first lag (beyond it the MSD rests on
    /// the few longest tracks, and fast cells that leave the field bend it down), the upper
    /// half of 1 … L, i.e. ⌈L/2⌉ … L (away from the ballistic start of a persistent walk).
    /// `None` when L < 2.
    pub fn auto_fit_range(&self) -> Option<[u32; 2]> {
        let n1 = *self.n.first()? as f64;
        let last = self.lag_frames.iter().zip(&self.n).take_while(|(_, &n)| n as f64 >= n1 / 2.0);
        let l = last.map(|(&lag, _)| lag).last()?;
        (l >= 2).then(|| [l.div_ceil(2), l])
    }

    /// Rows whose lag lies in `range` (inclusive): (lag time in min, MSD).
    fn points(&self, range: [u32; 2]) -> Vec<(f64, f64)> {
        (0..self.len())
            .filter(|&i| (range[0]..=range[1]).contains(&self.lag_frames[i]))
            .map(|i| (self.lag_s[i] / 60.0, self.msd_um2[i]))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect()
    }

    /// Linear fit of MSD against lag time over `range` (frames, inclusive; `None`: the
    /// [automatic range](Msd::auto_fit_range)) for tracks of `dims` dimensions.
    pub fn fit_linear(&self, dims: usize, range: Option<[u32; 2]>) -> MsdFit {
        let automatic = range.is_none();
        let range = range.or_else(|| self.auto_fit_range());
        let pts = range.map(|r| self.points(r)).unwrap_or_default();
        let (slope, intercept, r_squared) = linear_fit(&pts);
        let dt = |lag: u32| self.lag_s.first().map(|&s| s / self.lag_frames[0] as f64 * lag as f64);
        MsdFit {
            lag_frames: range,
            lag_s: range.and_then(|[a, b]| Some([dt(a)?, dt(b)?])),
            automatic,
            n_lags: pts.len(),
            slope_um2_per_min: slope,
            intercept_um2: intercept,
            r_squared,
            motility_coefficient_um2_per_min: slope / (2.0 * dims as f64),
        }
    }

    /// Fürth fit over the lags `range` (frames, inclusive; `None`: 1 … the last lag of the
    /// automatic linear-fit range) for tracks of `dims` dimensions.
    ///
    /// For a given P the best M is linear least squares; P is found by a scan of 200
    /// log-spaced values from 1/100 of the first lag time to 100 × the last, refined by
    /// golden-section search.
    pub fn fit_furth(&self, dims: usize, range: Option<[u32; 2]>) -> FurthFit {
        let range = range.or_else(|| self.auto_fit_range().map(|[_, b]| [1, b]));
        let pts = range.map(|r| self.points(r)).unwrap_or_default();
        let nan = FurthFit {
            lag_frames: range,
            n_lags: pts.len(),
            persistence_time_min: f64::NAN,
            motility_coefficient_um2_per_min: f64::NAN,
            r_squared: f64::NAN,
        };
        if pts.len() < 3 {
            return nan;
        }
        let g = |t: f64, p: f64| {
            let x = t / p;
            p * (x + (-x).exp_m1())
        };
        // Best amplitude A (= 2·d·M) and residual sum of squares for a given P.
        let fit = |p: f64| {
            let (syg, sgg) = pts
                .iter()
                .fold((0.0, 0.0), |(a, b), &(t, y)| (a + y * g(t, p), b + g(t, p).powi(2)));
            let amp = syg / sgg;
            let ssr: f64 = pts.iter().map(|&(t, y)| (y - amp * g(t, p)).powi(2)).sum();
            (amp, ssr)
        };
        let (t_lo, t_hi) = (pts[0].0, pts[pts.len() - 1].0);
        let (lo, hi) = ((t_lo / 100.0).ln(), (t_hi * 100.0).ln());
        const GRID: usize = 200;
        let at = |i: usize| lo + (hi - lo) * i as f64 / (GRID - 1) as f64;
        let best = (0..GRID)
            .map(|i| (i, fit(at(i).exp()).1))
            .filter(|(_, ssr)| ssr.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let Some((i, _)) = best else { return nan };
        if i == 0 || i == GRID - 1 {
            return nan;
        }
        // Golden-section search on ln P between the neighbours of the best grid point.
        let (mut a, mut b) = (at(i - 1), at(i + 1));
        let phi = (5f64.sqrt() - 1.0) / 2.0;
        let mut c = b - phi * (b - a);
        let mut d = a + phi * (b - a);
        let (mut fc, mut fd) = (fit(c.exp()).1, fit(d.exp()).1);
        for _ in 0..100 {
            if fc < fd {
                (b, d, fd) = (d, c, fc);
                c = b - phi * (b - a);
                fc = fit(c.exp()).1;
            } else {
                (a, c, fc) = (c, d, fd);
                d = a + phi * (b - a);
                fd = fit(d.exp()).1;
            }
        }
        let p = ((a + b) / 2.0).exp();
        let (amp, ssr) = fit(p);
        let mean = pts.iter().map(|q| q.1).sum::<f64>() / pts.len() as f64;
        let sst: f64 = pts.iter().map(|q| (q.1 - mean).powi(2)).sum();
        FurthFit {
            persistence_time_min: p,
            motility_coefficient_um2_per_min: amp / (2.0 * dims as f64),
            r_squared: 1.0 - ssr / sst,
            ..nan
        }
    }

    /// Writes `msd.csv`: `lag_frames, lag_s, msd_um2, n, sem_um2`.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let header = ["lag_frames", "lag_s", "msd_um2", "n", "sem_um2"];
        write_table(path.as_ref(), &header, self.len(), |i, w| {
            w.int(self.lag_frames[i] as u64)?;
            w.num(self.lag_s[i])?;
            w.num(self.msd_um2[i])?;
            w.int(self.n[i])?;
            w.num(self.sem_um2[i])
        })
    }
}

/// Ordinary least squares y = a·x + b: (a, b, R²); NaN with fewer than 2 points (R² NaN
/// when every y is equal).
fn linear_fit(pts: &[(f64, f64)]) -> (f64, f64, f64) {
    if pts.len() < 2 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    let a = sxy / sxx;
    let b = my - a * mx;
    let ssr: f64 = pts.iter().map(|p| (p.1 - a * p.0 - b).powi(2)).sum();
    (a, b, 1.0 - ssr / syy)
}

impl Autocorrelation {
    /// Number of lags.
    pub fn len(&self) -> usize {
        self.lag_frames.len()
    }
    /// True when there is no lag.
    pub fn is_empty(&self) -> bool {
        self.lag_frames.is_empty()
    }

    /// Writes `autocorrelation.csv`: `lag_frames, lag_s, mean_cos, sem_cos,
    /// mean_velocity_dot_um2_per_min2, n`.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let header =
            ["lag_frames", "lag_s", "mean_cos", "sem_cos", "mean_velocity_dot_um2_per_min2", "n"];
        write_table(path.as_ref(), &header, self.len(), |i, w| {
            w.int(self.lag_frames[i] as u64)?;
            w.num(self.lag_s[i])?;
            w.num(self.mean_cos[i])?;
            w.num(self.sem_cos[i])?;
            w.num(self.mean_velocity_dot_um2_per_min2[i])?;
            w.int(self.n[i])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msd_of(curve: impl Fn(f64) -> f64, lags: u32, dt_s: f64) -> Msd {
        let lag_frames: Vec<u32> = (1..=lags).collect();
        let lag_s: Vec<f64> = lag_frames.iter().map(|&k| k as f64 * dt_s).collect();
        Msd {
            msd_um2: lag_s.iter().map(|&s| curve(s / 60.0)).collect(),
            n: lag_frames.iter().map(|&k| 1000 - 10 * k as u64).collect(),
            sem_um2: vec![1.0; lags as usize],
            lag_frames,
            lag_s,
        }
    }

    #[test]
    fn linear_fit_recovers_a_line_and_its_motility_coefficient() {
        // MSD = 6·M·(t − P) with M = 5 µm²/min, P = 1 min (3D, long lags).
        let msd = msd_of(|t| 30.0 * (t - 1.0), 40, 30.0);
        let fit = msd.fit_linear(3, Some([10, 40]));
        assert!((fit.slope_um2_per_min - 30.0).abs() < 1e-9);
        assert!((fit.intercept_um2 + 30.0).abs() < 1e-9);
        assert!((fit.motility_coefficient_um2_per_min - 5.0).abs() < 1e-10);
        assert!((fit.r_squared - 1.0).abs() < 1e-12);
        assert_eq!((fit.n_lags, fit.lag_s), (31, Some([300.0, 1200.0])));
        assert!(!fit.automatic);
        // 2D: slope / 4.
        assert!(
            (msd.fit_linear(2, Some([10, 40])).motility_coefficient_um2_per_min - 7.5).abs() < 1e-9
        );
        // Too few lags: NaN, not a panic.
        assert!(msd.fit_linear(3, Some([50, 60])).motility_coefficient_um2_per_min.is_nan());
    }

    #[test]
    fn automatic_range_is_the_upper_half_of_the_well_counted_lags() {
        // n = 1000 − 10 k ≥ 495 up to k = 50; here lags stop at 40.
        let msd = msd_of(|t| t, 40, 30.0);
        assert_eq!(msd.auto_fit_range(), Some([20, 40]));
        let mut few = msd.clone();
        few.n = (1..=40).map(|k| 1000 / k as u64).collect(); // ≥ 500 for k ≤ 2
        assert_eq!(few.auto_fit_range(), Some([1, 2]));
        few.n[1] = 10;
        assert_eq!(few.auto_fit_range(), None);
        assert!(few.fit_linear(3, None).slope_um2_per_min.is_nan());
    }

    #[test]
    fn furth_fit_recovers_persistence_time() {
        let (m, p) = (4.0, 2.5); // µm²/min, min
        let curve = |t: f64| 6.0 * m * (t - p * (1.0 - (-t / p).exp()));
        let msd = msd_of(curve, 40, 20.0);
        let fit = msd.fit_furth(3, Some([1, 40]));
        assert!((fit.persistence_time_min - p).abs() < 1e-6, "{fit:?}");
        assert!((fit.motility_coefficient_um2_per_min - m).abs() < 1e-6, "{fit:?}");
        assert!(fit.r_squared > 1.0 - 1e-12);
        // A pure random walk (P → 0) has no persistence to find: NaN, not the grid's edge.
        let diffusive = msd_of(|t| 6.0 * m * t, 40, 20.0);
        assert!(diffusive.fit_furth(3, Some([1, 40])).persistence_time_min.is_nan());
        assert!(msd.fit_furth(3, Some([1, 2])).persistence_time_min.is_nan());
    }
}
