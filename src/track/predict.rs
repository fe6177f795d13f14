//! Constant-velocity motion prediction: one Kalman filter per track and axis.
//!
//! State (position µm, velocity µm/min) per axis; the process is a continuous white-noise
//! acceleration model (Bar-Shalom), the measurement the detected position. Leukocytes walk
//! persistently, so the next position is better predicted by `x + v·Δt` than by `x`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Noise settings of the motion model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PredictConfig {
    /// Spectral density of the random acceleration, µm²/min³ (how fast velocities change).
    #[schemars(extend("exclusiveMinimum" = 0, "unit" = "µm²/min³"))]
    pub acceleration_noise: f64,
    /// Variance of a detected position, µm².
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub measurement_noise_um2: f64,
    /// Prior standard deviation of a new track's velocity, µm/min.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub initial_speed_sd_um_per_min: f64,
}

impl Default for PredictConfig {
    fn default() -> Self {
        PredictConfig {
            acceleration_noise: 20.0,
            measurement_noise_um2: 1.0,
            initial_speed_sd_um_per_min: 8.0,
        }
    }
}

/// The filter of one track: three independent axes (z unused in 2D).
///
/// The axes share one covariance: it starts equal and its updates depend on the time steps
/// and the noise settings only, never on the positions. The 2×2 algebra is written out in
/// scalars (the same operations in the same order as the matrix form, so the same numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kalman {
    /// Position (µm) and velocity (µm/min) of each axis.
    x: [[f64; 2]; 3],
    /// Covariance `[[p00, p01], [p10, p11]]` (µm², µm²/min, µm²/min²), row-major.
    p: [f64; 4],
}

impl Kalman {
    /// A new track at `pos` (µm), velocity 0 with the prior uncertainty of `cfg`.
    pub fn new(pos: [f64; 3], cfg: &PredictConfig) -> Self {
        let v0 = cfg.initial_speed_sd_um_per_min.powi(2);
        Kalman { x: pos.map(|q| [q, 0.0]), p: [cfg.measurement_noise_um2, 0.0, 0.0, v0] }
    }

    /// The predicted position `dt_min` minutes ahead (no state change).
    pub fn predict_position(&self, dt_min: f64) -> [f64; 3] {
        std::array::from_fn(|a| self.x[a][0] + self.x[a][1] * dt_min)
    }

    /// The estimated velocity, µm/min.
    pub fn velocity(&self) -> [f64; 3] {
        std::array::from_fn(|a| self.x[a][1])
    }

    /// Advances the filter by `dt_min` minutes and corrects it with the detected `pos`.
    pub fn update(&mut self, pos: [f64; 3], dt_min: f64, cfg: &PredictConfig) {
        let dt = dt_min.max(1e-9);
        let q = cfg.acceleration_noise;
        let (q00, q01, q11) = (q * dt.powi(3) / 3.0, q * dt * dt / 2.0, q * dt);
        let r = cfg.measurement_noise_um2;
        // Predicted covariance F·P·Fᵀ + Q with F = [[1, dt], [0, 1]].
        let [p00, p01, p10, p11] = self.p;
        let (a00, a01) = (p00 + dt * p10, p01 + dt * p11); // F·P, first row
        let (a10, a11) = (p10, p11); // second row
        let pp00 = (a00 + a01 * dt) + q00;
        let pp01 = a01 + q01;
        let pp10 = (a10 + a11 * dt) + q01;
        let pp11 = a11 + q11;
        // Gain and corrected covariance (I − K·H)·P with H = [1, 0].
        let s = pp00 + r;
        let (k0, k1) = (pp00 / s, pp10 / s);
        self.p = [(1.0 - k0) * pp00, (1.0 - k0) * pp01, -k1 * pp00 + pp10, -k1 * pp01 + pp11];
        for a in 0..3 {
            let [x0, x1] = self.x[a];
            let pred = x0 + dt * x1;
            let innov = pos[a] - pred;
            self.x[a] = [pred + k0 * innov, x1 + k1 * innov];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_constant_velocity() {
        let cfg = PredictConfig::default();
        let mut k = Kalman::new([0.0, 0.0, 0.0], &cfg);
        // 10 µm/min along x, sampled every 0.5 min.
        for i in 1..=6 {
            k.update([5.0 * i as f64, 0.0, 1.0], 0.5, &cfg);
        }
        let p = k.predict_position(0.5);
        assert!((p[0] - 35.0).abs() < 0.5, "{p:?}");
        assert!(p[1].abs() < 1e-9);
        assert!((k.velocity()[0] - 10.0).abs() < 1.0);
        // A stationary track predicts (near) its position.
        let mut s = Kalman::new([3.0, 4.0, 5.0], &cfg);
        s.update([3.0, 4.0, 5.0], 0.5, &cfg);
        assert!((s.predict_position(0.5)[0] - 3.0).abs() < 1e-9);
    }
}
