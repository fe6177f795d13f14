//! Vector helpers and the fast arccos of the angle measures.

pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// Cosine of the angle between two vectors, computed as celltrackR's `vecAngle` does before
/// its acos: each vector divided by its length, the dot product clamped to [−1, 1]. A zero
/// vector gives NaN (0/0), as in celltrackR.
pub(crate) fn cosine(a: [f64; 3], b: [f64; 3]) -> f64 {
    let na = dot(a, a).sqrt();
    let nb = dot(b, b).sqrt();
    let ua = [a[0] / na, a[1] / na, a[2] / na];
    let ub = [b[0] / nb, b[1] / nb, b[2] / nb];
    dot(ua, ub).clamp(-1.0, 1.0)
}

/// Angle between two vectors, radians in [0, π] (celltrackR's `vecAngle`); NaN for a zero
/// vector.
pub(crate) fn angle(a: [f64; 3], b: [f64; 3]) -> f64 {
    acos(cosine(a, b))
}

/// Coefficients, highest degree first, of P(z) = (asin(√z)/√z − 1)/z on z ∈ [0, 1/4]: the
/// Chebyshev interpolant of degree 12 (mpmath `chebyfit`, 50 digits; its error is 1.5e-17,
/// below the rounding of the evaluation).
const ASIN_P: [f64; 13] = [
    0.028757851367421566,
    -0.014851887071247204,
    0.01740087944269402,
    0.005457506718640358,
    0.01032281435018578,
    0.011479177415184906,
    0.013971212973552933,
    0.017352392720869973,
    0.02237217294214989,
    0.030381944138531247,
    0.04464285714635543,
    0.07499999999998433,
    0.16666666666666669,
];

/// asin(x) − x = x·z·P(z), z = x², for |x| ≤ 1/2.
#[inline(always)]
fn asin_tail(x: f64, z: f64) -> f64 {
    let mut p = ASIN_P[0];
    for &c in &ASIN_P[1..] {
        p = p * z + c;
    }
    x * z * p
}

/// arccos in radians for x in [−1, 1] (NaN stays NaN), within a few ulp of the libm's — the
/// turning angles call it once per step, and the libm's correctly rounded arccos costs ~30 ns.
/// The reduction is the classic one (as in fdlibm): asin's polynomial for |x| ≤ 1/2, and
/// acos(x) = 2·asin(√((1 − x)/2)) (or π minus that of −x) beyond, where 1 − x is exact.
#[inline]
pub(crate) fn acos(x: f64) -> f64 {
    const PIO2_HI: f64 = std::f64::consts::FRAC_PI_2; // π/2 rounded to f64
    const PIO2_LO: f64 = 6.123_233_995_736_766e-17; // π/2 − PIO2_HI
    if x.abs() <= 0.5 {
        PIO2_HI - (x - (PIO2_LO - asin_tail(x, x * x)))
    } else if x > 0.5 {
        let z = (1.0 - x) * 0.5;
        let s = z.sqrt();
        2.0 * (s + asin_tail(s, z))
    } else {
        // x < −1/2, or NaN (which every step below keeps).
        let z = (1.0 + x) * 0.5;
        let s = z.sqrt();
        2.0 * (PIO2_HI - (s + (asin_tail(s, z) - PIO2_LO)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The polynomial arccos agrees with the libm's to a few ulp over [−1, 1]: a dense sweep,
    /// the branch boundaries ±1/2, the ends, values next to them, and NaN.
    #[test]
    fn acos_matches_libm_to_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut check = |x: f64| {
            let (got, want) = (acos(x), x.acos());
            let ulp = f64::EPSILON * want.max(f64::MIN_POSITIVE);
            worst = worst.max((got - want).abs() / ulp);
        };
        let n = 2_000_000;
        for i in 0..=n {
            check(-1.0 + 2.0 * i as f64 / n as f64);
        }
        for x in [0.5f64, -0.5, 1.0, -1.0, 0.0, -0.0, 1e-300, 0.999_999_999_999, -0.999_999_999_999]
        {
            for y in [x, x.next_up(), x.next_down()] {
                if (-1.0..=1.0).contains(&y) {
                    check(y);
                }
            }
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(acos(1.0), 0.0);
        assert!(acos(f64::NAN).is_nan());
        assert!((acos(-1.0) - std::f64::consts::PI).abs() <= 4.5e-16);
    }
}
