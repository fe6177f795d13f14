//! The exact Euclidean distance transform of a (z, y, x) mask with anisotropic voxels, in
//! linear time: Felzenszwalb & Huttenlocher's lower envelope of parabolas ("Distance
//! transforms of sampled functions", Theory of Computing 8, 2012) along x, then y, then z —
//! separable and exact for the squared Euclidean distance, each pass parallel over lines.

use rayon::prelude::*;

use crate::segment::filter::Dims;

/// The squared distance transform of one line: `out[i] = min_q ((i − q)·s)² + f[q]`, over the
/// sites q with finite `f[q]` (`f32::INFINITY` where there is none).
fn line(f: &[f32], s: f64, out: &mut [f32], v: &mut Vec<usize>, z: &mut Vec<f64>) {
    let n = f.len();
    v.clear();
    z.clear();
    for q in 0..n {
        if !f[q].is_finite() {
            continue;
        }
        let fq = f[q] as f64 + (q as f64 * s).powi(2);
        while let Some(&r) = v.last() {
            let fr = f[r] as f64 + (r as f64 * s).powi(2);
            // Where the parabola of q starts to lie below that of r.
            let x = (fq - fr) / (2.0 * s * (q - r) as f64);
            if x <= *z.last().unwrap_or(&f64::NEG_INFINITY) {
                v.pop();
                z.pop();
            } else {
                v.push(q);
                z.push(x);
                break;
            }
        }
        if v.is_empty() {
            v.push(q);
            z.push(f64::NEG_INFINITY);
        }
    }
    if v.is_empty() {
        out.fill(f32::INFINITY);
        return;
    }
    let mut k = 0;
    for (i, o) in out.iter_mut().enumerate() {
        let x = i as f64 * s;
        while k + 1 < v.len() && z[k + 1] < x {
            k += 1;
        }
        let d = x - v[k] as f64 * s;
        *o = (d * d + f[v[k]] as f64) as f32;
    }
}

/// Squared distance (µm²) from every voxel to the nearest voxel where `feature` is true,
/// voxels of `spacing` = [x, y, z] µm; `f32::INFINITY` everywhere when there is none.
pub fn squared_distance(feature: &[bool], dims: Dims, spacing: [f64; 3]) -> Vec<f32> {
    let Dims { nz, ny, nx } = dims;
    let mut d: Vec<f32> = feature.iter().map(|&b| if b { 0.0 } else { f32::INFINITY }).collect();
    if d.is_empty() {
        return d;
    }
    // x: rows are contiguous.
    d.par_chunks_mut(nx).for_each_init(
        || (Vec::new(), Vec::new(), vec![0.0f32; nx]),
        |(v, z, out), row| {
            line(row, spacing[0], out, v, z);
            row.copy_from_slice(out);
        },
    );
    // y: within each plane.
    d.par_chunks_mut(ny * nx).for_each_init(
        || (Vec::new(), Vec::new(), vec![0.0f32; ny], vec![0.0f32; ny]),
        |(v, z, col, out), plane| {
            for x in 0..nx {
                for y in 0..ny {
                    col[y] = plane[y * nx + x];
                }
                line(col, spacing[1], out, v, z);
                for y in 0..ny {
                    plane[y * nx + x] = out[y];
                }
            }
        },
    );
    if nz == 1 {
        return d;
    }
    // z: through a (y, x, z) copy, each y row of it computed in parallel.
    let mut t = vec![0.0f32; d.len()];
    t.par_chunks_mut(nx * nz).enumerate().for_each_init(
        || (Vec::new(), Vec::new(), vec![0.0f32; nz], vec![0.0f32; nz]),
        |(v, zz, col, out), (y, rows)| {
            for x in 0..nx {
                for k in 0..nz {
                    col[k] = d[(k * ny + y) * nx + x];
                }
                line(col, spacing[2], out, v, zz);
                rows[x * nz..(x + 1) * nz].copy_from_slice(out);
            }
        },
    );
    d.par_chunks_mut(ny * nx).enumerate().for_each(|(k, plane)| {
        for y in 0..ny {
            for x in 0..nx {
                plane[y * nx + x] = t[(y * nx + x) * nz + k];
            }
        }
    });
    d
}

/// The signed distance (µm) from every voxel centre to the surface of `mask`: positive
/// outside, negative inside. The surface lies midway between a mask voxel and its outside
/// neighbour: each voxel's distance to the nearest voxel centre of the other kind is reduced
/// by half a voxel step along the direction to the surface (g, the unit gradient of that
/// distance), ½·|(gₓsₓ, g_y s_y, g_z s_z)| — exactly half the x step for a surface facing x,
/// half the z step for one facing z, in between for oblique surfaces (an approximation there,
/// within half a voxel). `None` when the mask is empty.
pub fn signed_distance(mask: &[bool], dims: Dims, spacing: [f64; 3]) -> Option<Vec<f32>> {
    if !mask.iter().any(|&b| b) {
        return None;
    }
    let outside = squared_distance(mask, dims, spacing);
    let not: Vec<bool> = mask.iter().map(|&b| !b).collect();
    let inside = squared_distance(&not, dims, spacing);
    let raw: Vec<f32> = mask
        .par_iter()
        .zip(outside.par_iter().zip(inside.par_iter()))
        .map(|(&m, (&o, &i))| if m { -i.sqrt() } else { o.sqrt() })
        .collect();
    let Dims { nz, ny, nx } = dims;
    let at = |x: usize, y: usize, z: usize| raw[(z * ny + y) * nx + x] as f64;
    // Central (one-sided at the edges) differences of the raw distance, µm/µm.
    let diff = |i: usize, n: usize, s: f64, f: &dyn Fn(usize) -> f64| -> f64 {
        if n < 2 {
            return 0.0;
        }
        let (a, b) = (i.saturating_sub(1), (i + 1).min(n - 1));
        let v = (f(b) - f(a)) / ((b - a) as f64 * s);
        if v.is_finite() {
            v
        } else {
            0.0
        }
    };
    Some(
        (0..raw.len())
            .into_par_iter()
            .map(|k| {
                let (x, y, z) = (k % nx, (k / nx) % ny, k / (nx * ny));
                let g = [
                    diff(x, nx, spacing[0], &|i| at(i, y, z)),
                    diff(y, ny, spacing[1], &|i| at(x, i, z)),
                    diff(z, nz, spacing[2], &|i| at(x, y, i)),
                ];
                let n = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
                let half = if n > 0.0 {
                    0.5 * ((g[0] * spacing[0]).powi(2)
                        + (g[1] * spacing[1]).powi(2)
                        + (g[2] * spacing[2]).powi(2))
                    .sqrt()
                        / n
                } else {
                    0.5 * spacing[0]
                };
                let r = raw[k] as f64;
                (if mask[k] { r + half } else { r - half }) as f32
            })
            .collect(),
    )
}

/// The value of a (z, y, x) map at a point (µm; voxel (k, j, i) centred at (i·sx, j·sy,
/// k·sz)), interpolated trilinearly between the 8 voxels around it (clamped to the volume).
pub fn sample(map: &[f32], dims: Dims, spacing: [f64; 3], p: [f64; 3]) -> f64 {
    let n = [dims.nx, dims.ny, dims.nz];
    let mut i0 = [0usize; 3];
    let mut w = [0.0f64; 3];
    for a in 0..3 {
        let u = (p[a] / spacing[a]).clamp(0.0, (n[a] - 1) as f64);
        i0[a] = (u.floor() as usize).min(n[a].saturating_sub(2));
        w[a] = if n[a] > 1 { u - i0[a] as f64 } else { 0.0 };
    }
    let at = |dx: usize, dy: usize, dz: usize| {
        let (x, y, z) =
            ((i0[0] + dx).min(n[0] - 1), (i0[1] + dy).min(n[1] - 1), (i0[2] + dz).min(n[2] - 1));
        map[(z * dims.ny + y) * dims.nx + x] as f64
    };
    let mut v = 0.0;
    for dz in 0..2 {
        for dy in 0..2 {
            for dx in 0..2 {
                let wt = (if dx == 1 { w[0] } else { 1.0 - w[0] })
                    * (if dy == 1 { w[1] } else { 1.0 - w[1] })
                    * (if dz == 1 { w[2] } else { 1.0 - w[2] });
                if wt > 0.0 {
                    v += wt * at(dx, dy, dz);
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(feature: &[bool], dims: Dims, s: [f64; 3]) -> Vec<f64> {
        let idx = |i: usize| (i % dims.nx, (i / dims.nx) % dims.ny, i / (dims.nx * dims.ny));
        (0..feature.len())
            .map(|i| {
                let (x, y, z) = idx(i);
                (0..feature.len())
                    .filter(|&j| feature[j])
                    .map(|j| {
                        let (a, b, c) = idx(j);
                        ((x as f64 - a as f64) * s[0]).powi(2)
                            + ((y as f64 - b as f64) * s[1]).powi(2)
                            + ((z as f64 - c as f64) * s[2]).powi(2)
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn equals_brute_force(
            nz in 1usize..5, ny in 1usize..7, nx in 1usize..7,
            sx in 0.2f64..2.0, sy in 0.2f64..2.0, sz in 0.5f64..5.0,
            bits in proptest::collection::vec(proptest::bool::weighted(0.15), 150),
        ) {
            let dims = Dims { nz, ny, nx };
            let mask: Vec<bool> = bits[..nz * ny * nx].to_vec();
            let got = squared_distance(&mask, dims, [sx, sy, sz]);
            let want = brute(&mask, dims, [sx, sy, sz]);
            for (g, w) in got.iter().zip(&want) {
                if w.is_infinite() {
                    prop_assert!(g.is_infinite());
                } else {
                    prop_assert!((*g as f64 - w).abs() <= 1e-4 * (1.0 + w), "{} vs {}", g, w);
                }
            }
        }
    }

    #[test]
    fn equals_scipy_on_a_shared_mask() {
        // scipy.ndimage.distance_transform_edt(mask, sampling=(2.0, 0.5, 0.7)) (z, y, x) of
        // the mask below, computed once with scipy 1.17.1: distances from each True voxel to
        // the nearest False one.
        let dims = Dims { nz: 3, ny: 4, nx: 5 };
        let mut mask = [true; 60];
        for &i in &[0usize, 13, 27, 44, 59] {
            mask[i] = false;
        }
        let want: [f64; 60] = SCIPY;
        let not: Vec<bool> = mask.iter().map(|&b| !b).collect();
        let got = squared_distance(&not, dims, [0.7, 0.5, 2.0]);
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(((*g as f64).sqrt() - w).abs() < 1e-5, "voxel {k}: {} vs {w}", g.sqrt());
        }
    }

    #[rustfmt::skip]
    const SCIPY: [f64; 60] = [
        0.0, 0.7, 1.2206555615733703, 1.0,
        1.2206555615733703, 0.5, 0.8602325267042626, 0.8602325267042626,
        0.5, 0.8602325267042626, 1.0, 1.2206555615733703,
        0.7, 0.0, 0.7, 1.5,
        1.4866068747318506, 0.8602325267042626, 0.5, 0.8602325267042626,
        1.4866068747318506, 0.8602325267042626, 0.5, 0.8602325267042626,
        1.4866068747318506, 1.4, 0.7, 0.0,
        0.7, 1.4, 1.4866068747318506, 0.8602325267042626,
        0.5, 0.8602325267042626, 1.4866068747318506, 1.7204650534085253,
        1.2206555615733703, 1.0, 1.2206555615733703, 1.7204650534085253,
        2.4919871588754225, 2.0999999999999996, 1.4, 0.7,
        0.0, 2.4413111231467406, 2.118962010041709, 1.4866068747318506,
        0.8602325267042626, 0.5, 2.4919871588754225, 2.15870331449229,
        1.4866068747318506, 0.8602325267042626, 0.5, 2.6381811916545836,
        2.0999999999999996, 1.4, 0.7, 0.0,
    ];

    #[test]
    fn signed_distance_of_a_slab() {
        // x ≥ 5 is the mask: the surface at x = 4.5 voxels = 2.25 µm.
        let dims = Dims { nz: 1, ny: 1, nx: 10 };
        let mask: Vec<bool> = (0..10).map(|i| i >= 5).collect();
        let d = signed_distance(&mask, dims, [0.5, 0.5, 1.0]).unwrap();
        for i in 0..10 {
            let want = 2.25 - i as f64 * 0.5;
            assert!((d[i] as f64 - want).abs() < 1e-6, "{i}: {} vs {want}", d[i]);
        }
        assert!((sample(&d, dims, [0.5, 0.5, 1.0], [1.1, 0.0, 0.0]) - (2.25 - 1.1)).abs() < 1e-6);
        assert!(signed_distance(&[false; 4], Dims { nz: 1, ny: 2, nx: 2 }, [1.0; 3]).is_none());
    }
}
