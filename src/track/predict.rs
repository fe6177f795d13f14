//! Constant-velocity motion prediction: one Kalman filter per track and axis.
//!
//! State (position µm, velocity µm/min) per axis; the process is a continuous white-noise
//! acceleration model (Bar-Shalom), the measurement the detected position. Leukocytes walk
//! persistently, so the next position is better predicted by `x + v·Δt` than by `x`.

use nalgebra::{Matrix2, Vector2};
use serde::{Deserialize, Serialize};

/// Noise settings of the motion model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PredictConfig {
    /// Spectral density of the random acceleration, µm²/min³ (how fast velocities change).
    pub acceleration_noise: f64,
    /// Variance of a detected position, µm².
    pub measurement_noise_um2: f64,
    /// Prior standard deviation of a new track's velocity, µm/min.
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
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kalman {
    x: [Vector2<f64>; 3],
    p: [Matrix2<f64>; 3],
}

impl Kalman {
    /// A new track at `pos` (µm), velocity 0 with the prior uncertainty of `cfg`.
    pub fn new(pos: [f64; 3], cfg: &PredictConfig) -> Self {
        let v0 = cfg.initial_speed_sd_um_per_min.powi(2);
        let p0 = Matrix2::new(cfg.measurement_noise_um2, 0.0, 0.0, v0);
        Kalman { x: pos.map(|q| Vector2::new(q, 0.0)), p: [p0; 3] }
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
        let f = Matrix2::new(1.0, dt, 0.0, 1.0);
        let q = cfg.acceleration_noise;
        let qm = Matrix2::new(q * dt.powi(3) / 3.0, q * dt * dt / 2.0, q * dt * dt / 2.0, q * dt);
        let r = cfg.measurement_noise_um2;
        for a in 0..3 {
            let x = f * self.x[a];
            let p = f * self.p[a] * f.transpose() + qm;
            let s = p[(0, 0)] + r;
            let k = Vector2::new(p[(0, 0)] / s, p[(1, 0)] / s);
            let innov = pos[a] - x[0];
            self.x[a] = x + k * innov;
            // Joseph-free form is fine for this well-conditioned 2×2 case.
            let kh = Matrix2::new(k[0], 0.0, k[1], 0.0);
            self.p[a] = (Matrix2::identity() - kh) * p;
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
