"""Reading recordings: :func:`read`, :class:`Recording`, :class:`Calibration`."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import _core, _util
from ._util import invalid

__all__ = ["read", "Recording", "Calibration", "Shape"]


class Shape(NamedTuple):
    """Sizes of a recording along (t, c, z, y, x)."""

    t: int
    c: int
    z: int
    y: int
    x: int


@dataclass(frozen=True)
class Calibration:
    """Voxel size (µm) and frame interval (s) of a recording, and where each came from.

    ``voxel_size`` is ``{"x": …, "y": …, "z": …}`` in µm, a value ``None`` when the file does
    not give it; ``frame_interval`` is in s (``None`` when unknown); ``source`` says for each
    of ``x``, ``y``, ``z`` and ``frame_interval`` whether it came from the ``"file"``, the
    ``"user"`` (your override) or a documented ``"default"`` (``None`` when unknown);
    ``frame_times`` are per-timepoint acquisition times in s when the file has them.

    A ``Calibration`` is accepted wherever a ``voxel_size`` is (its voxel size is used).
    """

    voxel_size: Mapping[str, float | None]
    frame_interval: float | None = None
    source: Mapping[str, str | None] | None = None
    frame_times: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        vs = self.voxel_size
        if not isinstance(vs, Mapping) or set(vs) != {"x", "y", "z"}:
            raise invalid("voxel_size", "expected a dict with the keys 'x', 'y' and 'z' (µm)")
        for a in ("x", "y", "z"):
            if vs[a] is not None:
                _util.number(f"voxel_size['{a}']", vs[a], positive=True)
        if self.frame_interval is not None:
            _util.number("frame_interval", self.frame_interval, positive=True)
        if self.source is None:  # made by the caller: every known value is the user's
            given = {**{a: vs[a] for a in "xyz"}, "frame_interval": self.frame_interval}
            object.__setattr__(
                self, "source", {k: None if v is None else "user" for k, v in given.items()}
            )

    @property
    def is_calibrated(self) -> bool:
        """True when the voxel size along x, y, z and the frame interval are all known."""
        return all(self.voxel_size[a] is not None for a in "xyz") and self.frame_interval is not None

    def voxel_size_um(self) -> dict[str, float] | None:
        """The voxel size when all three axes are known, else ``None``."""
        vs = self.voxel_size
        if any(vs[a] is None for a in "xyz"):
            return None
        return {a: float(vs[a]) for a in "xyz"}  # type: ignore[arg-type]

    @classmethod
    def _from_native(cls, d: dict[str, Any]) -> Calibration:
        def value(k: str) -> float | None:
            return None if d[k] is None else d[k][0]

        def src(k: str) -> str | None:
            return None if d[k] is None else d[k][1]

        times = d.get("frame_times")
        return cls(
            voxel_size={a: value(a) for a in "xyz"},
            frame_interval=value("frame_interval"),
            source={k: src(k) for k in ("x", "y", "z", "frame_interval")},
            frame_times=None if times is None else tuple(times),
        )

    def __repr__(self) -> str:
        vs = self.voxel_size

        def f(v: float | None, unit: str) -> str:
            return "unknown" if v is None else f"{v:g} {unit}"

        return (
            f"Calibration(voxel x={f(vs['x'], 'µm')}, y={f(vs['y'], 'µm')}, z={f(vs['z'], 'µm')}; "
            f"frame interval {f(self.frame_interval, 's')})"
        )


class Recording:
    """A two-photon recording opened lazily: the page index and metadata, no pixels.

    Made by :func:`read`. Axes are always (t, c, z, y, x) (:attr:`dims`); :meth:`volume`
    reads one (z, y, x) stack as a numpy array. ``len(recording)`` is the number of
    timepoints.
    """

    dims = ("t", "c", "z", "y", "x")

    def __init__(self, native: Any, options: dict[str, Any]) -> None:
        self._native = native
        self._options = options

    @property
    def shape(self) -> Shape:
        """Sizes ``(t, c, z, y, x)`` (a named tuple: ``rec.shape.z``)."""
        return Shape(*self._native.shape)

    @property
    def dtype(self) -> np.dtype:
        """The pixel type of :meth:`volume` (uint8, uint16 or float32; int16 files read as float32)."""
        return np.dtype(self._native.dtype)

    @property
    def stored_dtype(self) -> str:
        """The sample type stored in the file (``uint8``, ``uint16``, ``int16`` or ``float32``)."""
        return self._native.stored_dtype

    @property
    def calibration(self) -> Calibration:
        """Voxel size (µm), frame interval (s) and where each came from."""
        return Calibration._from_native(self._native.calibration)

    @property
    def path(self) -> Path:
        """The path the recording was opened from."""
        return Path(self._native.path)

    @property
    def format(self) -> str:
        """``imagej``, ``ome``, ``plain``, ``series``, ``scanimage`` or ``prairieview``."""
        return self._native.format

    @property
    def files(self) -> list[Path]:
        """The files holding the recording's planes, in order."""
        return [Path(p) for p in self._native.files]

    @property
    def warnings(self) -> list[str]:
        """Warnings from opening (missing calibration, guessed axes)."""
        return list(self._native.warnings)

    @property
    def page_order(self) -> str:
        """The page order used (fastest-varying first, e.g. ``czt``)."""
        return self._native.page_order

    def __len__(self) -> int:
        return self.shape.t

    def volume(self, t: int, c: int = 0) -> np.ndarray:
        """The (z, y, x) stack of timepoint ``t``, channel ``c`` (0-based; negative counts
        from the end), as a numpy array of :attr:`dtype`. Reading releases the GIL.
        """
        s = self.shape
        t = _index("t", t, s.t)
        c = _index("c", c, s.c)
        return self._native.volume(t, c)

    def _reopened(self, **overrides: Any) -> Recording:
        """This recording with other read options (the given ones win); itself when equal."""
        opts = dict(self._options)
        opts.update({k: v for k, v in overrides.items() if v is not None})
        if opts == self._options:
            return self
        return _open(self.path, opts)

    def __repr__(self) -> str:
        s = self.shape
        return (
            f"<Recording {str(self.path)!r} t={s.t} c={s.c} z={s.z} y={s.y} x={s.x} "
            f"{self.dtype.name}; {self.calibration!r}>"
        )

    def _repr_html_(self) -> str:
        s = self.shape
        cal = self.calibration
        vs = cal.voxel_size
        src = cal.source or {}

        def v(x: float | None, unit: str, src: str | None) -> str:
            return "unknown" if x is None else f"{x:g} {unit} <small>({src})</small>"

        rows = [
            ("file", html.escape(str(self.path))),
            ("format", html.escape(self.format)),
            ("shape", " × ".join(f"{a}={n}" for a, n in zip(self.dims, s))),
            ("pixel type", self.dtype.name),
            ("voxel x", v(vs["x"], "µm", src.get("x"))),
            ("voxel y", v(vs["y"], "µm", src.get("y"))),
            ("voxel z", v(vs["z"], "µm", src.get("z"))),
            ("frame interval", v(cal.frame_interval, "s", src.get("frame_interval"))),
        ]
        rows += [("warning", html.escape(w)) for w in self.warnings]
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{val}</td></tr>" for k, val in rows)
        return f"<table><caption>leukotrack Recording</caption>{body}</table>"


def _index(name: str, i: Any, n: int) -> int:
    i = _util.integer(name, i, minimum=None)
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise invalid(name, f"{name}={i} is outside the recording's {n} (numbered from 0)")
    return i


def _open(path: Any, opts: dict[str, Any]) -> Recording:
    native = _core.Recording.open(
        os.fspath(path),
        voxel_size=opts.get("voxel_size"),
        frame_interval=opts.get("frame_interval"),
        shape=opts.get("shape"),
        page_order=opts.get("page_order"),
    )
    return Recording(native, opts)


def read(
    path: str | os.PathLike[str],
    *,
    voxel_size: Mapping[str, float] | Calibration | None = None,
    frame_interval: float | None = None,
    shape: Mapping[str, int] | None = None,
    page_order: str | None = None,
) -> Recording:
    """Opens a recording lazily (no pixels are read until :meth:`Recording.volume`).

    Parameters
    ----------
    path
        A TIFF file (ImageJ hyperstack, OME-TIFF, ScanImage, plain multi-page), a folder or
        glob of TIFFs (one or more timepoints each, natural order), a Bruker Prairie View
        folder or XML file, or an OME ``.companion.ome`` file.
    voxel_size
        ``{"x": …, "y": …, "z": …}`` in µm, or a :class:`Calibration`; wins over the file's.
        A bare tuple is refused: numpy writes spacing as (z, y, x), the command line as
        X,Y,Z, and leukotrack never guesses which.
    frame_interval
        Time between timepoints, s; wins over the file's.
    shape
        ``{"t": …, "c": …, "z": …}`` for files whose metadata do not give the sizes (as the
        command line's ``--shape T,C,Z``).
    page_order
        Order of the pages, fastest-varying first: ``"czt"`` (ImageJ, the default),
        ``"ctz"``, ``"zct"``, ``"ztc"``, ``"tcz"`` or ``"tzc"``.

    Raises
    ------
    RecordingError
        The file is missing, unreadable or not a recording leukotrack can read.
    InvalidInputError
        An argument is malformed.
    """
    opts: dict[str, Any] = {}
    p = _util.path("path", path)
    vs = _util.voxel_size(voxel_size)
    if vs is not None:
        opts["voxel_size"] = vs
    fi = _util.frame_interval(frame_interval)
    if fi is not None:
        opts["frame_interval"] = fi
    sh = _util.shape_tcz(shape)
    if sh is not None:
        opts["shape"] = sh
    if page_order is not None:
        if not isinstance(page_order, str):
            raise invalid("page_order", f"expected a string such as 'czt', got {page_order!r}")
        opts["page_order"] = page_order
    return _open(p, opts)
