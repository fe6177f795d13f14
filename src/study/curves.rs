//! Population curves per group with mouse-level bootstrap bands: the MSD, the distribution
//! of track speeds and the fraction of arrested steps over time.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::{stats, StudyTable, TrackTable};
use crate::metrics::population::quantiles;
use crate::pipeline::Config;
use crate::table::{fmt_f64, Tracks};

/// One point of a group's curve (a row of `curves.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    /// `msd` (x: lag, min; value: µm²), `speed_ecdf` (x: track speed, µm/min; value: the
    /// fraction of tracks at most that fast) or `arrest_fraction` (x: time since the
    /// recording's start, min; value: the fraction of steps slower than the arrest threshold).
    pub curve: &'static str,
    /// The group.
    pub group: String,
    /// See `curve`.
    pub x: f64,
    /// The mean over the group's mice of each mouse's value.
    pub value: f64,
    /// 2.5 % quantile of that mean over mice resampled with replacement.
    pub ci_low: f64,
    /// 97.5 % quantile.
    pub ci_high: f64,
    /// Mice with a value at x.
    pub n_mice: usize,
}

impl Curve {
    /// Column names of `curves.csv`.
    pub const COLUMNS: [&'static str; 7] =
        ["curve", "group", "x", "value", "ci_low", "ci_high", "n_mice"];

    pub(super) fn record(&self) -> Vec<String> {
        vec![
            self.curve.to_string(),
            self.group.clone(),
            fmt_f64(self.x),
            fmt_f64(self.value),
            fmt_f64(self.ci_low),
            fmt_f64(self.ci_high),
            self.n_mice.to_string(),
        ]
    }
}

/// Per mouse: x key → (sum, count).
type MouseCurve = BTreeMap<i64, (f64, f64)>;

const KEY: f64 = 1000.0; // x keys in thousandths

fn add(c: &mut MouseCurve, x: f64, v: f64) {
    let e = c.entry((x * KEY).round() as i64).or_insert((0.0, 0.0));
    e.0 += v;
    e.1 += 1.0;
}

pub(super) fn curves(
    table: &StudyTable,
    per_entry: &[Option<Tracks>],
    tracks: &TrackTable,
    config: &Config,
) -> Vec<Curve> {
    let two_d = config.metrics.two_d;
    let arrest = config.metrics.arrest_threshold_um_per_min;
    let max_lag = config.metrics.max_lag_frames.unwrap_or(30);
    let speeds = tracks.measure("speed_um_per_min").unwrap_or(&[]);
    let mut all: Vec<f64> = speeds.iter().copied().filter(|v| v.is_finite()).collect();
    let top = if all.is_empty() { 0.0 } else { quantiles(&mut all, &[0.99])[0] };
    let grid: Vec<f64> = (0..=40).map(|k| top * k as f64 / 40.0).collect();
    // (group, mouse) → curves
    let mut mice: Vec<(String, String, [MouseCurve; 3])> = Vec::new();
    let intervals: Vec<f64> =
        per_entry.iter().flatten().filter_map(super::frame_interval).collect();
    let bin_s = stats::median(&intervals);
    for (i, e) in table.entries.iter().enumerate() {
        let Some(t) = &per_entry[i] else { continue };
        let k = match mice.iter().position(|m| m.0 == e.group && m.1 == e.mouse) {
            Some(k) => k,
            None => {
                mice.push((e.group.clone(), e.mouse.clone(), Default::default()));
                mice.len() - 1
            }
        };
        let c = &mut mice[k].2;
        let interval = super::frame_interval(t).unwrap_or(f64::NAN);
        let t0 = t.t_s.iter().copied().fold(f64::INFINITY, f64::min);
        let z = t.z_um.as_ref().filter(|_| !two_d);
        let d2 = |a: usize, b: usize| {
            (t.x_um[b] - t.x_um[a]).powi(2)
                + (t.y_um[b] - t.y_um[a]).powi(2)
                + z.map(|z| (z[b] - z[a]).powi(2)).unwrap_or(0.0)
        };
        for rows in t.rows_by_track() {
            for (a, &p) in rows.iter().enumerate() {
                for &q in &rows[a + 1..] {
                    let lag = t.frame[q].saturating_sub(t.frame[p]);
                    if lag == 0 || lag > max_lag {
                        break;
                    }
                    if interval.is_finite() {
                        add(&mut c[0], lag as f64 * interval / 60.0, d2(p, q));
                    }
                }
            }
            for w in rows.windows(2) {
                let dt = t.t_s[w[1]] - t.t_s[w[0]];
                if dt > 0.0 && bin_s.is_finite() && bin_s > 0.0 {
                    let speed = d2(w[0], w[1]).sqrt() / dt * 60.0;
                    let bin = ((t.t_s[w[0]] - t0) / bin_s).floor() * bin_s / 60.0;
                    add(&mut c[2], bin, (speed < arrest) as u8 as f64);
                }
            }
        }
        for r in (0..tracks.len()).filter(|&r| tracks.entry[r] == i) {
            let s = speeds.get(r).copied().unwrap_or(f64::NAN);
            if s.is_finite() {
                for &x in &grid {
                    add(&mut c[1], x, (s <= x) as u8 as f64);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (ci, name) in ["msd", "speed_ecdf", "arrest_fraction"].into_iter().enumerate() {
        for g in table.groups() {
            let group: Vec<&MouseCurve> =
                mice.iter().filter(|m| m.0 == g).map(|m| &m.2[ci]).collect();
            let mut keys: Vec<i64> = group.iter().flat_map(|c| c.keys().copied()).collect();
            keys.sort_unstable();
            keys.dedup();
            let need = group.len().div_ceil(2).max(1);
            for (ki, key) in keys.into_iter().enumerate() {
                let values: Vec<f64> =
                    group.iter().filter_map(|c| c.get(&key)).map(|(s, n)| s / n).collect();
                if values.len() < need {
                    continue;
                }
                let seed = config.study.seed
                    ^ ((ci * 1_000_003 + ki) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let (lo, hi) = band(&values, config.study.bootstrap_samples.min(1000), seed);
                out.push(Curve {
                    curve: name,
                    group: g.clone(),
                    x: key as f64 / KEY,
                    value: stats::mean(&values),
                    ci_low: lo,
                    ci_high: hi,
                    n_mice: values.len(),
                });
            }
        }
    }
    out
}

/// 95 % percentile interval of the mean of `values` resampled with replacement.
fn band(values: &[f64], samples: usize, seed: u64) -> (f64, f64) {
    if values.len() < 2 {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = values.len();
    let mut means: Vec<f64> = (0..samples)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    let q = quantiles(&mut means, &[0.025, 0.975]);
    (q[0], q[1])
}
