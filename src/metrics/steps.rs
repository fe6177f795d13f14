//! Per-step measures: one row per step (two consecutive points of a track).

use std::path::Path;

use rayon::prelude::*;

use super::{angle, dot, sub, write_table, TrackSet};
use crate::error::Result;
use crate::table::{fmt_f64, TrackIds};

/// One row per step s_i = p_{i+1} − p_i of each track (consecutive points sorted by frame, also
/// across a missing frame), in track order (columnar).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepMetrics {
    /// Track id, as given.
    pub track_id: TrackIds,
    /// Frame of the step's first point.
    pub frame: Vec<u32>,
    /// Time of the step's first point, s.
    pub t_s: Vec<f64>,
    /// x displacement, µm.
    pub dx_um: Vec<f64>,
    /// y displacement, µm.
    pub dy_um: Vec<f64>,
    /// z displacement, µm; NaN in a 2D analysis (z is not part of it).
    pub dz_um: Vec<f64>,
    /// Step length |s_i|, µm (in the dimensions of the analysis).
    pub step_um: Vec<f64>,
    /// Instantaneous speed |s_i| / (t_{i+1} − t_i), µm/min.
    pub speed_um_per_min: Vec<f64>,
    /// Angle between the previous step and this one, degrees in [0, 180] (unsigned, as
    /// celltrackR's `overallAngle`); NaN for a track's first step and when either step has
    /// zero length.
    pub turning_angle_deg: Vec<f64>,
}

impl TrackSet {
    /// Per-step measures (parallel over steps).
    pub fn steps(&self) -> StepMetrics {
        let n_steps = self.n_steps();
        let mut start = Vec::with_capacity(n_steps);
        let mut track = Vec::with_capacity(n_steps);
        for k in 0..self.n_tracks() {
            let r = self.range(k);
            start.extend(r.start..r.end - 1);
            track.extend(std::iter::repeat_n(k, r.end - 1 - r.start));
        }
        let (p, t) = (&self.pos, &self.t_s);
        let col = |f: &(dyn Fn(usize, usize) -> f64 + Sync)| -> Vec<f64> {
            start.par_iter().enumerate().map(|(s, &i)| f(s, i)).collect()
        };
        let axis = |a: usize| col(&|_, i| p[i + 1][a] - p[i][a]);
        let length = |i: usize| {
            let d = sub(p[i + 1], p[i]);
            dot(d, d).sqrt()
        };
        StepMetrics {
            track_id: match &self.ids {
                TrackIds::Int(v) => TrackIds::Int(track.iter().map(|&k| v[k]).collect()),
                TrackIds::Label(v) => {
                    TrackIds::Label(track.iter().map(|&k| v[k].clone()).collect())
                }
            },
            frame: start.iter().map(|&i| self.frame[i]).collect(),
            t_s: start.iter().map(|&i| t[i]).collect(),
            dx_um: axis(0),
            dy_um: axis(1),
            dz_um: if self.dims == 3 { axis(2) } else { vec![f64::NAN; n_steps] },
            step_um: col(&|_, i| length(i)),
            speed_um_per_min: col(&|_, i| length(i) / (t[i + 1] - t[i]) * 60.0),
            turning_angle_deg: col(&|s, i| {
                // The previous step belongs to the same track when it starts on the row before.
                if s > 0 && start[s - 1] + 1 == i {
                    angle(sub(p[i], p[i - 1]), sub(p[i + 1], p[i])).to_degrees()
                } else {
                    f64::NAN
                }
            }),
        }
    }
}

impl StepMetrics {
    /// Number of steps.
    pub fn len(&self) -> usize {
        self.frame.len()
    }
    /// True when there are no steps.
    pub fn is_empty(&self) -> bool {
        self.frame.is_empty()
    }

    /// Writes `steps.csv`: `track_id, frame, t_s, dx_um, dy_um, dz_um, step_um,
    /// speed_um_per_min, turning_angle_deg`.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let header = [
            "track_id",
            "frame",
            "t_s",
            "dx_um",
            "dy_um",
            "dz_um",
            "step_um",
            "speed_um_per_min",
            "turning_angle_deg",
        ];
        let cols = [
            &self.t_s,
            &self.dx_um,
            &self.dy_um,
            &self.dz_um,
            &self.step_um,
            &self.speed_um_per_min,
            &self.turning_angle_deg,
        ];
        write_table(path.as_ref(), &header, self.len(), |i, cells| {
            cells.push(self.track_id.label(i));
            cells.push(self.frame[i].to_string());
            cells.extend(cols.iter().map(|c| fmt_f64(c[i])));
        })
    }
}
