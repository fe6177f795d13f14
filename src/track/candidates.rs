//! Candidate search: the points of one frame in a uniform grid of cubic cells, positions in µm.
//!
//! Leukocytes are sparse compared to a linking gate (~1.7 cells per 100,000 µm³ against a gate
//! of ~15 µm): with cells about twice the gate, a query looks at 1–2 cells per axis and a few
//! points, where a k-d tree descends and scans whole buckets. The grid is a counting sort of
//! the points by cell (one pass to count, one to place): no allocation per point, and a query
//! allocates nothing. Any radius works; a radius larger than the cells only visits more cells.

use crate::error::{Error, Result};

/// At most this many cells per point (and a few more for tiny frames): the cell edge grows
/// when the points are spread thin (e.g. one far outlier), so memory stays linear.
const CELLS_PER_POINT: usize = 4;

/// The points of one frame, indexed for radius queries; item `k` is `rows[k]`.
#[derive(Debug, Clone)]
pub struct FrameIndex {
    /// Row (in the caller's table) of each point.
    pub rows: Vec<usize>,
    /// Lower corner of cell (0, 0, 0), µm.
    origin: [f64; 3],
    /// 1 / cell edge, 1/µm.
    inv_cell: f64,
    /// Cells along x, y, z.
    dims: [usize; 3],
    /// First slot of each cell (x fastest), and the number of slots at the end.
    start: Vec<u32>,
    /// Item `k` of each slot, slots in cell order (items in increasing order within a cell).
    item: Vec<u32>,
    /// Position of each slot, µm.
    pts: Vec<[f64; 3]>,
}

impl FrameIndex {
    /// Builds the index of `rows` at `pos[row]`, with cells sized for about two points each.
    pub fn new(rows: Vec<usize>, pos: &[[f64; 3]]) -> Result<Self> {
        Self::build(rows, pos, None)
    }

    /// Builds the index for queries of radius up to about `radius_um` µm: cells of twice the
    /// radius (one or two cells per axis per query), coarser where the points are too spread
    /// out for that many cells.
    pub fn with_radius(rows: Vec<usize>, pos: &[[f64; 3]], radius_um: f64) -> Result<Self> {
        Self::build(rows, pos, Some(radius_um))
    }

    fn build(rows: Vec<usize>, pos: &[[f64; 3]], radius_um: Option<f64>) -> Result<Self> {
        let n = rows.len();
        if n > u32::MAX as usize - 1 {
            return Err(Error::data(format!("cannot index {n} positions in one frame")));
        }
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for &r in &rows {
            let p = pos[r];
            if !p.iter().all(|c| c.is_finite()) {
                return Err(Error::data(format!("cannot index position {p:?}: not finite")));
            }
            for a in 0..3 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        if n == 0 {
            lo = [0.0; 3];
            hi = [0.0; 3];
        }
        let extent: [f64; 3] = std::array::from_fn(|a| hi[a] - lo[a]);
        let max_cells = CELLS_PER_POINT * n + 64;
        // Cell edge: twice the radius, or the edge giving ~2 points per cell of the bounding box.
        let span = extent.iter().fold(0.0f64, |m, &e| m.max(e));
        let volume: f64 = extent.iter().map(|&e| e.max(span * 1e-3).max(1e-9)).product();
        let mut cell = match radius_um {
            Some(r) if r.is_finite() && r > 0.0 => 2.0 * r,
            _ => (2.0 * volume / n.max(1) as f64).cbrt(),
        };
        if !(cell.is_finite() && cell > 0.0) {
            cell = 1.0;
        }
        let dims_for = |cell: f64| -> [usize; 3] {
            std::array::from_fn(|a| ((extent[a] / cell).floor().min(1e9) as usize) + 1)
        };
        let mut dims = dims_for(cell);
        while dims
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .is_none_or(|c| c > max_cells)
        {
            cell *= 1.5;
            dims = dims_for(cell);
        }
        let inv_cell = 1.0 / cell;
        let n_cells = dims[0] * dims[1] * dims[2];
        let cell_of = |p: [f64; 3]| -> usize {
            let c: [usize; 3] =
                std::array::from_fn(|a| (((p[a] - lo[a]) * inv_cell) as usize).min(dims[a] - 1));
            (c[2] * dims[1] + c[1]) * dims[0] + c[0]
        };
        let mut start = vec![0u32; n_cells + 1];
        for &r in &rows {
            start[cell_of(pos[r]) + 1] += 1;
        }
        for c in 0..n_cells {
            start[c + 1] += start[c];
        }
        let mut fill: Vec<u32> = start[..n_cells].to_vec();
        let mut item = vec![0u32; n];
        let mut pts = vec![[0.0; 3]; n];
        for (k, &r) in rows.iter().enumerate() {
            let c = cell_of(pos[r]);
            let slot = fill[c] as usize;
            fill[c] += 1;
            item[slot] = k as u32;
            pts[slot] = pos[r];
        }
        Ok(FrameIndex { rows, origin: lo, inv_cell, dims, start, item, pts })
    }

    /// Calls `visit(k, squared distance)` for every point `k` with squared distance < `r2`
    /// (strict, as TrackMate's frame-to-frame gate) or ≤ `r2` when `inclusive`. Points come
    /// cell by cell (x fastest), in increasing `k` within a cell.
    pub fn within(
        &self,
        p: &[f64; 3],
        r2: f64,
        inclusive: bool,
        mut visit: impl FnMut(usize, f64),
    ) {
        if self.rows.is_empty() || r2.is_nan() || r2 <= 0.0 {
            return;
        }
        // A hair wider than the radius: a point whose rounded squared distance passes the gate
        // is never in a cell the range leaves out.
        let r = r2.sqrt() * (1.0 + 1e-9) + 1e-12;
        let mut range = [(0usize, 0usize); 3];
        for a in 0..3 {
            let last = self.dims[a] - 1;
            // Cell coordinates; truncation is the floor for the non-negative ones used.
            let lo = (p[a] - r - self.origin[a]) * self.inv_cell;
            let hi = (p[a] + r - self.origin[a]) * self.inv_cell;
            if !(hi >= 0.0 && lo < (last + 1) as f64) {
                return; // outside the grid (or NaN)
            }
            range[a] = (if lo > 0.0 { lo as usize } else { 0 }, (hi as usize).min(last));
        }
        let [dx, dy, _] = self.dims;
        for z in range[2].0..=range[2].1 {
            for y in range[1].0..=range[1].1 {
                let row = (z * dy + y) * dx;
                let from = self.start[row + range[0].0] as usize;
                let to = self.start[row + range[0].1 + 1] as usize;
                for slot in from..to {
                    let q = self.pts[slot];
                    let d0 = p[0] - q[0];
                    let d1 = p[1] - q[1];
                    let d2 = p[2] - q[2];
                    let d = d0 * d0 + d1 * d1 + d2 * d2;
                    if d < r2 || (inclusive && d <= r2) {
                        visit(self.item[slot] as usize, d);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_identical_points_and_strict_gate() {
        let pos = vec![[1.0, 2.0, 3.0]; 500];
        let idx = FrameIndex::new((0..500).collect(), &pos).unwrap();
        let mut n = 0;
        idx.within(&[1.0, 2.0, 3.0], 1.0, false, |_, d| {
            assert_eq!(d, 0.0);
            n += 1;
        });
        assert_eq!(n, 500);
        let pos = vec![[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]];
        let idx = FrameIndex::new(vec![0, 1], &pos).unwrap();
        let mut hits = Vec::new();
        idx.within(&[0.0, 0.0, 0.0], 25.0, false, |k, _| hits.push(k));
        assert_eq!(hits, vec![0]);
        hits.clear();
        idx.within(&[0.0, 0.0, 0.0], 25.0, true, |k, _| hits.push(k));
        hits.sort();
        assert_eq!(hits, vec![0, 1]);
    }

    /// Every radius query agrees with brute force, whatever the cell size, including points
    /// far outside the frame's box, 2D frames (z = 0) and a far outlier that coarsens the grid.
    #[test]
    fn radius_queries_match_brute_force() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut u = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for case in 0..6 {
            let n = [0, 1, 7, 300, 1000, 50][case];
            let flat = case == 3;
            let mut pos: Vec<[f64; 3]> = (0..n)
                .map(|_| [u() * 900.0, u() * 900.0, if flat { 0.0 } else { u() * 72.0 }])
                .collect();
            if case == 5 {
                pos.push([1e7, -1e7, 5.0]);
            }
            let rows: Vec<usize> = (0..pos.len()).collect();
            for (radius_hint, r) in
                [(Some(15.0), 15.0), (Some(15.0), 45.0), (None, 20.0), (Some(1.0), 60.0)]
            {
                let idx = match radius_hint {
                    Some(h) => FrameIndex::with_radius(rows.clone(), &pos, h).unwrap(),
                    None => FrameIndex::new(rows.clone(), &pos).unwrap(),
                };
                for _ in 0..200 {
                    let p = [u() * 1000.0 - 50.0, u() * 1000.0 - 50.0, u() * 100.0 - 14.0];
                    let mut got = Vec::new();
                    idx.within(&p, r * r, false, |k, d| got.push((k, d)));
                    got.sort_by_key(|g| g.0);
                    let want: Vec<(usize, f64)> = pos
                        .iter()
                        .enumerate()
                        .map(|(k, q)| {
                            let d = [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
                            (k, d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
                        })
                        .filter(|&(_, d)| d < r * r)
                        .collect();
                    assert_eq!(got, want, "case {case}, r {r}");
                }
            }
        }
        assert!(FrameIndex::new(vec![0], &[[f64::NAN, 0.0, 0.0]]).is_err());
    }
}
