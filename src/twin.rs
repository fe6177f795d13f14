//! A simulated twin of a recording: its statistics measured from the image and a first pass
//! of the pipeline on it (never from any file beside it), and a simulation with the same
//! statistics and exact ground truth ([`measure`], [`write()`]).
//!
//! What is measured, and how:
//! - shape, voxel size, frame interval: the recording's;
//! - the noise model: background blocks (planes cut into squares of about a cell, the
//!   none holding a voxel 4.5 sd above the background) give a mean–variance line, `var = a + g·mean`:
//!   the gain is its slope; the offset is taken a little below the darkest blocks and the
//!   read noise makes up the rest of `a` (only the line is identifiable; the twin keeps it);
//! - the background level and unevenness: the blocks' median and spread;
//! - the cells' brightness: the median mean intensity of the detections over the background,
//!   in photons, scaled by [`BRIGHTNESS_SCALE`] (a segmented cell's mean over its blurred
//!   edge is below the simulator's surface brightness);
//! - the cells' sizes: a range centred on the segmentation's diameter estimate, as wide as
//!   the detections' equivalent diameters spread (10th–90th percentile), at most ± 30 %;
//! - density: the median cells per frame over the field's volume;
//! - speeds, arrested fraction, persistence: the first-pass tracks of ≥ 4 points (a track
//!   slower than the metrics' arrest threshold is arrested; the motile tracks' speeds give
//!   the log-uniform range); the persistence time from the Fürth fit;
//! - drift and jumps: the first pass's drift table and tissue jumps.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::write::write_atomic;
use crate::io::{Recording, Volume, VolumeView};
use crate::pipeline::{self, Analysis, Config};
use crate::qc::quantile;
use crate::synth::{Simulation, SynthConfig};

/// The simulator's surface brightness over a segmented cell's mean contrast (measured on the
/// `default` preset: the PSF and the cell's edge lower the mean).
pub const BRIGHTNESS_SCALE: f64 = 1.5;

/// What [`measure`] found: `twin.json`'s `measured`. Grey levels, µm, µm/min, min.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// Sizes `[t, z, y, x]` of the recording.
    pub shape: [usize; 4],
    /// Voxel size `[x, y, z]`, µm.
    pub voxel_um: [f64; 3],
    /// Frame interval, s.
    pub frame_interval_s: f64,
    /// Median background level, grey levels.
    pub background_level: f64,
    /// Background noise (sd), grey levels.
    pub noise_sd: f64,
    /// Gain: the slope of the background's variance against its mean, grey levels per photon.
    pub gain: f64,
    /// Offset (grey levels) and read noise (sd) of the mean–variance line.
    pub offset: f64,
    /// Read noise, grey levels (sd).
    pub read_noise: f64,
    /// Background photons per voxel.
    pub background_photons: f64,
    /// Relative amplitude of the uneven background.
    pub background_unevenness: f64,
    /// Background blocks the noise model was fitted on.
    pub background_blocks: usize,
    /// Median mean intensity of the cells, grey levels.
    pub cell_signal: f64,
    /// Cell brightness, photons per voxel (the simulator's `cell_photons`).
    pub cell_photons: f64,
    /// Median (signal − background) / noise of the cells.
    pub snr: f64,
    /// Median equivalent diameter, µm.
    pub median_diameter_um: f64,
    /// Range of diameters, µm.
    pub diameter_um: [f64; 2],
    /// Median cells per frame.
    pub cells_per_frame: f64,
    /// Cells per 100,000 µm³ of the field.
    pub density_per_1e5_um3: f64,
    /// First-pass tracks of ≥ 4 points the motion was measured on.
    pub tracks_measured: usize,
    /// Mean track speed, µm/min (every measured track).
    pub mean_speed_um_per_min: f64,
    /// Range of the motile tracks' speeds (log-uniform), µm/min.
    pub speed_um_per_min: [f64; 2],
    /// Fraction of the measured tracks slower than the arrest threshold.
    pub arrested_fraction: f64,
    /// Persistence time, min (Fürth fit; 3 when it did not converge).
    pub persistence_min: f64,
    /// Mean drift speed, µm/min.
    pub drift_um_per_min: f64,
    /// Fraction of frame pairs with a tissue jump.
    pub jump_fraction: f64,
}

/// A twin: what was measured and the simulator's configuration made from it (`twin.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Twin {
    /// The recording measured.
    pub recording: std::path::PathBuf,
    /// The channel measured (the twin's channel 0).
    pub channel: usize,
    /// What was measured.
    pub measured: Measured,
    /// The simulator's configuration (`leukotrack synth --config` takes it).
    pub synth: SynthConfig,
}

/// Mean and variance of square blocks of about `side` pixels in every plane of `vol`.
fn blocks(vol: &Volume, side: usize) -> Vec<(f64, f64, f64)> {
    fn go<T: Copy + Into<f64>>(a: &ndarray::ArrayView3<T>, side: usize) -> Vec<(f64, f64, f64)> {
        let (nz, ny, nx) = a.dim();
        let mut out = Vec::new();
        for z in 0..nz {
            for by in (0..ny.saturating_sub(side - 1)).step_by(side) {
                for bx in (0..nx.saturating_sub(side - 1)).step_by(side) {
                    let (mut s, mut s2, mut mx) = (0.0, 0.0, f64::MIN);
                    for y in by..by + side {
                        for x in bx..bx + side {
                            let v: f64 = a[[z, y, x]].into();
                            s += v;
                            s2 += v * v;
                            mx = mx.max(v);
                        }
                    }
                    let n = (side * side) as f64;
                    let m = s / n;
                    out.push((m, (s2 / n - m * m) * n / (n - 1.0), mx));
                }
            }
        }
        out
    }
    match vol.view() {
        VolumeView::U8(a) => go(&a, side),
        VolumeView::U16(a) => go(&a, side),
        VolumeView::F32(a) => go(&a, side),
    }
}

/// Least-squares line `y = a + b·x`.
fn line(pts: &[(f64, f64)]) -> (f64, f64) {
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - b * mx, b)
}

/// Measures `recording` (channel `config.channel`, read as `config.read` says) and makes the
/// simulator's configuration of its twin: a first pass of the pipeline with `config`, then
/// the background of three timepoints. An error when the first pass finds no cells.
pub fn measure(recording: &Recording, config: &Config) -> Result<(Twin, Analysis)> {
    let analysis = pipeline::run(recording, config, &|_| true)?;
    let twin = from_analysis(recording, config, &analysis)?;
    Ok((twin, analysis))
}

/// As [`measure`], from a first pass already run.
pub fn from_analysis(recording: &Recording, config: &Config, a: &Analysis) -> Result<Twin> {
    let shape = recording.shape();
    let path = recording.path();
    let voxel = a.summary.recording.voxel_size_um;
    let dt = a.summary.recording.frame_interval_s;
    let qc = &a.qc;
    let cells_per_frame = quantile(
        &qc.frames.iter().map(|f| (f.detections - f.artefacts) as f64).collect::<Vec<_>>(),
        0.5,
    );
    if cells_per_frame.is_nan() || cells_per_frame <= 0.0 {
        return Err(Error::data(format!(
            "{}: the first pass found no cells (channel {}): a twin needs some; check the \
             channel, the voxel size and the cell diameter",
            path.display(),
            config.channel
        )));
    }
    let diameter = a.summary.segment.cell_diameter_um.unwrap_or(qc.median_cell_diameter_um);

    // The noise model from background blocks of three timepoints.
    let mut ts = vec![0, shape.t / 2, shape.t.saturating_sub(1)];
    ts.dedup();
    let mut side = ((diameter / voxel[0]).round() as usize).clamp(6, 32);
    // Each timepoint's volume with the background level and noise the first pass measured.
    let vols = ts
        .iter()
        .map(|&t| {
            let f = &qc.frames[t];
            Ok((recording.volume(t, config.channel)?, f.background, f.noise))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut bg: Vec<(f64, f64, f64)> = Vec::new();
    // Dense scenes leave no cell-free block of a cell's size: smaller blocks then.
    while side >= 4 {
        bg.clear();
        for (v, level, sigma) in &vols {
            let (level, sigma) = (*level, *sigma);
            let mut b = blocks(v, side);
            // Blocks without a cell: no voxel brighter than the background's 4.5 sd.
            b.retain(|&(_, _, mx)| mx < level + 4.5 * sigma.max(1e-9));
            bg.extend(b);
        }
        if bg.len() >= 16 {
            break;
        }
        side /= 2;
    }
    let background_level =
        quantile(&qc.frames.iter().map(|f| f.background).collect::<Vec<_>>(), 0.5);
    let noise_sd = quantile(&qc.frames.iter().map(|f| f.noise).collect::<Vec<_>>(), 0.5);
    let pts: Vec<(f64, f64)> = bg.iter().map(|b| (b.0, b.1)).collect();
    let (a0, slope) = if pts.len() >= 8 { line(&pts) } else { (noise_sd * noise_sd, 0.0) };
    let means: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let spread = quantile(&means, 0.9) - quantile(&means, 0.1);
    // A slope from too narrow a spread of means is noise: Gaussian noise then.
    let gain = if slope > 0.05 && spread > 2.0 * noise_sd / (side as f64) { slope } else { 0.05 };
    let dark = match quantile(&means, 0.02) {
        d if d.is_finite() => d,
        _ => background_level,
    };
    let var_total = noise_sd * noise_sd;
    let mut offset = (dark - 3.0 * noise_sd).clamp(0.0, dark.max(0.0));
    let mut read2 = var_total - gain * (background_level - offset);
    if gain > 0.05 {
        read2 = a0 + gain * offset;
    }
    if read2 < 0.0 {
        // The offset must be higher for the line's intercept.
        offset = (offset - read2 / gain).min(background_level);
        read2 = 0.0;
    }
    let background_photons = ((background_level - offset) / gain).max(0.01);
    let sd_photons = {
        let mut m: Vec<f64> = means.iter().map(|m| (m - offset) / gain).collect();
        let mean = m.iter().sum::<f64>() / m.len().max(1) as f64;
        m.iter_mut().for_each(|v| *v = (*v - mean).powi(2));
        (m.iter().sum::<f64>() / m.len().max(1) as f64).sqrt()
    };
    // The simulator's uneven background: photons × (1 + u·m), m the mean of 4 cosines
    // (sd √2/4).
    let background_unevenness =
        (sd_photons / background_photons / (2f64.sqrt() / 4.0)).clamp(0.0, 0.9);
    let cell_signal = quantile(&qc.frames.iter().map(|f| f.signal).collect::<Vec<_>>(), 0.5);
    let cell_photons = ((cell_signal - background_level) / gain * BRIGHTNESS_SCALE).max(0.1);

    // Sizes.
    let flat = shape.z <= 1 || a.summary.segment.thin_stack;
    let diam = crate::qc::diameters(&a.detections, flat);
    let flagged = crate::segment::artefact_rows(&a.detections);
    let cell_d: Vec<f64> =
        diam.iter().zip(&flagged).filter(|(_, &f)| !f).map(|(&d, _)| d).collect();
    // Centred on the segmentation's estimate of the typical diameter (what the detector
    // itself sees), as wide as the detections' 10th–90th percentiles say (a uniform range),
    // at most ± 30 %.
    let (q10, q90) = (quantile(&cell_d, 0.1), quantile(&cell_d, 0.9));
    let centre = a
        .summary
        .segment
        .estimated_cell_diameter_um
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or_else(|| quantile(&cell_d, 0.5));
    let half = match (q90 - q10) / 0.8 / 2.0 {
        h if h.is_finite() => h.min(0.3 * centre),
        _ => 0.2 * centre,
    };
    let diameter_um = [(centre - half).max(2.0 * voxel[0]), (centre + half).max(centre + 0.1)];

    // Density over the field.
    let field: f64 = (0..3).map(|k| [shape.x, shape.y, shape.z][k] as f64 * voxel[k]).product();
    let density = cells_per_frame / field * 1e5;

    // Motion from tracks of ≥ 4 points.
    let tm = &a.metrics.track_metrics;
    let arrest = a.metrics.summary.config.arrest_threshold_um_per_min;
    let speeds: Vec<f64> = (0..tm.n_points.len())
        .filter(|&i| tm.n_points[i] >= 4 && tm.speed_um_per_min[i].is_finite())
        .map(|i| tm.speed_um_per_min[i])
        .collect();
    let motile: Vec<f64> = speeds.iter().copied().filter(|&s| s >= arrest).collect();
    let arrested_fraction =
        if speeds.is_empty() { 0.2 } else { 1.0 - motile.len() as f64 / speeds.len() as f64 };
    let speed_um_per_min = if motile.len() >= 3 {
        let (l10, l90) = (quantile(&motile, 0.1).ln(), quantile(&motile, 0.9).ln());
        let w = (l90 - l10) / 0.8;
        [(l10 - 0.1 * w).exp().max(arrest), (l90 + 0.1 * w).exp()]
    } else {
        SynthConfig::default().speed_um_per_min
    };
    let mean_speed = speeds.iter().sum::<f64>() / speeds.len().max(1) as f64;
    let p = a.metrics.summary.furth_fit.persistence_time_min;
    let persistence_min = if p.is_finite() && p > 0.2 && p < 60.0 { p } else { 3.0 };
    let d = &a.drift;
    let duration_min = (shape.t.saturating_sub(1)) as f64 * dt / 60.0;
    let drift_um_per_min = match (d.dx_um.first(), d.dx_um.last(), duration_min > 0.0) {
        (Some(_), Some(_), true) => {
            let n = d.dx_um.len() - 1;
            let dz = d.dz_um[n] - d.dz_um[0];
            ((d.dx_um[n] - d.dx_um[0]).powi(2) + (d.dy_um[n] - d.dy_um[0]).powi(2) + dz * dz).sqrt()
                / duration_min
        }
        _ => 0.0,
    };
    let jump_fraction =
        if shape.t > 1 { qc.jumps.len() as f64 / (shape.t - 1) as f64 } else { 0.0 };

    let measured = Measured {
        shape: [shape.t, shape.z, shape.y, shape.x],
        voxel_um: voxel,
        frame_interval_s: dt,
        background_level,
        noise_sd,
        gain,
        offset,
        read_noise: read2.sqrt(),
        background_photons,
        background_unevenness,
        background_blocks: bg.len(),
        cell_signal,
        cell_photons,
        snr: qc.median_snr,
        median_diameter_um: quantile(&cell_d, 0.5),
        diameter_um,
        cells_per_frame,
        density_per_1e5_um3: density,
        tracks_measured: speeds.len(),
        mean_speed_um_per_min: mean_speed,
        speed_um_per_min,
        arrested_fraction,
        persistence_min,
        drift_um_per_min,
        jump_fraction,
    };
    let base = SynthConfig::default();
    let synth = SynthConfig {
        seed: 1,
        frames: shape.t,
        size: [shape.x, shape.y, shape.z],
        voxel_um: voxel,
        frame_interval_s: dt,
        channels: 1,
        density_per_1e5_um3: density,
        diameter_um,
        speed_um_per_min,
        arrested_fraction,
        persistence_min,
        // Cells deeper than a thin stack lie across it, as in 2D: no margin in z.
        margin_um: if flat { [base.margin_um[0], 0.0] } else { base.margin_um },
        background_photons,
        background_unevenness,
        cell_photons,
        gain,
        offset,
        read_noise: read2.sqrt(),
        debris_count: 0,
        drift_um_per_min,
        jump_fraction,
        preset: "default".into(),
        ..base
    };
    Ok(Twin { recording: path.to_path_buf(), channel: config.channel, measured, synth })
}

/// The files [`write()`] makes.
pub const TWIN_FILES: [&str; 4] =
    ["twin.json", "recording.tif", "ground_truth.csv", "comparison.png"];

/// Simulates `twin` and writes `dir/twin.json`, the twin's `recording.tif` with its ground
/// truth (`ground_truth.csv` and the simulator's other truth files) and `comparison.png`
/// (the middle timepoint's z projection of the recording and of the twin, side by side, at
/// the recording's contrast). Returns the simulation.
pub fn write(twin: &Twin, recording: &Recording, dir: &Path) -> Result<Simulation> {
    let sim = Simulation::new(&twin.synth)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    sim.write(dir)?;
    let t = recording.shape().t / 2;
    let real = recording.volume(t, twin.channel)?;
    let ours = Volume::U16(sim.render(t, 0)?);
    crate::export::plots::write_comparison(
        &dir.join("comparison.png"),
        &real,
        &ours,
        &format!("{} — timepoint {t}, z projection", pipeline::recording_name(recording.path())),
    )?;
    let json = serde_json::to_string_pretty(twin).map_err(|e| Error::internal(e.to_string()))?;
    write_atomic(&dir.join("twin.json"), |w| w.write_all(json.as_bytes()))?;
    Ok(sim)
}
