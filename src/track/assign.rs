//! Linear assignment: matching rows to columns at minimum total cost.
//!
//! Two entry points:
//!
//! - [`solve_dense`] solves the rectangular linear assignment problem (LAP) on a dense,
//!   row-major cost matrix with the shortest augmenting path method with dual potentials —
//!   the O(n³) Hungarian algorithm in the form of Jonker & Volgenant, "A shortest augmenting
//!   path algorithm for dense and sparse linear assignment problems", *Computing* 38:325
//!   (1987); see also Burkard, Dell'Amico & Martello, *Assignment Problems* (SIAM 2009), §4.4.
//!   Rows are added one at a time; for each, a Dijkstra search over reduced costs
//!   `c[i][j] − u[i] − v[j]` (never negative) finds the cheapest augmenting path to a free
//!   column, and the potentials `u`, `v` are updated so that the reduced costs stay
//!   non-negative and are zero along the current assignment.
//! - [`match_sparse`] takes a list of candidate pairs (edges), splits the bipartite candidate
//!   graph into connected components (union–find) and solves each component on its own, so
//!   thousands of points per frame with a few candidates each cost little.
//!
//! ## Forbidden pairs and the objective
//!
//! A non-finite cost (`f64::INFINITY`, also `-∞` or NaN) forbids a pair. Both functions
//! return, among all one-to-one matchings that use only allowed pairs, one with the **largest
//! number of pairs**, and among those one of **least total cost**.
//!
//! The usual way to get this from a LAP solver is to price forbidden pairs at a large
//! constant (equivalently, shift allowed costs by `cost − BIG` with `BIG` above any total
//! cost). With floating point that constant swamps the small cost differences it is added
//! to. Here the solver instead works on pairs `(number of forbidden pairs used, cost)`
//! compared lexicographically — the exact limit of `BIG → ∞`. The Hungarian method needs
//! only addition, subtraction and a total order, which such pairs have (an ordered abelian
//! group), so the method and its optimality proof carry over unchanged and no rounding is
//! introduced. Matrices without forbidden pairs take a plain `f64` path.
//!
//! Costs may be negative. Matrices whose largest |cost| exceeds 2⁹⁰⁰ are first scaled down by
//! a power of two (exact, leaves the optimum unchanged) so that potentials cannot overflow.

/// The arithmetic the shortest augmenting path method needs: an ordered group.
trait Cost: Copy + PartialOrd {
    /// The neutral element.
    const ZERO: Self;
    /// Larger than every value the algorithm can reach ("not yet reached").
    const UNREACHED: Self;
    fn plus(self, other: Self) -> Self;
    fn minus(self, other: Self) -> Self;
}

impl Cost for f64 {
    const ZERO: Self = 0.0;
    const UNREACHED: Self = f64::INFINITY;
    fn plus(self, other: Self) -> Self {
        self + other
    }
    fn minus(self, other: Self) -> Self {
        self - other
    }
}

/// A cost with a forbidden-pair count in front, compared lexicographically (derived
/// `PartialOrd` compares fields in declaration order).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct Lex {
    forbidden: i64,
    cost: f64,
}

impl Cost for Lex {
    const ZERO: Self = Lex { forbidden: 0, cost: 0.0 };
    const UNREACHED: Self = Lex { forbidden: i64::MAX, cost: f64::INFINITY };
    fn plus(self, other: Self) -> Self {
        Lex { forbidden: self.forbidden + other.forbidden, cost: self.cost + other.cost }
    }
    fn minus(self, other: Self) -> Self {
        Lex { forbidden: self.forbidden - other.forbidden, cost: self.cost - other.cost }
    }
}

/// Buffers of the shortest augmenting path search, kept between calls.
#[derive(Debug, Clone)]
struct SapBuffers<C> {
    u: Vec<C>,
    v: Vec<C>,
    minv: Vec<C>,
    p: Vec<usize>,
    way: Vec<usize>,
    used: Vec<bool>,
    /// The matrix being solved (scaled, or with forbidden pairs marked).
    mat: Vec<C>,
    /// The column of each row, the result.
    row_to_col: Vec<usize>,
}

impl<C> Default for SapBuffers<C> {
    fn default() -> Self {
        SapBuffers {
            u: Vec::new(),
            v: Vec::new(),
            minv: Vec::new(),
            p: Vec::new(),
            way: Vec::new(),
            used: Vec::new(),
            mat: Vec::new(),
            row_to_col: Vec::new(),
        }
    }
}

/// Shortest augmenting path LAP for `n <= m` on the row-major `n × m` matrix `buf.mat` of
/// finite costs; the column of each row in `buf.row_to_col` (`usize::MAX` only if a search
/// failed, which finite, non-overflowing costs rule out). Buffers are reused.
///
/// Indices are 1-based inside: column 0 is a virtual column holding the row being added, so
/// the search starts from it; `p[j]` is the (1-based) row assigned to column `j`, 0 if free.
fn sap<C: Cost>(buf: &mut SapBuffers<C>, n: usize, m: usize) {
    let SapBuffers { u, v, minv, p, way, used, mat: cost, row_to_col } = buf;
    debug_assert!(n <= m && cost.len() == n * m);
    u.clear();
    u.resize(n + 1, C::ZERO);
    v.clear();
    v.resize(m + 1, C::ZERO);
    p.clear();
    p.resize(m + 1, 0);
    way.clear();
    way.resize(m + 1, 0);
    minv.clear();
    minv.resize(m + 1, C::UNREACHED);
    used.clear();
    used.resize(m + 1, false);
    'rows: for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        minv.fill(C::UNREACHED);
        used.fill(false);
        // Dijkstra over columns until a free column is reached.
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let row = &cost[(i0 - 1) * m..i0 * m];
            let ui0 = u[i0];
            let mut delta = C::UNREACHED;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = row[j - 1].minus(ui0).minus(v[j]);
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                // Only possible with non-finite reduced costs; leave this row unassigned
                // rather than loop forever.
                debug_assert!(false, "assignment search found no column");
                continue 'rows;
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] = u[p[j]].plus(delta);
                    v[j] = v[j].minus(delta);
                } else {
                    minv[j] = minv[j].minus(delta);
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        // Augment along the path back to the virtual column 0.
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    row_to_col.clear();
    row_to_col.resize(n, usize::MAX);
    for j in 1..=m {
        if p[j] != 0 {
            row_to_col[p[j] - 1] = j - 1;
        }
    }
}

/// Reusable memory of [`solve_dense`] and [`link_with_alternatives`]: one per thread, kept
/// across frames, so that assigning a frame allocates nothing once the buffers have grown.
#[derive(Debug, Clone, Default)]
pub(crate) struct Workspace {
    plain: SapBuffers<f64>,
    lex: SapBuffers<Lex>,
    dense: Vec<f64>,
    assignment: Vec<Option<usize>>,
    parent: Vec<usize>,
    size: Vec<usize>,
    count: Vec<usize>,
    order: Vec<usize>,
    root: Vec<usize>,
    row_idx: Vec<usize>,
    col_idx: Vec<usize>,
    rows: Vec<usize>,
    cols: Vec<usize>,
}

/// Minimum-cost assignment on a dense rectangular cost matrix.
///
/// `cost` is row-major, `n_rows × n_cols`: the cost of pairing row `i` with column `j` is
/// `cost[i * n_cols + j]`. Returns, for each row, its column or `None`.
///
/// Every row of the smaller dimension is assigned unless it would need a forbidden pair: a
/// non-finite cost (`f64::INFINITY`, `-∞`, NaN) forbids a pair, and a forbidden pair is never
/// returned — that row gets `None` instead. The result maximises the number of allowed pairs
/// first and minimises their total cost second (exactly, without a large-constant penalty; see
/// the [module docs](self)). Costs may be negative. Ties are broken deterministically.
///
/// Shortest augmenting path (Hungarian / Jonker–Volgenant) with potentials: O(s²·l) time for
/// `s = min(n_rows, n_cols)`, `l = max(n_rows, n_cols)`, O(n_rows·n_cols) memory.
///
/// # Panics
/// If `cost.len() != n_rows * n_cols`.
///
/// # Example
/// ```
/// use leukotrack::track::assign::solve_dense;
/// let inf = f64::INFINITY;
/// let cost = [4.0, 1.0, 3.0, //
///             2.0, 0.0, 5.0, //
///             3.0, 2.0, 2.0];
/// assert_eq!(solve_dense(&cost, 3, 3), vec![Some(1), Some(0), Some(2)]);
/// // Row 1 can only take column 0; giving it column 0 beats the cheaper single pair.
/// assert_eq!(solve_dense(&[1.0, 5.0, 1.0, inf], 2, 2), vec![Some(1), Some(0)]);
/// ```
pub fn solve_dense(cost: &[f64], n_rows: usize, n_cols: usize) -> Vec<Option<usize>> {
    let mut ws = Workspace::default();
    solve_dense_in(&mut ws, cost, n_rows, n_cols);
    ws.assignment
}

/// [`solve_dense`] with the workspace's buffers; the result in `ws.assignment`.
fn solve_dense_in(ws: &mut Workspace, cost: &[f64], n_rows: usize, n_cols: usize) {
    assert_eq!(
        Some(cost.len()),
        n_rows.checked_mul(n_cols),
        "cost matrix has {} entries for {n_rows} rows × {n_cols} columns",
        cost.len()
    );
    let out = &mut ws.assignment;
    out.clear();
    out.resize(n_rows, None);
    if n_rows == 0 || n_cols == 0 {
        return;
    }
    let mut amax = 0.0f64;
    let mut n_forbidden = 0usize;
    for &c in cost {
        if c.is_finite() {
            amax = amax.max(c.abs());
        } else {
            n_forbidden += 1;
        }
    }
    if n_forbidden == cost.len() {
        return;
    }
    // Largest |cost| handled without rescaling: 2⁹⁰⁰, which keeps every potential finite.
    let scale = if amax.log2() > 900.0 {
        // A power of two, so scaling is exact (bar underflow of negligible costs).
        2f64.powi(900 - amax.log2().ceil() as i32)
    } else {
        1.0
    };
    // The solver wants rows <= columns: transpose tall matrices.
    let transposed = n_rows > n_cols;
    let (n, m) = if transposed { (n_cols, n_rows) } else { (n_rows, n_cols) };
    let at =
        |i: usize, j: usize| if transposed { cost[j * n_cols + i] } else { cost[i * n_cols + j] };
    let assignment = if n_forbidden == 0 {
        let buf = &mut ws.plain;
        buf.mat.clear();
        buf.mat.extend(
            (0..n).flat_map(|i| (0..m).map(move |j| (i, j))).map(|(i, j)| at(i, j) * scale),
        );
        sap(buf, n, m);
        &buf.row_to_col
    } else {
        let buf = &mut ws.lex;
        buf.mat.clear();
        buf.mat.extend((0..n).flat_map(|i| (0..m).map(move |j| (i, j))).map(|(i, j)| {
            let c = at(i, j);
            if c.is_finite() {
                Lex { forbidden: 0, cost: c * scale }
            } else {
                Lex { forbidden: 1, cost: 0.0 }
            }
        }));
        sap(buf, n, m);
        &buf.row_to_col
    };
    for (i, &j) in assignment.iter().enumerate() {
        if j == usize::MAX {
            continue;
        }
        let (r, c) = if transposed { (j, i) } else { (i, j) };
        if cost[r * n_cols + c].is_finite() {
            out[r] = Some(c);
        }
    }
}

/// Disjoint sets over `0..n` with path halving and union by size.
struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind { parent: (0..n).collect(), size: vec![1; n] }
    }
    fn find(&mut self, mut a: usize) -> usize {
        while self.parent[a] != a {
            self.parent[a] = self.parent[self.parent[a]];
            a = self.parent[a];
        }
        a
    }
    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }
}

/// Maximum-cardinality, minimum-cost one-to-one matching among candidate pairs.
///
/// `edges` are candidate pairs `(row, column, cost)` with `row < n_rows`, `column < n_cols`;
/// costs are meant to be finite and ≥ 0 (negative costs work too; an edge with a non-finite
/// cost is ignored; of repeated pairs the cheapest counts). Returns the matched pairs
/// `(row, column)` sorted by row: as many pairs as any matching of the candidate graph can
/// have, and among such matchings one of least total cost.
///
/// The candidate graph is split into connected components (union–find); components are
/// independent, so solving each optimally solves the whole. A component with a single row or
/// a single column (including a lone edge) takes its cheapest edge directly; any other
/// component of `r` rows and `c` columns is solved by [`solve_dense`] on an `r × c` matrix in
/// which non-edges are forbidden. Forbidding non-edges makes `solve_dense` maximise the number
/// of pairs first and minimise cost second — the same result as shifting every edge cost to
/// `cost − BIG` with `BIG` above the component's total cost, but computed exactly (see the
/// [module docs](self)). Time is O(E·α) plus O(k³) per component of k points, so it stays fast
/// when each point has few candidates.
///
/// # Panics
/// If an edge's row or column is out of range.
///
/// # Example
/// ```
/// use leukotrack::track::assign::match_sparse;
/// // Greedy cheapest-first would take (0, 0) and leave row 1 unmatched.
/// let edges = [(0, 0, 1.0), (0, 1, 2.0), (1, 0, 2.0), (2, 2, 0.5)];
/// assert_eq!(match_sparse(3, 3, &edges), vec![(0, 1), (1, 0), (2, 2)]);
/// ```
pub fn match_sparse(
    n_rows: usize,
    n_cols: usize,
    edges: &[(usize, usize, f64)],
) -> Vec<(usize, usize)> {
    for &(r, c, _) in edges {
        assert!(
            r < n_rows && c < n_cols,
            "edge ({r}, {c}) out of range for {n_rows} rows × {n_cols} columns"
        );
    }
    let usable: Vec<&(usize, usize, f64)> = edges.iter().filter(|e| e.2.is_finite()).collect();
    if usable.is_empty() {
        return Vec::new();
    }
    // Rows are nodes 0..n_rows, columns n_rows..n_rows + n_cols.
    let mut sets = UnionFind::new(n_rows + n_cols);
    for &&(r, c, _) in &usable {
        sets.union(r, n_rows + c);
    }
    // Edges grouped by component, components in order of first appearance.
    let mut component_of_root = vec![usize::MAX; n_rows + n_cols];
    let mut components: Vec<Vec<(usize, usize, f64)>> = Vec::new();
    for &&(r, c, w) in &usable {
        let root = sets.find(r);
        if component_of_root[root] == usize::MAX {
            component_of_root[root] = components.len();
            components.push(Vec::new());
        }
        components[component_of_root[root]].push((r, c, w));
    }

    let mut local_row = vec![usize::MAX; n_rows];
    let mut local_col = vec![usize::MAX; n_cols];
    let mut matched = Vec::new();
    let mut rows: Vec<usize> = Vec::new();
    let mut cols: Vec<usize> = Vec::new();
    for comp in &components {
        if let [(r, c, _)] = comp[..] {
            matched.push((r, c));
            continue;
        }
        rows.clear();
        cols.clear();
        for &(r, c, _) in comp {
            if local_row[r] == usize::MAX {
                local_row[r] = rows.len();
                rows.push(r);
            }
            if local_col[c] == usize::MAX {
                local_col[c] = cols.len();
                cols.push(c);
            }
        }
        if rows.len() == 1 || cols.len() == 1 {
            // A star: one pair at most, the cheapest (first one on ties).
            let mut best = comp[0];
            for &e in &comp[1..] {
                if e.2 < best.2 {
                    best = e;
                }
            }
            matched.push((best.0, best.1));
            continue;
        }
        let (nr, nc) = (rows.len(), cols.len());
        let mut dense = vec![f64::INFINITY; nr * nc];
        for &(r, c, w) in comp {
            let cell = &mut dense[local_row[r] * nc + local_col[c]];
            if w < *cell {
                *cell = w;
            }
        }
        for (lr, lc) in solve_dense(&dense, nr, nc).into_iter().enumerate() {
            if let Some(lc) = lc {
                matched.push((rows[lr], cols[lc]));
            }
        }
    }
    matched.sort_unstable();
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INF: f64 = f64::INFINITY;

    /// Total cost of an assignment; also checks it is one-to-one and uses no forbidden pair.
    fn total(cost: &[f64], n_cols: usize, a: &[Option<usize>]) -> (usize, f64) {
        let mut seen = std::collections::HashSet::new();
        let mut sum = 0.0;
        for (i, j) in a.iter().enumerate() {
            if let Some(j) = *j {
                assert!(j < n_cols);
                assert!(seen.insert(j), "column {j} used twice in {a:?}");
                let c = cost[i * n_cols + j];
                assert!(c.is_finite(), "forbidden pair ({i}, {j}) returned");
                sum += c;
            }
        }
        (seen.len(), sum)
    }

    /// Brute force over all partial one-to-one matchings of allowed pairs: the largest number of
    /// pairs, then the least total cost.
    fn brute(cost: &[f64], n: usize, m: usize) -> (usize, f64) {
        /// Rows `i..` of the `m`-column matrix `cost`, given `k` pairs of total `sum` so far.
        fn rec(
            i: usize,
            cost: &[f64],
            m: usize,
            used: &mut [bool],
            k: usize,
            sum: f64,
            best: &mut (usize, f64),
        ) {
            if i * m == cost.len() {
                if k > best.0 || (k == best.0 && sum < best.1) {
                    *best = (k, sum);
                }
                return;
            }
            rec(i + 1, cost, m, used, k, sum, best);
            for j in 0..m {
                let c = cost[i * m + j];
                if !used[j] && c.is_finite() {
                    used[j] = true;
                    rec(i + 1, cost, m, used, k + 1, sum + c, best);
                    used[j] = false;
                }
            }
        }
        let mut best = (0, 0.0);
        if n == 0 || m == 0 {
            return best;
        }
        rec(0, cost, m, &mut vec![false; m], 0, 0.0, &mut best);
        best
    }

    #[test]
    fn classic_3x3() {
        // scipy.optimize.linear_sum_assignment's example: optimum 1 + 2 + 2 = 5.
        let c = [4.0, 1.0, 3.0, 2.0, 0.0, 5.0, 3.0, 2.0, 2.0];
        let a = solve_dense(&c, 3, 3);
        assert_eq!(a, vec![Some(1), Some(0), Some(2)]);
        assert_eq!(total(&c, 3, &a), (3, 5.0));
        // A 4×4 textbook case: optimum 69 + 37 + 11 + 23 = 140.
        let c = [
            82.0, 83.0, 69.0, 92.0, //
            77.0, 37.0, 49.0, 92.0, //
            11.0, 69.0, 5.0, 86.0, //
            8.0, 9.0, 98.0, 23.0,
        ];
        let a = solve_dense(&c, 4, 4);
        assert_eq!(a, vec![Some(2), Some(1), Some(0), Some(3)]);
        assert_eq!(total(&c, 4, &a), (4, 140.0));
        assert_eq!(brute(&c, 4, 4), (4, 140.0));
    }

    #[test]
    fn rectangular_wide_and_tall() {
        // 2×3: row 0 → col 1 (1) + row 1 → col 2 (3) = 4.
        let c = [5.0, 1.0, 9.0, 6.0, 2.0, 3.0];
        assert_eq!(solve_dense(&c, 2, 3), vec![Some(1), Some(2)]);
        // Its transpose, 3×2: row 0 stays unassigned.
        let t = [5.0, 6.0, 1.0, 2.0, 9.0, 3.0];
        assert_eq!(solve_dense(&t, 3, 2), vec![None, Some(0), Some(1)]);
        // A column that is nobody's favourite but needed: 2×3 where both rows prefer column 0.
        let c = [1.0, 10.0, 4.0, 1.0, 3.0, 10.0];
        let a = solve_dense(&c, 2, 3);
        assert_eq!(total(&c, 3, &a), (2, 4.0));
        assert_eq!(a, vec![Some(0), Some(1)]);
    }

    #[test]
    fn greedy_nearest_first_fails() {
        // Greedy takes (0,0) = 1 and is left with (1,1) = 100; the optimum is 2 + 2.
        let c = [1.0, 2.0, 2.0, 100.0];
        assert_eq!(solve_dense(&c, 2, 2), vec![Some(1), Some(0)]);
        // Three rows chained: greedy 1 + 1 + 50 = 52, optimum 2 + 2 + 2 = 6.
        let c = [
            1.0, 2.0, 50.0, //
            50.0, 1.0, 2.0, //
            2.0, 50.0, 50.0,
        ];
        let a = solve_dense(&c, 3, 3);
        assert_eq!(a, vec![Some(1), Some(2), Some(0)]);
        assert_eq!(total(&c, 3, &a).1, 6.0);
    }

    #[test]
    fn forbidden_pairs_are_never_returned() {
        // Both rows can only use column 1: the cheaper one gets it.
        assert_eq!(solve_dense(&[INF, 1.0, INF, 2.0], 2, 2), vec![Some(1), None]);
        assert_eq!(solve_dense(&[INF, 3.0, INF, 2.0], 2, 2), vec![None, Some(1)]);
        // More pairs beat a cheaper single pair.
        assert_eq!(solve_dense(&[1.0, 5.0, 1.0, INF], 2, 2), vec![Some(1), Some(0)]);
        // A row with nothing allowed; everything forbidden; NaN counts as forbidden.
        assert_eq!(solve_dense(&[INF, INF, 1.0, 2.0], 2, 2), vec![None, Some(0)]);
        assert_eq!(solve_dense(&[INF; 6], 2, 3), vec![None, None]);
        assert_eq!(solve_dense(&[f64::NAN, 1.0, 1.0, f64::NAN], 2, 2), vec![Some(1), Some(0)]);
        // Tall with forbidden entries.
        // Tall with forbidden entries: (0,1) + (1,0) = 3 beats (0,1) + (2,0) = 4 and
        // (1,0) + (2,1) = 6.
        let c = [INF, 1.0, 2.0, INF, 3.0, 4.0];
        assert_eq!(solve_dense(&c, 3, 2), vec![Some(1), Some(0), None]);
    }

    #[test]
    fn exact_with_huge_and_tiny_costs() {
        // A large-constant penalty would overflow here (1e300 × n) or round away 1e-9.
        let c = [1e300, 1e300, 1e300, INF];
        assert_eq!(solve_dense(&c, 2, 2), vec![Some(1), Some(0)]);
        let c = [1e12, 1e12 + 0.5, 1e12, 1e12 + 2.0];
        assert_eq!(solve_dense(&c, 2, 2), vec![Some(1), Some(0)]);
        let c = [1e-9, 2e-9, 3e-9, INF, 1e-9, 3e-9];
        let a = solve_dense(&c, 2, 3);
        assert_eq!(total(&c, 3, &a).0, 2);
        assert!((total(&c, 3, &a).1 - 2e-9).abs() < 1e-24, "{a:?}");
        let big = f64::MAX / 2.0;
        assert_eq!(solve_dense(&[big, -big, -big, big], 2, 2), vec![Some(1), Some(0)]);
    }

    #[test]
    fn negative_costs_and_empty_shapes() {
        assert_eq!(solve_dense(&[-5.0, 0.0, 0.0, -1.0], 2, 2), vec![Some(0), Some(1)]);
        assert_eq!(solve_dense(&[], 0, 0), Vec::<Option<usize>>::new());
        assert_eq!(solve_dense(&[], 0, 3), Vec::<Option<usize>>::new());
        assert_eq!(solve_dense(&[], 3, 0), vec![None, None, None]);
        assert_eq!(solve_dense(&[7.0], 1, 1), vec![Some(0)]);
    }

    #[test]
    #[should_panic(expected = "cost matrix has 3 entries")]
    fn wrong_matrix_size_panics() {
        solve_dense(&[1.0, 2.0, 3.0], 2, 2);
    }

    #[test]
    fn sparse_small_cases() {
        assert!(match_sparse(3, 3, &[]).is_empty());
        assert_eq!(match_sparse(2, 2, &[(1, 0, 3.0)]), vec![(1, 0)]);
        // Star: one row, three columns -> the cheapest.
        assert_eq!(match_sparse(1, 3, &[(0, 0, 3.0), (0, 1, 1.0), (0, 2, 2.0)]), vec![(0, 1)]);
        // Star: one column, rows compete.
        assert_eq!(match_sparse(3, 1, &[(0, 0, 3.0), (1, 0, 1.0), (2, 0, 2.0)]), vec![(1, 0)]);
        // Repeated pair: the cheapest counts; non-finite edges ignored (two pairs beat one).
        let e = [(0, 0, 5.0), (0, 1, 3.0), (1, 0, 4.0), (0, 0, 0.5), (1, 1, INF)];
        assert_eq!(match_sparse(2, 2, &e), vec![(0, 1), (1, 0)]);
        let e = [(0, 0, 5.0), (1, 0, 4.0), (0, 0, 0.5), (1, 1, INF)];
        assert_eq!(match_sparse(2, 2, &e), vec![(0, 0)]);
        let e = [(0, 0, 5.0), (0, 1, 3.0), (1, 0, 4.0), (0, 0, 0.5), (1, 1, 0.25)];
        assert_eq!(match_sparse(2, 2, &e), vec![(0, 0), (1, 1)]);
        // Cardinality first: (0,1)+(1,0) = 4 beats (0,0) = 1 alone.
        let e = [(0, 0, 1.0), (0, 1, 2.0), (1, 0, 2.0)];
        assert_eq!(match_sparse(2, 2, &e), vec![(0, 1), (1, 0)]);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn sparse_out_of_range_panics() {
        match_sparse(2, 2, &[(0, 2, 1.0)]);
    }

    #[test]
    fn sparse_many_small_components_is_fast() {
        // 20 000 rows in 2×2 blocks: row i may take column i (cost 1) or its partner (cost 0.5,
        // but only for even rows) — each block's optimum is the diagonal at cost 2.
        let n = 20_000;
        let mut edges = Vec::new();
        for i in 0..n {
            edges.push((i, i, 1.0));
            if i % 2 == 0 {
                edges.push((i, i + 1, 0.5));
            }
        }
        let m = match_sparse(n, n, &edges);
        assert_eq!(m.len(), n);
        assert!(m.iter().all(|&(r, c)| r == c));
    }

    fn cost_entry() -> impl Strategy<Value = f64> {
        prop_oneof![
            6 => 0.0..100.0f64,
            2 => (0..5u8).prop_map(f64::from), // ties
            1 => -50.0..0.0f64,
            1 => Just(INF),
        ]
    }

    fn matrix() -> impl Strategy<Value = (usize, usize, Vec<f64>)> {
        (0..=6usize, 0..=6usize).prop_flat_map(|(n, m)| {
            (Just(n), Just(m), proptest::collection::vec(cost_entry(), n * m))
        })
    }

    fn graph() -> impl Strategy<Value = (usize, usize, Vec<(usize, usize, f64)>)> {
        (1..=6usize, 1..=6usize).prop_flat_map(|(n, m)| {
            let edge =
                (0..n, 0..m, prop_oneof![3 => 0.0..20.0f64, 1 => (0..3u8).prop_map(f64::from)]);
            (Just(n), Just(m), proptest::collection::vec(edge, 0..16))
        })
    }

    proptest! {
        #[test]
        fn dense_matches_brute_force((n, m, c) in matrix()) {
            let a = solve_dense(&c, n, m);
            prop_assert_eq!(a.len(), n);
            let (k, sum) = total(&c, m, &a);
            let (bk, bsum) = brute(&c, n, m);
            prop_assert_eq!(k, bk);
            prop_assert!((sum - bsum).abs() <= 1e-9 * (1.0 + bsum.abs()), "{} vs {}", sum, bsum);
        }

        #[test]
        fn sparse_matches_brute_force((n, m, edges) in graph()) {
            let got = match_sparse(n, m, &edges);
            let mut dense = vec![INF; n * m];
            for &(r, c, w) in &edges {
                dense[r * m + c] = dense[r * m + c].min(w);
            }
            let mut rows = std::collections::HashSet::new();
            let mut cols = std::collections::HashSet::new();
            let mut sum = 0.0;
            for &(r, c) in &got {
                prop_assert!(dense[r * m + c].is_finite(), "({}, {}) is not an edge", r, c);
                prop_assert!(rows.insert(r) && cols.insert(c), "not one-to-one: {:?}", got);
                sum += dense[r * m + c];
            }
            let (bk, bsum) = brute(&dense, n, m);
            prop_assert_eq!(got.len(), bk);
            prop_assert!((sum - bsum).abs() <= 1e-9 * (1.0 + bsum), "{} vs {}", sum, bsum);
            // Same answer as the dense solver on the whole matrix.
            let whole = solve_dense(&dense, n, m);
            prop_assert_eq!(total(&dense, m, &whole).0, bk);
        }
    }
}

/// Frame-to-frame (or gap-closing) links as in Jaqaman et al. (2008) and TrackMate's LAP
/// tracker: among the candidate pairs `(row, col, cost)`, the one-to-one set of links that
/// minimises `Σ links cost + (unlinked rows + unlinked cols) × alt`, i.e. `Σ (cost − alt)`
/// over the links. Every row may instead "end" and every column "start" at the alternative
/// cost `alt`.
///
/// This is TrackMate's `(nR + nC)²` block matrix (TR/BL diagonals and the transposed BR block
/// all at `alt`) solved as the equivalent rectangular problem `nR × (nC + nR)` — row `i`'s own
/// "end" column costs 0, a candidate costs `cost − alt` — component by component of the
/// candidate graph. Non-finite costs are ignored; for repeated pairs the cheapest counts.
/// Returns the links sorted by row.
///
/// # Panics
///
/// If an edge names a row ≥ `n_rows` or a column ≥ `n_cols`.
pub fn link_with_alternatives(
    n_rows: usize,
    n_cols: usize,
    edges: &[(usize, usize, f64)],
    alt: f64,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    link_with_alternatives_in(&mut Workspace::default(), n_rows, n_cols, edges, alt, &mut out);
    out
}

/// [`link_with_alternatives`] with the workspace's buffers; the links (sorted by row) replace
/// the contents of `out`.
pub(crate) fn link_with_alternatives_in(
    ws: &mut Workspace,
    n_rows: usize,
    n_cols: usize,
    edges: &[(usize, usize, f64)],
    alt: f64,
    out: &mut Vec<(usize, usize)>,
) {
    out.clear();
    let nodes = n_rows + n_cols;
    // Union–find over rows (0..n_rows) and columns (n_rows..), path halving, union by size.
    let (parent, size) = (&mut ws.parent, &mut ws.size);
    parent.clear();
    parent.extend(0..nodes);
    size.clear();
    size.resize(nodes, 1);
    let find = |parent: &mut [usize], mut a: usize| {
        while parent[a] != a {
            parent[a] = parent[parent[a]];
            a = parent[a];
        }
        a
    };
    for &(r, c, w) in edges {
        assert!(r < n_rows && c < n_cols, "edge ({r}, {c}) outside {n_rows}×{n_cols}");
        if w.is_finite() {
            let (mut a, mut b) = (find(parent, r), find(parent, n_rows + c));
            if a != b {
                if size[a] < size[b] {
                    std::mem::swap(&mut a, &mut b);
                }
                parent[b] = a;
                size[a] += size[b];
            }
        }
    }
    // Edges grouped by component: by root, then input order (a counting sort).
    let mut order = std::mem::take(&mut ws.order);
    let mut root = std::mem::take(&mut ws.root);
    let count = &mut ws.count;
    count.clear();
    count.resize(nodes + 1, 0);
    root.clear();
    for &(r, _, w) in edges {
        let x = if w.is_finite() { find(parent, r) } else { usize::MAX };
        root.push(x);
        if x != usize::MAX {
            count[x + 1] += 1;
        }
    }
    for x in 0..nodes {
        count[x + 1] += count[x];
    }
    order.clear();
    order.resize(count[nodes], 0);
    for (k, &x) in root.iter().enumerate() {
        if x != usize::MAX {
            order[count[x]] = k;
            count[x] += 1;
        }
    }
    // Local indices of rows and columns within a component (usize::MAX = not yet seen).
    ws.row_idx.clear();
    ws.row_idx.resize(n_rows, usize::MAX);
    ws.col_idx.clear();
    ws.col_idx.resize(n_cols, usize::MAX);
    let mut start = 0;
    while start < order.len() {
        let x = root[order[start]];
        let mut end = start + 1;
        while end < order.len() && root[order[end]] == x {
            end += 1;
        }
        let ks = &order[start..end];
        start = end;
        if ks.len() == 1 {
            let (r, c, w) = edges[ks[0]];
            if w - alt < 0.0 {
                out.push((r, c));
            }
            continue;
        }
        let (rows, cols) = (&mut ws.rows, &mut ws.cols);
        rows.clear();
        cols.clear();
        for &k in ks {
            let (r, c, _) = edges[k];
            if ws.row_idx[r] == usize::MAX {
                ws.row_idx[r] = rows.len();
                rows.push(r);
            }
            if ws.col_idx[c] == usize::MAX {
                ws.col_idx[c] = cols.len();
                cols.push(c);
            }
        }
        let (nr, nc) = (rows.len(), cols.len());
        let width = nc + nr;
        let mut m = std::mem::take(&mut ws.dense);
        m.clear();
        m.resize(nr * width, f64::INFINITY);
        for i in 0..nr {
            m[i * width + nc + i] = 0.0;
        }
        for &k in ks {
            let (r, c, w) = edges[k];
            let cell = &mut m[ws.row_idx[r] * width + ws.col_idx[c]];
            *cell = cell.min(w - alt);
        }
        solve_dense_in(ws, &m, nr, width);
        ws.dense = m;
        for (i, a) in ws.assignment.iter().enumerate() {
            if let Some(j) = *a {
                if j < nc {
                    out.push((ws.rows[i], ws.cols[j]));
                }
            }
        }
        for &r in &ws.rows {
            ws.row_idx[r] = usize::MAX;
        }
        for &c in &ws.cols {
            ws.col_idx[c] = usize::MAX;
        }
    }
    ws.order = order;
    ws.root = root;
    out.sort_unstable();
}

#[cfg(test)]
mod alternative_tests {
    use super::*;

    #[test]
    fn trackmate_worked_example() {
        // ../shared/reference/lap-tracking.md §5: rows = spots 0, 1; cols = spots 3, 4.
        let edges = [(0, 0, 1.0), (0, 1, 169.0), (1, 0, 169.0)];
        let alt = 1.05 * 169.0;
        assert_eq!(link_with_alternatives(2, 2, &edges, alt), vec![(0, 0)]);
    }

    #[test]
    fn prefers_two_cheap_links_over_one_cheaper() {
        let edges = [(0, 0, 5.0), (0, 1, 6.0), (1, 0, 6.0)];
        assert_eq!(link_with_alternatives(2, 2, &edges, 100.0), vec![(0, 1), (1, 0)]);
        // With a low alternative cost, ending beats an expensive link.
        assert_eq!(link_with_alternatives(2, 2, &edges, 5.5), vec![(0, 0)]);
    }

    #[test]
    fn brute_force_agrees() {
        use proptest::prelude::*;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        runner
            .run(
                &(1usize..5, 1usize..5, proptest::collection::vec(0.0f64..10.0, 16), 0.0f64..12.0),
                |(nr, nc, w, alt)| {
                    let edges: Vec<(usize, usize, f64)> = (0..nr)
                        .flat_map(|r| (0..nc).map(move |c| (r, c)))
                        .filter(|(r, c)| (r * 7 + c * 3) % 4 != 0)
                        .map(|(r, c)| (r, c, w[r * 4 + c]))
                        .collect();
                    let got = link_with_alternatives(nr, nc, &edges, alt);
                    let score = |links: &[(usize, usize)]| -> f64 {
                        links
                            .iter()
                            .map(|&(r, c)| {
                                edges.iter().find(|e| e.0 == r && e.1 == c).unwrap().2 - alt
                            })
                            .sum()
                    };
                    // Brute force over subsets of edges forming a matching.
                    let mut best = 0.0f64;
                    for mask in 0u32..(1 << edges.len()) {
                        let pick: Vec<(usize, usize)> = (0..edges.len())
                            .filter(|k| mask >> k & 1 == 1)
                            .map(|k| (edges[k].0, edges[k].1))
                            .collect();
                        let mut rs: Vec<usize> = pick.iter().map(|p| p.0).collect();
                        let mut cs: Vec<usize> = pick.iter().map(|p| p.1).collect();
                        rs.sort();
                        rs.dedup();
                        cs.sort();
                        cs.dedup();
                        if rs.len() == pick.len() && cs.len() == pick.len() {
                            best = best.min(score(&pick));
                        }
                    }
                    prop_assert!((score(&got) - best).abs() < 1e-9, "{} vs {}", score(&got), best);
                    Ok(())
                },
            )
            .unwrap();
    }
}
