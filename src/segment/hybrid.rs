//! The hybrid detector, the default: a foreground mask from the recording's own background
//! noise, blob seeds (LoG at the cell scale) inside it, and a seeded watershed of the LoG
//! response within the mask.
//!
//! Each part answers one failure of the single detectors on real data: the mask (not a
//! quality threshold on the LoG) decides what is a cell, so crowded fields whose foreground
//! inflates every global statistic still get a threshold from the dark side of the background
//! ([`super::threshold::background_noise`]); the seeds at the cell scale give one object per cell
//! whatever its texture (nucleoli, granules) or its shape (pseudopods, long thin processes,
//! whose seeds are pruned when far weaker than their component's strongest); the watershed
//! splits touching cells along the valley of the LoG between their seeds; components without a
//! blob-like seed (collagen fibres, noise specks) are not cells.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::blob::{refine, sigma_for_radius};
use super::filter::{log_filter, mirror, Dims};
use super::label::{label, Connectivity};
use super::split::{local_maxima, watershed};
use super::threshold::{background_noise, otsu};
use super::{Detector, DetectorInput, Objects};
use crate::error::Result;

/// Foreground mask from the background noise + LoG seeds + seeded watershed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HybridDetector {
    /// The foreground: denoised voxels more than this many background noise deviations above
    /// the background level (both estimated per frame from the dark side of the background
    /// peak; for a background with no noise at all — the zeros of confocal or denoised data —
    /// half-way to Otsu's threshold instead).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub threshold_k: f64,
    /// A seed is a local maximum of the LoG response at the cell scale (about a cell's
    /// contrast) inside the foreground that exceeds this fraction of the foreground
    /// threshold's contrast above the background.
    #[schemars(range(min = 0))]
    pub seed_contrast: f64,
    /// Seeds weaker than this fraction of the strongest seed of their connected foreground
    /// component are dropped (texture, pseudopods, dendrites' processes).
    #[schemars(range(min = 0, max = 1))]
    pub relative_seed: f64,
    /// A seed's LoG response must be at least this fraction of its denoised contrast above
    /// the background: objects far smaller or thinner than a cell (debris specks, fibres,
    /// processes) or far wider (vessels) respond far less than their brightness.
    #[schemars(range(min = 0, max = 1))]
    pub min_blobness: f64,
    /// A seed's response must curve down in every direction: the weakest curvature of its
    /// Hessian (at a third of the diameter) at least this fraction of the strongest. Tubes —
    /// vessels bleeding through, collagen fibres — are near 0, round cells near 1, cells
    /// elongated 2:1 about 0.3.
    #[schemars(range(min = 0, max = 1))]
    pub min_isotropy: f64,
    /// Two neighbouring seeds stay apart only when the response between them (the highest
    /// point of their common border) dips below the weaker one's by this fraction of it;
    /// else they are one cell (texture, a pseudopod) and merge into the stronger.
    #[schemars(range(min = 0, max = 1))]
    pub min_seed_depth: f64,
    /// A cell's voxels: those of its watershed basin at least this fraction of its seed's
    /// contrast above the background.
    #[schemars(extend("exclusiveMinimum" = 0, "exclusiveMaximum" = 1))]
    pub region_fraction: f64,
    /// The LoG's scale, as a fraction of the cell's radius (σ = this × radius/√n in n
    /// dimensions).
    #[schemars(range(min = 0.2, max = 2))]
    pub seed_scale: f64,
    /// Smallest distance between two seeds, µm (`None`: half the cell diameter).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub min_seed_distance_um: Option<f64>,
}

impl Default for HybridDetector {
    fn default() -> Self {
        HybridDetector {
            threshold_k: 4.0,
            seed_contrast: 0.5,
            relative_seed: 0.1,
            min_blobness: 0.4,
            min_isotropy: 0.05,
            seed_scale: 1.0,
            min_seed_depth: 0.1,
            region_fraction: 0.5,
            min_seed_distance_um: None,
        }
    }
}

/// The background level of `smooth` and its foreground threshold (grey levels): `level + k σ`
/// of its background (never closer to the level than a fiftieth of the way to the 99.9th
/// percentile), or half-way from the level to Otsu's threshold when the background has no
/// noise at all; `None` for a constant image.
pub fn foreground_threshold(smooth: &[f32], k: f64) -> Option<(f32, f32)> {
    let (level, sigma) = background_noise(smooth);
    if sigma > 0.0 {
        // Never closer to the background than a fiftieth of the brightest objects' contrast:
        // a nearly noiseless background's last few grey levels are not cells.
        let bright = super::threshold::quantile(smooth, 0.999).unwrap_or(level);
        let t = (level + k as f32 * sigma).max(level + MIN_CONTRAST_FRACTION * (bright - level));
        return Some((level, t));
    }
    let o = otsu(smooth)?;
    (o > level).then_some((level, level + 0.5 * (o - level)))
}

/// The foreground threshold's smallest contrast, as a fraction of the 99.9th percentile's.
const MIN_CONTRAST_FRACTION: f32 = 0.02;

impl Detector for HybridDetector {
    fn name(&self) -> &'static str {
        "hybrid"
    }

    fn validate(&self) -> Result<()> {
        crate::pipeline::settings::check(self, "segment.detector")
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Result<Objects> {
        let dims = input.dims;
        let empty = || Objects { labels: vec![0; dims.len()], ..Default::default() };
        let Some((level, t)) = foreground_threshold(input.smooth, self.threshold_k) else {
            return Ok(empty());
        };
        let mask: Vec<bool> = input.smooth.iter().map(|&v| v > t).collect();
        if !mask.iter().any(|&m| m) {
            return Ok(empty());
        }
        let ndim = if dims.nz == 1 { 2 } else { 3 };
        // Seeds at a little under the cell scale: touching cells keep separate peaks.
        let radius = self.seed_scale * input.cell_diameter_um / 2.0;
        let resp = log_filter(input.signal, dims, sigma_for_radius(radius, ndim), input.voxel_um);
        let min_q = self.seed_contrast as f32 * (t - level);
        let nms = self.min_seed_distance_um.unwrap_or(0.5 * input.cell_diameter_um);
        let mut seeds = local_maxima(&resp, Some(&mask), dims, min_q, nms, input.voxel_um);
        // A cell-sized object's response is about its contrast; a speck's or a fibre's, far
        // smaller than its own brightness.
        let shape_k = self.min_blobness as f32;
        seeds.retain(|&i| resp[i] > min_q && resp[i] >= shape_k * (input.smooth[i] - level));
        // Tubes (vessels, fibres) respond along their length as much as at any point: the
        // response's curvature along them is far weaker than across.
        let step = 0.35 * input.cell_diameter_um;
        seeds.retain(|&i| {
            isotropy(&resp, dims, i, step, input.voxel_um) >= self.min_isotropy as f32
        });
        // Prune seeds far weaker than their component's strongest (seeds come strongest first).
        let (comp, ncomp) = label(&mask, dims, Connectivity::TwentySix);
        let mut strongest = vec![f32::NAN; ncomp + 1];
        seeds.retain(|&i| {
            let s = &mut strongest[comp[i] as usize];
            if s.is_nan() {
                *s = resp[i];
                true
            } else {
                resp[i] >= self.relative_seed as f32 * *s
            }
        });
        let floor = vec![f32::NEG_INFINITY; seeds.len()];
        let mut labels = watershed(&resp, Some(&mask), dims, &seeds, &floor);
        let seeds = merge_shallow(&mut labels, &resp, dims, &seeds, self.min_seed_depth as f32);
        // Each cell's voxels: its basin down to a fraction of its seed's contrast (a half-
        // maximum region is the cell's own extent, not its blur; cut cells keep the cross-
        // sections the border refinement extrapolates from).
        {
            let floor: Vec<f32> = std::iter::once(f32::INFINITY)
                .chain(
                    seeds
                        .iter()
                        .map(|&i| level + self.region_fraction as f32 * (input.smooth[i] - level)),
                )
                .collect();
            for (l, &v) in labels.iter_mut().zip(input.smooth) {
                if *l != 0 && v < floor[*l as usize] {
                    *l = 0;
                }
            }
        }
        Ok(Objects {
            labels,
            count: seeds.len(),
            quality: seeds.iter().map(|&i| resp[i] as f64).collect(),
            position: seeds
                .iter()
                .map(|&i| {
                    let (z, y, x) = (i / dims.plane(), (i / dims.nx) % dims.ny, i % dims.nx);
                    Some(refine(&resp, dims, [x, y, z]))
                })
                .collect(),
        })
    }
}

/// Merges the watershed basins of seeds whose common border is high: for each pair of
/// face-adjacent basins the saddle is the highest `min(resp[a], resp[b])` over border voxel
/// pairs; weakest seed first, a basin whose saddle with a stronger one exceeds
/// `(1 − depth) × its seed's response` joins it. Relabels `labels` 1..=k in the order of the
/// seeds kept and returns them.
pub fn merge_shallow(
    labels: &mut [u32],
    resp: &[f32],
    dims: Dims,
    seeds: &[usize],
    depth: f32,
) -> Vec<usize> {
    let n = seeds.len();
    if n < 2 {
        return seeds.to_vec();
    }
    let mut saddle: std::collections::HashMap<(u32, u32), f32> = Default::default();
    let (nx, plane) = (dims.nx, dims.plane());
    for i in 0..labels.len() {
        let a = labels[i];
        if a == 0 {
            continue;
        }
        let (x, y, z) = (i % nx, (i / nx) % dims.ny, i / plane);
        let mut visit = |j: usize| {
            let b = labels[j];
            if b != 0 && b != a {
                let key = (a.min(b), a.max(b));
                let v = resp[i].min(resp[j]);
                let e = saddle.entry(key).or_insert(f32::NEG_INFINITY);
                *e = e.max(v);
            }
        };
        if x + 1 < nx {
            visit(i + 1);
        }
        if y + 1 < dims.ny {
            visit(i + nx);
        }
        if z + 1 < dims.nz {
            visit(i + plane);
        }
    }
    // Seeds come strongest first: label l's seed is seeds[l - 1].
    let mut parent: Vec<u32> = (0..=n as u32).collect();
    fn root(p: &mut [u32], mut l: u32) -> u32 {
        while p[l as usize] != l {
            p[l as usize] = p[p[l as usize] as usize];
            l = p[l as usize];
        }
        l
    }
    let mut pairs: Vec<((u32, u32), f32)> = saddle.into_iter().collect();
    // Weakest seed first (largest label), then by saddle, highest first; deterministic.
    pairs.sort_by(|a, b| b.0 .1.cmp(&a.0 .1).then(b.1.total_cmp(&a.1)).then(a.0.cmp(&b.0)));
    for ((strong, weak), v) in pairs {
        let peak = resp[seeds[weak as usize - 1]];
        if v > (1.0 - depth) * peak {
            let (rs, rw) = (root(&mut parent, strong), root(&mut parent, weak));
            if rs != rw {
                let (hi, lo) = (rs.min(rw), rs.max(rw));
                parent[lo as usize] = hi;
            }
        }
    }
    let mut new_label = vec![0u32; n + 1];
    let mut kept = Vec::new();
    for l in 1..=n as u32 {
        if root(&mut parent, l) == l {
            kept.push(seeds[l as usize - 1]);
            new_label[l as usize] = kept.len() as u32;
        }
    }
    for l in 1..=n as u32 {
        let r = root(&mut parent, l);
        new_label[l as usize] = new_label[r as usize];
    }
    for v in labels.iter_mut() {
        *v = new_label[*v as usize];
    }
    kept
}

/// The ratio of the weakest to the strongest downward curvature of `resp` at voxel `i`
/// (finite differences `step_um` apart, at least one voxel; axes of size 1 left out): 1 for a
/// round peak, near 0 along a ridge, 0 where it curves up.
pub fn isotropy(resp: &[f32], dims: Dims, i: usize, step_um: f64, voxel_um: [f64; 3]) -> f32 {
    let n = [dims.nx, dims.ny, dims.nz];
    let c = [i % dims.nx, (i / dims.nx) % dims.ny, i / dims.plane()];
    let axes: Vec<usize> = (0..3).filter(|&a| n[a] >= 3).collect();
    let h: Vec<isize> = (0..3).map(|a| ((step_um / voxel_um[a]).round() as isize).max(1)).collect();
    let at = |d: [isize; 3]| -> f64 {
        let p: [usize; 3] = std::array::from_fn(|a| mirror(c[a] as isize + d[a], n[a]));
        resp[(p[2] * n[1] + p[1]) * n[0] + p[0]] as f64
    };
    let m = axes.len();
    if m == 0 {
        return 1.0;
    }
    let mut hm = nalgebra::DMatrix::<f64>::zeros(m, m);
    for (ia, &a) in axes.iter().enumerate() {
        let mut d = [0isize; 3];
        d[a] = h[a];
        let plus = at(d);
        d[a] = -h[a];
        let minus = at(d);
        // Curvature per µm², so anisotropic steps compare.
        let ha = h[a] as f64 * voxel_um[a];
        hm[(ia, ia)] = (plus - 2.0 * at([0; 3]) + minus) / (ha * ha);
        for (ib, &b) in axes.iter().enumerate().skip(ia + 1) {
            let q = |sa: isize, sb: isize| {
                let mut d = [0isize; 3];
                d[a] = sa * h[a];
                d[b] = sb * h[b];
                at(d)
            };
            let hb = h[b] as f64 * voxel_um[b];
            let v = (q(1, 1) - q(1, -1) - q(-1, 1) + q(-1, -1)) / (4.0 * ha * hb);
            hm[(ia, ib)] = v;
            hm[(ib, ia)] = v;
        }
    }
    let eig = nalgebra::SymmetricEigen::new(hm).eigenvalues;
    let (lo, hi) =
        eig.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &e| (a.min(e), b.max(e)));
    if lo >= 0.0 || hi >= 0.0 {
        return 0.0;
    }
    (hi / lo) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two touching discs (one at 0.3× the other's brightness) and a textured disc on a noisy
    /// background covering 40 % of the image: three objects.
    #[test]
    fn finds_touching_dim_and_textured_discs_in_a_crowded_field() {
        let d = Dims { nz: 1, ny: 64, nx: 96 };
        let mut state = 3u64;
        let mut noise = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0
        };
        let discs = [([20.0, 30.0], 100.0), ([38.0, 30.0], 30.0), ([72.0, 32.0], 100.0)];
        let mut img = vec![0.0f32; d.len()];
        for y in 0..64 {
            for x in 0..96 {
                let mut v = 5.0 * noise();
                for (c, b) in discs {
                    if (x as f64 - c[0]).hypot(y as f64 - c[1]) < 9.0 {
                        let texture = if c[0] > 60.0 && (x + y) % 5 == 0 { 0.5 } else { 1.0 };
                        v += b * texture;
                    }
                }
                img[y * 96 + x] = v;
            }
        }
        let smooth = crate::segment::filter::gaussian(&img, d, [1.0, 1.0, 0.0], [1.0; 3]);
        let input = DetectorInput {
            signal: &img,
            smooth: &smooth,
            dims: d,
            voxel_um: [1.0; 3],
            cell_diameter_um: 18.0,
        };
        let obj = HybridDetector::default().detect(&input).unwrap();
        assert_eq!(obj.count, 3, "{:?}", obj.position);
        for (c, _) in discs {
            assert!(
                obj.position.iter().flatten().any(|p| (p[0] - c[0]).hypot(p[1] - c[1]) < 3.5),
                "{c:?} not found in {:?}",
                obj.position
            );
        }
    }

    #[test]
    fn a_noiseless_background_still_has_a_threshold() {
        let mut v = vec![0.0f32; 1000];
        v[10..60].iter_mut().for_each(|x| *x = 50.0);
        let (_, t) = foreground_threshold(&v, 4.0).unwrap();
        assert!(t > 0.0 && t < 50.0, "{t}");
        assert_eq!(foreground_threshold(&[3.0; 100], 4.0), None);
    }
}
