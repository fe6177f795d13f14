//! Every [`leukotrack::Error`] becomes a Python exception, and no Rust panic crosses into Python.
//!
//! The exception classes live in Python (`leukotrack.errors`) because they inherit from two
//! builtins each — `InvalidInputError(LeukotrackError, ValueError)` and
//! `RecordingError(LeukotrackError, OSError)` — which a class made in Rust cannot. The error's
//! structured fields are set as attributes (`kind`, `path`, `frame`, `page`, `line`,
//! `parameter`, `reason`; `filename` and `errno` for the OS-level ones).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use leukotrack::{Error, ErrorKind};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// Which Python class an error becomes.
#[derive(Clone, Copy)]
enum Class {
    /// `InvalidInputError` (a `ValueError`).
    Input,
    /// `RecordingError` (an `OSError`).
    Recording,
    /// `UnsupportedError` (a `RecordingError`).
    Unsupported,
    /// `BatchError` (a `LeukotrackError`).
    Batch,
    /// `InternalError` (a `RuntimeError`).
    Internal,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Input => "InvalidInputError",
            Class::Recording => "RecordingError",
            Class::Unsupported => "UnsupportedError",
            Class::Batch => "BatchError",
            Class::Internal => "InternalError",
        }
    }

    /// The class of an error of `kind`.
    fn of(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Unsupported => Class::Unsupported,
            ErrorKind::Batch => Class::Batch,
            k if k.is_invalid_input() => Class::Input,
            k if k.is_file() => Class::Recording,
            _ => Class::Internal,
        }
    }
}

/// Builds an exception of `class` with `message` and attributes `attrs`.
fn make(py: Python<'_>, class: Class, message: String, attrs: &[(&str, Py<PyAny>)]) -> PyErr {
    let built = (|| -> PyResult<PyErr> {
        let module = py.import("leukotrack.errors")?;
        let cls = module.getattr(class.name())?;
        let exc = cls.call1((message.clone(),))?;
        for (k, v) in attrs {
            exc.setattr(*k, v)?;
        }
        Ok(PyErr::from_value(exc))
    })();
    // Without the Python package (the native module imported on its own), the builtins.
    built.unwrap_or_else(|_| match class {
        Class::Input => PyValueError::new_err(message),
        Class::Recording => PyOSError::new_err(message),
        Class::Unsupported => PyOSError::new_err(message),
        Class::Batch | Class::Internal => PyRuntimeError::new_err(message),
    })
}

/// An `InvalidInputError` about the argument `name`.
pub fn invalid_input(py: Python<'_>, name: &str, reason: impl Into<String>) -> PyErr {
    to_pyerr(py, Error::param(name, reason))
}

/// The Python exception of a leukotrack error.
pub fn to_pyerr(py: Python<'_>, e: Error) -> PyErr {
    let message = e.to_string();
    let none = || py.None();
    let s = |v: &str| -> Py<PyAny> {
        v.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())
    };
    let n = |v: u64| -> Py<PyAny> {
        v.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())
    };
    let path = |p: &std::path::Path| s(&p.display().to_string());
    let kind = e.kind();
    if kind == ErrorKind::Interrupted {
        return PyKeyboardInterrupt::new_err(message);
    }
    let class = Class::of(kind);
    let mut message = message;
    let mut attrs: Vec<(&str, Py<PyAny>)> = Vec::new();
    match &e {
        Error::Io { path: p, source } => {
            attrs.push(("path", path(p)));
            attrs.push(("filename", path(p)));
            attrs.push(("errno", source.raw_os_error().map_or_else(none, |c| n(c as u64))));
            attrs.push(("reason", s(&source.to_string())));
        }
        Error::Format { path: p, reason } | Error::Metadata { path: p, reason } => {
            attrs.push(("path", path(p)));
            attrs.push(("filename", path(p)));
            attrs.push(("reason", s(reason)));
        }
        Error::Unsupported { path: p, page, reason } => {
            attrs.push(("path", path(p)));
            attrs.push(("filename", path(p)));
            attrs.push(("page", page.map_or_else(none, |v| n(v as u64))));
            attrs.push(("reason", s(reason)));
        }
        Error::Page { path: p, page, reason } => {
            attrs.push(("path", path(p)));
            attrs.push(("filename", path(p)));
            attrs.push(("page", n(*page as u64)));
            attrs.push(("reason", s(reason)));
        }
        Error::Frame { path: p, frame, reason } => {
            attrs.push(("path", p.as_deref().map_or_else(none, path)));
            attrs.push(("frame", n(*frame as u64)));
            attrs.push(("reason", s(reason)));
        }
        Error::Table { path: p, line, reason } => {
            attrs.push(("path", path(p)));
            attrs.push(("filename", path(p)));
            attrs.push(("line", line.map_or_else(none, n)));
            attrs.push(("reason", s(reason)));
        }
        Error::InvalidParameter { name, reason } => {
            // The keyword a Python user writes, and the configuration key it sets.
            let keyword = leukotrack::pipeline::overrides::keyword_of(name).unwrap_or(name);
            if keyword != name {
                message = format!("invalid parameter `{keyword}` ({name}): {reason}");
            }
            attrs.push(("parameter", s(keyword)));
            attrs.push(("key", s(name)));
            attrs.push(("reason", s(reason)));
        }
        Error::InvalidData { reason } | Error::Internal { reason } => {
            attrs.push(("reason", s(reason)));
        }
        Error::Batch { failed, total, summary } => {
            attrs.push(("path", path(summary)));
            attrs.push(("failed", n(*failed as u64)));
            attrs.push(("total", n(*total as u64)));
        }
        _ => {}
    }
    attrs.push(("kind", s(kind.as_str())));
    make(py, class, message, &attrs)
}

/// The message of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// The exception for a caught Rust panic: a `LeukotrackError` (never a `PanicException`,
/// which is a `BaseException` that `except Exception` misses).
fn panic_to_pyerr(py: Python<'_>, payload: Box<dyn Any + Send>) -> PyErr {
    let message = format!(
        "internal error in leukotrack (please report it, with the input that caused it): {}",
        panic_message(payload.as_ref())
    );
    let kind: Py<PyAny> = ErrorKind::Internal
        .as_str()
        .into_pyobject(py)
        .map(|o| o.into_any().unbind())
        .unwrap_or_else(|_| py.None());
    make(py, Class::Internal, message, &[("kind", kind)])
}

/// Runs `f` with the GIL released (other Python threads run meanwhile), catching panics:
/// a leukotrack error becomes its Python exception, a panic a `LeukotrackError`.
pub fn detached<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> leukotrack::Result<T> + Send,
{
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_pyerr(py, e)),
        Err(payload) => Err(panic_to_pyerr(py, payload)),
    }
}

/// Runs `f` holding the GIL (for work that touches Python objects), catching panics.
pub fn guarded<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(panic_to_pyerr(py, payload)),
    }
}

/// A dict from JSON text (for summaries and scores): `json.loads(text)`.
pub fn json_to_py<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.getattr("loads")?.call1((text,))
}

/// Serialises `v` to JSON text (a failure is an internal error).
pub fn to_json<T: serde::Serialize>(py: Python<'_>, v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| to_pyerr(py, Error::internal(format!("to JSON: {e}"))))
}

/// Parses a JSON configuration made by the Python layer; an error names `what`.
pub fn from_json<T: serde::de::DeserializeOwned>(
    py: Python<'_>,
    what: &str,
    text: &str,
) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| invalid_input(py, what, e.to_string()))
}
