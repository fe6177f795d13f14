//! The whole pipeline (`pipeline::run`), its configuration, the `Analysis` it returns, and
//! the batch steps `leukotrack.dask` runs one task each.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use leukotrack::pipeline::{self, batch, Analysis, Config, Progress};
use leukotrack::Error;
use numpy::PyArray2;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::errors::{detached, from_json, json_to_py, to_json, to_pyerr};
use crate::progress::Ticker;
use crate::recording::PyRecording;
use crate::tables;

/// The default configuration, as JSON (every value, defaults included).
#[pyfunction]
pub fn default_config(py: Python<'_>) -> PyResult<String> {
    to_json(py, &Config::default())
}

/// The commented default configuration file (`leukotrack config --default`).
#[pyfunction]
pub fn default_config_toml() -> &'static str {
    Config::default_toml()
}

/// Reads a TOML configuration file; returns it as JSON (every value).
#[pyfunction]
pub fn load_config(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    let cfg = detached(py, || Config::load(&path))?;
    to_json(py, &cfg)
}

/// Parses TOML text; returns the configuration as JSON.
#[pyfunction]
pub fn config_from_toml(py: Python<'_>, text: &str) -> PyResult<String> {
    let cfg = Config::from_toml_str(text).map_err(|e| to_pyerr(py, e))?;
    to_json(py, &cfg)
}

/// Checks a configuration given as JSON (unknown keys and values out of range are errors
/// naming the key); returns it with every default filled in.
#[pyfunction]
pub fn check_config(py: Python<'_>, config: &str) -> PyResult<String> {
    let cfg = parse_config(py, config)?;
    to_json(py, &cfg)
}

/// The configuration (JSON) as TOML text.
#[pyfunction]
pub fn config_to_toml(py: Python<'_>, config: &str) -> PyResult<String> {
    let cfg = parse_config(py, config)?;
    cfg.to_toml().map_err(|e| to_pyerr(py, e))
}

pub(crate) fn parse_config(py: Python<'_>, config: &str) -> PyResult<Config> {
    detached(py, || Config::from_json_str(config))
}

/// The effective configuration (JSON) of `base` (JSON, or `None` for the defaults) with the
/// keyword overrides `overrides` (JSON object) applied: keyword > `config=` > default.
#[pyfunction]
#[pyo3(signature = (base, overrides))]
pub fn resolve_config(py: Python<'_>, base: Option<&str>, overrides: &str) -> PyResult<String> {
    let cfg = detached(py, || Config::resolve_json(base, overrides))?;
    to_json(py, &cfg)
}

/// The table of every setting (`leukotrack config --schema`), as JSON.
#[pyfunction]
pub fn settings(py: Python<'_>) -> PyResult<String> {
    to_json(py, &pipeline::settings::settings())
}

/// A projection image and its pixel size `(x, y)`, µm.
type ProjectionOut<'py> = (Bound<'py, PyArray2<f32>>, (f64, f64));

/// The results of the pipeline on one recording.
#[pyclass(name = "Analysis", module = "leukotrack._core", frozen)]
pub struct PyAnalysis {
    inner: Mutex<Analysis>,
}

impl PyAnalysis {
    /// `f` of the analysis, the lock taken with the GIL released (a `save` running in another
    /// thread may need the GIL for its progress reports while it holds the lock).
    fn with<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&Analysis) -> T + Send) -> PyResult<T> {
        detached(py, || {
            let a = self
                .inner
                .lock()
                .map_err(|_| Error::internal("the analysis was poisoned by a panic"))?;
            Ok(f(&a))
        })
    }
}

#[pymethods]
impl PyAnalysis {
    /// The detections (`detections.csv`'s columns).
    fn detections<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        tables::detections(self.with(py, |a| a.detections.clone())?).into_py(py)
    }
    /// The tracks (`tracks.csv`'s columns).
    fn tracks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        tables::tracks(self.with(py, |a| a.tracks.clone())?).into_py(py)
    }
    /// Per-track metrics (`track_metrics.csv`'s columns).
    fn track_metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        tables::track_metrics(self.with(py, |a| a.metrics.track_metrics.clone())?).into_py(py)
    }
    /// Per-step metrics (`steps.csv`'s columns).
    fn steps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        tables::steps(self.with(py, |a| a.metrics.steps.clone())?).into_py(py)
    }
    /// MSD against lag (`msd.csv`'s columns).
    fn msd<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        tables::msd(self.with(py, |a| a.metrics.msd.clone())?).into_py(py)
    }
    /// Velocity autocorrelation (`autocorrelation.csv`'s columns).
    fn autocorrelation<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        tables::autocorrelation(self.with(py, |a| a.metrics.autocorrelation.clone())?).into_py(py)
    }
    /// The drift removed before linking (`drift.csv`'s columns).
    fn drift<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        tables::drift(self.with(py, |a| a.drift.clone())?).into_py(py)
    }
    /// `interactions.csv` and `contacts.csv` as CSV text, or `None` without partners.
    fn interactions_csv(&self, py: Python<'_>) -> PyResult<Option<(String, String)>> {
        let t = self.with(py, |a| a.interactions.as_ref().map(|i| i.to_csv(&a.tracks)))?;
        t.transpose().map_err(|e| to_pyerr(py, e))
    }
    /// `summary.json` as a dict.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = self.with(py, |a| serde_json::to_string(&a.summary))?;
        let json = json.map_err(|e| to_pyerr(py, Error::data(e.to_string())))?;
        json_to_py(py, &json)
    }
    /// `metrics_summary.json` as a dict.
    fn metrics_summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = self.with(py, |a| serde_json::to_string(&a.metrics.summary))?;
        let json = json.map_err(|e| to_pyerr(py, Error::data(e.to_string())))?;
        json_to_py(py, &json)
    }
    /// `qc.json` as a dict.
    fn qc<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = self.with(py, |a| serde_json::to_string(&a.qc))?;
        let json = json.map_err(|e| to_pyerr(py, Error::data(e.to_string())))?;
        json_to_py(py, &json)
    }
    /// The maximum-intensity projection of the segmented channel, `(image (y, x) float32,
    /// (pixel x µm, pixel y µm))`, or `None`.
    fn projection<'py>(&self, py: Python<'py>) -> PyResult<Option<ProjectionOut<'py>>> {
        let p = self.with(py, |a| a.projection.clone())?;
        Ok(p.map(|p| (PyArray2::from_owned_array(py, p.image), (p.pixel_um[0], p.pixel_um[1]))))
    }
    /// Writes every result file into `out_dir`, as `leukotrack track` does (the exports the
    /// configuration asks for, `summary.json` last).
    #[pyo3(signature = (out_dir, progress=None))]
    fn save(
        &self,
        py: Python<'_>,
        out_dir: PathBuf,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let ticker = Ticker::new(progress);
        let r = detached(py, || {
            let mut a =
                self.inner.lock().map_err(|_| Error::internal("the analysis was poisoned"))?;
            a.save(&out_dir, &|p: Progress| ticker.tick(p.stage.name(), p.done, p.total))
        });
        ticker.finish(r)
    }
}

/// Runs the pipeline on `recording` with `config` (JSON); `progress(stage, done, total)`
/// as stages advance; Ctrl-C stops it (`KeyboardInterrupt`).
#[pyfunction]
#[pyo3(signature = (recording, config, progress=None))]
pub fn run_pipeline(
    py: Python<'_>,
    recording: &PyRecording,
    config: &str,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<PyAnalysis> {
    let cfg = parse_config(py, config)?;
    let ticker = Ticker::new(progress);
    let rec = Arc::clone(&recording.inner);
    let r = detached(py, || {
        pipeline::run(&rec, &cfg, &|p: Progress| ticker.tick(p.stage.name(), p.done, p.total))
    });
    let analysis = ticker.finish(r)?;
    Ok(PyAnalysis { inner: Mutex::new(analysis) })
}

/// The recordings under `roots` (folders searched recursively, globs, files), as
/// `leukotrack batch` finds them: a list of `(path, results folder name)`.
#[pyfunction]
#[pyo3(signature = (roots, series=false))]
pub fn batch_discover(
    py: Python<'_>,
    roots: Vec<PathBuf>,
    series: bool,
) -> PyResult<Vec<(PathBuf, String)>> {
    let inputs = detached(py, || batch::discover(&roots, series))?;
    Ok(inputs.into_iter().map(|i| (i.path, i.name)).collect())
}

/// Analyses one recording into `out_root/name/` exactly as `leukotrack batch` does (skipped
/// when complete outputs are there; a failure is reported in the row, never raised), and
/// returns its summary row as a dict. `progress(stage, done, total)` returning `False` (or
/// Ctrl-C in the main thread) stops it; the row then says so.
#[pyfunction]
#[pyo3(signature = (path, name, out_root, config, progress=None))]
pub fn batch_run_one<'py>(
    py: Python<'py>,
    path: PathBuf,
    name: String,
    out_root: PathBuf,
    config: &str,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let cfg = parse_config(py, config)?;
    let ticker = Ticker::new(progress);
    let input = batch::Input { path, name };
    let row = detached(py, || {
        Ok(batch::run_one(&input, &out_root, &cfg, &|p: Progress| {
            ticker.tick(p.stage.name(), p.done, p.total)
        }))
    });
    let row = ticker.finish(row)?;
    json_to_py(py, &to_json(py, &row)?)
}

/// Writes `summary.csv` of a batch from its rows (dicts as [`batch_run_one`] returns).
#[pyfunction]
pub fn batch_write_summary(py: Python<'_>, path: PathBuf, rows: &str) -> PyResult<()> {
    let rows: Vec<batch::Row> = from_json(py, "rows", rows)?;
    detached(py, || batch::write_summary(&path, &rows))
}

/// Column names of `summary.csv`, in order.
#[pyfunction]
pub fn batch_summary_columns() -> Vec<&'static str> {
    batch::SUMMARY_COLUMNS.to_vec()
}

/// A simulated twin of `recording` written into `out_dir` (`twin.json`, `recording.tif`,
/// `ground_truth.csv`, `comparison.png`); returns `twin.json`'s contents as JSON.
#[pyfunction]
pub fn run_twin(
    py: Python<'_>,
    recording: &PyRecording,
    config: &str,
    out_dir: PathBuf,
) -> PyResult<String> {
    let cfg = parse_config(py, config)?;
    let rec = Arc::clone(&recording.inner);
    detached(py, || {
        let (t, _) = leukotrack::twin::measure(&rec, &cfg)?;
        leukotrack::twin::write(&t, &rec, &out_dir)?;
        serde_json::to_string(&t).map_err(|e| Error::internal(e.to_string()))
    })
}

/// The tuner on `recording` (`leukotrack tune`): writes `tune.csv`, `best.toml`,
/// `expected.json` (and `twin/`) into `out_dir`; returns `expected.json`'s contents as JSON.
#[pyfunction]
#[pyo3(signature = (recording, config, out_dir, truth=None, budget=None, jobs=None))]
pub fn run_tune(
    py: Python<'_>,
    recording: &PyRecording,
    config: &str,
    out_dir: PathBuf,
    truth: Option<PathBuf>,
    budget: Option<usize>,
    jobs: Option<usize>,
) -> PyResult<String> {
    let cfg = parse_config(py, config)?;
    let rec = Arc::clone(&recording.inner);
    let opts = leukotrack::tune::TuneOptions {
        budget: budget.unwrap_or(leukotrack::tune::DEFAULT_BUDGET),
        jobs: jobs.unwrap_or(1),
    };
    detached(py, || {
        let report = leukotrack::tune::tune_recording(
            &rec,
            &cfg,
            truth.as_deref(),
            &opts,
            &out_dir,
            &|_, _| {},
        )?;
        serde_json::to_string(&report.expected).map_err(|e| Error::internal(e.to_string()))
    })
}
