//! The stages one by one: segmentation, linking, metrics, evaluation, simulation.
//!
//! Each function converts its inputs, releases the GIL, calls the core and converts the
//! result back; settings arrive as JSON of the core's `…Config` structs, made by the Python
//! layer from its keyword arguments.

use std::path::PathBuf;

use leukotrack::calib::{Calibration, Value};
use leukotrack::eval::{self, EvalOverrides};
use leukotrack::io::write::{HyperstackWriter, SampleType};
use leukotrack::metrics::{self, MetricsConfig, TrackSet};
use leukotrack::pipeline::overrides::{from_keywords, keywords_of, MetricsOverrides};
use leukotrack::pipeline::{self, Config, DriftConfig, Overrides};
use leukotrack::segment::{self, SegmentConfig};
use leukotrack::synth::{Simulation, SynthConfig, SynthOverrides, OVERRIDE_KEYS};
use leukotrack::track::{self, LinkConfig};
use leukotrack::{Error, Volume, VolumeView};
use numpy::{PyReadonlyArray3, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::{detached, invalid_input, json_to_py, to_json};
use crate::progress::Ticker;
use crate::recording::PyRecording;
use crate::tables;

/// A calibration of the caller's voxel size (µm, `[x, y, z]`) and optional frame interval (s).
fn user_calibration(voxel: Option<[f64; 3]>, frame_interval_s: Option<f64>) -> Calibration {
    Calibration {
        voxel_x_um: voxel.map(|v| Value::user(v[0])),
        voxel_y_um: voxel.map(|v| Value::user(v[1])),
        voxel_z_um: voxel.map(|v| Value::user(v[2])),
        frame_interval_s: frame_interval_s.map(Value::user),
        frame_times_s: None,
    }
}

/// A borrowed numpy volume (uint8, uint16 or float32, 3-D).
enum Borrowed<'py> {
    U8(PyReadonlyArray3<'py, u8>),
    U16(PyReadonlyArray3<'py, u16>),
    F32(PyReadonlyArray3<'py, f32>),
}

impl<'py> Borrowed<'py> {
    fn of(v: &Bound<'py, PyAny>, c: usize) -> PyResult<Self> {
        let py = v.py();
        let arr = v.cast::<PyUntypedArray>().map_err(|_| {
            invalid_input(py, "volume", format!("channel {c}: expected a numpy array"))
        })?;
        if arr.ndim() != 3 {
            return Err(invalid_input(
                py,
                "volume",
                format!("channel {c}: expected a (z, y, x) array, got {} dimensions", arr.ndim()),
            ));
        }
        if let Ok(a) = v.extract::<PyReadonlyArray3<'py, u16>>() {
            return Ok(Borrowed::U16(a));
        }
        if let Ok(a) = v.extract::<PyReadonlyArray3<'py, u8>>() {
            return Ok(Borrowed::U8(a));
        }
        if let Ok(a) = v.extract::<PyReadonlyArray3<'py, f32>>() {
            return Ok(Borrowed::F32(a));
        }
        Err(invalid_input(
            py,
            "volume",
            format!("channel {c}: pixel type {} (give uint8, uint16 or float32)", arr.dtype()),
        ))
    }

    fn view(&self) -> VolumeView<'_> {
        match self {
            Borrowed::U8(a) => VolumeView::U8(a.as_array()),
            Borrowed::U16(a) => VolumeView::U16(a.as_array()),
            Borrowed::F32(a) => VolumeView::F32(a.as_array()),
        }
    }
}

/// The segmentation settings and channel of a stage call: `config` the `[segment]` table
/// (JSON), `overrides` the keywords (JSON: `channel`, `cell_diameter`, `detector`, `method`).
fn segment_settings(config: &str, overrides: &str) -> leukotrack::Result<(SegmentConfig, usize)> {
    let mut cfg: SegmentConfig = pipeline::stage_from_json("segment", config)?;
    let mut channel = Config::default().channel;
    Overrides::from_json(overrides)?.segment.apply(&mut cfg, &mut channel)?;
    cfg.validate()?;
    Ok((cfg, channel))
}

/// Segments one timepoint given as numpy volumes, one per channel (each (z, y, x), same
/// sizes; intensities in all), read without a copy. `voxel_size` is `[x, y, z]` µm;
/// `config` the `[segment]` table and `overrides` the keywords, as JSON.
#[pyfunction]
pub fn segment_volumes<'py>(
    py: Python<'py>,
    channels: Vec<Bound<'py, PyAny>>,
    frame: usize,
    voxel_size: [f64; 3],
    config: &str,
    overrides: &str,
) -> PyResult<Bound<'py, PyList>> {
    let (cfg, channel) = detached(py, || segment_settings(config, overrides))?;
    let borrowed = channels
        .iter()
        .enumerate()
        .map(|(c, v)| Borrowed::of(v, c))
        .collect::<PyResult<Vec<_>>>()?;
    let views: Vec<VolumeView<'_>> = borrowed.iter().map(Borrowed::view).collect();
    let cal = user_calibration(Some(voxel_size), None);
    let det = detached(py, || {
        leukotrack::VoxelSize::new(voxel_size[0], voxel_size[1], voxel_size[2])?;
        if channel >= views.len() {
            return Err(Error::param(
                "channel",
                format!(
                    "channel {channel} does not exist: {} channel(s), numbered from 0",
                    views.len()
                ),
            ));
        }
        segment::segment_frame_views(&views, channel, frame, &cal, &cfg).map(|s| s.detections)
    })?;
    tables::detections(det).into_py(py)
}

/// Segments every timepoint of a recording (streamed; `progress(stage, done, total)` after
/// each timepoint, Ctrl-C stops it).
#[pyfunction]
#[pyo3(signature = (recording, config, overrides, progress=None))]
pub fn segment_recording<'py>(
    py: Python<'py>,
    recording: &PyRecording,
    config: &str,
    overrides: &str,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let (cfg, channel) = detached(py, || segment_settings(config, overrides))?;
    let rec = &recording.inner;
    let ticker = Ticker::new(progress);
    let r = detached(py, || {
        let total = rec.shape().t;
        if !ticker.tick("segment", 0, total) {
            return Err(Error::Interrupted { stage: "segment".into() });
        }
        segment::segment_recording(rec, channel, &cfg, &|t| ticker.tick("segment", t + 1, total))
    });
    let det = ticker.finish(r)?;
    tables::detections(det).into_py(py)
}

/// Links detections into tracks. `frame_interval` in s; `config` the `[link]` table and
/// `overrides` the keywords (`max_speed`, …, `drift` as `none`/`objects`/`median`), as JSON;
/// `drift_table` a drift table given instead.
#[pyfunction]
#[pyo3(signature = (detections, frame_interval, config, overrides, drift_table=None))]
pub fn link<'py>(
    py: Python<'py>,
    detections: &Bound<'py, PyDict>,
    frame_interval: f64,
    config: &str,
    overrides: &str,
    drift_table: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyList>> {
    let det = tables::detections_from(detections, "detections")?;
    let table = drift_table.map(tables::drift_from).transpose()?;
    let tracks = detached(py, || {
        if !(frame_interval.is_finite() && frame_interval > 0.0) {
            return Err(Error::param(
                "frame_interval",
                format!("must be > 0 s, got {frame_interval}"),
            ));
        }
        let mut cfg: LinkConfig = pipeline::stage_from_json("link", config)?;
        let o = Overrides::from_json(overrides)?;
        o.link.apply(&mut cfg)?;
        cfg.validate()?;
        let mut drift_cfg = DriftConfig::None;
        o.drift.apply(&mut drift_cfg)?;
        let cal = user_calibration(None, Some(frame_interval));
        let drift = match table {
            Some(t) => Some(t),
            None => drift_cfg.estimate(&det, &cal, &cfg, None, &|_| {})?,
        };
        track::link(&det, &cal, &cfg, drift.as_ref())
    })?;
    tables::tracks(tracks).into_py(py)
}

fn metrics_inputs(
    py: Python<'_>,
    tracks: &Bound<'_, PyDict>,
    overrides: &str,
    frame_interval: Option<f64>,
) -> PyResult<(leukotrack::Tracks, MetricsConfig)> {
    let cfg = detached(py, || {
        let mut cfg =
            MetricsConfig { frame_interval_s: frame_interval, ..MetricsConfig::default() };
        let known = keywords_of::<MetricsOverrides>();
        from_keywords::<MetricsOverrides>(overrides, &known)?.apply(&mut cfg)?;
        cfg.validate()?;
        Ok(cfg)
    })?;
    Ok((tables::tracks_from(tracks, "tracks")?, cfg))
}

/// Per-track motility measures (`track_metrics.csv`'s columns).
#[pyfunction]
pub fn track_metrics<'py>(
    py: Python<'py>,
    tracks: &Bound<'py, PyDict>,
    overrides: &str,
    frame_interval: Option<f64>,
) -> PyResult<Bound<'py, PyList>> {
    let (tr, cfg) = metrics_inputs(py, tracks, overrides, frame_interval)?;
    let m = detached(py, || metrics::track_metrics(&tr, &cfg))?;
    tables::track_metrics(m).into_py(py)
}

/// Per-step measures (`steps.csv`'s columns).
#[pyfunction]
pub fn steps<'py>(
    py: Python<'py>,
    tracks: &Bound<'py, PyDict>,
    overrides: &str,
    frame_interval: Option<f64>,
) -> PyResult<Bound<'py, PyList>> {
    let (tr, cfg) = metrics_inputs(py, tracks, overrides, frame_interval)?;
    let s = detached(py, || metrics::steps_with(&tr, &cfg))?;
    tables::steps(s).into_py(py)
}

/// Mean square displacement against lag (`msd.csv`'s columns).
#[pyfunction]
pub fn msd<'py>(
    py: Python<'py>,
    tracks: &Bound<'py, PyDict>,
    overrides: &str,
    frame_interval: Option<f64>,
) -> PyResult<Bound<'py, PyList>> {
    let (tr, cfg) = metrics_inputs(py, tracks, overrides, frame_interval)?;
    let m = detached(py, || metrics::msd(&tr, &cfg))?;
    tables::msd(m).into_py(py)
}

/// Velocity autocorrelation against lag (`autocorrelation.csv`'s columns).
#[pyfunction]
pub fn autocorrelation<'py>(
    py: Python<'py>,
    tracks: &Bound<'py, PyDict>,
    overrides: &str,
    frame_interval: Option<f64>,
) -> PyResult<Bound<'py, PyList>> {
    let (tr, cfg) = metrics_inputs(py, tracks, overrides, frame_interval)?;
    let a = detached(py, || metrics::autocorrelation(&tr, &cfg))?;
    tables::autocorrelation(a).into_py(py)
}

/// The linear MSD fit the motility coefficient comes from (as `metrics_summary.json`'s
/// `msd_fit`), as a dict.
#[pyfunction]
pub fn msd_fit<'py>(
    py: Python<'py>,
    tracks: &Bound<'py, PyDict>,
    overrides: &str,
    frame_interval: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let (tr, cfg) = metrics_inputs(py, tracks, overrides, frame_interval)?;
    let fit = detached(py, || {
        let set = TrackSet::new(&tr, &cfg)?;
        Ok(set.msd().fit_linear(set.dims(), cfg.fit_lag_frames))
    })?;
    json_to_py(py, &to_json(py, &fit)?)
}

/// Every metrics table and the population summary: `(track_metrics, steps, msd,
/// autocorrelation, summary)`, the summary as `metrics_summary.json`'s dict.
#[pyfunction]
pub fn analyze<'py>(
    py: Python<'py>,
    tracks: &Bound<'py, PyDict>,
    overrides: &str,
    frame_interval: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let (tr, cfg) = metrics_inputs(py, tracks, overrides, frame_interval)?;
    let a = detached(py, || metrics::analyze(&tr, &cfg))?;
    let summary = json_to_py(py, &to_json(py, &a.summary)?)?;
    let out = (
        tables::track_metrics(a.track_metrics).into_py(py)?,
        tables::steps(a.steps).into_py(py)?,
        tables::msd(a.msd).into_py(py)?,
        tables::autocorrelation(a.autocorrelation).into_py(py)?,
        summary,
    );
    Ok(out.into_pyobject(py)?.into_any())
}

/// Scores predictions against ground truth: tracks (`as_tracks`: points and links) or
/// detections. Returns the score as a dict.
#[pyfunction]
pub fn evaluate<'py>(
    py: Python<'py>,
    truth: &Bound<'py, PyDict>,
    predicted: &Bound<'py, PyDict>,
    as_tracks: bool,
    overrides: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let cfg = detached(py, || {
        from_keywords::<EvalOverrides>(overrides, &keywords_of::<EvalOverrides>())?.config()
    })?;
    let truth = tables::tracks_from(truth, "truth")?;
    let json = if as_tracks {
        let pred = tables::tracks_from(predicted, "tracks")?;
        let s = detached(py, || eval::score_tracks(&truth, &pred, &cfg))?;
        to_json(py, &s)?
    } else {
        let pred = tables::detections_from(predicted, "detections")?;
        let s = detached(py, || eval::score_detections(&truth, &pred, &cfg))?;
        to_json(py, &s)?
    };
    json_to_py(py, &json)
}

/// A simulator configuration: `config` (JSON, `synth.json`'s fields) with the keyword
/// `overrides` (JSON) applied and checked.
fn synth_config(config: &str, overrides: &str) -> leukotrack::Result<SynthConfig> {
    let o: SynthOverrides = from_keywords(overrides, &keywords_of::<SynthOverrides>())?;
    // Errors name the keyword a Python user wrote (`voxel_size`, not the key `voxel_um`).
    SynthConfig::resolve(Some(config), &o).map_err(|e| match e {
        Error::InvalidParameter { name, reason } => {
            let kw = OVERRIDE_KEYS.iter().find(|(_, key)| *key == name).map(|(kw, _)| *kw);
            Error::param(kw.unwrap_or(&name), reason)
        }
        other => other,
    })
}

/// The ground truth of a simulation (`config` a `SynthConfig` as JSON), without images.
#[pyfunction]
pub fn synth_truth<'py>(
    py: Python<'py>,
    config: &str,
    overrides: &str,
) -> PyResult<Bound<'py, PyList>> {
    let cfg = detached(py, || synth_config(config, overrides))?;
    let truth = detached(py, || Ok(Simulation::new(&cfg)?.truth().clone()))?;
    tables::tracks(truth).into_py(py)
}

/// Simulates a recording into `out_dir` — `recording.tif`, `ground_truth.csv`, `drift.csv`,
/// `debris.csv`, `synth.json`, as `leukotrack synth` — and returns the ground truth.
/// `progress(stage, done, total)` after each timepoint; Ctrl-C stops it, leaving no
/// recording behind.
#[pyfunction]
#[pyo3(signature = (config, overrides, out_dir, deflate=false, progress=None))]
pub fn synth_write<'py>(
    py: Python<'py>,
    config: &str,
    overrides: &str,
    out_dir: PathBuf,
    deflate: bool,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let cfg = detached(py, || synth_config(config, overrides))?;
    let ticker = Ticker::new(progress);
    let r = detached(py, || {
        let sim = Simulation::new(&cfg)?;
        std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;
        let (path, shape, cal) = (out_dir.join("recording.tif"), cfg.shape(), cfg.calibration());
        let mut w = if deflate {
            HyperstackWriter::create_deflate(path, shape, SampleType::U16, &cal)?
        } else {
            HyperstackWriter::create(path, shape, SampleType::U16, &cal)?
        };
        for t in 0..cfg.frames {
            if !ticker.tick("synth", t, cfg.frames) {
                return Err(Error::Interrupted { stage: "synth".into() });
            }
            let vols = (0..cfg.channels)
                .map(|c| sim.render(t, c).map(Volume::U16))
                .collect::<leukotrack::Result<Vec<_>>>()?;
            w.write_timepoint(&vols)?;
        }
        w.finish()?;
        sim.write_truth(&out_dir)?;
        ticker.tick("synth", cfg.frames, cfg.frames);
        Ok(sim.truth().clone())
    });
    let truth = ticker.finish(r)?;
    tables::tracks(truth).into_py(py)
}
