//! Candidate search: one immutable k-d tree (kiddo) per frame, positions in µm.

use kiddo::{ImmutableKdTree, SquaredEuclidean};

use crate::error::{Error, Result};

/// The points of one frame in a k-d tree; item `k` is `rows[k]`.
pub struct FrameIndex {
    tree: ImmutableKdTree<f64, 3>,
    /// Row (in the caller's table) of each point of the tree.
    pub rows: Vec<usize>,
}

impl FrameIndex {
    /// Builds the index of `rows` at `pos[row]`.
    pub fn new(rows: Vec<usize>, pos: &[[f64; 3]]) -> Result<Self> {
        let pts: Vec<[f64; 3]> = rows.iter().map(|&r| pos[r]).collect();
        let tree = ImmutableKdTree::new_from_slice(&pts)
            .map_err(|e| Error::data(format!("cannot index {} positions: {e:?}", pts.len())))?;
        Ok(FrameIndex { tree, rows })
    }

    /// Calls `visit(k, squared distance)` for every point `k` with squared distance < `r2`
    /// (strict, as TrackMate's frame-to-frame gate) or ≤ `r2` when `inclusive`.
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
        self.tree.query(p).within::<SquaredEuclidean<f64>>(r2).unsorted().visit(|item| {
            let d2 = item.distance;
            if d2 < r2 || (inclusive && d2 <= r2) {
                visit(item.item as usize, d2);
            }
        });
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
}
