//! Quality control of one analysis: `qc.json` and the QC plot.
//!
//! Per frame: the detection count, the background level, noise and signal-to-noise ratio of
//! the segmented channel, the cells' size, the fraction of detections linked, the tracks that
//! start and end inside the field (away from its edges: cells appearing from nowhere are
//! missed links), the tissue jumps. Per recording: the track-length distribution, the gap
//! rate, the share of detections flagged as artefacts. Warnings in words when something looks
//! wrong; the segmentation's and the linker's warnings are among them (one list).

use serde::{Deserialize, Serialize};

use crate::io::{Shape, Volume, VolumeView};
use crate::segment::threshold::background_noise;
use crate::table::{Detections, Tracks};

/// A frame whose detection count is below this fraction of the recording's median is
/// warned about (focus or laser loss).
pub const COUNT_DROP: f64 = 0.5;
/// A frame whose cells' signal-to-noise ratio is below this fraction of the recording's
/// median is warned about (focus or laser loss).
pub const SNR_DROP: f64 = 0.5;
/// A frame whose detection count is above this multiple of the median is warned about.
pub const COUNT_SURGE: f64 = 2.0;
/// Warned about when at least this fraction of the tracks are 1–2 points long.
pub const SHORT_TRACKS: f64 = 0.3;
/// Warned about when tracks starting inside the field after the first frame are at least this
/// fraction of the detections after the first frame.
pub const STARTS_INSIDE: f64 = 0.08;
/// Warned about when the median signal-to-noise ratio is below this.
pub const LOW_SNR: f64 = 3.0;
/// Warned about when at least this fraction of the detections are flagged as artefacts.
pub const ARTEFACTS: f64 = 0.2;
/// Warned about when the detected cells' median size is this far (either way) from the
/// diameter used.
pub const SIZE_RATIO: f64 = 1.5;

/// The background level and noise (sd) of one volume, grey levels: the median and the
/// robust spread below it of a sample of its voxels, with bright voxels clipped as the
/// detector does ([`background_noise`]); for integer data at least the rounding's 1/√12.
pub fn levels(volume: &Volume) -> (f64, f64) {
    const SAMPLE: usize = 1 << 17;
    fn sample<T: Copy + Into<f32>>(a: &ndarray::ArrayView3<T>) -> Vec<f32> {
        let step = (a.len() / SAMPLE).max(1);
        a.iter().step_by(step).map(|&v| v.into()).collect()
    }
    let (values, integer) = match volume.view() {
        VolumeView::U8(a) => (sample(&a), true),
        VolumeView::U16(a) => (sample(&a), true),
        VolumeView::F32(a) => (sample(&a), false),
    };
    let (level, sigma) = background_noise(&values);
    // Integer data are never less noisy than their rounding (sd 1/√12 of a grey level).
    let floor = if integer { 12f64.sqrt().recip() } else { 0.0 };
    (level as f64, (sigma as f64).max(floor))
}

/// One frame's quality measures (`qc.json`'s `frames`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameQc {
    /// The frame, 0-based.
    pub frame: u32,
    /// Detections (artefacts included).
    pub detections: usize,
    /// Detections flagged as artefacts.
    pub artefacts: usize,
    /// Background level of the segmented channel, grey levels.
    pub background: f64,
    /// Background noise (sd), grey levels.
    pub noise: f64,
    /// Median mean intensity of the cells (artefacts left out), grey levels.
    pub signal: f64,
    /// (signal − background) / noise.
    pub snr: f64,
    /// Median equivalent diameter of the cells, µm.
    pub cell_diameter_um: f64,
    /// Fraction of the cells in a track of two or more points.
    pub linked_fraction: f64,
    /// Tracks whose first point is in this frame (after the first frame) away from the edges.
    pub track_starts: usize,
    /// Tracks whose last point is in this frame (before the last frame) away from the edges.
    pub track_ends: usize,
    /// Whether a tissue jump ends at this frame.
    pub jump: bool,
}

/// An expected accuracy (from a tuner's run on a simulated twin of the recording).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    /// Detection F1 expected.
    pub detection_f1: f64,
    /// Link F1 expected (2·R·P/(R+P) of link recall and precision).
    pub link_f1: f64,
    /// Cell Tracking Challenge TRA expected.
    pub tra: f64,
    /// Further values (the settings, the twin), as the tuner wrote them.
    #[serde(flatten)]
    pub more: serde_json::Map<String, serde_json::Value>,
}

/// The contents of `qc.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Qc {
    /// Per frame.
    pub frames: Vec<FrameQc>,
    /// Tracks (a one-point track counts).
    pub tracks: usize,
    /// `[points, tracks]`: how many tracks have each number of points.
    pub track_lengths: Vec<[usize; 2]>,
    /// Median points per track.
    pub median_track_points: f64,
    /// Fraction of the tracks with 1 or 2 points.
    pub short_track_fraction: f64,
    /// Fraction of the links that bridge one or more missing frames.
    pub gap_rate: f64,
    /// Fraction of the detections flagged as artefacts.
    pub artefact_fraction: f64,
    /// Fraction of the cells (artefacts left out) in a track of two or more points.
    pub linked_fraction: f64,
    /// Tracks starting inside the field after the first frame.
    pub starts_inside: usize,
    /// Tracks ending inside the field before the last frame.
    pub ends_inside: usize,
    /// Median signal-to-noise ratio over frames.
    pub median_snr: f64,
    /// Median equivalent cell diameter over all cells, µm.
    pub median_cell_diameter_um: f64,
    /// Frames after a tissue jump.
    pub jumps: Vec<u32>,
    /// Warnings in words (the segmentation's and the linker's first).
    pub warnings: Vec<String>,
    /// The accuracy expected on a simulated twin of this recording, when a tuner ran.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expected: Option<Expected>,
}

/// What [`assess`] looks at.
pub struct QcInput<'a> {
    /// Every detection.
    pub detections: &'a Detections,
    /// The tracks (`detection` = row of `detections`).
    pub tracks: &'a Tracks,
    /// The recording's shape.
    pub shape: Shape,
    /// Voxel size `[x, y, z]`, µm.
    pub voxel_um: [f64; 3],
    /// `(background, noise)` of each frame's segmented channel ([`levels`]); empty when the
    /// images were not seen.
    pub levels: &'a [(f64, f64)],
    /// The cell diameter the segmentation used, µm.
    pub cell_diameter_um: Option<f64>,
    /// Whether the stack was segmented on its z projection.
    pub thin_stack: bool,
    /// Frames after a tissue jump.
    pub jumps: Vec<u32>,
    /// Warnings already given (segmentation, linking), kept first.
    pub warnings: Vec<String>,
}

/// The `q` quantile (R type 7) of the finite values of `v`; NaN when there are none.
pub(crate) fn quantile(v: &[f64], q: f64) -> f64 {
    let mut f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    match f.is_empty() {
        true => f64::NAN,
        false => crate::metrics::population::quantiles(&mut f, &[q])[0],
    }
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

/// Equivalent diameters, µm, of every detection: of the ellipsoid of its semi-axes (3D, deep
/// stacks), else of the ellipse of the two longest (2D, thin stacks); NaN without them.
pub(crate) fn diameters(det: &Detections, flat: bool) -> Vec<f64> {
    let col = |n: &str| det.column(n).and_then(|c| c.as_f64());
    let (a, b, c) = (col("semi_axis_1_um"), col("semi_axis_2_um"), col("semi_axis_3_um"));
    let vol = col("volume_um3");
    (0..det.len())
        .map(|i| match (a, b, c) {
            (Some(a), Some(b), Some(c)) if !flat && c[i] > 0.0 => 2.0 * (a[i] * b[i] * c[i]).cbrt(),
            (Some(a), Some(b), _) if a[i] > 0.0 && b[i] > 0.0 => 2.0 * (a[i] * b[i]).sqrt(),
            _ => match vol {
                Some(v) if !flat => (6.0 * v[i] / std::f64::consts::PI).cbrt(),
                _ => f64::NAN,
            },
        })
        .collect()
}

fn frames_list(frames: &[u32]) -> String {
    // Runs of consecutive frames as `a–b`.
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < frames.len() && parts.len() < 8 {
        let mut j = i;
        while j + 1 < frames.len() && frames[j + 1] == frames[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}–{}", frames[i], frames[j])
        } else {
            frames[i].to_string()
        });
        i = j + 1;
    }
    if i < frames.len() {
        parts.push("…".into());
    }
    parts.join(", ")
}

/// The quality measures and warnings of one analysis.
pub fn assess(input: &QcInput) -> Qc {
    let det = input.detections;
    let tracks = input.tracks;
    let nt = input.shape.t;
    let flagged = crate::segment::artefact_rows(det);
    let n_flagged = flagged.iter().filter(|&&f| f).count();
    let is_artefact = |i: usize| flagged[i];
    let flat = input.shape.z <= 1 || input.thin_stack;
    let diam = diameters(det, flat);
    let mean_int = det.column("mean_intensity").and_then(|c| c.as_f64());

    // Which detections are in a track of two or more points; starts and ends inside.
    let groups = tracks.rows_by_track();
    let mut linked = vec![false; det.len()];
    let det_row = tracks.detection.as_ref();
    let d = input.cell_diameter_um.filter(|d| d.is_finite() && *d > 0.0).unwrap_or(0.0);
    let [vx, vy, vz] = input.voxel_um;
    let ext = [
        (input.shape.x as f64 - 1.0) * vx,
        (input.shape.y as f64 - 1.0) * vy,
        (input.shape.z as f64 - 1.0) * vz,
    ];
    let deep = !flat && ext[2] >= 3.0 * d;
    let inside = |r: usize| {
        let x = tracks.x_um[r];
        let y = tracks.y_um[r];
        let xy = x >= d && x <= ext[0] - d && y >= d && y <= ext[1] - d;
        let z = match (&tracks.z_um, deep) {
            (Some(z), true) => z[r] >= d && z[r] <= ext[2] - d,
            _ => true,
        };
        xy && z
    };
    let mut starts = vec![0usize; nt];
    let mut ends = vec![0usize; nt];
    let mut lengths = std::collections::BTreeMap::<usize, usize>::new();
    let (mut links, mut gap_links) = (0usize, 0usize);
    for g in &groups {
        *lengths.entry(g.len()).or_default() += 1;
        if g.len() >= 2 {
            if let Some(rows) = det_row {
                for &r in g {
                    if let Some(&k) = rows.get(r) {
                        if (k as usize) < linked.len() {
                            linked[k as usize] = true;
                        }
                    }
                }
            }
            for w in g.windows(2) {
                links += 1;
                if tracks.frame[w[1]] > tracks.frame[w[0]] + 1 {
                    gap_links += 1;
                }
            }
        }
        let (first, last) = (g[0], g[g.len() - 1]);
        let (f0, f1) = (tracks.frame[first] as usize, tracks.frame[last] as usize);
        if f0 > 0 && f0 < nt && inside(first) {
            starts[f0] += 1;
        }
        if f1 + 1 < nt && inside(last) {
            ends[f1] += 1;
        }
    }

    // Per frame.
    let mut by_frame: Vec<Vec<usize>> = vec![Vec::new(); nt];
    for (i, &f) in det.frame.iter().enumerate() {
        if (f as usize) < nt {
            by_frame[f as usize].push(i);
        }
    }
    let frames: Vec<FrameQc> = (0..nt)
        .map(|t| {
            let rows = &by_frame[t];
            let cells: Vec<usize> = rows.iter().copied().filter(|&i| !is_artefact(i)).collect();
            let (background, noise) = input.levels.get(t).copied().unwrap_or((f64::NAN, f64::NAN));
            let signal = match mean_int {
                Some(m) => median(&cells.iter().map(|&i| m[i]).collect::<Vec<_>>()),
                None => f64::NAN,
            };
            let snr = if noise > 0.0 { (signal - background) / noise } else { f64::NAN };
            let linked_n = cells.iter().filter(|&&i| linked[i]).count();
            FrameQc {
                frame: t as u32,
                detections: rows.len(),
                artefacts: rows.len() - cells.len(),
                background,
                noise,
                signal,
                snr,
                cell_diameter_um: median(&cells.iter().map(|&i| diam[i]).collect::<Vec<_>>()),
                linked_fraction: if cells.is_empty() {
                    f64::NAN
                } else {
                    linked_n as f64 / cells.len() as f64
                },
                track_starts: starts[t],
                track_ends: ends[t],
                jump: input.jumps.contains(&(t as u32)),
            }
        })
        .collect();

    let n_cells = det.len() - n_flagged;
    let n_tracks = groups.len();
    let short = groups.iter().filter(|g| g.len() <= 2).count();
    let points: Vec<f64> = groups.iter().map(|g| g.len() as f64).collect();
    let linked_all =
        (0..det.len()).filter(|&i| !is_artefact(i) && linked[i]).count() as f64 / n_cells as f64;
    let mut qc = Qc {
        tracks: n_tracks,
        track_lengths: lengths.into_iter().map(|(k, v)| [k, v]).collect(),
        median_track_points: median(&points),
        short_track_fraction: if n_tracks > 0 { short as f64 / n_tracks as f64 } else { f64::NAN },
        gap_rate: if links > 0 { gap_links as f64 / links as f64 } else { f64::NAN },
        artefact_fraction: if det.is_empty() {
            f64::NAN
        } else {
            n_flagged as f64 / det.len() as f64
        },
        linked_fraction: if n_cells > 0 { linked_all } else { f64::NAN },
        starts_inside: starts.iter().sum(),
        ends_inside: ends.iter().sum(),
        median_snr: median(&frames.iter().map(|f| f.snr).collect::<Vec<_>>()),
        median_cell_diameter_um: median(
            &(0..det.len()).filter(|&i| !is_artefact(i)).map(|i| diam[i]).collect::<Vec<_>>(),
        ),
        jumps: input.jumps.clone(),
        warnings: input.warnings.clone(),
        frames,
        expected: None,
    };
    qc.warnings.extend(warnings(&qc, input));
    qc
}

/// The warnings of the measures in words.
fn warnings(qc: &Qc, input: &QcInput) -> Vec<String> {
    let mut out = Vec::new();
    let counts: Vec<f64> = qc.frames.iter().map(|f| f.detections as f64).collect();
    let m = median(&counts);
    if qc.frames.len() >= 3 && m >= 5.0 {
        let low: Vec<u32> = qc
            .frames
            .iter()
            .filter(|f| (f.detections as f64) < COUNT_DROP * m)
            .map(|f| f.frame)
            .collect();
        if !low.is_empty() {
            let worst = low.iter().map(|&t| qc.frames[t as usize].detections).min().unwrap_or(0);
            let at = if low.len() == 1 { "frame" } else { "frames" };
            out.push(format!(
                "the detection count halves at {at} {} (down to {worst} against a median of {m:.0} \
                 per frame): focus or laser loss?",
                frames_list(&low)
            ));
        }
        let high: Vec<u32> = qc
            .frames
            .iter()
            .filter(|f| (f.detections as f64) > COUNT_SURGE * m)
            .map(|f| f.frame)
            .collect();
        if !high.is_empty() {
            let at = if high.len() == 1 { "frame" } else { "frames" };
            out.push(format!(
                "the detection count doubles at {at} {} (against a median of {m:.0} per frame): \
                 noise, a bright artefact or a change of settings?",
                frames_list(&high)
            ));
        }
    }
    let snr_median = qc.median_snr;
    if qc.frames.len() >= 3 && snr_median.is_finite() && snr_median > 0.0 {
        let low: Vec<u32> = qc
            .frames
            .iter()
            .filter(|f| f.snr.is_finite() && f.snr < SNR_DROP * snr_median)
            .map(|f| f.frame)
            .collect();
        if !low.is_empty() {
            let worst =
                low.iter().map(|&t| qc.frames[t as usize].snr).fold(f64::INFINITY, f64::min);
            let at = if low.len() == 1 { "frame" } else { "frames" };
            out.push(format!(
                "the cells' signal-to-noise ratio falls at {at} {} (down to {worst:.1} against a \
                 median of {snr_median:.1}): focus or laser loss?",
                frames_list(&low)
            ));
        }
    }
    if qc.tracks >= 10 && qc.short_track_fraction >= SHORT_TRACKS {
        out.push(format!(
            "{:.0} % of tracks are 1–2 points long: the gate may be too small or detections too \
             noisy",
            100.0 * qc.short_track_fraction
        ));
    }
    let later: usize = qc.frames.iter().skip(1).map(|f| f.detections - f.artefacts).sum();
    if later >= 20 && qc.starts_inside as f64 >= STARTS_INSIDE * later as f64 {
        out.push(format!(
            "{} tracks start inside the field after the first frame ({:.0} % of the detections \
             there): cells appearing from nowhere are missed links or false detections",
            qc.starts_inside,
            100.0 * qc.starts_inside as f64 / later as f64
        ));
    }
    if qc.median_snr.is_finite() && qc.median_snr < LOW_SNR {
        out.push(format!(
            "the cells' median signal-to-noise ratio is {:.1}: dim cells will be missed",
            qc.median_snr
        ));
    }
    if qc.artefact_fraction.is_finite() && qc.artefact_fraction >= ARTEFACTS {
        out.push(format!(
            "{:.0} % of the detections are flagged as artefacts (the `artefact` column): check \
             the cell diameter and the channel",
            100.0 * qc.artefact_fraction
        ));
    }
    if let Some(d) = input.cell_diameter_um {
        let got = qc.median_cell_diameter_um;
        let far = got.is_finite() && (got / d > SIZE_RATIO || d / got > SIZE_RATIO);
        let said = input.warnings.iter().any(|w| w.contains("cell diameter"));
        if far && !said {
            out.push(format!(
                "the detected cells measure {got:.1} µm across, far from the diameter used \
                 ({d:.1} µm, segment.cell_diameter_um)"
            ));
        }
    }
    if !qc.jumps.is_empty() {
        out.push(format!(
            "tissue jumps at frame(s) {} were found and corrected before linking (drift.csv)",
            frames_list(&qc.jumps)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_runs() {
        assert_eq!(frames_list(&[3, 4, 5, 9]), "3–5, 9");
        assert_eq!(frames_list(&[1]), "1");
    }

    #[test]
    fn levels_of_a_flat_noisy_volume() {
        // Background 100, sd 5 (a deterministic pseudo-normal pattern), 2 % bright voxels.
        let n = 16 * 64 * 64;
        let mut state = 12345u64;
        let mut uniform = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let v: Vec<u16> = (0..n)
            .map(|i| {
                let (u1, u2) = (uniform(), uniform());
                let g = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                if i % 50 == 0 {
                    1000
                } else {
                    (100.0 + 5.0 * g).round() as u16
                }
            })
            .collect();
        let vol = Volume::U16(ndarray::Array3::from_shape_vec((16, 64, 64), v).unwrap());
        let (bg, sd) = levels(&vol);
        assert!((bg - 100.0).abs() < 1.0, "{bg}");
        assert!((sd - 5.0).abs() < 0.6, "{sd}");
    }
}
