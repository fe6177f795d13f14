//! Tissue drift: its estimate and the table `frame, dx_um, dy_um, dz_um` — the displacement of
//! the tissue since the first frame, so that `corrected position = raw position − drift`.
//!
//! Drift must be removable without erasing the biology: directed migration of many cells
//! (chemotaxis, swarming) is exactly what users measure. The methods:
//!
//! - [`DriftMethod::Objects`]: reference objects that do not move by themselves — arrested
//!   cells or static debris (for example detections of an autofluorescence channel). Tracks
//!   whose speed, after a first median correction, stays below `arrest_speed_um_per_min`
//!   define the drift (the median of their steps per frame). Safe for directed migration as
//!   long as such objects exist.
//! - [`DriftMethod::Median`]: the robust median displacement of all linked cells per frame.
//!   **Unsafe for directed migration**: if most cells migrate the same way, their migration
//!   is removed as if it were drift. Use it only for randomly migrating populations.
//! - `None` (the default in the pipeline): no correction.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::calibrate::{jump_shift, Jump};
use super::{link, LinkConfig};
use crate::calib::Calibration;
use crate::error::{Error, Result};
use crate::io::write::write_atomic;
use crate::table::{fmt_f64, Detections, Tracks};

/// Cumulative drift per frame, µm (`shift(frame)` = tissue displacement since the first
/// frame of the table). Frames missing from the table take the last known value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// Frames, increasing.
    pub frame: Vec<u32>,
    /// x displacement, µm.
    pub dx_um: Vec<f64>,
    /// y displacement, µm.
    pub dy_um: Vec<f64>,
    /// z displacement, µm (0 for 2D data).
    pub dz_um: Vec<f64>,
    /// Frames that follow a tissue jump (`drift.csv`'s `jump` column is 1 there), increasing.
    pub jumps: Vec<u32>,
}

impl Drift {
    /// The displacement of `frame` (0 before the first row; the last known value after gaps).
    pub fn shift(&self, frame: u32) -> [f64; 3] {
        match self.frame.binary_search(&frame) {
            Ok(i) => [self.dx_um[i], self.dy_um[i], self.dz_um[i]],
            Err(0) => [0.0; 3],
            Err(i) => [self.dx_um[i - 1], self.dy_um[i - 1], self.dz_um[i - 1]],
        }
    }

    /// Reads `frame,dx_um,dy_um[,dz_um]` (the format of `drift.csv`).
    pub fn read_csv(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let d = Detections::from_reader(
            std::io::Cursor::new(
                std::fs::read_to_string(path)
                    .map_err(|e| Error::io(path, e))?
                    .replacen("dx_um", "x_um", 1)
                    .replacen("dy_um", "y_um", 1)
                    .replacen("dz_um", "z_um", 1),
            ),
            path,
        )?;
        let mut rows: Vec<usize> = (0..d.len()).collect();
        rows.sort_by_key(|&i| d.frame[i]);
        let mut out = Drift::default();
        for i in rows {
            if out.frame.last() == Some(&d.frame[i]) {
                return Err(Error::table(
                    path,
                    None,
                    format!("frame {} appears twice", d.frame[i]),
                ));
            }
            out.frame.push(d.frame[i]);
            out.dx_um.push(d.x_um[i]);
            out.dy_um.push(d.y_um[i]);
            out.dz_um.push(d.z_um.as_ref().map_or(0.0, |z| z[i]));
        }
        Ok(out)
    }

    /// Writes `frame,dx_um,dy_um,dz_um`, atomically.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), |w: &mut dyn Write| {
            writeln!(w, "frame,dx_um,dy_um,dz_um,jump")?;
            for i in 0..self.frame.len() {
                writeln!(
                    w,
                    "{},{},{},{},{}",
                    self.frame[i],
                    fmt_f64(self.dx_um[i]),
                    fmt_f64(self.dy_um[i]),
                    fmt_f64(self.dz_um[i]),
                    u8::from(self.jumps.binary_search(&self.frame[i]).is_ok())
                )?;
            }
            Ok(())
        })
    }
}

/// The drift `drift` (none: zero) plus the tissue `jumps` the linker found, over the union of
/// its frames and `frames`; `None` when there is neither.
pub fn with_jumps(
    drift: Option<Drift>,
    jumps: &[Jump],
    frames: impl IntoIterator<Item = u32>,
) -> Option<Drift> {
    if jumps.is_empty() {
        return drift;
    }
    let base = drift.unwrap_or_default();
    let mut all: Vec<u32> = base.frame.iter().copied().chain(frames).collect();
    all.sort_unstable();
    all.dedup();
    let mut out = Drift { jumps: jumps.iter().map(|j| j.frame).collect(), ..Default::default() };
    for f in all {
        let (d, j) = (base.shift(f), jump_shift(jumps, f));
        out.frame.push(f);
        out.dx_um.push(d[0] + j[0]);
        out.dy_um.push(d[1] + j[1]);
        out.dz_um.push(d[2] + j[2]);
    }
    Some(out)
}

/// How drift is estimated from detections.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DriftMethod {
    /// Median step of reference objects (tracks slower than the threshold after a first
    /// median correction).
    Objects {
        /// Tracks whose drift-corrected speed stays below this are reference objects, µm/min.
        arrest_speed_um_per_min: f64,
    },
    /// Median step of all linked cells (unsafe for directed migration).
    Median,
}

/// Estimates the drift from detections: links them with `config` (no drift), then takes the
/// per-frame median step of the chosen reference tracks and accumulates it.
pub fn estimate(
    detections: &Detections,
    calibration: &Calibration,
    config: &LinkConfig,
    method: DriftMethod,
) -> Result<Drift> {
    let tracks = link(detections, calibration, config, None)?;
    estimate_from_tracks(&tracks, method)
}

/// As [`estimate`], from tracks already linked.
pub fn estimate_from_tracks(tracks: &Tracks, method: DriftMethod) -> Result<Drift> {
    let steps = steps(tracks, None);
    let all = median_drift(&steps, None);
    match method {
        DriftMethod::Median => Ok(all),
        DriftMethod::Objects { arrest_speed_um_per_min } => {
            if !(arrest_speed_um_per_min.is_finite() && arrest_speed_um_per_min > 0.0) {
                return Err(Error::param("arrest-speed", "must be > 0 µm/min"));
            }
            // Reference tracks: slow once the median drift is removed.
            let corrected = self::steps(tracks, Some(&all));
            let mut dist: std::collections::HashMap<u32, (f64, f64)> = Default::default();
            for s in &corrected {
                let e = dist.entry(s.track).or_default();
                e.0 += (s.d[0].powi(2) + s.d[1].powi(2) + s.d[2].powi(2)).sqrt();
                e.1 += s.dt_s / 60.0;
            }
            let reference = |t: u32| {
                dist.get(&t).is_some_and(|(d, m)| *m > 0.0 && d / m < arrest_speed_um_per_min)
            };
            if !steps.iter().any(|s| reference(s.track)) {
                return Err(Error::data(format!(
                    "no reference objects: no track is slower than {arrest_speed_um_per_min} µm/min"
                )));
            }
            Ok(median_drift(&steps, Some(&reference)))
        }
    }
}

struct Step {
    track: u32,
    to_frame: u32,
    from_frame: u32,
    d: [f64; 3],
    dt_s: f64,
}

fn steps(t: &Tracks, drift: Option<&Drift>) -> Vec<Step> {
    let (codes, _) = t.track_id.codes();
    let mut out = Vec::new();
    for rows in t.rows_by_track() {
        for w in rows.windows(2) {
            let (a, b) = (w[0], w[1]);
            let za = t.z_um.as_ref().map_or(0.0, |z| z[a]);
            let zb = t.z_um.as_ref().map_or(0.0, |z| z[b]);
            let mut d = [t.x_um[b] - t.x_um[a], t.y_um[b] - t.y_um[a], zb - za];
            if let Some(dr) = drift {
                let (sa, sb) = (dr.shift(t.frame[a]), dr.shift(t.frame[b]));
                for k in 0..3 {
                    d[k] -= sb[k] - sa[k];
                }
            }
            out.push(Step {
                track: codes[a],
                from_frame: t.frame[a],
                to_frame: t.frame[b],
                d,
                dt_s: t.t_s[b] - t.t_s[a],
            });
        }
    }
    out
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Per-frame median of one-frame steps (steps spanning gaps are spread evenly over their
/// frames), accumulated from the first frame.
fn median_drift(steps: &[Step], keep: Option<&dyn Fn(u32) -> bool>) -> Drift {
    let mut per_frame: std::collections::BTreeMap<u32, [Vec<f64>; 3]> = Default::default();
    let (mut lo, mut hi) = (u32::MAX, 0);
    for s in steps {
        lo = lo.min(s.from_frame);
        hi = hi.max(s.to_frame);
        if keep.is_some_and(|k| !k(s.track)) {
            continue;
        }
        let n = (s.to_frame - s.from_frame) as f64;
        for f in s.from_frame + 1..=s.to_frame {
            let e = per_frame.entry(f).or_default();
            for k in 0..3 {
                e[k].push(s.d[k] / n);
            }
        }
    }
    let mut out = Drift::default();
    if lo > hi {
        return out;
    }
    let mut acc = [0.0; 3];
    for f in lo..=hi {
        if let Some(v) = per_frame.get_mut(&f) {
            for k in 0..3 {
                acc[k] += median(&mut v[k]);
            }
        }
        out.frame.push(f);
        out.dx_um.push(acc[0]);
        out.dy_um.push(acc[1]);
        out.dz_um.push(acc[2]);
    }
    out
}

/// Estimates the drift by phase correlation of a reference channel's images (e.g. a
/// structural or second-harmonic channel, or autofluorescence) between consecutive
/// timepoints: xy from the maximum-intensity projections along z, z from the projections
/// along y (z × x images). Images are high-pass filtered (a large box blur subtracted) and
/// Hann-windowed first, so an uneven but static illumination does not pin the estimate at
/// zero; the correlation peak is refined to sub-voxel precision by a parabola per axis.
/// Reads one timepoint at a time.
pub fn estimate_from_channel(
    recording: &crate::io::Recording,
    channel: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Drift> {
    let s = recording.shape();
    if channel >= s.c {
        return Err(Error::param(
            "drift",
            format!("channel {channel} does not exist (the recording has {} channels)", s.c),
        ));
    }
    let v = recording.calibration().voxel_size_um()?;
    let mut out = Drift::default();
    let mut prev: Option<(Vec<f32>, Vec<f32>)> = None;
    let mut acc = [0.0f64; 3];
    for t in 0..s.t {
        let vol = recording.volume(t, channel)?.to_f32();
        let (nz, ny, nx) = vol.dim();
        let mut xy = vec![f32::MIN; ny * nx];
        let mut xz = vec![f32::MIN; nz * nx];
        for ((z, y, x), &val) in vol.indexed_iter() {
            if !val.is_finite() {
                return Err(Error::Frame {
                    path: Some(recording.path().to_path_buf()),
                    frame: t,
                    reason: "NaN or infinite voxel".into(),
                });
            }
            let a = &mut xy[y * nx + x];
            *a = a.max(val);
            let b = &mut xz[z * nx + x];
            *b = b.max(val);
        }
        let cur = (prepare(&xy, ny, nx), prepare(&xz, nz, nx));
        if let Some((pxy, pxz)) = &prev {
            let (dy, dx) = phase_shift(pxy, &cur.0, ny, nx);
            let (dz, _) = if nz > 1 { phase_shift(pxz, &cur.1, nz, nx) } else { (0.0, 0.0) };
            acc[0] += dx * v.x;
            acc[1] += dy * v.y;
            acc[2] += dz * v.z;
        }
        out.frame.push(t as u32);
        out.dx_um.push(acc[0]);
        out.dy_um.push(acc[1]);
        out.dz_um.push(acc[2]);
        prev = Some(cur);
        progress(t);
    }
    Ok(out)
}

/// High-pass (image minus a box blur of ~1/8 of its size) and a Hann window.
fn prepare(img: &[f32], h: usize, w: usize) -> Vec<f32> {
    let r = (h.max(w) / 16).max(1);
    let blur = box_blur(img, h, w, r);
    let hann = |i: usize, n: usize| {
        if n < 2 {
            1.0
        } else {
            0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / (n - 1) as f32).cos()
        }
    };
    (0..h * w).map(|k| (img[k] - blur[k]) * hann(k / w, h) * hann(k % w, w)).collect()
}

fn box_blur(img: &[f32], h: usize, w: usize, r: usize) -> Vec<f32> {
    let pass = |src: &[f32], n: usize, m: usize, stride_n: usize, stride_m: usize| -> Vec<f32> {
        // Blur along the axis of length n (stride_n), for each of the m lines (stride_m).
        let mut dst = vec![0.0f32; src.len()];
        for j in 0..m {
            let mut prefix = vec![0.0f64; n + 1];
            for i in 0..n {
                prefix[i + 1] = prefix[i] + src[j * stride_m + i * stride_n] as f64;
            }
            for i in 0..n {
                let (a, b) = (i.saturating_sub(r), (i + r + 1).min(n));
                dst[j * stride_m + i * stride_n] =
                    ((prefix[b] - prefix[a]) / (b - a) as f64) as f32;
            }
        }
        dst
    };
    let rows = pass(img, w, h, 1, w);
    pass(&rows, h, w, w, 1)
}

/// The shift (rows, cols) that moves `a` onto `b`, by phase correlation, sub-pixel.
fn phase_shift(a: &[f32], b: &[f32], h: usize, w: usize) -> (f64, f64) {
    use rustfft::{num_complex::Complex, FftPlanner};
    let mut planner = FftPlanner::<f64>::new();
    let (fw, fh) = (planner.plan_fft_forward(w), planner.plan_fft_forward(h));
    let (iw, ih) = (planner.plan_fft_inverse(w), planner.plan_fft_inverse(h));
    let fft2 = |img: &mut Vec<Complex<f64>>,
                rowf: &std::sync::Arc<dyn rustfft::Fft<f64>>,
                colf: &std::sync::Arc<dyn rustfft::Fft<f64>>| {
        for row in img.chunks_mut(w) {
            rowf.process(row);
        }
        let mut col = vec![Complex::new(0.0, 0.0); h];
        for x in 0..w {
            for y in 0..h {
                col[y] = img[y * w + x];
            }
            colf.process(&mut col);
            for y in 0..h {
                img[y * w + x] = col[y];
            }
        }
    };
    let mut fa: Vec<Complex<f64>> = a.iter().map(|&v| Complex::new(v as f64, 0.0)).collect();
    let mut fb: Vec<Complex<f64>> = b.iter().map(|&v| Complex::new(v as f64, 0.0)).collect();
    fft2(&mut fa, &fw, &fh);
    fft2(&mut fb, &fw, &fh);
    let mut r: Vec<Complex<f64>> = fa
        .iter()
        .zip(&fb)
        .map(|(x, y)| {
            let c = y * x.conj();
            let n = c.norm();
            if n > 1e-12 {
                c / n
            } else {
                Complex::new(0.0, 0.0)
            }
        })
        .collect();
    fft2(&mut r, &iw, &ih);
    let (mut best, mut bi) = (f64::MIN, 0);
    for (k, c) in r.iter().enumerate() {
        if c.re > best {
            best = c.re;
            bi = k;
        }
    }
    let (py, px) = (bi / w, bi % w);
    let at = |y: usize, x: usize| r[(y % h) * w + (x % w)].re;
    let refine = |m: f64, p: f64, c: f64| {
        let d = m - 2.0 * c + p;
        if d.abs() > 1e-12 {
            (0.5 * (m - p) / d).clamp(-0.5, 0.5)
        } else {
            0.0
        }
    };
    let sy = if h > 2 { refine(at(py + h - 1, px), at(py + 1, px), best) } else { 0.0 };
    let sx = if w > 2 { refine(at(py, px + w - 1), at(py, px + 1), best) } else { 0.0 };
    let wrap = |p: usize, n: usize, s: f64| {
        let p = p as f64 + s;
        if p > n as f64 / 2.0 {
            p - n as f64
        } else {
            p
        }
    };
    (wrap(py, h, sy), wrap(px, w, sx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_correlation_finds_a_known_shift() {
        let (h, w) = (48, 64);
        let blob = |y0: f64, x0: f64| -> Vec<f32> {
            (0..h * w)
                .map(|k| {
                    let (y, x) = ((k / w) as f64, (k % w) as f64);
                    let mut v = 0.0;
                    for (cy, cx) in [(10.0, 12.0), (30.0, 40.0), (20.0, 25.0)] {
                        v += (-((y - cy - y0).powi(2) + (x - cx - x0).powi(2)) / 4.0).exp();
                    }
                    v as f32
                })
                .collect()
        };
        let a = prepare(&blob(0.0, 0.0), h, w);
        let b = prepare(&blob(3.4, -2.3), h, w);
        let (dy, dx) = phase_shift(&a, &b, h, w);
        assert!((dy - 3.4).abs() < 0.3 && (dx + 2.3).abs() < 0.3, "{dy} {dx}");
    }
}
