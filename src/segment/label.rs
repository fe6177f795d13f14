//! 3D connected components of a binary mask (6-, 18- or 26-connectivity).
//!
//! Run-based: each row's foreground runs are found once, runs of neighbouring rows that touch
//! are joined in a union-find, and labels are written run by run. Work is proportional to the
//! number of rows plus the number of runs, so sparse masks (cells fill a few % of a volume)
//! cost little more than one read of the mask. Labels are numbered 1, 2, … in raster order
//! (z, then y, then x) of each component's first voxel — deterministic.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::filter::Dims;

/// Which voxels touch: faces (6), faces and edges (18), or faces, edges and corners (26).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
pub enum Connectivity {
    /// Face neighbours.
    #[serde(rename = "6")]
    Six,
    /// Face and edge neighbours.
    #[serde(rename = "18")]
    Eighteen,
    /// Face, edge and corner neighbours.
    #[default]
    #[serde(rename = "26")]
    TwentySix,
}

/// A disjoint-set forest with path halving and union by smaller index (so the root of a set
/// is its first-seen member).
#[derive(Debug, Clone, Default)]
pub(crate) struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    pub(crate) fn find(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let g = self.parent[self.parent[i as usize] as usize];
            self.parent[i as usize] = g;
            i = g;
        }
        i
    }
    pub(crate) fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }
}

/// Labels the connected components of `mask` (a (z, y, x) volume, nonzero = foreground).
/// Returns the labels (0 = background) and the number of components.
pub fn label(mask: &[bool], dims: Dims, conn: Connectivity) -> (Vec<u32>, usize) {
    let (nz, ny, nx) = dims.shape();
    let rows = nz * ny;
    // Runs [start, end) per row.
    let mut row_start = Vec::with_capacity(rows + 1);
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for r in 0..rows {
        row_start.push(runs.len());
        let row = &mask[r * nx..(r + 1) * nx];
        let mut x = 0;
        while x < nx {
            if let Some(off) = row[x..].iter().position(|&m| m) {
                let s = x + off;
                let e = row[s..].iter().position(|&m| !m).map_or(nx, |o| s + o);
                runs.push((s as u32, e as u32));
                x = e;
            } else {
                break;
            }
        }
    }
    row_start.push(runs.len());
    let mut uf = UnionFind { parent: (0..runs.len() as u32).collect() };
    // Neighbouring earlier rows (dz, dy) and the x-extension of the overlap test.
    let neigh: &[(isize, isize, u32)] = match conn {
        Connectivity::Six => &[(0, -1, 0), (-1, 0, 0)],
        Connectivity::Eighteen => &[(0, -1, 1), (-1, 0, 1), (-1, -1, 0), (-1, 1, 0)],
        Connectivity::TwentySix => &[(0, -1, 1), (-1, 0, 1), (-1, -1, 1), (-1, 1, 1)],
    };
    for z in 0..nz {
        for y in 0..ny {
            let r = z * ny + y;
            let (a0, a1) = (row_start[r], row_start[r + 1]);
            if a0 == a1 {
                continue;
            }
            for &(dz, dy, e) in neigh {
                let (zz, yy) = (z as isize + dz, y as isize + dy);
                if zz < 0 || yy < 0 || yy >= ny as isize {
                    continue;
                }
                let rr = zz as usize * ny + yy as usize;
                let (b0, b1) = (row_start[rr], row_start[rr + 1]);
                // Merge-walk the two sorted run lists.
                let (mut i, mut j) = (a0, b0);
                while i < a1 && j < b1 {
                    let (s1, e1) = runs[i];
                    let (s2, e2) = runs[j];
                    if s1 < e2 + e && s2 < e1 + e {
                        uf.union(i as u32, j as u32);
                    }
                    if e1 < e2 {
                        i += 1;
                    } else {
                        j += 1;
                    }
                }
            }
        }
    }
    let mut labels = vec![0u32; dims.len()];
    let mut root_label = vec![0u32; runs.len()];
    let mut n = 0u32;
    for r in 0..rows {
        for k in row_start[r]..row_start[r + 1] {
            let root = uf.find(k as u32) as usize;
            if root_label[root] == 0 {
                n += 1;
                root_label[root] = n;
            }
            let (s, e) = runs[k];
            labels[r * nx + s as usize..r * nx + e as usize].fill(root_label[root]);
        }
    }
    (labels, n as usize)
}

/// Renumbers labels to 1..=m keeping only those with `keep[label]` (index 0 unused), in order;
/// returns the number kept.
pub fn relabel(labels: &mut [u32], keep: &[bool]) -> usize {
    let mut map = vec![0u32; keep.len()];
    let mut n = 0;
    for (l, &k) in keep.iter().enumerate().skip(1) {
        if k {
            n += 1;
            map[l] = n;
        }
    }
    for v in labels.iter_mut() {
        *v = map[*v as usize];
    }
    n as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(mask: &[bool], d: Dims, conn: Connectivity) -> usize {
        // Flood fill count for reference.
        let mut seen = vec![false; mask.len()];
        let mut n = 0;
        for s in 0..mask.len() {
            if !mask[s] || seen[s] {
                continue;
            }
            n += 1;
            let mut stack = vec![s];
            seen[s] = true;
            while let Some(i) = stack.pop() {
                let (z, y, x) = (i / d.plane(), (i / d.nx) % d.ny, i % d.nx);
                for dz in -1i32..=1 {
                    for dy in -1i32..=1 {
                        for dx in -1i32..=1 {
                            let k = dz.abs() + dy.abs() + dx.abs();
                            let ok = match conn {
                                Connectivity::Six => k == 1,
                                Connectivity::Eighteen => k == 1 || k == 2,
                                Connectivity::TwentySix => k >= 1,
                            };
                            let (zz, yy, xx) = (z as i32 + dz, y as i32 + dy, x as i32 + dx);
                            if !ok
                                || zz < 0
                                || yy < 0
                                || xx < 0
                                || zz >= d.nz as i32
                                || yy >= d.ny as i32
                                || xx >= d.nx as i32
                            {
                                continue;
                            }
                            let j = (zz as usize * d.ny + yy as usize) * d.nx + xx as usize;
                            if mask[j] && !seen[j] {
                                seen[j] = true;
                                stack.push(j);
                            }
                        }
                    }
                }
            }
        }
        n
    }

    #[test]
    fn matches_a_flood_fill_for_every_connectivity() {
        let d = Dims { nz: 6, ny: 9, nx: 11 };
        let mut state = 12345u64;
        let mask: Vec<bool> = (0..d.len())
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 33).is_multiple_of(3)
            })
            .collect();
        for conn in [Connectivity::Six, Connectivity::Eighteen, Connectivity::TwentySix] {
            let (labels, n) = label(&mask, d, conn);
            assert_eq!(n, brute(&mask, d, conn), "{conn:?}");
            assert!(labels.iter().zip(&mask).all(|(l, m)| (*l > 0) == *m));
            assert_eq!(*labels.iter().max().unwrap() as usize, n);
        }
    }

    #[test]
    fn diagonal_touch_depends_on_connectivity() {
        let d = Dims { nz: 2, ny: 2, nx: 2 };
        let mut mask = vec![false; 8];
        mask[0] = true; // (0,0,0)
        mask[7] = true; // (1,1,1): a corner neighbour
        assert_eq!(label(&mask, d, Connectivity::TwentySix).1, 1);
        assert_eq!(label(&mask, d, Connectivity::Eighteen).1, 2);
        mask[7] = false;
        mask[3] = true; // (0,1,1): an edge neighbour
        assert_eq!(label(&mask, d, Connectivity::Eighteen).1, 1);
        assert_eq!(label(&mask, d, Connectivity::Six).1, 2);
    }

    #[test]
    fn relabel_keeps_order() {
        let mut l = vec![0, 1, 2, 3, 3, 2];
        assert_eq!(relabel(&mut l, &[false, true, false, true]), 2);
        assert_eq!(l, vec![0, 1, 0, 2, 2, 0]);
    }
}
