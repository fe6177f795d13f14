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
    /// A valid file that uses a feature this crate does not read (a codec, a colour or
    /// multi-sample page, a pixel type): the file is fine, leukotrack is the limit.
    #[error("{}{}: {reason}", path.display(), page.map(|p| format!(": page {p}")).unwrap_or_default())]
    Unsupported {
        /// The file concerned.
        path: PathBuf,
        /// The 0-based page (IFD) index, when one page is the matter.
        page: Option<usize>,
        /// What is not supported, and what is.
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
    /// Some recordings of a batch failed (each is reported in the batch's summary table).
    #[error("{failed} of {total} recordings failed (see {})", summary.display())]
    Batch {
        /// How many failed.
        failed: usize,
        /// How many there were.
        total: usize,
        /// The summary table naming each failure.
        summary: PathBuf,
    },
    /// A bug of leukotrack (an invariant broken, a panic caught): not the caller's fault.
    #[error(
        "internal error in leukotrack (please report it, with the input that caused it): {reason}"
    )]
    Internal {
        /// What went wrong.
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

/// What kind of error an [`Error`] is ([`Error::kind`]): for bindings and the command line
/// to choose an exception class or an exit status without matching messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Io`].
    Io,
    /// [`Error::Format`].
    Format,
    /// [`Error::Unsupported`].
    Unsupported,
    /// [`Error::Page`].
    Page,
    /// [`Error::Metadata`].
    Metadata,
    /// [`Error::Frame`].
    Frame,
    /// [`Error::Table`].
    Table,
    /// [`Error::InvalidParameter`].
    InvalidParameter,
    /// [`Error::InvalidData`].
    InvalidData,
    /// [`Error::Batch`].
    Batch,
    /// [`Error::Internal`].
    Internal,
    /// [`Error::Interrupted`].
    Interrupted,
}

impl ErrorKind {
    /// Its name (`io`, `format`, `unsupported`, `page`, `metadata`, `frame`, `table`,
    /// `invalid_parameter`, `invalid_data`, `batch`, `internal`, `interrupted`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Format => "format",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Page => "page",
            ErrorKind::Metadata => "metadata",
            ErrorKind::Frame => "frame",
            ErrorKind::Table => "table",
            ErrorKind::InvalidParameter => "invalid_parameter",
            ErrorKind::InvalidData => "invalid_data",
            ErrorKind::Batch => "batch",
            ErrorKind::Internal => "internal",
            ErrorKind::Interrupted => "interrupted",
        }
    }

    /// True for the caller's input (arguments, settings, data): a `ValueError` in Python.
    pub fn is_invalid_input(self) -> bool {
        matches!(self, ErrorKind::InvalidParameter | ErrorKind::InvalidData | ErrorKind::Frame)
    }

    /// True for a file that cannot be read or written, or whose contents are broken or not
    /// supported: an `OSError` in Python.
    pub fn is_file(self) -> bool {
        matches!(
            self,
            ErrorKind::Io
                | ErrorKind::Format
                | ErrorKind::Unsupported
                | ErrorKind::Page
                | ErrorKind::Metadata
                | ErrorKind::Table
        )
    }
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
    /// An [`Error::Unsupported`] of page `page` of `path`.
    pub fn unsupported(
        path: impl AsRef<Path>,
        page: Option<usize>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Unsupported { path: path.as_ref().to_path_buf(), page, reason: reason.into() }
    }
    /// An [`Error::Internal`].
    pub fn internal(reason: impl Into<String>) -> Self {
        Error::Internal { reason: reason.into() }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Format { .. } => ErrorKind::Format,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Page { .. } => ErrorKind::Page,
            Error::Metadata { .. } => ErrorKind::Metadata,
            Error::Frame { .. } => ErrorKind::Frame,
            Error::Table { .. } => ErrorKind::Table,
            Error::InvalidParameter { .. } => ErrorKind::InvalidParameter,
            Error::InvalidData { .. } => ErrorKind::InvalidData,
            Error::Batch { .. } => ErrorKind::Batch,
            Error::Internal { .. } => ErrorKind::Internal,
            Error::Interrupted { .. } => ErrorKind::Interrupted,
        }
    }

    /// True when the error comes from the caller's input (a value error), false when it comes
    /// from the file system or a file's contents (an OS-level error). Bindings use this to pick
    /// `ValueError` or `OSError`.
    pub fn is_invalid_input(&self) -> bool {
        self.kind().is_invalid_input()
    }
}
