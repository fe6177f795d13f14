//! Global thresholds: Otsu, triangle, and robust noise estimates.
//!
//! All statistics are taken on a deterministic strided subsample of at most about 262,000
//! voxels (every n-th voxel), which is plenty for a histogram and keeps the cost independent of
//! the volume's size.
//!
//! [`ThresholdDetector`] thresholds by them, labels the components and splits touching cells.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::label::Connectivity;
use super::{blob, filter, label, split, Detector, DetectorInput, Objects};
use crate::error::Result;

/// How the foreground threshold of the threshold detector is chosen. Values are in the units
/// of the background-subtracted, denoised image (grey levels above background).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ThresholdMethod {
    /// Otsu's threshold (maximum between-class variance) of the histogram.
    Otsu,
    /// The triangle threshold (Zack et al. 1977): the point of the histogram farthest from the
    /// line joining its peak to its far end — suited to a large background peak.
    Triangle,
    /// A fixed value, grey levels above background.
    Manual {
        /// The threshold.
        value: f64,
    },
    /// `k` × the robust noise standard deviation (1.4826 × median absolute deviation) above
    /// the background level (the median).
    Noise {
        /// Multiple of the noise standard deviation.
        #[schemars(extend("exclusiveMinimum" = 0))]
        k: f64,
    },
}

impl Default for ThresholdMethod {
    fn default() -> Self {
        ThresholdMethod::Noise { k: 6.0 }
    }
}

/// A deterministic subsample of at most about `max` values (every n-th).
pub fn subsample(values: &[f32], max: usize) -> Vec<f32> {
    let step = values.len().div_ceil(max.max(1)).max(1);
    values.iter().step_by(step).copied().filter(|v| v.is_finite()).collect()
}

/// Median and robust standard deviation (1.4826 × MAD) of `values` (sampled).
pub fn robust_stats(values: &[f32]) -> (f32, f32) {
    let mut s = subsample(values, 1 << 18);
    if s.is_empty() {
        return (0.0, 0.0);
    }
    let m = s.len() / 2;
    let med = *s.select_nth_unstable_by(m, f32::total_cmp).1;
    for v in &mut s {
        *v = (*v - med).abs();
    }
    let mad = *s.select_nth_unstable_by(m, f32::total_cmp).1;
    (med, 1.4826 * mad)
}

/// The background level and its noise, robust to a bright foreground covering up to about
/// half the voxels (crowded nuclei, a swarm): the median and 1.4826 × the median distance
/// below it of the values, clipped from above at median + 2.5 σ and taken again, three times —
/// only the dark side of the background peak is used, which cells do not reach. Returns
/// `(level, sigma)`; `sigma` is 0 for a quantised background that is constant (a confocal or
/// denoised recording's zeros), for which callers need another rule.
pub fn background_noise(values: &[f32]) -> (f32, f32) {
    let mut s = subsample(values, 1 << 18);
    if s.is_empty() {
        return (0.0, 0.0);
    }
    let (mut level, mut sigma) = (0.0f32, 0.0f32);
    let mut hi = f32::INFINITY;
    for _ in 0..4 {
        s.retain(|&v| v <= hi);
        if s.is_empty() {
            break;
        }
        let m = s.len() / 2;
        level = *s.select_nth_unstable_by(m, f32::total_cmp).1;
        let mut below: Vec<f32> = s.iter().filter(|&&v| v <= level).map(|&v| level - v).collect();
        let mb = below.len() / 2;
        sigma = if below.is_empty() {
            0.0
        } else {
            1.4826 * *below.select_nth_unstable_by(mb, f32::total_cmp).1
        };
        if sigma <= 0.0 {
            break;
        }
        hi = level + 2.5 * sigma;
    }
    (level, sigma)
}

/// The `q` quantile (0–1) of `values` (sampled); `None` when empty.
pub fn quantile(values: &[f32], q: f64) -> Option<f32> {
    let mut s = subsample(values, 1 << 18);
    if s.is_empty() {
        return None;
    }
    let k = ((s.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    Some(*s.select_nth_unstable_by(k, f32::total_cmp).1)
}

/// Histogram of `values` (sampled) in `bins` bins spanning [lo, hi]; returns (counts, lo, width).
fn histogram(values: &[f32], bins: usize) -> Option<(Vec<f64>, f32, f32)> {
    let s = subsample(values, 1 << 18);
    let (lo, hi) =
        s.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if s.is_empty() || hi <= lo {
        return None;
    }
    let w = (hi - lo) / bins as f32;
    let mut h = vec![0.0f64; bins];
    for v in s {
        let i = (((v - lo) / w) as usize).min(bins - 1);
        h[i] += 1.0;
    }
    Some((h, lo, w))
}

/// Otsu's threshold; `None` for a constant (or empty) input.
pub fn otsu(values: &[f32]) -> Option<f32> {
    let (h, lo, w) = histogram(values, 1024)?;
    let total: f64 = h.iter().sum();
    let sum_all: f64 = h.iter().enumerate().map(|(i, c)| i as f64 * c).sum();
    let (mut w0, mut s0, mut best, mut best_i) = (0.0, 0.0, -1.0, 0);
    for (i, &c) in h.iter().enumerate() {
        w0 += c;
        s0 += i as f64 * c;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (s0 / w0, (sum_all - s0) / w1);
        let between = w0 * w1 * (m0 - m1).powi(2);
        if between > best {
            best = between;
            best_i = i;
        }
    }
    Some(lo + (best_i as f32 + 1.0) * w)
}

/// The triangle threshold on the bright side of the histogram's peak; `None` for a constant
/// input.
pub fn triangle(values: &[f32]) -> Option<f32> {
    let (h, lo, w) = histogram(values, 1024)?;
    let peak = (0..h.len()).max_by(|&a, &b| h[a].total_cmp(&h[b]).then(b.cmp(&a)))?;
    let last = (0..h.len()).rev().find(|&i| h[i] > 0.0)?;
    if last <= peak {
        return Some(lo + (peak as f32 + 1.0) * w);
    }
    // Distance of each bin's top to the line (peak, h[peak]) – (last, h[last]).
    let (x0, y0, x1, y1) = (peak as f64, h[peak], last as f64, h[last]);
    let (dx, dy) = (x1 - x0, y1 - y0);
    let norm = (dx * dx + dy * dy).sqrt();
    let mut best = (peak, -1.0);
    for i in peak..=last {
        let d = (dy * (i as f64 - x0) - dx * (h[i] - y0)).abs() / norm;
        if d > best.1 {
            best = (i, d);
        }
    }
    Some(lo + (best.0 as f32 + 1.0) * w)
}

/// The threshold `method` gives on `values` (grey levels above background). A constant input
/// gives `None`: nothing can stand out of it.
pub fn threshold(values: &[f32], method: ThresholdMethod) -> Option<f32> {
    match method {
        ThresholdMethod::Otsu => otsu(values),
        ThresholdMethod::Triangle => triangle(values),
        ThresholdMethod::Manual { value } => Some(value as f32),
        ThresholdMethod::Noise { k } => {
            let (med, sd) = robust_stats(values);
            if sd > 0.0 {
                Some(med + k as f32 * sd)
            } else {
                // A noiseless background: anything clearly above the median.
                otsu(values).map(|t| t.max(med))
            }
        }
    }
}

/// How touching cells are split by the threshold detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SplitSeeds {
    /// No splitting: one object per connected component.
    None,
    /// Seeds at maxima of the distance transform (µm, anisotropic).
    #[default]
    Distance,
    /// Seeds at maxima of the LoG at the cell scale.
    Log,
}

/// Threshold detector: a global threshold of the denoised image, 3D connected components,
/// splitting of touching cells by a seeded watershed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdDetector {
    /// How the threshold is chosen.
    pub method: ThresholdMethod,
    /// Connectivity of components.
    pub connectivity: Connectivity,
    /// Seeds of the watershed that splits touching cells.
    pub split: SplitSeeds,
    /// Smallest distance between two seeds, µm (`None`: 0.6 × the diameter).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub min_seed_distance_um: Option<f64>,
}

impl Detector for ThresholdDetector {
    fn name(&self) -> &'static str {
        "threshold"
    }

    fn validate(&self) -> Result<()> {
        crate::pipeline::settings::check(self, "segment.detector")
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Result<Objects> {
        let dims = input.dims;
        let Some(t) = threshold(input.smooth, self.method) else {
            return Ok(Objects { labels: vec![0; dims.len()], ..Default::default() });
        };
        let mask: Vec<bool> = input.smooth.iter().map(|&v| v > t).collect();
        let (comp, ncomp) = label::label(&mask, dims, self.connectivity);
        let (labels, count) = if self.split == SplitSeeds::None || ncomp == 0 {
            (comp, ncomp)
        } else {
            let d = self.min_seed_distance_um.unwrap_or(0.6 * input.cell_diameter_um);
            let priority: Vec<f32> = match self.split {
                SplitSeeds::Log => {
                    let ndim = if dims.nz == 1 { 2 } else { 3 };
                    let s = blob::sigma_for_radius(input.cell_diameter_um / 2.0, ndim);
                    filter::log_filter(input.signal, dims, s, input.voxel_um)
                }
                _ => split::distance_transform_sq(&mask, dims, input.voxel_um)
                    .iter()
                    .map(|v| v.sqrt())
                    .collect(),
            };
            let seeds =
                split::local_maxima(&priority, Some(&mask), dims, f32::MIN, d, input.voxel_um);
            let floor = vec![f32::NEG_INFINITY; seeds.len()];
            let mut ws = split::watershed(&priority, Some(&mask), dims, &seeds, &floor);
            // Components without a seed keep their own label after the seeded ones.
            let ns = seeds.len() as u32;
            for (w, &c) in ws.iter_mut().zip(&comp) {
                if *w == 0 && c != 0 {
                    *w = ns + c;
                }
            }
            let mut present = vec![false; ns as usize + ncomp + 1];
            for &w in &ws {
                present[w as usize] = true;
            }
            present[0] = false;
            let n = label::relabel(&mut ws, &present);
            (ws, n)
        };
        let mut quality = vec![f64::NEG_INFINITY; count];
        for (&l, &v) in labels.iter().zip(input.smooth) {
            if l != 0 {
                let q = &mut quality[l as usize - 1];
                *q = q.max(v as f64);
            }
        }
        Ok(Objects { labels, count, quality, position: vec![None; count] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 90 % background spread over [0, 12), 10 % foreground over [100, 107).
    fn bimodal() -> Vec<f32> {
        let mut state = 7u64;
        (0..10_000)
            .map(|i| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let u = (state >> 40) as f32 / (1u64 << 24) as f32;
                if i % 10 == 0 {
                    100.0 + 7.0 * u
                } else {
                    12.0 * u
                }
            })
            .collect()
    }

    #[test]
    fn otsu_and_triangle_split_two_modes() {
        let v = bimodal();
        for t in [otsu(&v).unwrap(), triangle(&v).unwrap()] {
            assert!(t > 12.0 && t < 100.0, "{t}");
        }
    }

    #[test]
    fn constant_input_has_no_threshold() {
        let v = vec![5.0f32; 100];
        assert_eq!(otsu(&v), None);
        assert_eq!(triangle(&v), None);
        assert_eq!(threshold(&v, ThresholdMethod::Noise { k: 5.0 }), None);
        assert_eq!(threshold(&[], ThresholdMethod::Otsu), None);
    }

    #[test]
    fn robust_stats_ignore_outliers() {
        let mut v: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 101) as f32 / 10.0).collect();
        v.extend(std::iter::repeat_n(1e6, 50));
        let (med, sd) = robust_stats(&v);
        assert!((med - 5.0).abs() < 0.5, "{med}");
        assert!(sd > 2.0 && sd < 5.0, "{sd}");
    }
}
