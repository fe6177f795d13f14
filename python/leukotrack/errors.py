"""The exceptions leukotrack raises.

Every error of the library is a :class:`LeukotrackError`. Those caused by the caller's input
(an argument out of range, a malformed table, a bad value in a frame) are also
:class:`ValueError` (:class:`InvalidInputError`); those caused by a file — missing, unreadable,
not a TIFF leukotrack understands, metadata that disagree with the pages, a broken CSV — are
also :class:`OSError` (:class:`RecordingError`). So ``except ValueError`` and
``except OSError`` work as for any Python library.

Each exception carries the library's message (naming the file, frame or parameter and the
reason) and its parts as attributes, ``None`` when they do not apply:

``kind``
    ``"io"``, ``"format"``, ``"page"``, ``"metadata"``, ``"table"``, ``"frame"``,
    ``"invalid_parameter"``, ``"invalid_data"`` (or ``"panic"`` for an internal error).
``path``
    The file concerned (also ``filename``, as for any :class:`OSError`).
``frame``, ``page``, ``line``
    The 0-based timepoint, the 0-based TIFF page, the 1-based CSV line.
``parameter``
    The argument or configuration key refused.
``reason``
    What is wrong, without the location.

A run stopped by Ctrl-C (or Jupyter's interrupt button) raises :class:`KeyboardInterrupt`.
"""

from __future__ import annotations

__all__ = ["LeukotrackError", "InvalidInputError", "RecordingError"]


class LeukotrackError(Exception):
    """Base class of every leukotrack error."""

    kind: str | None = None
    path: str | None = None
    frame: int | None = None
    page: int | None = None
    line: int | None = None
    parameter: str | None = None
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
