"""pandas DataFrames to and from the native module's columns.

Columns keep the command line's names and units (``frame``, ``x_um``, ``t_s``, …). Numbers
are float64, integers (frames, counts, ids) int64, text str.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._util import invalid, number

DETECTION_COLUMNS = ("frame", "x_um", "y_um", "z_um")
TRACK_COLUMNS = ("track_id", "frame", "t_s", "x_um", "y_um", "z_um", "detection")


def frame(columns: list[tuple[str, Any]]) -> pd.DataFrame:
    """A DataFrame from the native module's ``(name, column)`` pairs, in order."""
    data: dict[str, Any] = {}
    for name, col in columns:
        if isinstance(col, list):
            # An empty text cell is missing, as pandas reads it from the CSV.
            col = pd.Series([v if v != "" else None for v in col], dtype="str")
        data[name] = col
    return pd.DataFrame(data, copy=False)


def _as_frame(data: Any, what: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))
        except (ValueError, TypeError) as e:
            raise invalid(what, f"cannot be made a table: {e}") from None
    raise invalid(what, f"expected a pandas DataFrame, got {type(data).__name__}")


def _floats(df: pd.DataFrame, name: str, what: str) -> np.ndarray:
    s = df[name]
    if s.dtype == bool or not (
        pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_float_dtype(s.dtype)
    ):
        raise invalid(what, f"column `{name}` must hold numbers, got {s.dtype}")
    return np.ascontiguousarray(s.to_numpy(dtype=np.float64, na_value=np.nan))


def _ints(df: pd.DataFrame, name: str, what: str) -> np.ndarray:
    s = df[name]
    if pd.api.types.is_integer_dtype(s.dtype) and s.dtype != bool:
        if s.isna().any():
            raise invalid(what, f"column `{name}` has missing values")
        return np.ascontiguousarray(s.to_numpy(dtype=np.int64))
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.all(np.isfinite(v)) or np.any(v != np.round(v)):
            raise invalid(what, f"column `{name}` must hold whole numbers")
        return np.ascontiguousarray(v.astype(np.int64))
    raise invalid(what, f"column `{name}` must hold integers, got {s.dtype}")


def _extra(df: pd.DataFrame, known: tuple[str, ...]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name in df.columns:
        if name in known:
            continue
        if not isinstance(name, str):
            raise invalid("columns", f"column names must be text, got {name!r}")
        s = df[name]
        if s.dtype == bool or (
            pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype)
        ):
            out.append((name, np.ascontiguousarray(s.to_numpy(dtype=np.float64, na_value=np.nan))))
        else:
            out.append((name, ["" if pd.isna(v) else str(v) for v in s.tolist()]))
    return out


def _require(df: pd.DataFrame, names: tuple[str, ...], what: str) -> None:
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise invalid(
            what,
            f"no {', '.join(f'`{m}`' for m in missing)} column (columns: {', '.join(map(str, df.columns))})",
        )


def detections_to_native(data: Any, what: str = "detections") -> dict[str, Any]:
    """Detections (``frame, x_um, y_um[, z_um]``, other columns kept) for the native module."""
    df = _as_frame(data, what)
    _require(df, ("frame", "x_um", "y_um"), what)
    cols: dict[str, Any] = {
        "frame": _ints(df, "frame", what),
        "x_um": _floats(df, "x_um", what),
        "y_um": _floats(df, "y_um", what),
        "extra": _extra(df, DETECTION_COLUMNS),
    }
    if "z_um" in df.columns:
        cols["z_um"] = _floats(df, "z_um", what)
    return cols


def tracks_to_native(
    data: Any, what: str = "tracks", frame_interval: float | None = None
) -> dict[str, Any]:
    """Tracks (``track_id, frame, t_s, x_um, y_um[, z_um]``) for the native module.

    A missing ``t_s`` is ``frame × frame_interval`` and a missing ``frame`` is
    ``round(t_s / frame_interval)``, as the command line reads a tracks CSV; without
    ``frame_interval`` either is an error.
    """
    df = _as_frame(data, what)
    _require(df, ("track_id", "x_um", "y_um"), what)
    if "frame" not in df.columns and "t_s" not in df.columns:
        _require(df, ("frame",), what)
    ids = df["track_id"]
    if pd.api.types.is_integer_dtype(ids.dtype) and ids.dtype != bool:
        track_id: Any = _ints(df, "track_id", what)
    elif pd.api.types.is_float_dtype(ids.dtype):
        track_id = _ints(df, "track_id", what)
    else:
        track_id = ["" if pd.isna(v) else str(v) for v in ids.tolist()]
    dt = None if frame_interval is None else number("frame_interval", frame_interval, positive=True)
    if "frame" in df.columns:
        frames = _ints(df, "frame", what)
    else:
        if dt is None:
            raise invalid(what, "no `frame` column: give frame_interval to compute it from `t_s`")
        frames = np.round(_floats(df, "t_s", what) / dt).astype(np.int64)
    if "t_s" in df.columns:
        t_s = _floats(df, "t_s", what)
    else:
        if dt is None:
            raise invalid(what, "no `t_s` column: give frame_interval (s)")
        t_s = frames.astype(np.float64) * dt
    cols: dict[str, Any] = {
        "track_id": track_id,
        "frame": frames,
        "t_s": t_s,
        "x_um": _floats(df, "x_um", what),
        "y_um": _floats(df, "y_um", what),
        "extra": _extra(df, TRACK_COLUMNS),
    }
    if "z_um" in df.columns:
        cols["z_um"] = _floats(df, "z_um", what)
    if "detection" in df.columns:
        cols["detection"] = _ints(df, "detection", what)
    return cols


def drift_to_native(data: Any) -> dict[str, Any]:
    """A drift table (``frame, dx_um, dy_um[, dz_um]``) for the native module."""
    df = _as_frame(data, "drift")
    _require(df, ("frame", "dx_um", "dy_um"), "drift")
    cols: dict[str, Any] = {
        "frame": _ints(df, "frame", "drift"),
        "dx_um": _floats(df, "dx_um", "drift"),
        "dy_um": _floats(df, "dy_um", "drift"),
    }
    if "dz_um" in df.columns:
        cols["dz_um"] = _floats(df, "dz_um", "drift")
    return cols


def is_tracks(data: Any) -> bool:
    """True for a table with a ``track_id`` column."""
    return isinstance(data, (pd.DataFrame, Mapping)) and "track_id" in data
