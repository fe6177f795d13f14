//! Splitting touching cells: the anisotropic Euclidean distance transform, seeds as local
//! maxima separated by a minimum distance in µm, and a seeded watershed by flooding.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use super::filter::{mirror, Dims};

/// The squared Euclidean distance (µm²) from each foreground voxel of `mask` to the nearest
/// background voxel, with voxels of `voxel_um` (x, y, z). Background voxels get 0. Outside the
/// volume counts as foreground (cells cut by the border are not eroded from it).
/// Felzenszwalb & Huttenlocher's separable algorithm, exact, O(n).
pub fn distance_transform_sq(mask: &[bool], dims: Dims, voxel_um: [f64; 3]) -> Vec<f32> {
    const INF: f32 = 1e20;
    let mut d: Vec<f32> = mask.iter().map(|&m| if m { INF } else { 0.0 }).collect();
    let (nz, ny, nx) = dims.shape();
    let plane = dims.plane();
    // x then y within planes (parallel over planes), then z (parallel over rows).
    d.par_chunks_mut(plane).for_each_init(
        || (vec![0f32; nx.max(ny)], vec![0f32; nx.max(ny)], Vec::new(), Vec::new()),
        |(f, out, v, z), pl| {
            for row in pl.chunks_exact_mut(nx) {
                f[..nx].copy_from_slice(row);
                edt_1d(&f[..nx], &mut out[..nx], voxel_um[0] as f32, v, z);
                row.copy_from_slice(&out[..nx]);
            }
            for x in 0..nx {
                for y in 0..ny {
                    f[y] = pl[y * nx + x];
                }
                edt_1d(&f[..ny], &mut out[..ny], voxel_um[1] as f32, v, z);
                for y in 0..ny {
                    pl[y * nx + x] = out[y];
                }
            }
        },
    );
    if nz > 1 {
        // Along z: each row of columns (fixed y) into a (y, x, z) buffer, then back.
        let src = &d;
        let mut t = vec![0f32; dims.len()];
        t.par_chunks_mut(nx * nz).enumerate().for_each_init(
            || (vec![0f32; nz], vec![0f32; nz], Vec::new(), Vec::new()),
            |(f, out, v, zb), (y, chunk)| {
                for x in 0..nx {
                    for k in 0..nz {
                        f[k] = src[k * plane + y * nx + x];
                    }
                    edt_1d(f, out, voxel_um[2] as f32, v, zb);
                    chunk[x * nz..(x + 1) * nz].copy_from_slice(out);
                }
            },
        );
        d.par_chunks_mut(plane).enumerate().for_each(|(k, pl)| {
            for (i, v) in pl.iter_mut().enumerate() {
                *v = t[i * nz + k];
            }
        });
    }
    d
}

/// 1D squared distance transform of sampled function `f` with spacing `h` (lower envelope of
/// parabolas). A border without background beyond counts as far.
fn edt_1d(f: &[f32], out: &mut [f32], h: f32, v: &mut Vec<usize>, z: &mut Vec<f32>) {
    let n = f.len();
    let h2 = h * h;
    v.clear();
    z.clear();
    // Only finite-ish samples become parabolas; all-INF rows stay INF.
    for q in 0..n {
        if f[q] >= 1e19 {
            continue;
        }
        let fq = f[q] + h2 * (q * q) as f32;
        loop {
            if let Some(&p) = v.last() {
                let fp = f[p] + h2 * (p * p) as f32;
                let s = (fq - fp) / (2.0 * h2 * (q as f32 - p as f32));
                if s <= *z.last().unwrap_or(&f32::NEG_INFINITY) {
                    v.pop();
                    z.pop();
                    continue;
                }
                v.push(q);
                z.push(s);
            } else {
                v.push(q);
                z.push(f32::NEG_INFINITY);
            }
            break;
        }
    }
    if v.is_empty() {
        out.fill(1e20);
        return;
    }
    let mut k = 0;
    for q in 0..n {
        while k + 1 < v.len() && z[k + 1] < q as f32 {
            k += 1;
        }
        let p = v[k];
        let dq = q as f32 - p as f32;
        out[q] = h2 * dq * dq + f[p];
    }
}

/// Local maxima of `values` among voxels where `allowed` is true and the value is at least
/// `min_value`, thinned so that no two are closer than `min_distance_um` (the larger wins;
/// ties go to the earlier voxel). A voxel is a local maximum when no voxel of its 3×3×3
/// neighbourhood (mirrored at the borders) is larger. Returns voxel indices, strongest first.
pub fn local_maxima(
    values: &[f32],
    allowed: Option<&[bool]>,
    dims: Dims,
    min_value: f32,
    min_distance_um: f64,
    voxel_um: [f64; 3],
) -> Vec<usize> {
    let (nz, ny, nx) = dims.shape();
    let plane = dims.plane();
    let mut cand: Vec<usize> = (0..nz)
        .into_par_iter()
        .flat_map_iter(|z| {
            let mut out = Vec::new();
            for y in 0..ny {
                for x in 0..nx {
                    let i = z * plane + y * nx + x;
                    let c = values[i];
                    if c.is_nan() || c < min_value || allowed.is_some_and(|a| !a[i]) {
                        continue;
                    }
                    let mut is_max = true;
                    'n: for dz in -1isize..=1 {
                        if nz == 1 && dz != 0 {
                            continue;
                        }
                        let zz = mirror(z as isize + dz, nz);
                        for dy in -1isize..=1 {
                            let yy = mirror(y as isize + dy, ny);
                            for dx in -1isize..=1 {
                                let xx = mirror(x as isize + dx, nx);
                                if values[zz * plane + yy * nx + xx] > c {
                                    is_max = false;
                                    break 'n;
                                }
                            }
                        }
                    }
                    if is_max {
                        out.push(i);
                    }
                }
            }
            out
        })
        .collect();
    cand.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    if min_distance_um <= 0.0 {
        return cand;
    }
    suppress(&cand, dims, min_distance_um, voxel_um)
}

/// Greedy non-maximum suppression of candidates (strongest first) closer than `r_um`,
/// bucketed on a grid of cells `r_um` wide.
fn suppress(cand: &[usize], dims: Dims, r_um: f64, voxel_um: [f64; 3]) -> Vec<usize> {
    let pos = |i: usize| {
        let (z, y, x) = (i / dims.plane(), (i / dims.nx) % dims.ny, i % dims.nx);
        [x as f64 * voxel_um[0], y as f64 * voxel_um[1], z as f64 * voxel_um[2]]
    };
    let cell = |p: [f64; 3]| -> [i64; 3] { std::array::from_fn(|a| (p[a] / r_um).floor() as i64) };
    let mut grid: std::collections::HashMap<[i64; 3], Vec<[f64; 3]>> = Default::default();
    let mut kept = Vec::new();
    let r2 = r_um * r_um;
    for &i in cand {
        let p = pos(i);
        let c = cell(p);
        let mut near = false;
        'g: for dz in -1..=1 {
            for dy in -1..=1 {
                for dx in -1..=1 {
                    if let Some(v) = grid.get(&[c[0] + dx, c[1] + dy, c[2] + dz]) {
                        if v.iter().any(|q| (0..3).map(|a| (p[a] - q[a]).powi(2)).sum::<f64>() < r2)
                        {
                            near = true;
                            break 'g;
                        }
                    }
                }
            }
        }
        if !near {
            grid.entry(c).or_default().push(p);
            kept.push(i);
        }
    }
    kept
}

#[derive(PartialEq)]
struct Item {
    value: f32,
    order: u64,
    index: usize,
    label: u32,
}
impl Eq for Item {}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        self.value.total_cmp(&o.value).then(o.order.cmp(&self.order))
    }
}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Seeded watershed by flooding from the highest `priority` down: each seed `seeds[s]` (a voxel
/// index) grows label `s + 1` into face-neighbouring voxels whose priority is at least
/// `floor[s]` and, when `allowed` is given, where it is true. Where two basins meet, the voxel
/// goes to the basin that reaches it first (higher priority path; ties by order of arrival) —
/// deterministic. Returns the labels (0 = not reached).
pub fn watershed(
    priority: &[f32],
    allowed: Option<&[bool]>,
    dims: Dims,
    seeds: &[usize],
    floor: &[f32],
) -> Vec<u32> {
    let mut labels = vec![0u32; dims.len()];
    let mut heap = BinaryHeap::new();
    let mut order = 0u64;
    for (s, &i) in seeds.iter().enumerate() {
        if labels[i] == 0 {
            labels[i] = s as u32 + 1;
            heap.push(Item { value: priority[i], order, index: i, label: s as u32 + 1 });
            order += 1;
        }
    }
    let (nz, ny, nx) = dims.shape();
    let plane = dims.plane();
    while let Some(Item { index: i, label, .. }) = heap.pop() {
        let (z, y, x) = (i / plane, (i / nx) % ny, i % nx);
        let fl = floor[label as usize - 1];
        let mut visit = |j: usize| {
            if labels[j] == 0 && priority[j] >= fl && allowed.is_none_or(|a| a[j]) {
                labels[j] = label;
                heap.push(Item { value: priority[j], order, index: j, label });
                order += 1;
            }
        };
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < nx {
            visit(i + 1);
        }
        if y > 0 {
            visit(i - nx);
        }
        if y + 1 < ny {
            visit(i + nx);
        }
        if z > 0 {
            visit(i - plane);
        }
        if z + 1 < nz {
            visit(i + plane);
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edt_is_exact_on_a_line_and_anisotropic() {
        let d = Dims { nz: 1, ny: 1, nx: 7 };
        let m = [false, true, true, true, true, true, false];
        let e = distance_transform_sq(&m, d, [2.0, 1.0, 1.0]);
        assert_eq!(e, vec![0.0, 4.0, 16.0, 36.0, 16.0, 4.0, 0.0]);
        let d = Dims { nz: 5, ny: 1, nx: 1 };
        let m = [false, true, true, true, true];
        let e = distance_transform_sq(&m, d, [1.0, 1.0, 3.0]);
        assert_eq!(e, vec![0.0, 9.0, 36.0, 81.0, 144.0]);
    }

    #[test]
    fn two_touching_balls_split_into_two() {
        let d = Dims { nz: 12, ny: 24, nx: 40 };
        let v = [1.0, 1.0, 1.0];
        let mut mask = vec![false; d.len()];
        for z in 0..12 {
            for y in 0..24 {
                for x in 0..40 {
                    let r1 = ((x as f64 - 13.0).powi(2)
                        + (y as f64 - 12.0).powi(2)
                        + (z as f64 - 6.0).powi(2))
                    .sqrt();
                    let r2 = ((x as f64 - 26.0).powi(2)
                        + (y as f64 - 12.0).powi(2)
                        + (z as f64 - 6.0).powi(2))
                    .sqrt();
                    mask[(z * 24 + y) * 40 + x] = r1 < 7.0 || r2 < 7.0;
                }
            }
        }
        let edt: Vec<f32> = distance_transform_sq(&mask, d, v).iter().map(|x| x.sqrt()).collect();
        let seeds = local_maxima(&edt, Some(&mask), d, 2.0, 5.0, v);
        assert_eq!(seeds.len(), 2, "{seeds:?}");
        let labels = watershed(&edt, Some(&mask), d, &seeds, &[0.0, 0.0]);
        let left = labels[(6 * 24 + 12) * 40 + 10];
        let right = labels[(6 * 24 + 12) * 40 + 29];
        assert!(left > 0 && right > 0 && left != right);
        assert!(labels.iter().zip(&mask).all(|(l, m)| (*l > 0) == *m));
    }
}
