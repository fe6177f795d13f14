//! Blob detection: Laplacian of Gaussian (or difference of Gaussians) at the expected cell
//! size, local maxima with non-maximum suppression in µm, and sub-voxel refinement by a
//! quadratic fit — TrackMate's LoG detector, in 3D with anisotropic voxels.
//!
//! [`BlobDetector`] is the detector built on them; each blob's region is grown from its peak.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::filter::{dog_filter, log_filter, mirror, Dims};
use super::split::local_maxima;
use super::{split, threshold, Detector, DetectorInput, Objects};
use crate::error::Result;

/// The blob filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlobFilter {
    /// Laplacian of Gaussian (TrackMate's LoG detector).
    #[default]
    Log,
    /// Difference of Gaussians at 0.9σ and 1.1σ (TrackMate's DoG detector), rescaled to the
    /// LoG's units.
    Dog,
}

/// The blob scale σ (µm) for objects of `radius_um` in an image of `ndim` dimensions:
/// `radius / √ndim`, where a uniform ball's scale-normalised LoG response peaks (TrackMate's
/// choice).
pub fn sigma_for_radius(radius_um: f64, ndim: usize) -> f64 {
    radius_um / (ndim as f64).sqrt()
}

/// The sign-inverted, scale-normalised blob response `−σ²∇²G_σ ⊛ I` (or its DoG
/// approximation) of a (z, y, x) volume; a one-plane volume is filtered in 2D.
pub fn response(
    src: &[f32],
    dims: Dims,
    sigma_um: f64,
    voxel_um: [f64; 3],
    f: BlobFilter,
) -> Vec<f32> {
    match f {
        BlobFilter::Log => log_filter(src, dims, sigma_um, voxel_um),
        BlobFilter::Dog => dog_filter(src, dims, sigma_um, voxel_um),
    }
}

/// A detected blob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blob {
    /// The voxel of the local maximum (index into the volume).
    pub index: usize,
    /// Refined position in voxel coordinates (x, y, z).
    pub position: [f64; 3],
    /// The response at the maximum's voxel (TrackMate's quality).
    pub quality: f32,
}

/// Local maxima of a blob `response` above `min_quality`, thinned so that no two are closer
/// than `nms_radius_um` (0 keeps every 3×3×3 maximum, as TrackMate), each refined to sub-voxel
/// precision when `subpixel` is set. Strongest first.
pub fn find_blobs(
    resp: &[f32],
    dims: Dims,
    voxel_um: [f64; 3],
    min_quality: f32,
    nms_radius_um: f64,
    subpixel: bool,
) -> Vec<Blob> {
    let peaks = local_maxima(resp, None, dims, min_quality, nms_radius_um, voxel_um);
    peaks
        .into_iter()
        .filter(|&i| resp[i] > min_quality)
        .map(|i| {
            let (z, y, x) = (i / dims.plane(), (i / dims.nx) % dims.ny, i % dims.nx);
            let position = if subpixel {
                refine(resp, dims, [x, y, z])
            } else {
                [x as f64, y as f64, z as f64]
            };
            Blob { index: i, position, quality: resp[i] }
        })
        .collect()
}

/// Sub-voxel position of a maximum by a quadratic fit of its 3×3×3 neighbourhood (central
/// differences for the gradient and Hessian, offset = −H⁻¹g). When the offset exceeds half a
/// voxel along an axis the fit moves one voxel that way and starts again, at most 10 times
/// (as ImgLib2's `SubpixelLocalization` in TrackMate), never back to a voxel already tried;
/// the final offset is kept within ±1 voxel. Axes of size 1 are not refined.
pub fn refine(resp: &[f32], dims: Dims, start: [usize; 3]) -> [f64; 3] {
    let n = [dims.nx, dims.ny, dims.nz];
    let active: Vec<usize> = (0..3).filter(|&a| n[a] >= 3).collect();
    let at = |p: [isize; 3]| -> f64 {
        let (x, y, z) = (mirror(p[0], n[0]), mirror(p[1], n[1]), mirror(p[2], n[2]));
        resp[(z * n[1] + y) * n[0] + x] as f64
    };
    let mut base = [start[0] as isize, start[1] as isize, start[2] as isize];
    let mut offset = [0.0f64; 3];
    let mut visited: Vec<[isize; 3]> = Vec::new();
    for _ in 0..10 {
        let c = at(base);
        let m = active.len();
        let mut g = nalgebra::DVector::<f64>::zeros(m);
        let mut h = nalgebra::DMatrix::<f64>::zeros(m, m);
        let step = |a: usize, s: isize| {
            let mut p = base;
            p[a] += s;
            p
        };
        for (ia, &a) in active.iter().enumerate() {
            let (pl, mi) = (at(step(a, 1)), at(step(a, -1)));
            g[ia] = (pl - mi) / 2.0;
            h[(ia, ia)] = pl - 2.0 * c + mi;
            for (ib, &b) in active.iter().enumerate().skip(ia + 1) {
                let q = |sa: isize, sb: isize| {
                    let mut p = base;
                    p[a] += sa;
                    p[b] += sb;
                    at(p)
                };
                let v = (q(1, 1) - q(1, -1) - q(-1, 1) + q(-1, -1)) / 4.0;
                h[(ia, ib)] = v;
                h[(ib, ia)] = v;
            }
        }
        let Some(inv) = h.clone().try_inverse() else {
            offset = [0.0; 3];
            break;
        };
        let off = -(inv * g);
        offset = [0.0; 3];
        for (ia, &a) in active.iter().enumerate() {
            offset[a] = if off[ia].is_finite() { off[ia] } else { 0.0 };
        }
        let mut next = base;
        for &a in &active {
            if offset[a].abs() > 0.5 {
                let nb = base[a] + offset[a].signum() as isize;
                if nb >= 0 && nb < n[a] as isize {
                    next[a] = nb;
                }
            }
        }
        // Stop when stable, or when the fit would step back to a voxel already tried (a
        // maximum between two voxels): the current voxel's offset stands.
        if next == base || visited.contains(&next) {
            break;
        }
        visited.push(base);
        base = next;
    }
    std::array::from_fn(|a| base[a] as f64 + offset[a].clamp(-1.0, 1.0))
}

/// Blob detector: LoG or DoG at the expected radius, local maxima above a quality threshold,
/// non-maximum suppression in µm, sub-voxel quadratic refinement; each blob's region is grown
/// from its peak over the denoised image down to a fraction of the peak's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BlobDetector {
    /// LoG or DoG.
    pub filter: BlobFilter,
    /// Blob radius, µm (`None`: half the diameter); σ = radius/√n in n dimensions.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub radius_um: Option<f64>,
    /// Smallest quality kept (strictly above), in the filter's units: the scale-normalised
    /// response, about 0.9 × a ball's contrast. `None`: `quality_k` × the robust noise of the
    /// response. (TrackMate's LoG quality is 2/σ² × this response with σ in pixels: / 6.25 for
    /// its radius 5 px in 2D.)
    pub quality: Option<f64>,
    /// Multiple of the response's noise for the automatic quality threshold.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub quality_k: f64,
    /// Smallest distance between two blobs, µm (`None`: the radius; 0: every 3×3×3 maximum,
    /// as TrackMate).
    #[schemars(range(min = 0))]
    pub nms_radius_um: Option<f64>,
    /// Sub-voxel refinement by a quadratic fit.
    pub subpixel: bool,
    /// A blob's region: voxels reached from its peak whose denoised value is at least this
    /// fraction of the peak's.
    #[schemars(extend("exclusiveMinimum" = 0, "exclusiveMaximum" = 1))]
    pub region_fraction: f64,
}

impl Default for BlobDetector {
    fn default() -> Self {
        BlobDetector {
            filter: BlobFilter::Log,
            radius_um: None,
            quality: None,
            quality_k: 8.0,
            nms_radius_um: None,
            subpixel: true,
            region_fraction: 0.5,
        }
    }
}

impl Detector for BlobDetector {
    fn name(&self) -> &'static str {
        "blob"
    }

    fn validate(&self) -> Result<()> {
        crate::pipeline::settings::check(self, "segment.detector")
    }

    fn detect(&self, input: &DetectorInput<'_>) -> Result<Objects> {
        let dims = input.dims;
        let ndim = if dims.nz == 1 { 2 } else { 3 };
        let radius = self.radius_um.unwrap_or(input.cell_diameter_um / 2.0);
        let sigma = sigma_for_radius(radius, ndim);
        let resp = response(input.signal, dims, sigma, input.voxel_um, self.filter);
        let min_q = match self.quality {
            Some(q) => q as f32,
            None => {
                let (med, sd) = threshold::robust_stats(&resp);
                if sd > 0.0 {
                    med + self.quality_k as f32 * sd
                } else {
                    // A noiseless response: only what clearly stands out of it.
                    let max = resp.iter().fold(0.0f32, |a, &b| a.max(b));
                    if max <= 0.0 {
                        return Ok(Objects { labels: vec![0; dims.len()], ..Default::default() });
                    }
                    med.max(0.0) + 0.05 * max
                }
            }
        };
        let nms = self.nms_radius_um.unwrap_or(radius);
        let blobs = find_blobs(&resp, dims, input.voxel_um, min_q, nms, self.subpixel);
        let seeds: Vec<usize> = blobs.iter().map(|b| b.index).collect();
        // Regions: grown over the denoised image down to a fraction of each peak.
        let floor: Vec<f32> = seeds
            .iter()
            .map(|&i| {
                let p = input.smooth[i];
                if p > 0.0 {
                    (self.region_fraction as f32 * p).max(f32::MIN_POSITIVE)
                } else {
                    f32::INFINITY
                }
            })
            .collect();
        let labels = split::watershed(input.smooth, None, dims, &seeds, &floor);
        Ok(Objects {
            labels,
            count: blobs.len(),
            quality: blobs.iter().map(|b| b.quality as f64).collect(),
            position: blobs.iter().map(|b| Some(b.position)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_gaussian_spots_with_subvoxel_precision() {
        let d = Dims { nz: 1, ny: 40, nx: 60 };
        let truth = [[15.3, 20.6], [42.8, 11.2]];
        let mut img = vec![0.0f32; d.len()];
        for y in 0..40 {
            for x in 0..60 {
                let mut v = 0.0;
                for t in truth {
                    let r2 = (x as f64 - t[0]).powi(2) + (y as f64 - t[1]).powi(2);
                    v += 100.0 * (-r2 / (2.0 * 9.0)).exp();
                }
                img[y * 60 + x] = v as f32;
            }
        }
        let resp = response(&img, d, sigma_for_radius(5.0, 2), [1.0; 3], BlobFilter::Log);
        let blobs = find_blobs(&resp, d, [1.0; 3], 1.0, 0.0, true);
        assert_eq!(blobs.len(), 2, "{blobs:?}");
        for t in truth {
            let b = blobs
                .iter()
                .min_by(|a, b| {
                    let da = (a.position[0] - t[0]).hypot(a.position[1] - t[1]);
                    let db = (b.position[0] - t[0]).hypot(b.position[1] - t[1]);
                    da.total_cmp(&db)
                })
                .unwrap();
            let err = (b.position[0] - t[0]).hypot(b.position[1] - t[1]);
            assert!(err < 0.1, "{t:?} -> {:?}", b.position);
        }
    }

    #[test]
    fn nms_keeps_one_of_two_close_peaks() {
        let d = Dims { nz: 1, ny: 1, nx: 20 };
        let mut r = vec![0.0f32; 20];
        r[5] = 10.0;
        r[8] = 9.0;
        r[15] = 8.0;
        let all = find_blobs(&r, d, [1.0; 3], 1.0, 0.0, false);
        assert_eq!(all.len(), 3);
        let thinned = find_blobs(&r, d, [1.0; 3], 1.0, 4.0, false);
        assert_eq!(thinned.iter().map(|b| b.index).collect::<Vec<_>>(), vec![5, 15]);
    }
}
