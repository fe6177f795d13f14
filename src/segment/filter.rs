//! Separable filters in f32 with per-axis sizes in µm: Gaussian, Laplacian of Gaussian,
//! difference of Gaussians, and smooth-background estimation.
//!
//! Volumes are (z, y, x) in standard (C) layout, x contiguous. A 3D separable filter is computed
//! plane by plane: for each output plane the z pass combines a few input planes in short
//! cache-sized segments, then the y and x passes run on that plane while it is in cache. Planes
//! are processed in parallel (rayon); each output value is computed by one fixed sequence of
//! operations, so results do not depend on the number of threads.
//!
//! Borders are mirrored without repeating the edge voxel (`… 2 1 | 0 1 2 …`, ImgLib2's
//! "mirror single", numpy's `mirror`), as TrackMate's detectors do. Volumes smaller than a
//! kernel's footprint are fine: the mirror index folds repeatedly.

use ndarray::Array3;
use rayon::prelude::*;

/// Sizes of a (z, y, x) volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Planes.
    pub nz: usize,
    /// Rows.
    pub ny: usize,
    /// Columns.
    pub nx: usize,
}

impl Dims {
    /// Dims of an array's (z, y, x) shape.
    pub fn of<T>(a: &Array3<T>) -> Self {
        let (nz, ny, nx) = a.dim();
        Dims { nz, ny, nx }
    }
    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.nz * self.ny * self.nx
    }
    /// True when some axis has size 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Voxels per plane.
    pub fn plane(&self) -> usize {
        self.ny * self.nx
    }
    /// As a (z, y, x) tuple.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.nz, self.ny, self.nx)
    }
    /// Size along axis `a` (0 = x, 1 = y, 2 = z).
    pub fn axis(&self, a: usize) -> usize {
        [self.nx, self.ny, self.nz][a]
    }
}

/// Index of `i` mirrored into `0..n` without repeating the edge (`… 2 1 | 0 1 2 …`).
#[inline]
pub(crate) fn mirror(i: isize, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let p = 2 * (n as isize - 1);
    let m = i.rem_euclid(p);
    if m >= n as isize {
        (p - m) as usize
    } else {
        m as usize
    }
}

/// A 1D kernel of odd length, centred.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    /// Taps, `2·radius + 1` of them.
    pub taps: Vec<f32>,
}

impl Kernel {
    /// The identity (one tap of 1).
    pub fn identity() -> Self {
        Kernel { taps: vec![1.0] }
    }
    /// Half-width in voxels.
    pub fn radius(&self) -> usize {
        self.taps.len() / 2
    }
    /// True for the identity kernel.
    pub fn is_identity(&self) -> bool {
        self.taps.len() == 1 && self.taps[0] == 1.0
    }
    fn scaled(mut self, s: f64) -> Self {
        for t in &mut self.taps {
            *t = (*t as f64 * s) as f32;
        }
        self
    }

    /// A sampled Gaussian of standard deviation `sigma` voxels, truncated at 3.5σ (0.05 % of
    /// its mass beyond) and normalised to sum 1. Below 0.05 voxels it is the identity.
    pub fn gaussian(sigma: f64) -> Self {
        if sigma.is_nan() || sigma <= 0.05 || !sigma.is_finite() {
            return Kernel::identity();
        }
        let r = (3.5 * sigma).ceil().max(1.0) as isize;
        let w: Vec<f64> =
            (-r..=r).map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp()).collect();
        let s: f64 = w.iter().sum();
        Kernel { taps: w.iter().map(|v| (v / s) as f32).collect() }
    }

    /// The second derivative of a Gaussian of `sigma` voxels, sampled (truncated at 3.5σ, at
    /// least 2 voxels), corrected to sum 0 and to give exactly 1 on x²/2 (so it measures the
    /// second derivative of a quadratic exactly). Below 0.05 voxels it is the discrete
    /// second difference `[1, −2, 1]`.
    pub fn gaussian_d2(sigma: f64) -> Self {
        if sigma.is_nan() || sigma <= 0.05 || !sigma.is_finite() {
            return Kernel { taps: vec![1.0, -2.0, 1.0] };
        }
        let r = (3.5 * sigma).ceil().max(2.0) as isize;
        let s2 = sigma * sigma;
        let g: Vec<f64> = (-r..=r).map(|i| (-(i * i) as f64 / (2.0 * s2)).exp()).collect();
        let gs: f64 = g.iter().sum();
        let g: Vec<f64> = g.iter().map(|v| v / gs).collect();
        let mut d: Vec<f64> =
            (-r..=r).zip(&g).map(|(i, gv)| gv * ((i * i) as f64 / (s2 * s2) - 1.0 / s2)).collect();
        let sum: f64 = d.iter().sum();
        for (dv, gv) in d.iter_mut().zip(&g) {
            *dv -= sum * gv;
        }
        let m2: f64 = (-r..=r).zip(&d).map(|(i, dv)| (i * i) as f64 * dv / 2.0).sum();
        Kernel { taps: d.iter().map(|v| (v / m2) as f32).collect() }
    }
}

/// Converts a size in µm into voxels along each axis (x, y, z).
pub fn um_to_voxels(size_um: [f64; 3], voxel_um: [f64; 3]) -> [f64; 3] {
    [size_um[0] / voxel_um[0], size_um[1] / voxel_um[1], size_um[2] / voxel_um[2]]
}

/// `out += k · src`, element-wise (the inner loop of every convolution here).
#[inline(always)]
fn axpy_generic(out: &mut [f32], src: &[f32], k: f32) {
    for (o, s) in out.iter_mut().zip(src) {
        *o += k * s;
    }
}

/// [`axpy_generic`] compiled for AVX2 (8 floats per instruction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn axpy_avx2(out: &mut [f32], src: &[f32], k: f32) {
    axpy_generic(out, src, k)
}

/// `out += k · src` with runtime CPU-feature dispatch: AVX2 where the CPU has it, else the
/// portable (SSE2) loop. The same operations per element either way, so results are
/// identical: vectorisation runs across voxels, never reorders one voxel's sum.
#[inline(always)]
fn axpy(out: &mut [f32], src: &[f32], k: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { axpy_avx2(out, src, k) };
            return;
        }
    }
    axpy_generic(out, src, k)
}

/// `out[i] += k · src[i + t]` over taps t: a 1D convolution of a mirrored-padded row.
#[inline(always)]
fn conv_row(pad: &[f32], k: &[f32], out: &mut [f32]) {
    let n = out.len();
    for (t, &kt) in k.iter().enumerate() {
        axpy(out, &pad[t..t + n], kt);
    }
}

/// Fills `pad` with `row` padded by `r` mirrored voxels on each side.
#[inline(always)]
fn pad_row(row: &[f32], r: usize, pad: &mut Vec<f32>) {
    let n = row.len();
    pad.clear();
    for i in -(r as isize)..0 {
        pad.push(row[mirror(i, n)]);
    }
    pad.extend_from_slice(row);
    for i in n..n + r {
        pad.push(row[mirror(i as isize, n)]);
    }
}

/// Convolves a plane (ny × nx) along x: `dst = k ⊛ src` (`dst` overwritten).
#[inline(always)]
fn plane_x(src: &[f32], dst: &mut [f32], nx: usize, k: &Kernel, pad: &mut Vec<f32>) {
    if k.is_identity() {
        dst.copy_from_slice(src);
        return;
    }
    for (srow, drow) in src.chunks_exact(nx).zip(dst.chunks_exact_mut(nx)) {
        pad_row(srow, k.radius(), pad);
        drow.fill(0.0);
        conv_row(pad, &k.taps, drow);
    }
}

/// Adds the x-convolution of a plane to `dst`: `dst += k ⊛ src`.
#[inline(always)]
fn plane_x_add(src: &[f32], dst: &mut [f32], nx: usize, k: &Kernel, pad: &mut Vec<f32>) {
    for (srow, drow) in src.chunks_exact(nx).zip(dst.chunks_exact_mut(nx)) {
        pad_row(srow, k.radius(), pad);
        conv_row(pad, &k.taps, drow);
    }
}

/// Convolves a plane (ny × nx) along y: `dst = k ⊛ src`.
#[inline(always)]
fn plane_y(src: &[f32], dst: &mut [f32], ny: usize, nx: usize, k: &Kernel) {
    if k.is_identity() {
        dst.copy_from_slice(src);
        return;
    }
    let r = k.radius() as isize;
    for (j, drow) in dst.chunks_exact_mut(nx).enumerate() {
        drow.fill(0.0);
        for (t, &kt) in k.taps.iter().enumerate() {
            let jj = mirror(j as isize + t as isize - r, ny);
            axpy(drow, &src[jj * nx..(jj + 1) * nx], kt);
        }
    }
}

/// Computes output plane `k` of the z-convolution of `src` into `dst` (one plane).
#[inline(always)]
fn plane_z(src: &[f32], dims: Dims, k: usize, kern: &Kernel, dst: &mut [f32]) {
    let plane = dims.plane();
    if kern.is_identity() {
        dst.copy_from_slice(&src[k * plane..(k + 1) * plane]);
        return;
    }
    let r = kern.radius() as isize;
    let planes: Vec<usize> =
        (0..kern.taps.len()).map(|t| mirror(k as isize + t as isize - r, dims.nz)).collect();
    const SEG: usize = 2048;
    let mut off = 0;
    for seg in dst.chunks_mut(SEG) {
        seg.fill(0.0);
        let n = seg.len();
        for (&kt, &p) in kern.taps.iter().zip(&planes) {
            axpy(seg, &src[p * plane + off..p * plane + off + n], kt);
        }
        off += n;
    }
}

/// A separable 3D convolution `kz ⊗ ky ⊗ kx` of a (z, y, x) volume, fused per plane.
pub fn separable(src: &[f32], dims: Dims, kz: &Kernel, ky: &Kernel, kx: &Kernel) -> Vec<f32> {
    let mut out = vec![0.0f32; dims.len()];
    if dims.is_empty() {
        return out;
    }
    let plane = dims.plane();
    out.par_chunks_mut(plane).enumerate().for_each_init(
        || (vec![0.0f32; plane], vec![0.0f32; plane], Vec::new()),
        |(a, b, pad), (k, dst)| {
            plane_z(src, dims, k, kz, a);
            plane_y(a, b, dims.ny, dims.nx, ky);
            plane_x(b, dst, dims.nx, kx, pad);
        },
    );
    out
}

/// Gaussian smoothing with standard deviations `sigma_um` (x, y, z, µm) on voxels of
/// `voxel_um` (x, y, z, µm).
pub fn gaussian(src: &[f32], dims: Dims, sigma_um: [f64; 3], voxel_um: [f64; 3]) -> Vec<f32> {
    let s = um_to_voxels(sigma_um, voxel_um);
    separable(src, dims, &Kernel::gaussian(s[2]), &Kernel::gaussian(s[1]), &Kernel::gaussian(s[0]))
}

/// The scale-normalised, sign-inverted Laplacian of Gaussian `−σ²∇²(G_σ ⊛ I)` with `σ` in µm
/// (the same on every axis, converted per axis). Bright blobs give positive responses; a
/// uniform ball of contrast C and radius √n·σ (n dimensions) gives about 0.9·C at its centre.
/// A volume with one plane is treated as 2D (no z term).
pub fn log_filter(src: &[f32], dims: Dims, sigma_um: f64, voxel_um: [f64; 3]) -> Vec<f32> {
    let mut out = vec![0.0f32; dims.len()];
    if dims.is_empty() {
        return out;
    }
    let s = um_to_voxels([sigma_um; 3], voxel_um);
    let two_d = dims.nz == 1;
    let norm = -(sigma_um * sigma_um);
    let gx = Kernel::gaussian(s[0]);
    let gy = Kernel::gaussian(s[1]);
    let dx = Kernel::gaussian_d2(s[0]).scaled(norm / (voxel_um[0] * voxel_um[0]));
    let dy = Kernel::gaussian_d2(s[1]).scaled(norm / (voxel_um[1] * voxel_um[1]));
    let (gz, dz) = if two_d {
        (Kernel::identity(), None)
    } else {
        (
            Kernel::gaussian(s[2]),
            Some(Kernel::gaussian_d2(s[2]).scaled(norm / (voxel_um[2] * voxel_um[2]))),
        )
    };
    let plane = dims.plane();
    let (ny, nx) = (dims.ny, dims.nx);
    out.par_chunks_mut(plane).enumerate().for_each_init(
        || {
            (
                vec![0.0f32; plane],
                vec![0.0f32; plane],
                vec![0.0f32; plane],
                vec![0.0f32; plane],
                Vec::new(),
            )
        },
        |(a, b, c, d, pad), (k, dst)| {
            // a = Gz I; c = Gy a (for the x term); d = D2y a (+ Gy D2z I).
            plane_z(src, dims, k, &gz, a);
            plane_y(a, c, ny, nx, &gy);
            plane_y(a, d, ny, nx, &dy);
            if let Some(dz) = &dz {
                plane_z(src, dims, k, dz, b);
                plane_y(b, a, ny, nx, &gy);
                axpy(d, a, 1.0);
            }
            plane_x(c, dst, nx, &dx, pad);
            plane_x_add(d, dst, nx, &gx, pad);
        },
    );
    out
}

/// The difference of Gaussians approximating [`log_filter`]: `(G_{0.9σ} − G_{1.1σ}) ⊛ I`
/// scaled by `σ / (σ₂ − σ₁)` so its values are comparable with the LoG's.
pub fn dog_filter(src: &[f32], dims: Dims, sigma_um: f64, voxel_um: [f64; 3]) -> Vec<f32> {
    let (s1, s2) = (0.9 * sigma_um, 1.1 * sigma_um);
    let two_d = dims.nz == 1;
    let sig = |s: f64| if two_d { [s, s, 0.0] } else { [s, s, s] };
    let a = gaussian(src, dims, sig(s1), voxel_um);
    let b = gaussian(src, dims, sig(s2), voxel_um);
    let scale = (sigma_um / (s2 - s1)) as f32;
    a.iter().zip(&b).map(|(x, y)| (x - y) * scale).collect()
}

/// Block reduction of a volume: each output voxel summarises a block of `block` (x, y, z)
/// voxels; blocks at the far edges may be partial.
fn block_reduce(
    src: &[f32],
    dims: Dims,
    block: [usize; 3],
    f: impl Fn(&mut [f32]) -> f32 + Sync,
) -> (Vec<f32>, Dims) {
    let small = Dims {
        nx: dims.nx.div_ceil(block[0]),
        ny: dims.ny.div_ceil(block[1]),
        nz: dims.nz.div_ceil(block[2]),
    };
    let mut out = vec![0.0f32; small.len()];
    out.par_chunks_mut(small.plane()).enumerate().for_each_init(Vec::new, |buf, (bz, plane)| {
        for by in 0..small.ny {
            for bx in 0..small.nx {
                buf.clear();
                for z in bz * block[2]..((bz + 1) * block[2]).min(dims.nz) {
                    for y in by * block[1]..((by + 1) * block[1]).min(dims.ny) {
                        let row = (z * dims.ny + y) * dims.nx;
                        let x0 = bx * block[0];
                        let x1 = ((bx + 1) * block[0]).min(dims.nx);
                        // Every other voxel along x: plenty for a median, half the work.
                        buf.extend(src[row + x0..row + x1].iter().step_by(2));
                    }
                }
                plane[by * small.nx + bx] = f(buf);
            }
        }
    });
    (out, small)
}

fn median(buf: &mut [f32]) -> f32 {
    if buf.is_empty() {
        return 0.0;
    }
    let m = buf.len() / 2;
    *buf.select_nth_unstable_by(m, f32::total_cmp).1
}

/// Centre (in fine voxels) of each block along an axis of `n` voxels cut in blocks of `b`.
fn block_centres(n: usize, b: usize) -> Vec<f64> {
    (0..n.div_ceil(b))
        .map(|i| {
            let lo = i * b;
            let hi = ((i + 1) * b).min(n);
            (lo + hi - 1) as f64 / 2.0
        })
        .collect()
}

/// Linear interpolation weights at fine positions 0..n from block centres: (i0, i1, w1).
fn interp_table(n: usize, centres: &[f64]) -> Vec<(usize, usize, f32)> {
    (0..n)
        .map(|i| {
            let p = i as f64;
            if centres.len() == 1 || p <= centres[0] {
                return (0, 0, 0.0);
            }
            let last = centres.len() - 1;
            if p >= centres[last] {
                return (last, last, 0.0);
            }
            let j = centres.partition_point(|&c| c <= p) - 1;
            let w = (p - centres[j]) / (centres[j + 1] - centres[j]);
            (j, j + 1, w as f32)
        })
        .collect()
}

/// Subtracts, in place, a coarse background given on a block grid, trilinearly interpolated
/// between block centres (constant beyond the outer centres).
fn subtract_upsampled(img: &mut [f32], dims: Dims, small: &[f32], sd: Dims, block: [usize; 3]) {
    let tx = interp_table(dims.nx, &block_centres(dims.nx, block[0]));
    let ty = interp_table(dims.ny, &block_centres(dims.ny, block[1]));
    let tz = interp_table(dims.nz, &block_centres(dims.nz, block[2]));
    img.par_chunks_mut(dims.plane()).enumerate().for_each_init(
        || (vec![0.0f32; sd.plane()], vec![0.0f32; sd.nx], vec![0.0f32; dims.nx]),
        |(zp, yr, xr), (z, plane)| {
            let (z0, z1, wz) = tz[z];
            for i in 0..sd.plane() {
                zp[i] = small[z0 * sd.plane() + i] * (1.0 - wz) + small[z1 * sd.plane() + i] * wz;
            }
            for (y, row) in plane.chunks_exact_mut(dims.nx).enumerate() {
                let (y0, y1, wy) = ty[y];
                for i in 0..sd.nx {
                    yr[i] = zp[y0 * sd.nx + i] * (1.0 - wy) + zp[y1 * sd.nx + i] * wy;
                }
                for (x, (x0, x1, wx)) in tx.iter().enumerate() {
                    xr[x] = yr[*x0] * (1.0 - wx) + yr[*x1] * wx;
                }
                for (v, b) in row.iter_mut().zip(xr.iter()) {
                    *v -= b;
                }
            }
        },
    );
}

/// Block size (x, y, z voxels) for a coarse grid of cells about `cell_um` µm.
fn block_for(cell_um: f64, voxel_um: [f64; 3]) -> [usize; 3] {
    std::array::from_fn(|a| ((cell_um / voxel_um[a]).round() as usize).max(1))
}

/// Subtracts a smooth background in place: the volume is reduced to block medians (blocks of
/// about σ/2 µm, every other voxel along x — robust to cells, which fill few voxels of a block), smoothed there by a
/// Gaussian of `sigma_um` (µm), and interpolated back. Far faster than a full-resolution
/// Gaussian of the same size.
pub fn subtract_gaussian_background(
    img: &mut [f32],
    dims: Dims,
    voxel_um: [f64; 3],
    sigma_um: f64,
) {
    if dims.is_empty() {
        return;
    }
    let block = block_for(sigma_um / 2.0, voxel_um);
    let (small, sd) = block_reduce(img, dims, block, median);
    let bv: [f64; 3] = std::array::from_fn(|a| voxel_um[a] * block[a] as f64);
    let smooth = gaussian(&small, sd, [sigma_um; 3], bv);
    subtract_upsampled(img, dims, &smooth, sd, block);
}

/// Subtracts a top-hat background in place: a grey opening (minimum then maximum filter) with
/// a box of half-width `radius_um` µm, computed on block medians (blocks of about radius/2 µm),
/// then interpolated back — a fast stand-in for a rolling ball of that radius. Objects smaller
/// than the box keep their full height.
pub fn subtract_tophat_background(img: &mut [f32], dims: Dims, voxel_um: [f64; 3], radius_um: f64) {
    if dims.is_empty() {
        return;
    }
    let block = block_for(radius_um / 2.0, voxel_um);
    let (small, sd) = block_reduce(img, dims, block, median);
    let r: [usize; 3] =
        std::array::from_fn(|a| (radius_um / (voxel_um[a] * block[a] as f64)).round() as usize);
    let eroded = box_extremum(&small, sd, r, false);
    let opened = box_extremum(&eroded, sd, r, true);
    subtract_upsampled(img, dims, &opened, sd, block);
}

/// Separable box minimum (`max = false`) or maximum of half-width `r` (x, y, z), clamped at
/// the borders. For the small block grids of the background only.
fn box_extremum(src: &[f32], d: Dims, r: [usize; 3], max: bool) -> Vec<f32> {
    let pick = |a: f32, b: f32| if max { a.max(b) } else { a.min(b) };
    let mut cur = src.to_vec();
    for axis in 0..3 {
        let (n, stride) = match axis {
            0 => (d.nx, 1),
            1 => (d.ny, d.nx),
            _ => (d.nz, d.plane()),
        };
        if r[axis] == 0 || n <= 1 {
            continue;
        }
        let prev = cur.clone();
        for base in 0..d.len() {
            let i = (base / stride) % n;
            let lo = i.saturating_sub(r[axis]);
            let hi = (i + r[axis]).min(n - 1);
            let start = base - i * stride;
            let mut v = prev[start + lo * stride];
            for j in lo + 1..=hi {
                v = pick(v, prev[start + j * stride]);
            }
            cur[base] = v;
        }
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_folds_without_repeating_the_edge() {
        let v: Vec<usize> = (-3..7).map(|i| mirror(i, 4)).collect();
        assert_eq!(v, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        assert_eq!(mirror(-5, 1), 0);
        assert_eq!(mirror(9, 2), 1);
    }

    #[test]
    fn kernels_are_normalised() {
        let g = Kernel::gaussian(2.0);
        assert!((g.taps.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let d = Kernel::gaussian_d2(2.0);
        let r = d.radius() as f32;
        assert!(d.taps.iter().sum::<f32>().abs() < 1e-5);
        let m2: f32 =
            d.taps.iter().enumerate().map(|(i, t)| (i as f32 - r).powi(2) * t / 2.0).sum();
        assert!((m2 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn gaussian_preserves_constants_and_mass() {
        let dims = Dims { nz: 5, ny: 9, nx: 11 };
        let src = vec![3.0f32; dims.len()];
        let out = gaussian(&src, dims, [2.0, 2.0, 6.0], [0.5, 0.5, 2.0]);
        assert!(out.iter().all(|v| (v - 3.0).abs() < 1e-4));
        // A point far from the borders: the sum is kept and the peak stays in place.
        let dims = Dims { nz: 9, ny: 31, nx: 31 };
        let mut p = vec![0.0f32; dims.len()];
        let centre = (4 * 31 + 15) * 31 + 15;
        p[centre] = 1.0;
        let out = gaussian(&p, dims, [1.0, 1.0, 2.0], [0.5, 0.5, 2.0]);
        let s: f32 = out.iter().sum();
        assert!((s - 1.0).abs() < 1e-3, "{s}");
        let argmax = out.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(argmax, centre);
    }

    #[test]
    fn log_of_a_ball_is_about_its_contrast() {
        // A ball of radius √3·σ: scale-normalised LoG ≈ 0.92 × contrast at its centre.
        let dims = Dims { nz: 41, ny: 41, nx: 41 };
        let v = [0.5, 0.5, 0.5];
        let sigma = 3.0;
        let r = 3f64.sqrt() * sigma;
        let mut src = vec![0.0f32; dims.len()];
        for z in 0..41 {
            for y in 0..41 {
                for x in 0..41 {
                    let d2 = [x, y, z].iter().map(|&i| ((i as f64 - 20.0) * 0.5).powi(2)).sum();
                    if f64::sqrt(d2) <= r {
                        src[(z * 41 + y) * 41 + x] = 10.0;
                    }
                }
            }
        }
        let out = log_filter(&src, dims, sigma, v);
        let c = out[(20 * 41 + 20) * 41 + 20];
        assert!((c - 9.2).abs() < 0.6, "{c}");
        let dog = dog_filter(&src, dims, sigma, v);
        let c2 = dog[(20 * 41 + 20) * 41 + 20];
        assert!((c2 - c).abs() < 0.1 * c, "{c2} vs {c}");
    }

    #[test]
    fn background_removal_flattens_a_ramp_and_keeps_a_blob() {
        let dims = Dims { nz: 8, ny: 64, nx: 64 };
        let v = [1.0, 1.0, 3.0];
        let mut img = vec![0.0f32; dims.len()];
        for z in 0..8 {
            for y in 0..64 {
                for x in 0..64 {
                    let mut val = 100.0 + x as f32 * 0.5 + y as f32 * 0.25;
                    if (x as i32 - 32).pow(2) + (y as i32 - 32).pow(2) < 16 && (3..5).contains(&z) {
                        val += 50.0;
                    }
                    img[(z * 64 + y) * 64 + x] = val;
                }
            }
        }
        let mut g = img.clone();
        subtract_gaussian_background(&mut g, dims, v, 20.0);
        let far = g[(64 + 10) * 64 + 50];
        assert!(far.abs() < 3.0, "{far}");
        let blob = g[(3 * 64 + 32) * 64 + 32];
        assert!(blob > 40.0, "{blob}");
        let mut t = img;
        subtract_tophat_background(&mut t, dims, v, 10.0);
        assert!(t[(64 + 10) * 64 + 50].abs() < 6.0);
        assert!(t[(3 * 64 + 32) * 64 + 32] > 40.0);
    }
}
