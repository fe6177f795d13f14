//! `leukotrack._core`: the native module of the Python package `leukotrack`.
//!
//! It converts and delegates, nothing more: Python values in (numpy arrays borrowed without a
//! copy, columns, settings as JSON of the core's `…Config` structs), the GIL released while
//! the core works, numpy columns out. The public Python API — keyword arguments, pandas
//! DataFrames, the exception classes — is the `leukotrack` package around it. Units are the
//! core's: µm, s, µm/min.
//!
//! No Rust panic reaches Python: every call into the core is wrapped in `catch_unwind`, and
//! every [`leukotrack::Error`] variant maps to an exception (see [`errors`]).
#![warn(missing_docs)]
#![warn(rustdoc::broken_intra_doc_links)]

use pyo3::prelude::*;

pub mod errors;
pub mod pipeline;
pub mod progress;
pub mod recording;
pub mod stages;
pub mod study;
pub mod tables;

/// The native module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<recording::PyRecording>()?;
    m.add_class::<pipeline::PyAnalysis>()?;
    m.add_function(wrap_pyfunction!(stages::segment_volumes, m)?)?;
    m.add_function(wrap_pyfunction!(stages::segment_recording, m)?)?;
    m.add_function(wrap_pyfunction!(stages::link, m)?)?;
    m.add_function(wrap_pyfunction!(stages::track_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(stages::steps, m)?)?;
    m.add_function(wrap_pyfunction!(stages::msd, m)?)?;
    m.add_function(wrap_pyfunction!(stages::autocorrelation, m)?)?;
    m.add_function(wrap_pyfunction!(stages::msd_fit, m)?)?;
    m.add_function(wrap_pyfunction!(stages::analyze, m)?)?;
    m.add_function(wrap_pyfunction!(stages::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(stages::synth_truth, m)?)?;
    m.add_function(wrap_pyfunction!(stages::synth_write, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::default_config, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::default_config_toml, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::load_config, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::config_from_toml, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::config_to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::check_config, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::resolve_config, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::settings, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::run_pipeline, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::run_twin, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::run_tune, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::batch_discover, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::batch_run_one, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::batch_write_summary, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::batch_summary_columns, m)?)?;
    m.add_function(wrap_pyfunction!(study::run_study, m)?)?;
    m.add_function(wrap_pyfunction!(study::study_recordings, m)?)?;
    m.add_function(wrap_pyfunction!(study::study_compare, m)?)?;
    m.add_function(wrap_pyfunction!(study::parse_partner, m)?)?;
    m.add_function(wrap_pyfunction!(study::run_interactions, m)?)?;
    m.add_function(wrap_pyfunction!(testing::_panic_for_tests, m)?)?;
    Ok(())
}

/// Hooks for the package's own tests.
mod testing {
    use pyo3::prelude::*;

    use crate::errors::detached;

    /// Panics inside the core-call guard (the tests check it arrives as a
    /// `LeukotrackError`, not as a `PanicException`). Not part of the API.
    #[pyfunction]
    pub fn _panic_for_tests(py: Python<'_>, message: String) -> PyResult<()> {
        detached(py, move || -> leukotrack::Result<()> { panic!("{message}") })
    }
}
