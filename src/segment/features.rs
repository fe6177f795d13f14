//! Per-object measurements from a label volume: intensity-weighted centroid, volume,
//! intensities in every channel, bounding box, principal axes (eigen-decomposition of the
//! second-moment tensor with nalgebra), elongation, sphericity, border flags — and the
//! model-based position of objects cut by the volume's border.
//!
//! Labels live on the *working grid* (the input, optionally binned in x and y); the input
//! voxel coordinates of working voxel `i` along an axis are given by a [`Grid`]. Sums are
//! accumulated per plane and merged in plane order, so results do not depend on the number of
//! threads.

use rayon::prelude::*;

use super::filter::Dims;
use crate::io::{Volume, VolumeView};

/// How the working grid maps onto the input grid: the input-voxel coordinate of each working
/// voxel's centre along x, y, z, and the working → input index ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Input voxel size (x, y, z), µm.
    pub voxel_um: [f64; 3],
    /// Bin factor along x, y, z (z is always 1).
    pub bin: [usize; 3],
    /// Input dims.
    pub input: Dims,
    /// Working dims.
    pub work: Dims,
}

impl Grid {
    /// The grid for an input of `input` dims binned by `bin_xy` in x and y.
    pub fn new(input: Dims, voxel_um: [f64; 3], bin_xy: usize) -> Self {
        let b = bin_xy.max(1);
        Grid {
            voxel_um,
            bin: [b, b, 1],
            input,
            work: Dims { nz: input.nz, ny: input.ny.div_ceil(b), nx: input.nx.div_ceil(b) },
        }
    }
    /// Working voxel size (x, y, z), µm.
    pub fn work_voxel_um(&self) -> [f64; 3] {
        std::array::from_fn(|a| self.voxel_um[a] * self.bin[a] as f64)
    }
    /// Position (µm) of the centre of working index `i` along axis `a` (0 = x, 1 = y, 2 = z):
    /// the mean of the input voxel centres it covers.
    pub fn centre_um(&self, a: usize, i: f64) -> f64 {
        let b = self.bin[a] as f64;
        let n = self.input.axis(a) as f64;
        // Integer part: the bin's own (possibly partial) extent; fractional: linear.
        let lo = i.floor().max(0.0);
        let c = |k: f64| {
            let first = k * b;
            let last = ((k + 1.0) * b).min(n) - 1.0;
            (first + last.max(first)) / 2.0
        };
        let (c0, c1) = (c(lo), c(lo + 1.0));
        (c0 + (c1 - c0) * (i - lo)) * self.voxel_um[a]
    }
    /// Volume of one working voxel, µm³.
    pub fn work_voxel_volume(&self) -> f64 {
        let v = self.work_voxel_um();
        v[0] * v[1] * v[2]
    }
}

/// Measurements of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectFeatures {
    /// Intensity-weighted centroid (x, y, z), µm (weights: background-subtracted signal, ≥ 0).
    pub centroid_um: [f64; 3],
    /// Volume, µm³ (voxel count × voxel volume).
    pub volume_um3: f64,
    /// Bounding box, min corner (x, y, z), µm (voxel centres).
    pub bbox_min_um: [f64; 3],
    /// Bounding box, max corner (x, y, z), µm (voxel centres).
    pub bbox_max_um: [f64; 3],
    /// Semi-axes of the moment-equivalent ellipsoid (√(5λ) for each eigenvalue λ of the
    /// covariance of voxel positions), longest first, µm.
    pub semi_axes_um: [f64; 3],
    /// Unit vector (x, y, z) of the longest principal axis.
    pub major_axis: [f64; 3],
    /// Longest over shortest semi-axis (≥ 1; in 2D, of the two in-plane axes).
    pub elongation: f64,
    /// Sphericity of the moment-equivalent ellipsoid: π^⅓ (6V)^⅔ / A (1 for a sphere).
    pub sphericity: f64,
    /// Touches the first or last column or row (x/y border).
    pub touches_border_xy: bool,
    /// Touches the first or last plane (z border; never for a one-plane volume).
    pub touches_border_z: bool,
    /// Number of working voxels.
    pub voxels: usize,
}

#[derive(Debug, Clone, Copy)]
struct Acc {
    n: u64,
    sw: f64,
    swp: [f64; 3],
    sp: [f64; 3],
    spp: [f64; 6],
    lo: [usize; 3],
    hi: [usize; 3],
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            n: 0,
            sw: 0.0,
            swp: [0.0; 3],
            sp: [0.0; 3],
            spp: [0.0; 6],
            lo: [usize::MAX; 3],
            hi: [0; 3],
        }
    }
}

impl Acc {
    fn merge(&mut self, o: &Acc) {
        self.n += o.n;
        self.sw += o.sw;
        for a in 0..3 {
            self.swp[a] += o.swp[a];
            self.sp[a] += o.sp[a];
            self.lo[a] = self.lo[a].min(o.lo[a]);
            self.hi[a] = self.hi[a].max(o.hi[a]);
        }
        for k in 0..6 {
            self.spp[k] += o.spp[k];
        }
    }
}

/// Measures objects `1..=n` of `labels` (working grid) with `signal` (background-subtracted,
/// working grid) as centroid weights.
pub fn measure(labels: &[u32], n: usize, signal: &[f32], grid: &Grid) -> Vec<ObjectFeatures> {
    let d = grid.work;
    if n == 0 || d.is_empty() {
        return Vec::new();
    }
    let partial: Vec<Vec<Acc>> = labels
        .par_chunks(d.plane())
        .zip(signal.par_chunks(d.plane()))
        .enumerate()
        .map(|(z, (lp, sp))| {
            let mut acc = vec![Acc::default(); n + 1];
            for y in 0..d.ny {
                let row = &lp[y * d.nx..(y + 1) * d.nx];
                if row.iter().all(|&l| l == 0) {
                    continue;
                }
                for (x, &l) in row.iter().enumerate() {
                    if l == 0 {
                        continue;
                    }
                    let a = &mut acc[l as usize];
                    let w = sp[y * d.nx + x].max(0.0) as f64;
                    let p = [x as f64, y as f64, z as f64];
                    a.n += 1;
                    a.sw += w;
                    for k in 0..3 {
                        a.swp[k] += w * p[k];
                        a.sp[k] += p[k];
                    }
                    a.spp[0] += p[0] * p[0];
                    a.spp[1] += p[1] * p[1];
                    a.spp[2] += p[2] * p[2];
                    a.spp[3] += p[0] * p[1];
                    a.spp[4] += p[0] * p[2];
                    a.spp[5] += p[1] * p[2];
                    let ip = [x, y, z];
                    for k in 0..3 {
                        a.lo[k] = a.lo[k].min(ip[k]);
                        a.hi[k] = a.hi[k].max(ip[k]);
                    }
                }
            }
            acc
        })
        .collect();
    let mut acc = vec![Acc::default(); n + 1];
    for p in &partial {
        for (a, b) in acc.iter_mut().zip(p) {
            a.merge(b);
        }
    }
    let wv = grid.work_voxel_um();
    let two_d = d.nz == 1;
    acc.iter()
        .skip(1)
        .map(|a| {
            let cnt = a.n.max(1) as f64;
            let mean: [f64; 3] = std::array::from_fn(|k| a.sp[k] / cnt);
            let wc: [f64; 3] =
                std::array::from_fn(|k| if a.sw > 0.0 { a.swp[k] / a.sw } else { mean[k] });
            // Covariance of positions in µm (a uniform voxel adds v²/12 along each axis).
            let c = |i: usize, j: usize, k: usize| {
                (a.spp[k] / cnt - mean[i] * mean[j]) * wv[i] * wv[j]
                    + if i == j { wv[i] * wv[i] / 12.0 } else { 0.0 }
            };
            let cov = nalgebra::Matrix3::new(
                c(0, 0, 0),
                c(0, 1, 3),
                c(0, 2, 4),
                c(0, 1, 3),
                c(1, 1, 1),
                c(1, 2, 5),
                c(0, 2, 4),
                c(1, 2, 5),
                if two_d { 0.0 } else { c(2, 2, 2) },
            );
            let eig = nalgebra::SymmetricEigen::new(cov);
            let mut order = [0usize, 1, 2];
            order.sort_by(|&i, &j| eig.eigenvalues[j].total_cmp(&eig.eigenvalues[i]));
            let semi: [f64; 3] =
                std::array::from_fn(|k| (5.0 * eig.eigenvalues[order[k]].max(0.0)).sqrt());
            let v = eig.eigenvectors.column(order[0]);
            let mut major = [v[0], v[1], v[2]];
            // A fixed sign: first nonzero component positive.
            if let Some(s) = major.iter().find(|c| c.abs() > 1e-12) {
                if *s < 0.0 {
                    major = major.map(|c| -c);
                }
            }
            let shortest = if two_d { semi[1] } else { semi[2] };
            let elongation = if shortest > 0.0 { semi[0] / shortest } else { 1.0 };
            let sphericity = if two_d { f64::NAN } else { ellipsoid_sphericity(semi) };
            let touches = |k: usize| d.axis(k) > 1 && (a.lo[k] == 0 || a.hi[k] + 1 == d.axis(k));
            ObjectFeatures {
                centroid_um: std::array::from_fn(|k| grid.centre_um(k, wc[k])),
                volume_um3: a.n as f64 * grid.work_voxel_volume(),
                bbox_min_um: std::array::from_fn(|k| grid.centre_um(k, a.lo[k] as f64)),
                bbox_max_um: std::array::from_fn(|k| grid.centre_um(k, a.hi[k] as f64)),
                semi_axes_um: semi,
                major_axis: major,
                elongation,
                sphericity,
                touches_border_xy: touches(0) || touches(1),
                touches_border_z: touches(2),
                voxels: a.n as usize,
            }
        })
        .collect()
}

/// Sphericity of an ellipsoid of semi-axes `s` (Knud Thomsen's surface approximation,
/// relative error < 1.1 %): π^⅓ (6V)^⅔ / A, clamped to ≤ 1.
pub fn ellipsoid_sphericity(s: [f64; 3]) -> f64 {
    let (a, b, c) = (s[0], s[1], s[2]);
    if a <= 0.0 || b <= 0.0 || c <= 0.0 {
        return f64::NAN;
    }
    let p = 1.6075;
    let area = 4.0
        * std::f64::consts::PI
        * (((a * b).powf(p) + (a * c).powf(p) + (b * c).powf(p)) / 3.0).powf(1.0 / p);
    let vol = 4.0 / 3.0 * std::f64::consts::PI * a * b * c;
    (std::f64::consts::PI.cbrt() * (6.0 * vol).powf(2.0 / 3.0) / area).min(1.0)
}

/// Mean, max and sum of the raw input intensities of `channel` over each object, at full
/// input resolution (each input voxel takes the label of the working voxel containing it).
/// Returns `(mean, max, sum)` per object 1..=n.
pub fn intensities(labels: &[u32], n: usize, grid: &Grid, channel: &Volume) -> Vec<[f64; 3]> {
    intensities_view(labels, n, grid, &channel.view())
}

/// As [`intensities`], of a borrowed volume.
pub fn intensities_view(
    labels: &[u32],
    n: usize,
    grid: &Grid,
    channel: &VolumeView<'_>,
) -> Vec<[f64; 3]> {
    match channel {
        VolumeView::U8(a) => {
            intensities_of(labels, n, grid, a.as_standard_layout().as_slice().unwrap_or(&[]), |v| {
                v as f64
            })
        }
        VolumeView::U16(a) => {
            intensities_of(labels, n, grid, a.as_standard_layout().as_slice().unwrap_or(&[]), |v| {
                v as f64
            })
        }
        VolumeView::F32(a) => {
            intensities_of(labels, n, grid, a.as_standard_layout().as_slice().unwrap_or(&[]), |v| {
                v as f64
            })
        }
    }
}

fn intensities_of<T: Copy + Sync>(
    labels: &[u32],
    n: usize,
    grid: &Grid,
    data: &[T],
    f: impl Fn(T) -> f64 + Sync,
) -> Vec<[f64; 3]> {
    let (din, dw) = (grid.input, grid.work);
    let (bx, by) = (grid.bin[0], grid.bin[1]);
    if n == 0 || data.len() != din.len() {
        return vec![[f64::NAN, f64::NAN, 0.0]; n];
    }
    let partial: Vec<Vec<(u64, f64, f64)>> = data
        .par_chunks(din.plane())
        .enumerate()
        .map(|(z, plane)| {
            let mut acc = vec![(0u64, f64::NEG_INFINITY, 0.0f64); n + 1];
            for y in 0..din.ny {
                let lrow = &labels[(z * dw.ny + y / by) * dw.nx..(z * dw.ny + y / by + 1) * dw.nx];
                if lrow.iter().all(|&l| l == 0) {
                    continue;
                }
                let row = &plane[y * din.nx..(y + 1) * din.nx];
                for (chunk, &l) in row.chunks(bx).zip(lrow) {
                    if l != 0 {
                        let a = &mut acc[l as usize];
                        for &v in chunk {
                            let v = f(v);
                            a.0 += 1;
                            a.1 = a.1.max(v);
                            a.2 += v;
                        }
                    }
                }
            }
            acc
        })
        .collect();
    let mut acc = vec![(0u64, f64::NEG_INFINITY, 0.0f64); n + 1];
    for p in &partial {
        for (a, b) in acc.iter_mut().zip(p) {
            a.0 += b.0;
            a.1 = a.1.max(b.1);
            a.2 += b.2;
        }
    }
    acc.iter()
        .skip(1)
        .map(|&(c, m, s)| if c == 0 { [f64::NAN, f64::NAN, 0.0] } else { [s / c as f64, m, s] })
        .collect()
}

/// Areas (µm²) of an object's cross-sections perpendicular to axis `a`, one per working slice
/// of its bounding box: `(slice position µm, area µm²)`. Each voxel counts in proportion to its
/// `signal` relative to the object's plateau (the 90th percentile of its voxels' signal,
/// capped at 1), so partial-volume voxels count partly and the areas vary smoothly.
pub fn slice_areas(
    labels: &[u32],
    signal: &[f32],
    label: u32,
    grid: &Grid,
    f: &ObjectFeatures,
    a: usize,
) -> Vec<(f64, f64)> {
    let d = grid.work;
    let wv = grid.work_voxel_um();
    let to_idx = |k: usize, um: f64| {
        // Inverse of centre_um for bbox corners (exact at voxel centres up to partial bins).
        let b = grid.bin[k] as f64;
        (((um / grid.voxel_um[k]) - (b - 1.0) / 2.0) / b).round().clamp(0.0, (d.axis(k) - 1) as f64)
            as usize
    };
    let lo: [usize; 3] = std::array::from_fn(|k| to_idx(k, f.bbox_min_um[k]));
    let hi: [usize; 3] = std::array::from_fn(|k| to_idx(k, f.bbox_max_um[k]));
    let mut counts = vec![0f64; hi[a] - lo[a] + 1];
    let mut vals = Vec::new();
    for z in lo[2]..=hi[2] {
        for y in lo[1]..=hi[1] {
            let row = (z * d.ny + y) * d.nx;
            for x in lo[0]..=hi[0] {
                if labels[row + x] == label {
                    vals.push(signal[row + x]);
                }
            }
        }
    }
    if vals.is_empty() {
        return Vec::new();
    }
    let q = (vals.len() * 9 / 10).min(vals.len() - 1);
    let plateau = *vals.select_nth_unstable_by(q, f32::total_cmp).1;
    for z in lo[2]..=hi[2] {
        for y in lo[1]..=hi[1] {
            let row = (z * d.ny + y) * d.nx;
            for x in lo[0]..=hi[0] {
                if labels[row + x] == label {
                    let i = [x, y, z][a];
                    let w = if plateau > 0.0 {
                        (signal[row + x] / plateau).clamp(0.0, 1.0)
                    } else {
                        1.0
                    };
                    counts[i - lo[a]] += w as f64;
                }
            }
        }
    }
    let face = match a {
        0 => wv[1] * wv[2],
        1 => wv[0] * wv[2],
        _ => wv[0] * wv[1],
    };
    counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0.0)
        .map(|(i, &c)| (grid.centre_um(a, (lo[a] + i) as f64), c * face))
        .collect()
}

/// The centre along one axis of an object cut by the volume's border, from the areas of its
/// cross-sections `(position, area)` (µm, µm²): for an ellipsoid the cross-section area is a
/// parabola in the position with its vertex at the centre, whatever the orientation, so the
/// visible slices extrapolate to the hidden centre. With ≥ 4 slices the parabola is fitted
/// freely (kept when its curvature is within ¼–4× a sphere's, π); with 2–3 slices its
/// curvature is fixed at a sphere's (π); with one slice the expected radius `radius_um` gives
/// the distance from that slice, at least half the slice `spacing_um` (an object seen in a
/// single slice at the border has its centre beyond it: were the centre inside, the next slice
/// would cut it too). `outward` is −1 when the object is cut at the low border, +1 at the high
/// border. The result lies on the outward side of the visible centroid `centroid` and at most
/// `radius_um` beyond the outermost slice.
pub fn truncated_centre(
    slices: &[(f64, f64)],
    centroid: f64,
    outward: f64,
    radius_um: f64,
    spacing_um: f64,
) -> f64 {
    if slices.is_empty() {
        return centroid;
    }
    let pi = std::f64::consts::PI;
    let edge = if outward < 0.0 {
        slices.iter().map(|s| s.0).fold(f64::INFINITY, f64::min)
    } else {
        slices.iter().map(|s| s.0).fold(f64::NEG_INFINITY, f64::max)
    };
    let fixed = |k: f64| -> Option<f64> {
        // A + k s² = c' + 2 k s0 s: the slope of a line fit gives s0.
        let n = slices.len() as f64;
        let (mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0);
        for &(s, a) in slices {
            let y = a + k * s * s;
            sx += s;
            sy += y;
            sxx += s * s;
            sxy += s * y;
        }
        let den = n * sxx - sx * sx;
        (den.abs() > 1e-12).then(|| (n * sxy - sx * sy) / den / (2.0 * k))
    };
    let est = if slices.len() >= 4 {
        fit_parabola(slices)
            .filter(|&(c2, _)| -c2 >= pi / 4.0 && -c2 <= 4.0 * pi)
            .map(|(c2, c1)| -c1 / (2.0 * c2))
            .or_else(|| fixed(pi))
    } else if slices.len() >= 2 {
        fixed(pi)
    } else {
        let (s0, a0) = slices[0];
        let off = ((pi * radius_um * radius_um - a0).max(0.0) / pi).sqrt();
        Some(s0 + outward * off.max(0.5 * spacing_um + 1e-6))
    };
    let est = est.unwrap_or(centroid);
    let lo = centroid.min(edge + outward * radius_um);
    let hi = centroid.max(edge + outward * radius_um);
    if outward < 0.0 {
        est.clamp(lo, centroid)
    } else {
        est.clamp(centroid, hi)
    }
}

/// Least-squares parabola `A = c0 + c1 s + c2 s²` through the points; returns (c2, c1).
fn fit_parabola(pts: &[(f64, f64)]) -> Option<(f64, f64)> {
    let s0 = pts.iter().map(|p| p.0).sum::<f64>() / pts.len() as f64;
    let mut m = nalgebra::Matrix3::<f64>::zeros();
    let mut r = nalgebra::Vector3::<f64>::zeros();
    for &(s, a) in pts {
        let u = s - s0;
        let b = nalgebra::Vector3::new(1.0, u, u * u);
        m += b * b.transpose();
        r += b * a;
    }
    let c = m.try_inverse()? * r;
    // Back to absolute positions: c1' = c1 − 2 c2 s0.
    Some((c[2], c[1] - 2.0 * c[2] * s0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_centres_follow_the_binning() {
        let g = Grid::new(Dims { nz: 3, ny: 5, nx: 5 }, [0.5, 0.5, 2.0], 2);
        assert_eq!(g.work, Dims { nz: 3, ny: 3, nx: 3 });
        assert_eq!(g.centre_um(0, 0.0), 0.25);
        assert_eq!(g.centre_um(0, 1.0), 1.25);
        assert_eq!(g.centre_um(0, 2.0), 2.0); // a partial bin holds input voxel 4 only
        assert_eq!(g.centre_um(2, 1.0), 2.0);
    }

    #[test]
    fn sphere_measures() {
        let d = Dims { nz: 21, ny: 21, nx: 21 };
        let g = Grid::new(d, [1.0; 3], 1);
        let mut labels = vec![0u32; d.len()];
        for z in 0..21 {
            for y in 0..21 {
                for x in 0..21 {
                    let r2 = (x as f64 - 12.0).powi(2)
                        + (y as f64 - 10.0).powi(2)
                        + (z as f64 - 9.0).powi(2);
                    if r2 <= 36.0 {
                        labels[(z * 21 + y) * 21 + x] = 1;
                    }
                }
            }
        }
        let sig = vec![1.0f32; d.len()];
        let f = &measure(&labels, 1, &sig, &g)[0];
        assert_eq!(f.centroid_um, [12.0, 10.0, 9.0]);
        let v = 4.0 / 3.0 * std::f64::consts::PI * 216.0;
        assert!((f.volume_um3 - v).abs() < 0.05 * v);
        assert!(f.elongation < 1.05 && f.sphericity > 0.99, "{f:?}");
        assert!((f.semi_axes_um[0] - 6.0).abs() < 0.4);
        assert!(!f.touches_border_xy && !f.touches_border_z);
    }

    #[test]
    fn truncated_sphere_centre_is_recovered() {
        // A sphere of radius 5 centred at z = −2: slices at 0, 1, 2 (µm).
        let r: f64 = 5.0;
        let sl: Vec<(f64, f64)> = (0..3)
            .map(|k| {
                let s = k as f64;
                (s, std::f64::consts::PI * (r * r - (s + 2.0).powi(2)))
            })
            .collect();
        let c = truncated_centre(&sl, 0.8, -1.0, 5.0, 1.0);
        assert!((c + 2.0).abs() < 1e-6, "{c}");
        // Many slices: the free fit.
        let sl: Vec<(f64, f64)> = (0..6)
            .map(|k| {
                let s = 0.5 * k as f64;
                (s, 0.7 * std::f64::consts::PI * (r * r - (s + 1.0).powi(2)))
            })
            .collect();
        assert!((truncated_centre(&sl, 1.0, -1.0, 5.0, 0.5) + 1.0).abs() < 1e-6);
        // One slice: the expected radius.
        let one = [(69.0, std::f64::consts::PI * 16.0)];
        assert!((truncated_centre(&one, 69.0, 1.0, 5.0, 3.0) - 72.0).abs() < 1e-9);
        // A full-size cross-section alone at the border: still beyond the border plane.
        let one = [(0.0, std::f64::consts::PI * 30.0)];
        assert!(truncated_centre(&one, 0.0, -1.0, 5.0, 3.0) < -1.5);
    }
}
