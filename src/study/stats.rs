//! The statistics of a study: tests and intervals whose unit is the mouse, and the
//! track-level tests reported beside them for comparison.
//!
//! - [`permutation_test`]: the difference of means of two sets of per-mouse values, its
//!   two-sided p-value by relabelling the mice (every relabelling when there are few, else
//!   seeded random draws with the (1 + k)/(1 + n) rule of Phipson & Smyth 2010).
//! - [`hierarchical_bootstrap`]: a 95 % interval of the difference of group medians (and
//!   means) of per-mouse values, resampling mice within each group and then tracks within
//!   each mouse (Saravanan et al. 2020); seeded.
//! - [`cliffs_delta`], [`hedges_g`]: effect sizes of the per-mouse values.
//! - [`mann_whitney_u`], [`ks_2samp`]: scipy's `mannwhitneyu` and `ks_2samp` (two-sided, the
//!   default `method="auto"`), for the pooled tracks — which treat tracks as independent.
//! - [`holm`], [`benjamini_hochberg`]: p-values adjusted across a table (the latter equals
//!   scipy's `false_discovery_control(method="bh")`).

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::metrics::population::quantiles;

/// Median of finite values (NaN when there are none); the mean of the two middle ones for
/// an even count.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    median_in_place(&mut v)
}

fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, &mut hi, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return hi;
    }
    let lo = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo + hi) / 2.0
}

/// Mean of finite values (NaN when there are none).
pub fn mean(values: &[f64]) -> f64 {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn variance(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)
}

/// The standard normal distribution's upper tail, P(Z > z).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(z / std::f64::consts::SQRT_2)
}

/// Ranks (1-based, ties given their mean rank) and the sizes of the tie groups.
fn ranks(v: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && v[order[j]] == v[order[i]] {
            j += 1;
        }
        let rank = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            r[k] = rank;
        }
        ties.push(j - i);
        i = j;
    }
    (r, ties)
}

/// The Mann–Whitney U test, two-sided, as scipy's `mannwhitneyu(x, y)` with its defaults:
/// returns (U of `x`, p). Exact (the distribution of U without ties) when either sample has
/// at most 8 values and there are no ties, else the normal approximation with the tie
/// correction and a continuity correction. NaN values are left out; (NaN, NaN) when a sample
/// is empty.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> (f64, f64) {
    let x: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let y: Vec<f64> = y.iter().copied().filter(|v| v.is_finite()).collect();
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return (f64::NAN, f64::NAN);
    }
    let all: Vec<f64> = x.iter().chain(&y).copied().collect();
    let (r, ties) = ranks(&all);
    let r1: f64 = r[..n1].iter().sum();
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let u2 = (n1 * n2) as f64 - u1;
    let u = u1.max(u2);
    let has_ties = ties.iter().any(|&t| t > 1);
    let p = if (n1 > 8 && n2 > 8) || has_ties {
        let n = (n1 + n2) as f64;
        let tie: f64 = ties.iter().map(|&t| (t as f64).powi(3) - t as f64).sum();
        let s = ((n1 * n2) as f64 / 12.0 * ((n + 1.0) - tie / (n * (n - 1.0)))).sqrt();
        let z = (u - (n1 * n2) as f64 / 2.0 - 0.5) / s;
        2.0 * normal_sf(z)
    } else {
        2.0 * mwu_exact_sf(u.round() as usize, n1.min(n2), n1.max(n2))
    };
    (u1, p.clamp(0.0, 1.0))
}

/// P(U ≥ u) for samples of sizes m ≤ n without ties: the coefficients of the Gaussian
/// binomial coefficient [m + n choose m]_q (the number of arrangements with each U) over
/// C(m + n, m).
fn mwu_exact_sf(u: usize, m: usize, n: usize) -> f64 {
    let deg = m * n;
    let mut c = vec![0.0f64; deg + 1];
    c[0] = 1.0;
    // ∏_{i=1..m} (1 − q^{n+i}) / (1 − q^i)
    for i in 1..=m {
        let k = n + i;
        for j in (k..=deg).rev() {
            c[j] -= c[j - k];
        }
        for j in i..=deg {
            c[j] += c[j - i];
        }
    }
    let total: f64 = c.iter().sum();
    if u > deg {
        return 0.0;
    }
    c[u..].iter().sum::<f64>() / total
}

/// The two-sample Kolmogorov–Smirnov test, two-sided, as scipy's `ks_2samp(x, y)` with its
/// defaults: returns (D, p). Exact (lattice paths, as scipy) when neither sample has more than
/// 10,000 values, else Kolmogorov's limit distribution at √(mn/(m+n))·D (scipy then uses the
/// one-sample distribution at n = mn/(m+n); the two differ by less than 10⁻³ at these
/// sizes). NaN values are left out; (NaN, NaN) when a sample is empty.
pub fn ks_2samp(x: &[f64], y: &[f64]) -> (f64, f64) {
    let mut a: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let mut b: Vec<f64> = y.iter().copied().filter(|v| v.is_finite()).collect();
    let (m, n) = (a.len(), b.len());
    if m == 0 || n == 0 {
        return (f64::NAN, f64::NAN);
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let g = gcd(m, n);
    let (mg, ng) = ((m / g) as i64, (n / g) as i64);
    let lcm = (mg * n as i64) as f64;
    // D in units of 1/lcm, exactly: |i/m − j/n| = |i·n/g − j·m/g| / lcm after each value.
    let (mut i, mut j, mut h) = (0usize, 0usize, 0i64);
    while i < m || j < n {
        let v = if j >= n || (i < m && a[i] <= b[j]) { a[i] } else { b[j] };
        while i < m && a[i] == v {
            i += 1;
        }
        while j < n && b[j] == v {
            j += 1;
        }
        h = h.max((i as i64 * ng - j as i64 * mg).abs());
    }
    let d = h as f64 / lcm;
    if h == 0 {
        return (0.0, 1.0);
    }
    let p = if m.max(n) <= 10_000 {
        ks_exact_outside(m, n, mg, ng, h)
    } else {
        let en = (m * n) as f64 / (m + n) as f64;
        kolmogorov_sf(en.sqrt() * d)
    };
    (d, p.clamp(0.0, 1.0))
}

/// P(max |i·n/g − j·m/g| ≥ h) over a uniformly random lattice path from (0, 0) to (m, n):
/// the probability of each point reached while staying inside, step by step (the next step
/// goes right with probability (m − i)/(m + n − i − j)).
fn ks_exact_outside(m: usize, n: usize, mg: i64, ng: i64, h: i64) -> f64 {
    let inside = |i: usize, j: usize| (i as i64 * ng - j as i64 * mg).abs() < h;
    let mut row = vec![0.0f64; n + 1]; // P(reach (i, j) inside) for the current i
    row[0] = 1.0;
    for j in 1..=n {
        row[j] = if inside(0, j) {
            row[j - 1] * (n - (j - 1)) as f64 / (m + n - (j - 1)) as f64
        } else {
            0.0
        };
    }
    for i in 1..=m {
        let mut next = vec![0.0f64; n + 1];
        for j in 0..=n {
            if !inside(i, j) {
                continue;
            }
            let left = m + n - (i - 1) - j; // steps left at (i − 1, j)
            let from_below = row[j] * (m - (i - 1)) as f64 / left as f64;
            let from_left = if j > 0 {
                next[j - 1] * (n - (j - 1)) as f64 / (m + n - i - (j - 1)) as f64
            } else {
                0.0
            };
            next[j] = from_below + from_left;
        }
        row = next;
    }
    1.0 - row[n]
}

/// Kolmogorov's limit distribution's upper tail, 2 Σ (−1)^{k−1} exp(−2k²λ²).
fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    let mut s = 0.0;
    for k in 1..=100 {
        let t = (-2.0 * (k * k) as f64 * lambda * lambda).exp();
        s += if k % 2 == 1 { t } else { -t };
        if t < 1e-17 {
            break;
        }
    }
    (2.0 * s).clamp(0.0, 1.0)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Holm's step-down adjustment: the i-th smallest p becomes max over j ≤ i of
/// min(1, (m − j + 1)·p_(j)), m the number of finite p-values; NaN stays NaN.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = order.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 0.0f64;
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// Benjamini–Hochberg: the i-th smallest p becomes min over j ≥ i of min(1, m·p_(j)/j), m the
/// number of finite p-values (scipy's `false_discovery_control(p, method="bh")`); NaN stays
/// NaN.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = order.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (k, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (k + 1) as f64);
        out[i] = running.min(1.0);
    }
    out
}

/// Cliff's delta of `a` against `b`: P(a > b) − P(a < b) over every pair, in [−1, 1]; NaN
/// when either is empty.
pub fn cliffs_delta(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let mut s = 0i64;
    for x in a {
        for y in b {
            s += (x > y) as i64 - (x < y) as i64;
        }
    }
    s as f64 / (a.len() * b.len()) as f64
}

/// Hedges' g of `a` against `b`: (mean a − mean b) / pooled sd × (1 − 3/(4(nₐ + n_b) − 9));
/// NaN with fewer than 2 values in either or a pooled sd of 0.
pub fn hedges_g(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (a.len() as f64, b.len() as f64);
    if na < 2.0 || nb < 2.0 {
        return f64::NAN;
    }
    let sp = (((na - 1.0) * variance(a) + (nb - 1.0) * variance(b)) / (na + nb - 2.0)).sqrt();
    if sp <= 0.0 || !sp.is_finite() {
        return f64::NAN;
    }
    (mean(a) - mean(b)) / sp * (1.0 - 3.0 / (4.0 * (na + nb) - 9.0))
}

/// A permutation test's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Permutation {
    /// mean(a) − mean(b).
    pub statistic: f64,
    /// Two-sided p-value: the share of relabellings whose |statistic| is at least the
    /// observed one.
    pub p: f64,
    /// True when every relabelling was counted.
    pub exact: bool,
    /// Relabellings counted.
    pub relabellings: usize,
}

/// Number of ways to choose k of n, saturating at `usize::MAX`.
fn choose(n: usize, k: usize) -> usize {
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        c = c * (n - i) as u128 / (i + 1) as u128;
        if c > usize::MAX as u128 {
            return usize::MAX;
        }
    }
    c as usize
}

/// The permutation test of the difference of means of `a` and `b` (each one value per mouse,
/// itself a median over the mouse's tracks), two-sided — the mean rather than the median
/// because with few mice a median ignores the outer values, so that 4 against 4 mice could
/// never reach p < 0.05: exact over every relabelling when there are at most `max_exact`, else
/// `draws` seeded random relabellings with p = (1 + k)/(1 + draws). NaN p with fewer than one
/// value on either side.
pub fn permutation_test(
    a: &[f64],
    b: &[f64],
    max_exact: usize,
    draws: usize,
    seed: u64,
) -> Permutation {
    let stat = |x: &[f64], y: &[f64]| mean(x) - mean(y);
    let observed = stat(a, b);
    let (na, n) = (a.len(), a.len() + b.len());
    if a.is_empty() || b.is_empty() || !observed.is_finite() {
        return Permutation { statistic: observed, p: f64::NAN, exact: false, relabellings: 0 };
    }
    let pool: Vec<f64> = a.iter().chain(b).copied().collect();
    let tol = 1e-12 * (1.0 + observed.abs());
    let extreme = |s: f64| s.abs() >= observed.abs() - tol;
    let total = choose(n, na);
    let (mut xa, mut xb) = (Vec::with_capacity(na), Vec::with_capacity(n - na));
    if total <= max_exact {
        let mut idx: Vec<usize> = (0..na).collect();
        let mut hits = 0usize;
        let mut count = 0usize;
        loop {
            xa.clear();
            xb.clear();
            let mut k = 0;
            for (i, &v) in pool.iter().enumerate() {
                if k < na && idx[k] == i {
                    xa.push(v);
                    k += 1;
                } else {
                    xb.push(v);
                }
            }
            hits += extreme(stat(&xa, &xb)) as usize;
            count += 1;
            // Next combination in lexicographic order.
            let mut i = na;
            loop {
                if i == 0 {
                    return Permutation {
                        statistic: observed,
                        p: hits as f64 / count as f64,
                        exact: true,
                        relabellings: count,
                    };
                }
                i -= 1;
                if idx[i] < n - na + i {
                    idx[i] += 1;
                    for j in i + 1..na {
                        idx[j] = idx[j - 1] + 1;
                    }
                    break;
                }
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut perm: Vec<usize> = (0..n).collect();
    let mut hits = 0usize;
    for _ in 0..draws {
        // A partial Fisher–Yates shuffle: the first na are group a.
        for i in 0..na {
            let j = rng.random_range(i..n);
            perm.swap(i, j);
        }
        xa.clear();
        xb.clear();
        xa.extend(perm[..na].iter().map(|&i| pool[i]));
        xb.extend(perm[na..].iter().map(|&i| pool[i]));
        hits += extreme(stat(&xa, &xb)) as usize;
    }
    Permutation {
        statistic: observed,
        p: (1 + hits) as f64 / (1 + draws) as f64,
        exact: false,
        relabellings: draws,
    }
}

/// How a mouse's value is made from its tracks' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Of {
    /// The median over its tracks (every measure).
    Median,
    /// The mean over its tracks (class fractions: the mean of 0/1 values).
    Mean,
}

impl Of {
    /// The mouse's value from its tracks' values (reordered).
    pub fn of(self, v: &mut [f64]) -> f64 {
        match self {
            Of::Median => median_in_place(v),
            Of::Mean => mean(v),
        }
    }
}

/// The 95 % percentile interval of one group's median (or mean, `of_group`) of per-mouse
/// values (`of` each mouse's tracks), resampling mice and then tracks within each mouse as
/// [`hierarchical_bootstrap`]. Seeded; NaN without mice.
pub fn group_interval(
    mice: &[Vec<f64>],
    of: Of,
    of_group: Of,
    samples: usize,
    seed: u64,
) -> [f64; 2] {
    let mice: Vec<&Vec<f64>> = mice.iter().filter(|m| !m.is_empty()).collect();
    if mice.is_empty() || samples == 0 {
        return [f64::NAN; 2];
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut buf, mut values) = (Vec::new(), Vec::new());
    let mut stat: Vec<f64> = (0..samples)
        .map(|_| {
            values.clear();
            for _ in 0..mice.len() {
                let m = mice[rng.random_range(0..mice.len())];
                buf.clear();
                buf.extend((0..m.len()).map(|_| m[rng.random_range(0..m.len())]));
                values.push(of.of(&mut buf));
            }
            of_group.of(&mut values)
        })
        .collect();
    stat.retain(|x| x.is_finite());
    if stat.is_empty() {
        return [f64::NAN; 2];
    }
    let q = quantiles(&mut stat, &[0.025, 0.975]);
    [q[0], q[1]]
}

/// A hierarchical bootstrap's 95 % intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// 2.5 % and 97.5 % quantiles of the difference of group medians of per-mouse values.
    pub median: [f64; 2],
    /// The same for the difference of group means of per-mouse values.
    pub mean: [f64; 2],
}

/// The 95 % percentile intervals of median(a) − median(b) and mean(a) − mean(b), where a and
/// b are the per-mouse values (`of` the mouse's tracks) of two groups, `a` and `b`
/// each one list of track values per mouse: each of `samples` draws resamples the mice of each
/// group with replacement and then each drawn mouse's tracks with replacement. Seeded. NaN
/// when a group has no mouse with tracks.
pub fn hierarchical_bootstrap(
    a: &[Vec<f64>],
    b: &[Vec<f64>],
    of: Of,
    samples: usize,
    seed: u64,
) -> Interval {
    let a: Vec<&Vec<f64>> = a.iter().filter(|m| !m.is_empty()).collect();
    let b: Vec<&Vec<f64>> = b.iter().filter(|m| !m.is_empty()).collect();
    if a.is_empty() || b.is_empty() || samples == 0 {
        return Interval { median: [f64::NAN; 2], mean: [f64::NAN; 2] };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = Vec::new();
    let mut group = |mice: &[&Vec<f64>], rng: &mut ChaCha8Rng, values: &mut Vec<f64>| {
        values.clear();
        for _ in 0..mice.len() {
            let Some(mouse) = mice.choose(rng) else { continue };
            buf.clear();
            buf.extend((0..mouse.len()).map(|_| mouse[rng.random_range(0..mouse.len())]));
            values.push(of.of(&mut buf));
        }
    };
    let (mut va, mut vb) = (Vec::new(), Vec::new());
    let mut d_median = Vec::with_capacity(samples);
    let mut d_mean = Vec::with_capacity(samples);
    for _ in 0..samples {
        group(&a, &mut rng, &mut va);
        group(&b, &mut rng, &mut vb);
        d_mean.push(mean(&va) - mean(&vb));
        d_median.push(median_in_place(&mut va) - median_in_place(&mut vb));
    }
    let ci = |mut v: Vec<f64>| {
        v.retain(|x| x.is_finite());
        if v.is_empty() {
            return [f64::NAN; 2];
        }
        let q = quantiles(&mut v, &[0.025, 0.975]);
        [q[0], q[1]]
    };
    Interval { median: ci(d_median), mean: ci(d_mean) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    // (x, y, scipy 1.17.1 mannwhitneyu (U, p), ks_2samp (D, p)), computed once with
    // `scipy.stats.mannwhitneyu(x, y)` and `scipy.stats.ks_2samp(x, y)` at their defaults.
    #[allow(clippy::type_complexity)]
    fn scipy_cases() -> Vec<(Vec<f64>, Vec<f64>, (f64, f64), (f64, f64))> {
        let medium_x = vec![
            4.484, 5.204, 3.908, 2.871, 3.57, 2.73, 4.619, 8.759, 3.504, 3.286, 5.725, 5.357,
            4.724, 2.814, 4.417, 6.345, 2.288, 3.565, 1.732, 2.352, 1.784, 3.985, 2.378, 5.133,
            4.847, 4.082, 1.273, 3.423, 4.374, 4.743, 2.085, 3.529, 2.748, 2.991, 7.618, 2.993,
            4.409, 6.974, 3.347, 4.238,
        ];
        let medium_y = vec![
            5.785, 5.651, 2.967, 5.686, 10.799, 2.525, 8.412, 5.811, 3.972, 14.883, 8.014, 3.005,
            5.682, 7.303, 4.981, 7.702, 5.295, 7.642, 11.238, 3.905, 6.059, 4.342, 5.834, 3.023,
            4.097, 4.962, 8.58, 9.705, 2.824, 3.679, 7.564, 2.021, 4.342, 5.214, 10.263, 7.727,
            4.648, 4.553, 4.83, 11.725, 4.419, 4.703, 6.529, 5.153, 4.96, 3.136, 5.443, 4.385,
            9.807, 7.588, 5.408, 7.646, 4.618, 9.263, 5.459,
        ];
        vec![
            (
                vec![1.1, 2.3, 0.4, 5.6, 3.2],
                vec![4.1, 6.2, 7.7, 5.9],
                (1.0, 0.031746031746031744),
                (0.8, 0.07936507936507936),
            ),
            (
                vec![1.0, 2.0, 2.0, 3.0, 5.0],
                vec![2.0, 4.0, 4.0, 6.0, 7.0, 8.0],
                (5.0, 0.07934368319771502),
                (0.6333333333333333, 0.17748917748917747),
            ),
            (
                medium_x,
                medium_y,
                (506.0, 7.688109747432506e-06),
                (0.43636363636363634, 0.00017080165754943116),
            ),
            (
                vec![0.5, 0.9, 1.4],
                vec![
                    1.5834, -0.2909, 1.3467, -0.6882, -1.0353, 0.6955, 0.1001, 1.1641, 3.2448,
                    0.1683, 0.3761, 1.2054, 1.493, 0.8236, 0.7941, 1.7025, 1.5199, -0.0337, 0.9208,
                    1.0353,
                ],
                (32.0, 0.8977978543195934),
                (0.35, 0.8063241106719367),
            ),
        ]
    }

    #[test]
    fn mann_whitney_and_ks_equal_scipy() {
        for (x, y, (u, pu), (d, pd)) in scipy_cases() {
            let (gu, gpu) = mann_whitney_u(&x, &y);
            close(gu, u, 1e-12);
            close(gpu, pu, 1e-9);
            let (gd, gpd) = ks_2samp(&x, &y);
            close(gd, d, 1e-12);
            close(gpd, pd, 1e-9);
        }
    }

    #[test]
    fn adjustments_equal_their_definitions() {
        // scipy.stats.false_discovery_control(ps, method="bh")
        let ps = [0.01, 0.04, 0.03, 0.2, 0.005, 0.5, 0.04];
        let bh = benjamini_hochberg(&ps);
        let want = [0.035, 0.056, 0.056, 0.23333333333333336, 0.035, 0.5, 0.056];
        for (a, b) in bh.iter().zip(want) {
            close(*a, b, 1e-12);
        }
        // Holm by hand: sorted 0.005·5, 0.01·4, 0.03·3, 0.04·2 (raised to 0.09), 0.2·1.
        let h = holm(&[0.01, 0.04, 0.03, 0.2, 0.005, f64::NAN]);
        let want = [0.04, 0.09, 0.09, 0.2, 0.025];
        for (a, b) in h.iter().zip(want) {
            close(*a, b, 1e-12);
        }
        assert!(h[5].is_nan());
    }

    #[test]
    fn permutation_p_is_exact_on_a_hand_worked_example() {
        // 1, 2, 3 against 4, 5, 6: of the C(6, 3) = 20 relabellings only the observed one
        // and its mirror have |mean difference| ≥ 3.
        let r = permutation_test(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], 10_000, 0, 1);
        assert!(r.exact);
        assert_eq!(r.relabellings, 20);
        close(r.statistic, -3.0, 0.0);
        close(r.p, 0.1, 1e-15);
        // Random draws approach the exact value.
        let r = permutation_test(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], 10, 20_000, 3);
        assert!(!r.exact);
        close(r.p, 0.1, 0.01);
    }

    #[test]
    fn effect_sizes() {
        close(cliffs_delta(&[3.0, 4.0], &[1.0, 2.0]), 1.0, 0.0);
        close(cliffs_delta(&[1.0, 3.0], &[2.0, 2.0]), 0.0, 0.0);
        // Means 2 and 5, both variances 1: d = −3, J = 1 − 3/(4·6 − 9) = 0.8.
        close(hedges_g(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), -2.4, 1e-12);
        assert!(hedges_g(&[1.0], &[2.0, 3.0]).is_nan());
    }

    #[test]
    fn bootstrap_interval_covers_the_difference() {
        let a: Vec<Vec<f64>> = (0..6)
            .map(|m| (0..20).map(|t| 10.0 + m as f64 * 0.1 + t as f64 * 0.05).collect())
            .collect();
        let b: Vec<Vec<f64>> = (0..6)
            .map(|m| (0..20).map(|t| 5.0 + m as f64 * 0.1 + t as f64 * 0.05).collect())
            .collect();
        let i = hierarchical_bootstrap(&a, &b, Of::Median, 500, 7);
        assert!(i.median[0] < 5.0 && 5.0 < i.median[1], "{i:?}");
        assert!(i.mean[0] < 5.0 && 5.0 < i.mean[1], "{i:?}");
        assert_eq!(i, hierarchical_bootstrap(&a, &b, Of::Median, 500, 7));
    }

    #[test]
    fn exact_mann_whitney_tail() {
        // m = 1, n = 2: U ∈ {0, 1, 2}, each once.
        close(mwu_exact_sf(2, 1, 2), 1.0 / 3.0, 1e-15);
        close(mwu_exact_sf(0, 1, 2), 1.0, 1e-15);
    }
}
