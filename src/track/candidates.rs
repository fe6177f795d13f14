//! Candidate search: one immutable k-d tree (kiddo) per frame, positions in µm.
//!
//! A tree is built per frame (frames are searched in parallel, never inside one tree) and
//! queried once per detection of the neighbouring frame; a query visits the points within the
//! gate without allocating.

use kiddo::{ImmutableKdTree, SquaredEuclidean};

use crate::error::{Error, Result};

/// The points of one frame in a k-d tree; item `k` is `rows[k]`.
pub struct FrameIndex {
    tree: ImmutableKdTree<f64, 3>,
    /// Row (in the caller's table) of each point of the tree.
    pub rows: Vec<usize>,
}

impl FrameIndex {
    /// Builds the index of `rows` at `pos[row]`; positions must be finite.
    pub fn new(rows: Vec<usize>, pos: &[[f64; 3]]) -> Result<Self> {
        if rows.len() > u32::MAX as usize {
            return Err(Error::data(format!("cannot index {} positions in one frame", rows.len())));
        }
        let mut pts: Vec<[f64; 3]> = Vec::with_capacity(rows.len());
        for &r in &rows {
            let p = pos[r];
            // kiddo reserves the largest value of the type as a sentinel.
            if !p.iter().all(|c| c.is_finite() && c.abs() < f64::MAX) {
                return Err(Error::data(format!("cannot index position {p:?}: not finite")));
            }
            pts.push(p);
        }
        let tree = ImmutableKdTree::new_from_slice(&pts)
            .map_err(|e| Error::data(format!("cannot index {} positions: {e:?}", pts.len())))?;
        Ok(FrameIndex { tree, rows })
    }

    /// Calls `visit(k, squared distance)` for every point `k` with squared distance < `r2`
    /// (strict, as TrackMate's frame-to-frame gate) or ≤ `r2` when `inclusive`, in no
    /// particular order.
    pub fn within(
        &self,
        p: &[f64; 3],
        r2: f64,
        inclusive: bool,
        mut visit: impl FnMut(usize, f64),
    ) {
        if self.rows.is_empty() || r2.is_nan() || r2 <= 0.0 || !p.iter().all(|c| c.is_finite()) {
            return;
        }
        // kiddo's radius is inclusive; the strict gate filters on the same squared distance.
        self.tree.query(p).within::<SquaredEuclidean<f64>>(r2).unsorted().visit(|hit| {
            let d2 = hit.distance;
            if d2 < r2 || (inclusive && d2 <= r2) {
                visit(hit.item as usize, d2);
            }
        });
    }
}

impl FrameIndex {
    /// Calls `visit(k, squared distance)` for the `n` points nearest to `p` (fewer when the
    /// frame holds fewer), nearest first.
    pub fn nearest(&self, p: &[f64; 3], n: usize, mut visit: impl FnMut(usize, f64)) {
        let Some(n) = std::num::NonZeroUsize::new(n) else { return };
        if self.rows.is_empty() || !p.iter().all(|c| c.is_finite()) {
            return;
        }
        for hit in self.tree.query(p).nearest_n::<SquaredEuclidean<f64>>(n).execute() {
            visit(hit.item as usize, hit.distance);
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

    /// Every radius query agrees with brute force, including queries far outside the frame's
    /// box, 2D frames (z = 0) and a far outlier.
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
            let idx = FrameIndex::new(rows.clone(), &pos).unwrap();
            for r in [15.0, 45.0, 20.0, 60.0] {
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
