"""Progress reports of long calls: tqdm bars when tqdm is installed, or the caller's function.

The native module calls ``callback(stage, done, total)`` as stages advance (``stage`` one of
``"segment"``, ``"drift"``, ``"link"``, ``"metrics"``, ``"synth"``); returning ``False``
stops the run (``KeyboardInterrupt``), as Ctrl-C does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

from ._util import invalid

Progress = Union[bool, None, Callable[[str, int, int], Any]]

_UNITS = {"segment": "timepoints", "drift": "timepoints", "synth": "timepoints"}


def _tqdm() -> Any:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return None
    try:  # notebook widgets when they can be shown, text bars otherwise
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm as bar
    except ImportError:
        from tqdm import tqdm as bar
    return bar


class _Bars:
    """One tqdm bar per stage, closed when the next stage starts (or at the end)."""

    def __init__(self, bar: Any) -> None:
        self._bar_cls = bar
        self._stage: str | None = None
        self._bar: Any = None

    def __call__(self, stage: str, done: int, total: int) -> bool:
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = self._bar_cls(
                total=total, desc=stage, unit=" " + _UNITS.get(stage, "steps"), leave=False
            )
        bar = self._bar
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        return True

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Reporter:
    """The callback a long call hands to the native module, and its clean-up."""

    def __init__(self, progress: Progress) -> None:
        self.callback: Callable[[str, int, int], Any] | None = None
        self._bars: _Bars | None = None
        if progress is True:
            bar = _tqdm()
            if bar is not None:
                self._bars = _Bars(bar)
                self.callback = self._bars
        elif progress is None or progress is False:
            pass
        elif callable(progress):
            self.callback = progress
        else:
            raise invalid(
                "progress",
                f"expected True (tqdm bars), False or a function (stage, done, total), got {progress!r}",
            )

    def __enter__(self) -> Callable[[str, int, int], Any] | None:
        return self.callback

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.close()
