"""Tables to and from other tools: trackpy's DataFrames and napari's Tracks layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import _util
from ._recording import Calibration
from ._util import invalid

__all__ = ["from_trackpy", "to_trackpy", "to_napari"]

_TP_POS = ("x", "y", "z")


def _require(data: Any, what: str, columns: tuple[str, ...], hint: str = "") -> None:
    """``data`` must be a DataFrame with ``columns``: else a ValueError naming ``what``."""
    if not isinstance(data, pd.DataFrame):
        raise invalid(what, f"expected a pandas DataFrame, got {type(data).__name__}")
    for c in columns:
        if c not in data.columns:
            raise invalid(what, f"no `{c}` column{hint}")


def _scale(voxel_size: Any) -> list[float]:
    """µm per unit of trackpy's positions: the voxel size, or 1 for positions in µm."""
    if voxel_size is None:
        return [1.0, 1.0, 1.0]
    vs = _util.voxel_size(voxel_size)
    assert vs is not None
    return vs


def from_trackpy(
    df: pd.DataFrame,
    *,
    voxel_size: Mapping[str, float] | Calibration | None,
    frame_interval: float | Calibration,
) -> pd.DataFrame:
    """A trackpy DataFrame (``frame, x, y[, z][, particle]``) as leukotrack's table.

    trackpy's positions are usually in pixels: give the pixel size as ``voxel_size``
    (``{"x", "y", "z"}`` µm, or a :class:`Calibration`), or ``None`` when ``x, y, z`` are in
    µm already — there is no default, so nothing is guessed. ``frame_interval`` (s) gives
    ``t_s``. Linked data (with ``particle``) become tracks (``track_id, frame, t_s, x_um,
    y_um[, z_um]``), located features detections (``frame, x_um, y_um[, z_um]``); other
    columns (``mass``, ``size``, …) are kept. trackpy's ``memory`` is ``gap_frames − 1``.
    """
    _require(df, "df", ("frame", "x", "y"), " (trackpy's frame, x, y[, z][, particle])")
    scale = _scale(voxel_size)
    dt = _util.frame_interval(frame_interval)
    if dt is None:
        raise invalid("frame_interval", "give the time between frames in s")
    linked = "particle" in df.columns
    out: dict[str, Any] = {}
    if linked:
        out["track_id"] = df["particle"].to_numpy()
    frames = df["frame"].to_numpy()
    out["frame"] = frames
    if linked:
        out["t_s"] = frames.astype(np.float64) * dt
    for a, s in zip(_TP_POS, scale):
        if a in df.columns:
            out[f"{a}_um"] = df[a].to_numpy(dtype=np.float64) * s
    for c in df.columns:
        if c not in ("particle", "frame", *_TP_POS):
            out[c] = df[c].to_numpy()
    return pd.DataFrame(out)


def to_trackpy(
    data: pd.DataFrame,
    *,
    voxel_size: Mapping[str, float] | Calibration | None,
) -> pd.DataFrame:
    """leukotrack's tracks or detections as a trackpy DataFrame: ``frame, x, y[, z]`` and,
    for tracks, ``particle`` (the track id), other columns kept (``t_s`` dropped).

    ``voxel_size`` (``{"x", "y", "z"}`` µm, or a :class:`Calibration`) converts the positions
    to pixels, as trackpy's ``locate`` gives them; ``None`` keeps them in µm.
    """
    _require(data, "data", ("frame", "x_um", "y_um"))
    scale = _scale(voxel_size)
    out: dict[str, Any] = {"frame": data["frame"].to_numpy()}
    for a, s in zip(_TP_POS, scale):
        if f"{a}_um" in data.columns:
            out[a] = data[f"{a}_um"].to_numpy(dtype=np.float64) / s
    if "track_id" in data.columns:
        out["particle"] = data["track_id"].to_numpy()
    for c in data.columns:
        if c not in ("frame", "track_id", "t_s", "x_um", "y_um", "z_um"):
            out[c] = data[c].to_numpy()
    return pd.DataFrame(out)


def to_napari(tracks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Tracks as napari's Tracks layer takes them, and the id mapping.

    Returns ``(data, track_ids)``: ``data`` an ``(N, 5)`` float array of ``track_id, t, z, y,
    x`` (``(N, 4)`` without ``z_um``) in µm, ``t`` the frame, sorted by track and frame, with
    integer ids 0, 1, … in order of first appearance; ``track_ids[k]`` the original id of
    napari's track ``k``.
    """
    _require(tracks, "tracks", ("track_id", "frame", "x_um", "y_um"))
    codes, uniques = pd.factorize(tracks["track_id"], sort=False)
    if (codes < 0).any():
        raise invalid("tracks", "missing track ids")
    frames = tracks["frame"].to_numpy(dtype=np.float64)
    order = np.lexsort((frames, codes))
    cols = [codes.astype(np.float64), frames]
    if "z_um" in tracks.columns:
        cols.append(tracks["z_um"].to_numpy(dtype=np.float64))
    cols += [tracks["y_um"].to_numpy(dtype=np.float64), tracks["x_um"].to_numpy(dtype=np.float64)]
    data = np.column_stack(cols)[order] if len(tracks) else np.zeros((0, len(cols)))
    return data, np.asarray(uniques)
