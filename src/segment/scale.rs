//! The cell size from the data, and the geometry of the stack.
//!
//! [`estimate_diameter`] finds the typical cell diameter from the foreground of a few
//! timepoints (lightly denoised, not background-subtracted — a smooth background large enough to
//! matter is also one a cell-sized Gaussian would eat into — thresholded from the background noise
//! as the hybrid detector does): the largest balls inscribed in it — maxima of its distance
//! transform, largest first, each kept unless it lies inside one already kept — are one per
//! cell whatever the cell's texture (nucleoli, granules do not break the foreground, while
//! they make the LoG's scale-space maxima pick the texture's size) and touching cells keep
//! one ball each. The estimate is twice the median radius, weighted by each ball's volume (so
//! debris specks, fibres and noise do not count as much as cells). Cells cut by the stack's top and
//! bottom planes are not eroded by them (outside the volume counts as foreground), so thin
//! stacks give their cells' width.
//!
//! [`is_thin`] decides when a stack is too shallow for its cells to be filtered in 3D (cells
//! deeper than the stack, cut by its top and bottom planes): such stacks are detected on their
//! mean projection along z and each object is then measured through every plane.

use super::features::Grid;
use super::filter::{gaussian, Dims};
use super::hybrid::foreground_threshold;
use super::split::{distance_transform_sq, local_maxima};
use super::threshold::quantile;
use super::working_image;
use crate::io::VolumeView;

/// The estimate's working grid: x and y binned to about this size, µm.
const WORK_VOXEL_UM: f64 = 1.0;
/// The estimate's denoising σ, µm.
const SMOOTH_SIGMA_UM: f64 = 1.0;
/// The estimate's foreground: this many background noise deviations above the background.
const MASK_K: f64 = 4.0;
/// ... and at least this fraction of the way up to the foreground's median brightness.
const EDGE_FRACTION: f32 = 0.4;

/// True when a stack of `nz` planes `vz` µm apart is too shallow for cells of `diameter_um`:
/// its depth is less than 1.5 diameters (one plane is 2D, not thin).
pub fn is_thin(nz: usize, vz: f64, diameter_um: f64) -> bool {
    nz > 1 && (nz as f64) * vz < 1.5 * diameter_um
}

/// The mean over z of a (z, y, x) image: one plane.
pub fn project_z(img: &[f32], dims: Dims) -> Vec<f32> {
    let plane = dims.plane();
    let mut out = vec![0.0f32; plane];
    for z in 0..dims.nz {
        for (o, &v) in out.iter_mut().zip(&img[z * plane..(z + 1) * plane]) {
            *o += v;
        }
    }
    let n = dims.nz.max(1) as f32;
    out.iter_mut().for_each(|v| *v /= n);
    out
}

/// The typical diameter (µm) of the bright objects in `frames` (one view per sampled
/// timepoint, all of the same shape, voxel size `voxel_um`), `None` when nothing stands out
/// (empty or constant frames). See the module's documentation.
pub fn estimate_diameter(frames: &[VolumeView<'_>], voxel_um: [f64; 3]) -> Option<f64> {
    let first = frames.first()?;
    let (nz, ny, nx) = first.dim();
    let din = Dims { nz, ny, nx };
    if din.is_empty() {
        return None;
    }
    let mut balls: Vec<(f64, f64)> = Vec::new();
    let ndim = if nz == 1 { 2 } else { 3 };
    for view in frames {
        balls.extend(inscribed_balls(view, din, voxel_um).into_iter().map(|r| (r, r.powi(ndim))));
    }
    if balls.is_empty() {
        return None;
    }
    // The volume-weighted median radius: debris, fibres and noise barely move it.
    balls.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = balls.iter().map(|b| b.1).sum();
    let mut acc = 0.0;
    for (r, w) in &balls {
        acc += w;
        if acc >= 0.5 * total {
            return Some(2.0 * r);
        }
    }
    balls.last().map(|b| 2.0 * b.0)
}

/// The radii (µm) of the largest balls inscribed in the foreground of one frame, greedily:
/// maxima of the distance transform, largest first, each kept unless it lies inside a ball
/// already kept.
fn inscribed_balls(view: &VolumeView<'_>, din: Dims, voxel_um: [f64; 3]) -> Vec<f64> {
    let vxy = voxel_um[0].max(voxel_um[1]);
    let bin = ((WORK_VOXEL_UM / vxy).floor() as usize).clamp(1, 4);
    let grid = Grid::new(din, voxel_um, bin);
    let wv = grid.work_voxel_um();
    let dims = grid.work;
    let img = working_image(view, None, &grid);
    let (lo, hi) =
        img.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if hi.is_nan() || hi <= lo {
        return Vec::new();
    }
    let s = SMOOTH_SIGMA_UM;
    let smooth = gaussian(&img, dims, [s, s, if dims.nz == 1 { 0.0 } else { s }], wv);
    let Some((level, t)) = foreground_threshold(&smooth, MASK_K) else { return Vec::new() };
    // The cells' edges: part of the way up to the typical foreground brightness, where a
    // blurred edge is (a threshold just above the noise would widen every cell by its blur).
    let fg: Vec<f32> = smooth.iter().copied().filter(|&v| v > t).collect();
    let Some(typical) = quantile(&fg, 0.5) else { return Vec::new() };
    let t = t.max(level + EDGE_FRACTION * (typical - level));
    let mask: Vec<bool> = smooth.iter().map(|&v| v > t).collect();
    let dt: Vec<f32> = distance_transform_sq(&mask, dims, wv).into_iter().map(f32::sqrt).collect();
    let min_r = (1.5 * wv[0].max(wv[1])) as f32;
    let mut peaks = local_maxima(&dt, Some(&mask), dims, min_r, 0.0, wv);
    peaks.truncate(20_000);
    let pos = |i: usize| -> [f64; 3] {
        let (z, y, x) = (i / dims.plane(), (i / dims.nx) % dims.ny, i % dims.nx);
        [x as f64 * wv[0], y as f64 * wv[1], z as f64 * wv[2]]
    };
    let mut kept: Vec<([f64; 3], f64)> = Vec::new();
    for i in peaks {
        let (p, r) = (pos(i), dt[i] as f64);
        let inside = kept.iter().any(|(q, rq)| {
            let d2: f64 = (0..3).map(|a| (p[a] - q[a]).powi(2)).sum();
            d2 < rq * rq
        });
        if !inside {
            kept.push((p, r));
        }
    }
    if std::env::var("LT_DEBUG").is_ok() {
        eprintln!(
            "t {t} mask {} kept {:?}",
            mask.iter().filter(|&&m| m).count(),
            kept.iter().map(|k| k.1).collect::<Vec<_>>()
        );
    }
    kept.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn discs(nz: usize, radius: f64, vz: f64) -> Array3<u16> {
        let mut a = Array3::<u16>::from_elem((nz, 120, 160), 100);
        let centres = [[30.0, 30.0], [90.0, 40.0], [60.0, 90.0], [130.0, 85.0]];
        for ((z, y, x), v) in a.indexed_iter_mut() {
            for c in centres {
                let dz = if nz > 6 { (z as f64 - nz as f64 / 2.0) * vz } else { 0.0 };
                let r = ((x as f64 - c[0]).powi(2) + (y as f64 - c[1]).powi(2) + dz * dz).sqrt();
                if r < radius {
                    *v = 1000 + ((x * 7 + y * 13) % 11) as u16 * 20;
                }
            }
        }
        a
    }

    #[test]
    fn finds_the_diameter_in_2d_3d_and_thin_stacks() {
        for (nz, r, vz) in [(1, 8.0, 1.0), (1, 14.0, 1.0), (30, 6.0, 1.0), (4, 10.0, 1.0)] {
            let a = discs(nz, r, vz);
            let v = crate::io::VolumeView::U16(a.view());
            let d = estimate_diameter(&[v], [1.0, 1.0, vz]).unwrap();
            assert!((d / (2.0 * r) - 1.0).abs() < 0.2, "nz {nz} radius {r}: {d}");
        }
    }

    #[test]
    fn a_constant_frame_has_no_size() {
        let a = Array3::<u16>::from_elem((1, 50, 50), 7);
        assert_eq!(estimate_diameter(&[crate::io::VolumeView::U16(a.view())], [1.0; 3]), None);
    }
}
