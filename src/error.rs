//! The one error type of the crate.
//!
//! Every variant carries structured fields — the file, the frame or page, the parameter — so
//! a message always says *where* and *why*. The enum is `#[non_exhaustive]`: match the
//! variants you handle and keep a catch-all arm.

use std::path::{Path, PathBuf};

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in leukotrack.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused to read or write a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a TIFF this crate can read, or its structure is broken.
    #[error("{}: {reason}", path.display())]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// One page (IFD) of a TIFF cannot be read.
    #[error("{}: page {page}: {reason}", path.display())]
    Page {
        /// The file concerned.
        path: PathBuf,
        /// The 0-based page (IFD) index.
        page: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The recording's metadata disagree with its pages or with the caller's overrides.
    #[error("{}: {reason}", path.display())]
    Metadata {
        /// The file concerned.
        path: PathBuf,
        /// What disagrees.
        reason: String,
    },
    /// A timepoint cannot be processed (bad values, out of range).
    #[error("{}frame {frame}: {reason}", source_prefix(path))]
    Frame {
        /// The recording, when the data came from a file.
        path: Option<PathBuf>,
        /// The 0-based frame (timepoint).
        frame: usize,
        /// What is wrong.
        reason: String,
    },
    /// A table (CSV) cannot be read or has wrong contents.
    #[error("{}{}: {reason}", path.display(), line.map(|l| format!(": line {l}")).unwrap_or_default())]
    Table {
        /// The file concerned.
        path: PathBuf,
        /// The 1-based line in the file, when known.
        line: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// A parameter (config value, flag, argument) is out of range or malformed.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name as the user writes it.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// In-memory data are inconsistent (columns of different lengths, NaN positions, …).
    #[error("invalid data: {reason}")]
    InvalidData {
        /// What is wrong.
        reason: String,
    },
    /// The caller asked the run to stop (a progress callback returned `false`, e.g. on
    /// Ctrl-C); nothing was written under a final name.
    #[error("interrupted during {stage}")]
    Interrupted {
        /// The stage that was running.
        stage: String,
    },
}

fn source_prefix(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("{}: ", p.display()),
        None => String::new(),
    }
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }
    /// An [`Error::Format`] for `path`.
    pub fn format(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Format { path: path.as_ref().to_path_buf(), reason: reason.into() }
    }
    /// An [`Error::Metadata`] for `path`.
    pub fn metadata(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Metadata { path: path.as_ref().to_path_buf(), reason: reason.into() }
    }
    /// An [`Error::InvalidParameter`].
    pub fn param(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidParameter { name: name.into(), reason: reason.into() }
    }
    /// An [`Error::InvalidData`].
    pub fn data(reason: impl Into<String>) -> Self {
        Error::InvalidData { reason: reason.into() }
    }
    /// An [`Error::Table`] for `path`.
    pub fn table(path: impl AsRef<Path>, line: Option<u64>, reason: impl Into<String>) -> Self {
        Error::Table { path: path.as_ref().to_path_buf(), line, reason: reason.into() }
    }
    /// True when the error comes from the caller's input (a value error), false when it comes
    /// from the file system or a file's contents (an OS-level error). Bindings use this to pick
    /// `ValueError` or `OSError`.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidParameter { .. } | Error::InvalidData { .. } | Error::Frame { .. }
        )
    }
}
