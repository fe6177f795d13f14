//! Progress reports and Ctrl-C while the GIL is released.
//!
//! A [`Ticker`] is called by the core as stages advance (from the calling thread, with the
//! GIL released). Each call briefly takes the GIL to let Python handle pending signals — a
//! Ctrl-C (or Jupyter's interrupt) raises `KeyboardInterrupt` there — and to call the user's
//! progress callback, `callback(stage, done, total)`. A pending signal, an exception from
//! the callback or a callback returning `False` stops the run at that call; the exception
//! is raised once the core has returned.

use std::sync::Mutex;

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::PyBool;

/// Forwards progress to Python and decides whether the run goes on.
pub struct Ticker {
    callback: Option<Py<PyAny>>,
    error: Mutex<Option<PyErr>>,
}

impl Ticker {
    /// A ticker calling `callback(stage, done, total)` (when given).
    pub fn new(callback: Option<Bound<'_, PyAny>>) -> Self {
        Ticker { callback: callback.map(Bound::unbind), error: Mutex::new(None) }
    }

    fn stop(&self, e: PyErr) -> bool {
        if let Ok(mut slot) = self.error.lock() {
            slot.get_or_insert(e);
        }
        false
    }

    /// Reports `done` of `total` units of `stage`; false when the run must stop.
    pub fn tick(&self, stage: &str, done: usize, total: usize) -> bool {
        if self.error.lock().map(|e| e.is_some()).unwrap_or(true) {
            return false;
        }
        Python::attach(|py| {
            if let Err(e) = py.check_signals() {
                return self.stop(e);
            }
            let Some(cb) = &self.callback else { return true };
            match cb.call1(py, (stage, done, total)) {
                Ok(r) if r.bind(py).is(PyBool::new(py, false).as_any()) => {
                    self.stop(PyKeyboardInterrupt::new_err(format!(
                        "stopped by the progress callback during {stage}"
                    )))
                }
                Ok(_) => true,
                Err(e) => self.stop(e),
            }
        })
    }

    /// The result of the run: the exception that stopped it, if any, wins over the core's
    /// `Interrupted` error it caused.
    pub fn finish<T>(self, r: PyResult<T>) -> PyResult<T> {
        match self.error.into_inner().ok().flatten() {
            Some(e) => Err(e),
            None => r,
        }
    }
}
