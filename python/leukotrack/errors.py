"""The exceptions leukotrack raises.

Every error of the library is a :class:`LeukotrackError`. Those caused by the caller's input
(an argument out of range, a malformed table, a bad value in a frame) are also
:class:`ValueError` (:class:`InvalidInputError`); those caused by a file — missing, unreadable,
broken, metadata that disagree with the pages, a broken CSV — are also :class:`OSError`
(:class:`RecordingError`), and among them a valid file using a feature leukotrack does not
read (a codec, colour pages) is an :class:`UnsupportedError`. A batch some of whose
recordings failed is a :class:`BatchError`; a bug of leukotrack (never the caller's fault) an
:class:`InternalError`, also a :class:`RuntimeError`. So ``except ValueError`` and
``except OSError`` work as for any Python library.

Each exception carries the library's message (naming the file, frame or parameter and the
reason) and its parts as attributes, ``None`` when they do not apply:

``kind``
    ``"io"``, ``"format"``, ``"unsupported"``, ``"page"``, ``"metadata"``, ``"table"``,
    ``"frame"``, ``"invalid_parameter"``, ``"invalid_data"``, ``"batch"`` or ``"internal"``.
``path``
    The file concerned (also ``filename``, as for any :class:`OSError`).
``frame``, ``page``, ``line``
    The 0-based timepoint, the 0-based TIFF page, the 1-based CSV line.
``parameter``
    The keyword refused (as you write it: ``max_speed``), or the configuration key when no
    keyword sets it.
``key``
    The configuration key path of the setting refused (``link.gate.um_per_min``).
``reason``
    What is wrong, without the location.

A run stopped by Ctrl-C (or Jupyter's interrupt button) raises :class:`KeyboardInterrupt`.
"""

from __future__ import annotations

__all__ = [
    "LeukotrackError",
    "InvalidInputError",
    "RecordingError",
    "UnsupportedError",
    "BatchError",
    "InternalError",
]


class LeukotrackError(Exception):
    """Base class of every leukotrack error."""

    kind: str | None = None
    path: str | None = None
    frame: int | None = None
    page: int | None = None
    line: int | None = None
    parameter: str | None = None
    key: str | None = None
    reason: str | None = None


class InvalidInputError(LeukotrackError, ValueError):
    """An argument, a configuration value or input data the library refuses."""


class RecordingError(LeukotrackError, OSError):
    """A file that cannot be read or written, or whose contents are broken.

    ``filename`` is the file and, for an operating-system error, ``errno`` its code; the
    message stays leukotrack's own (it names the file already).
    """

    def __str__(self) -> str:
        if self.args and isinstance(self.args[0], str):
            return self.args[0]
        return super().__str__()


class UnsupportedError(RecordingError):
    """A valid file that uses a feature leukotrack does not read (a codec, colour or
    multi-sample pages, a pixel type): the message says what is supported."""


class BatchError(LeukotrackError):
    """Some recordings of a batch failed; ``failed`` of ``total``, each named in the summary
    table ``path``."""

    failed: int | None = None
    total: int | None = None


class InternalError(LeukotrackError, RuntimeError):
    """A bug of leukotrack (a broken invariant, a caught panic): please report it."""
