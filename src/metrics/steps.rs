//! Per-step measures: one row per step (two consecutive points of a track).

use std::path::Path;

use rayon::prelude::*;

use super::{acos, dot, sub, write_table, Points, TrackSet};
use crate::buf::zeroed;
use crate::error::Result;
use crate::table::TrackIds;

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

/// One step's values, computed the same way for the step table and the per-track measures.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    /// Displacement, µm.
    pub d: [f64; 3],
    /// Length, µm.
    pub len: f64,
    /// Speed, µm/min.
    pub speed: f64,
    /// Angle to the previous step of the track, degrees (NaN for the first step).
    pub turn_deg: f64,
}

/// Calls `f(j, step j)` for every step of a track with times `t` (s) and positions `p`, in
/// order. The turning angle is computed as celltrackR's `vecAngle` (each step divided by its
/// length, the dot product clamped to [−1, 1], acos), reusing each step's unit vector.
#[inline]
pub(crate) fn for_each_step(t: &[f64], p: Points<'_>, mut f: impl FnMut(usize, Step)) {
    let mut prev_unit = [f64::NAN; 3];
    let mut a = p.get(0);
    for j in 0..p.len() - 1 {
        let b = p.get(j + 1);
        let d = sub(b, a);
        let len = dot(d, d).sqrt();
        let unit = [d[0] / len, d[1] / len, d[2] / len];
        let turn_deg =
            if j > 0 { acos(dot(prev_unit, unit).clamp(-1.0, 1.0)).to_degrees() } else { f64::NAN };
        f(j, Step { d, len, speed: len / (t[j + 1] - t[j]) * 60.0, turn_deg });
        (prev_unit, a) = (unit, b);
    }
}

/// Cuts the first `len` values off `s`.
fn cut<'s, T>(s: &mut &'s mut [T], len: usize) -> &'s mut [T] {
    let (head, tail) = std::mem::take(s).split_at_mut(len);
    *s = tail;
    head
}

/// One track's part of every step column.
struct TrackSteps<'s> {
    /// The track's integer id column, when ids are integers.
    id: Option<(u64, &'s mut [u64])>,
    frame: &'s mut [u32],
    t_s: &'s mut [f64],
    dx: &'s mut [f64],
    dy: &'s mut [f64],
    dz: &'s mut [f64],
    len: &'s mut [f64],
    speed: &'s mut [f64],
    turn: &'s mut [f64],
}

impl TrackSet<'_> {
    /// Per-step measures (parallel over tracks).
    pub fn steps(&self) -> StepMetrics {
        let n = self.n_steps();
        let counts: Vec<usize> = (0..self.n_tracks()).map(|k| self.range(k).len() - 1).collect();
        let mut out = StepMetrics {
            track_id: match &self.ids {
                // Filled with the other columns, in parallel.
                TrackIds::Int(_) => TrackIds::Int(zeroed(n)),
                TrackIds::Label(v) => {
                    let mut ids = Vec::with_capacity(n);
                    for (&c, id) in counts.iter().zip(v) {
                        ids.extend(std::iter::repeat_n(id, c).cloned());
                    }
                    TrackIds::Label(ids)
                }
            },
            frame: zeroed(n),
            t_s: zeroed(n),
            dx_um: zeroed(n),
            dy_um: zeroed(n),
            dz_um: zeroed(n),
            step_um: zeroed(n),
            speed_um_per_min: zeroed(n),
            turning_angle_deg: zeroed(n),
        };
        let mut parts = Vec::with_capacity(counts.len());
        {
            let (mut frame, mut t_s) = (&mut out.frame[..], &mut out.t_s[..]);
            let (ids_in, mut ids) = match (&self.ids, &mut out.track_id) {
                (TrackIds::Int(v), TrackIds::Int(o)) => (&v[..], &mut o[..]),
                _ => (&[][..], &mut [][..]),
            };
            let (mut dx, mut dy, mut dz) =
                (&mut out.dx_um[..], &mut out.dy_um[..], &mut out.dz_um[..]);
            let (mut len, mut speed) = (&mut out.step_um[..], &mut out.speed_um_per_min[..]);
            let mut turn = &mut out.turning_angle_deg[..];
            for (k, &c) in counts.iter().enumerate() {
                parts.push(TrackSteps {
                    id: ids_in.get(k).map(|&id| (id, cut(&mut ids, c))),
                    frame: cut(&mut frame, c),
                    t_s: cut(&mut t_s, c),
                    dx: cut(&mut dx, c),
                    dy: cut(&mut dy, c),
                    dz: cut(&mut dz, c),
                    len: cut(&mut len, c),
                    speed: cut(&mut speed, c),
                    turn: cut(&mut turn, c),
                });
            }
        }
        let three_d = self.dims == 3;
        parts.into_par_iter().enumerate().for_each(|(k, o)| {
            let r = self.range(k);
            let (t, p) = (&self.t_s[r.clone()], self.points(r.clone()));
            if let Some((id, out)) = o.id {
                out.fill(id);
            }
            // A step's frame and time are its start's.
            o.frame.copy_from_slice(&self.frame[r.start..r.end - 1]);
            o.t_s.copy_from_slice(&t[..t.len() - 1]);
            for_each_step(t, p, |j, s| {
                (o.dx[j], o.dy[j]) = (s.d[0], s.d[1]);
                o.dz[j] = if three_d { s.d[2] } else { f64::NAN };
                o.len[j] = s.len;
                o.speed[j] = s.speed;
                o.turn[j] = s.turn_deg;
            });
        });
        out
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
        write_table(path.as_ref(), &header, self.len(), |i, w| {
            w.id(&self.track_id, i)?;
            w.int(self.frame[i] as u64)?;
            cols.iter().try_for_each(|c| w.num(c[i]))
        })
    }
}
