"""Plots with matplotlib (the optional extra: ``pip install leukotrack[plot]``).

Nothing is computed here: the functions draw the tables the analysis made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._util import invalid

if TYPE_CHECKING:
    from ._pipeline import Analysis

__all__ = ["plot_tracks", "plot_msd", "plot_analysis"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "leukotrack's plots need matplotlib: pip install 'leukotrack[plot]'"
        ) from None
    return plt


def plot_tracks(
    tracks: pd.DataFrame,
    *,
    ax: Any = None,
    image: np.ndarray | None = None,
    pixel_size: Mapping[str, float] | None = None,
    corrected: bool = False,
) -> Any:
    """Draws every track in the xy plane (µm, y downwards as in the image), one colour per
    track, over ``image`` (a (y, x) projection with ``pixel_size`` ``{"x", "y"}`` µm) when
    given. ``corrected`` draws the drift-corrected positions. Returns the axes."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    if image is not None:
        if pixel_size is None or not {"x", "y"} <= set(pixel_size):
            raise invalid("pixel_size", "give the image's pixel size {'x': …, 'y': …} in µm")
        ny, nx = image.shape
        px, py = float(pixel_size["x"]), float(pixel_size["y"])
        # The centre of pixel (i, j) is at (i·px, j·py).
        extent = (-px / 2, (nx - 0.5) * px, (ny - 0.5) * py, -py / 2)
        ax.imshow(image, cmap="gray", extent=extent, interpolation="nearest")
    xs, ys = ("x_um_corrected", "y_um_corrected") if corrected else ("x_um", "y_um")
    for c in ("track_id", "frame", xs, ys):
        if c not in tracks.columns:
            raise invalid("tracks", f"no `{c}` column")
    cmap = plt.get_cmap("tab20")
    for k, (_, g) in enumerate(tracks.sort_values("frame").groupby("track_id", sort=False)):
        ax.plot(g[xs], g[ys], "-", lw=1.2, color=cmap(k % 20))
        ax.plot(g[xs].iloc[-1:], g[ys].iloc[-1:], "o", ms=2.5, color=cmap(k % 20))
    if image is None:
        ax.invert_yaxis()
    ax.set_aspect("equal")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title(f"{tracks['track_id'].nunique()} tracks")
    return ax


def plot_msd(msd: pd.DataFrame, *, ax: Any = None, fit: Mapping[str, Any] | None = None) -> Any:
    """Draws the MSD (µm²) against lag (min) with its standard error, and the linear fit of
    the motility coefficient when ``fit`` (``metrics_summary["msd_fit"]``) is given. Returns
    the axes."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    for c in ("lag_s", "msd_um2"):
        if c not in msd.columns:
            raise invalid("msd", f"no `{c}` column")
    lag_min = msd["lag_s"].to_numpy(dtype=float) / 60.0
    sem = msd["sem_um2"].to_numpy(dtype=float) if "sem_um2" in msd.columns else None
    ax.errorbar(lag_min, msd["msd_um2"], yerr=sem, fmt="o-", ms=3, lw=1, capsize=2, label="MSD")
    if fit is not None and fit.get("lag_s") and fit.get("slope_um2_per_min") is not None:
        lo, hi = (v / 60.0 for v in fit["lag_s"])
        t = np.linspace(lo, hi, 20)
        m = fit.get("motility_coefficient_um2_per_min")
        label = "fit" if m is None else f"fit: M = {m:.3g} µm²/min"
        ax.plot(t, fit["slope_um2_per_min"] * t + fit["intercept_um2"], "--", color="k", label=label)
    ax.set_xlabel("lag (min)")
    ax.set_ylabel("MSD (µm²)")
    ax.legend(frameon=False)
    return ax


def plot_analysis(analysis: Analysis, *, ax: Any = None) -> Any:
    """The tracks over the projection and the MSD, side by side. Returns the figure, or the
    pair of axes given as ``ax``."""
    plt = _pyplot()
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 5), constrained_layout=True)
    else:
        axes = ax
        if len(axes) != 2:
            raise invalid("ax", "give two axes: tracks and MSD")
        fig = None
    plot_tracks(
        analysis.tracks, ax=axes[0], image=analysis.projection, pixel_size=analysis.pixel_size
    )
    plot_msd(analysis.msd, ax=axes[1], fit=analysis.metrics_summary.get("msd_fit"))
    return fig if fig is not None else axes
