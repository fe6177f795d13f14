//! Studies (`leukotrack study`): the run, the rows a cluster analyses, and the comparison of
//! per-track values the `Study` object calls.

use std::path::PathBuf;

use leukotrack::study::{self, stats::Of, Measure, StudyOptions};
use leukotrack::Error;
use pyo3::prelude::*;

use crate::errors::detached;
use crate::pipeline::parse_config;

/// Runs the study of `table` into `out_dir` (as `leukotrack study`); returns `study.json`'s
/// contents (failed rows are in it, not raised).
#[pyfunction]
#[pyo3(signature = (table, out_dir, config, jobs=None, reference=None))]
pub fn run_study(
    py: Python<'_>,
    table: PathBuf,
    out_dir: PathBuf,
    config: &str,
    jobs: Option<usize>,
    reference: Option<String>,
) -> PyResult<String> {
    let cfg = parse_config(py, config)?;
    detached(py, || {
        let t = study::read_table(&table)?;
        let options = StudyOptions { jobs: jobs.unwrap_or(1), reference };
        let s = study::run(&t, &out_dir, &cfg, &options)?;
        study::write(&s, &out_dir)?;
        std::fs::read_to_string(out_dir.join("study.json")).map_err(|e| Error::io(&out_dir, e))
    })
}

/// The recording rows of `table` (not tracks files): (path, results name, that row's
/// configuration as JSON) — what a cluster analyses before [`run_study`] pools.
#[pyfunction]
#[pyo3(signature = (table, config))]
pub fn study_recordings(
    py: Python<'_>,
    table: PathBuf,
    config: &str,
) -> PyResult<Vec<(String, String, String)>> {
    let cfg = parse_config(py, config)?;
    detached(py, || {
        let t = study::read_table(&table)?;
        t.entries
            .iter()
            .filter(|e| !e.is_tracks())
            .map(|e| {
                let c = study::row_config(&cfg, e);
                let json = serde_json::to_string(&c).map_err(|e| Error::internal(e.to_string()))?;
                Ok((e.recording.display().to_string(), e.name.clone(), json))
            })
            .collect()
    })
}

/// Compares groups of per-track values, the mouse as the unit (`leukotrack::study::compare`):
/// `values[k]` one value per track for measure `names[k]`, `fractions[k]` true for 0/1 class
/// indicators (a mouse's value their mean, else the median); the rows as JSON.
#[pyfunction]
#[pyo3(signature = (mouse, group, names, values, fractions, config, reference=None))]
#[allow(clippy::too_many_arguments)]
pub fn study_compare(
    py: Python<'_>,
    mouse: Vec<String>,
    group: Vec<String>,
    names: Vec<String>,
    values: Vec<Vec<f64>>,
    fractions: Vec<bool>,
    config: &str,
    reference: Option<String>,
) -> PyResult<String> {
    let cfg = parse_config(py, config)?;
    detached(py, || {
        if names.len() != values.len() || names.len() != fractions.len() {
            return Err(Error::param("measure", "one list of values per measure"));
        }
        let measures: Vec<Measure> = names
            .iter()
            .zip(&values)
            .zip(&fractions)
            .map(|((n, v), &f)| Measure {
                name: n,
                values: v,
                of: if f { Of::Mean } else { Of::Median },
            })
            .collect();
        let rows = study::compare(&mouse, &group, &measures, reference.as_deref(), &cfg.study)?;
        serde_json::to_string(&rows).map_err(|e| Error::internal(e.to_string()))
    })
}

/// A `--partner` shorthand (`NAME=CHANNEL:structure[:static]`, `NAME=mask:FILE`) as the JSON
/// of an `[[interact.partner]]` table.
#[pyfunction]
pub fn parse_partner(py: Python<'_>, spec: &str) -> PyResult<String> {
    detached(py, || {
        let p = leukotrack::interact::Partner::parse(spec)?;
        serde_json::to_string(&p).map_err(|e| Error::internal(e.to_string()))
    })
}

/// The interactions of `tracks` (columns) with the partners of `config` in `recording`:
/// (`interactions.csv`, `contacts.csv`, the per-track columns as (name, values) pairs with
/// their track ids).
#[pyfunction]
#[pyo3(signature = (tracks, recording, config))]
#[allow(clippy::type_complexity)]
pub fn run_interactions(
    py: Python<'_>,
    tracks: &Bound<'_, pyo3::types::PyDict>,
    recording: &crate::recording::PyRecording,
    config: &str,
) -> PyResult<(String, String, Vec<String>, Vec<(String, Vec<f64>)>)> {
    let cfg = parse_config(py, config)?;
    let tr = crate::tables::tracks_from(tracks, "tracks")?;
    let rec = std::sync::Arc::clone(&recording.inner);
    detached(py, || {
        let interval = rec.calibration().frame_interval_s()?;
        let found = leukotrack::interact::analyse(
            &rec,
            &tr,
            None,
            &cfg.interact,
            interval,
            cfg.metrics.arrest_threshold_um_per_min,
        )?;
        let (a, b) = found.to_csv(&tr)?;
        Ok((a, b, found.track_ids.clone(), found.per_track.clone()))
    })
}
