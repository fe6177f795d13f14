"""The stages one by one: :func:`segment`, :func:`link`, the metrics, :func:`evaluate`,
:func:`synth`. Each converts its arguments and delegates to the Rust core."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _core, _tables, _util
from ._progress import Progress, Reporter
from ._recording import Calibration, Recording, _open, read
from ._util import invalid

__all__ = [
    "segment",
    "link",
    "metrics",
    "steps",
    "msd",
    "autocorrelation",
    "motility_coefficient",
    "motility_summary",
    "evaluate",
    "synth",
    "synth_truth",
]

def _stage_json(config: Any, table: str) -> str:
    """``config=`` of a stage function: that stage's table of the configuration file."""
    if config is None:
        return "{}"
    if not isinstance(config, Mapping):
        raise invalid("config", f"expected a dict of the [{table}] table's settings")
    return _util.to_json("config", _util.plain("config", dict(config)))


_NATIVE_DTYPES = (np.uint8, np.uint16, np.float32)


def _channels_of(volume: np.ndarray) -> list[np.ndarray]:
    a = volume
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise invalid("volume", f"pixel type {a.dtype} is not a real number type")
    if a.dtype.type not in _NATIVE_DTYPES:
        a = a.astype(np.float32)  # other integer or float types: one copy, as float32
    elif not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))  # e.g. big-endian uint16: one copy
    if a.ndim == 2:
        return [a[np.newaxis]]
    if a.ndim == 3:
        return [a]
    if a.ndim == 4:
        return [a[c] for c in range(a.shape[0])]
    raise invalid(
        "volume",
        f"expected a (z, y, x) volume, a (y, x) plane or (c, z, y, x) channels, got shape {a.shape}",
    )


def segment(
    volume_or_recording: Recording | np.ndarray | str | os.PathLike[str],
    *,
    channel: int | None = None,
    cell_diameter: float | None = None,
    detector: str | None = None,
    method: str | None = None,
    voxel_size: Mapping[str, float] | Calibration | None = None,
    frame: int = 0,
    config: Mapping[str, Any] | None = None,
    progress: Progress = True,
) -> pd.DataFrame:
    """Finds the cells: one row per cell and timepoint, as the command line's ``detections.csv``.

    Every setting left ``None`` takes ``config``'s value, else the default
    (:func:`settings` lists them); a keyword given wins over ``config``.

    Parameters
    ----------
    volume_or_recording
        A :class:`Recording` (every timepoint, streamed: memory holds a few timepoints), a
        path to one, or a numpy volume: (z, y, x), a (y, x) plane, or (c, z, y, x) channels.
        uint8, uint16 and float32 arrays are read in place without a copy; other real types
        are converted to float32 first.
    channel
        The channel the cells are segmented in (0-based); intensities are measured in every
        channel.
    cell_diameter
        Expected cell diameter, µm; every other size defaults from it. ``None``: estimated
        from the data — once for a recording (a sample of up to 3 timepoints, as the command
        line does), per call for a numpy volume (give it for the same rows as the recording's).
    detector
        ``"hybrid"`` (the default: a foreground mask from the background noise, LoG seeds,
        a seeded watershed), ``"blob"`` (Laplacian of Gaussian) or ``"threshold"``
        (threshold, connected components, watershed splitting); ``method`` is its deprecated
        spelling. Rows the segmentation flags as artefacts carry the rule in ``artefact``.
    voxel_size
        ``{"x", "y", "z"}`` in µm (or a :class:`Calibration`): required for a numpy volume;
        for a recording it overrides the file's.
    frame
        The frame number written in the ``frame`` column, for a numpy volume.
    config
        Further segmentation settings, as the ``[segment]`` table of the configuration file
        (e.g. ``{"min_volume_um3": 150, "background": {"kind": "top_hat"}}``).
    progress
        ``True``: tqdm bars when tqdm is installed; ``False``: none; or a function
        ``(stage, done, total)`` returning ``False`` to stop. Ctrl-C stops the run
        (``KeyboardInterrupt``) after the timepoint being segmented.

    Returns
    -------
    DataFrame
        ``frame, x_um, y_um, z_um`` (µm, the centre of voxel (i, j, k) at (i·vx, j·vy, k·vz)),
        ``volume_um3``, ``mean_intensity``, ``max_intensity``, ``sum_intensity``,
        ``quality``, ``label``, centroids, bounding boxes, shape measures, border flags and
        ``{mean,max,sum}_intensity_c{N}`` for every channel N. A one-plane recording gives
        2D detections (no z columns).

    Examples
    --------
    >>> import leukotrack as lt
    >>> rec, truth = lt.synth(getfixture("tmp_path"), frames=2, size={"x": 96, "y": 96, "z": 10}, progress=False)
    >>> det = lt.segment(rec, cell_diameter=10, progress=False)
    >>> det.columns[:5].tolist()
    ['frame', 'x_um', 'y_um', 'z_um', 'volume_um3']
    """
    if method is not None:
        _util.deprecated("method", "detector=")
    cfg = _stage_json(config, "segment")
    kw = _util.keywords({"channel": channel, "cell_diameter": cell_diameter, "detector": detector, "method": method})
    reporter = Reporter(progress)
    data = volume_or_recording
    if isinstance(data, (str, os.PathLike)):
        data = read(data, voxel_size=voxel_size)
    if isinstance(data, Recording):
        rec = data._reopened(voxel_size=_util.voxel_size(voxel_size))
        with reporter as callback:
            cols = _core.segment_recording(rec._native, cfg, kw, callback)
        return _tables.frame(cols)
    if isinstance(data, np.ndarray):
        vs = _util.voxel_size(voxel_size)
        if vs is None:
            raise invalid("voxel_size", "give the voxel size of a numpy volume: {'x': …, 'y': …, 'z': …} in µm")
        channels = _channels_of(data)
        frame = _util.integer("frame", frame)
        cols = _core.segment_volumes(channels, frame, vs, cfg, kw)
        return _tables.frame(cols)
    raise invalid(
        "volume_or_recording", f"expected a Recording, a path or a numpy array, got {type(data).__name__}"
    )


def link(
    detections: pd.DataFrame,
    *,
    frame_interval: float | Calibration,
    max_speed: float | None = None,
    max_distance: float | None = None,
    gap_frames: int | None = None,
    predict: bool | None = None,
    gap_max_distance: float | None = None,
    linker: str | None = None,
    method: str | None = None,
    drift: str | pd.DataFrame | None = None,
    config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Links detections into tracks: the same rows as the command line's ``tracks.csv``.

    Candidates within the gate, global linear assignment with alternative costs (TrackMate's
    LAP tracker), gap closing and a constant-velocity (Kalman) prediction of each track.
    Every setting left ``None`` takes ``config``'s value, else the default
    (:func:`settings`); a keyword given wins over ``config``.

    Parameters
    ----------
    detections
        A table with ``frame, x_um, y_um[, z_um]`` (µm); other columns are carried into the
        tracks (and may weigh links through ``config={"feature_penalties": {...}}``).
    frame_interval
        Time between frames, s (or a :class:`Calibration`).
    max_speed
        Gate: the largest speed between two frames, µm/min (× the time between them).
    max_distance
        Gate: the largest distance between two frames, µm; replaces ``max_speed``.
    gap_frames
        Largest frame difference a gap-closing link spans (2 = one missing frame, as
        TrackMate's MAX_FRAME_GAP; trackpy's ``memory`` is one less); 0 turns gap closing off.
    predict
        Measure costs from a constant-velocity prediction (``False``: observed positions).
    gap_max_distance
        A fixed gap-closing gate, µm (unset: the frame gate scaled by the time gap).
    linker
        ``"lap"`` (global assignment) or ``"greedy"`` (nearest first; for comparison);
        ``method`` is its deprecated spelling.
    drift
        Drift correction before linking: ``None``, ``"objects"`` (arrested cells, debris),
        ``"median"`` (all cells; removes directed migration) or a drift table
        (``frame, dx_um, dy_um[, dz_um]``). Tracks keep raw positions and add
        ``x_um_corrected``, ….
    config
        Further linking settings, as the ``[link]`` table of the configuration file.

    Returns
    -------
    DataFrame
        ``track_id, frame, t_s, x_um, y_um[, z_um], detection`` (the row of ``detections``)
        and the detections' other columns.

    Examples
    --------
    >>> import leukotrack as lt
    >>> truth = lt.synth_truth(frames=5, size={"x": 128, "y": 128, "z": 10})
    >>> det = truth.drop(columns=["track_id"])
    >>> tracks = lt.link(det, frame_interval=30, max_distance=15, config={"gap_frames": 0})
    >>> len(tracks) == len(det)
    True
    """
    if method is not None:
        _util.deprecated("method", "linker=")
    dt = _util.frame_interval(frame_interval)
    if dt is None:
        raise invalid("frame_interval", "give the time between frames in s")
    det = _tables.detections_to_native(detections)
    drift_method = drift_table = None
    if isinstance(drift, str):
        drift_method = drift
    elif drift is not None:
        drift_table = _tables.drift_to_native(drift)
    kw = _util.keywords({
        "max_speed": max_speed, "max_distance": max_distance, "gap_frames": gap_frames,
        "predict": predict, "gap_max_distance": gap_max_distance, "linker": linker,
        "method": method, "drift": drift_method,
    })
    cols = _core.link(det, dt, _stage_json(config, "link"), kw, drift_table)
    return _tables.frame(cols)


def _metric_inputs(tracks: Any, frame_interval: Any, **kw: Any) -> tuple[dict[str, Any], str, float | None]:
    dt = _util.frame_interval(frame_interval)
    return (_tables.tracks_to_native(tracks, frame_interval=dt), _util.keywords(kw), dt)


def metrics(
    tracks: pd.DataFrame,
    *,
    frame_interval: float | None = None,
    arrest_threshold: float | None = None,
    two_d: bool | None = None,
    min_points: int | None = None,
    exclude_border: bool | None = None,
    max_lag: int | None = None,
    fit_lags: tuple[int, int] | None = None,
    reference_direction: Mapping[str, float] | None = None,
    reference_point: Mapping[str, float] | None = None,
    staggered: bool | None = None,
) -> pd.DataFrame:
    """Motility measures per track, as celltrackR defines them (``track_metrics.csv``).

    Parameters
    ----------
    tracks
        ``track_id, frame, t_s, x_um, y_um[, z_um]`` (µm, s); without ``z_um``, 2D.
    frame_interval
        s; default: the median over the steps of time / frame difference.
    arrest_threshold
        A step slower than this counts as arrested, µm/min.
    two_d
        Analyse the xy projection (drop z).
    min_points
        Leave out tracks with fewer points.
    exclude_border
        Leave out tracks with a point flagged in a ``touches_border`` column.
    max_lag, fit_lags
        Largest lag of the MSD (frames); the lags ``(first, last)`` of the motility-coefficient
        fit (default: chosen automatically).
    reference_direction, reference_point
        ``{"x", "y"[, "z"]}``: a direction, or a point in µm (e.g. a chemokine source), for the
        forward migration index, the chemotactic index and the mean angle to it.
    staggered
        Add celltrackR's staggered straightness.

    Returns
    -------
    DataFrame
        One row per track: ``track_id, n_points, duration_s, track_length_um,
        displacement_um, max_displacement_um, speed_um_per_min, mean_step_speed_um_per_min,
        median_step_speed_um_per_min, straightness, displacement_ratio, outreach_ratio,
        asphericity, mean_turning_angle_deg, overall_angle_deg, arrest_coefficient,
        square_displacement_um2, mean_z_um`` and the optional columns asked for.
    """
    tr, kw, dt = _metric_inputs(
        tracks, frame_interval, arrest_threshold=arrest_threshold, two_d=two_d, min_points=min_points,
        exclude_border=exclude_border, max_lag=max_lag, fit_lags=fit_lags,
        reference_direction=reference_direction, reference_point=reference_point, staggered=staggered,
    )
    return _tables.frame(_core.track_metrics(tr, kw, dt))


def steps(
    tracks: pd.DataFrame,
    *,
    frame_interval: float | None = None,
    two_d: bool | None = None,
    min_points: int | None = None,
    exclude_border: bool | None = None,
) -> pd.DataFrame:
    """One row per step (two consecutive points of a track, also across a missing frame):
    ``track_id, frame, t_s, dx_um, dy_um, dz_um, step_um, speed_um_per_min,
    turning_angle_deg`` (``steps.csv``) — the step's start frame and time (s), its
    displacement and length (µm), its speed (µm/min) and the angle to the previous step
    (degrees; NaN for a track's first step). Options as :func:`metrics`'s."""
    tr, kw, dt = _metric_inputs(
        tracks, frame_interval, two_d=two_d, min_points=min_points, exclude_border=exclude_border
    )
    return _tables.frame(_core.steps(tr, kw, dt))


def msd(
    tracks: pd.DataFrame,
    *,
    frame_interval: float | None = None,
    two_d: bool | None = None,
    max_lag: int | None = None,
    min_points: int | None = None,
    exclude_border: bool | None = None,
) -> pd.DataFrame:
    """Mean square displacement against lag, pooled over tracks: ``lag_frames, lag_s,
    msd_um2, n, sem_um2`` (``msd.csv``; µm², s)."""
    tr, kw, dt = _metric_inputs(
        tracks, frame_interval, two_d=two_d, min_points=min_points, exclude_border=exclude_border, max_lag=max_lag
    )
    return _tables.frame(_core.msd(tr, kw, dt))


def autocorrelation(
    tracks: pd.DataFrame,
    *,
    frame_interval: float | None = None,
    two_d: bool | None = None,
    max_lag: int | None = None,
    min_points: int | None = None,
    exclude_border: bool | None = None,
) -> pd.DataFrame:
    """Velocity autocorrelation against lag: ``lag_frames, lag_s, mean_cos, sem_cos,
    mean_velocity_dot_um2_per_min2, n`` (``autocorrelation.csv``): the mean cosine of the
    angle between steps starting ``lag_frames`` apart (1 at lag 0) and the mean dot product
    of their velocities, (µm/min)²; lags in frames and s."""
    tr, kw, dt = _metric_inputs(
        tracks, frame_interval, two_d=two_d, min_points=min_points, exclude_border=exclude_border, max_lag=max_lag
    )
    return _tables.frame(_core.autocorrelation(tr, kw, dt))


def motility_coefficient(
    tracks: pd.DataFrame,
    *,
    frame_interval: float | None = None,
    two_d: bool | None = None,
    fit_lags: tuple[int, int] | None = None,
    max_lag: int | None = None,
    min_points: int | None = None,
    exclude_border: bool | None = None,
    full: bool = False,
) -> float | dict[str, Any]:
    """The motility coefficient M = slope / (2·d) of the linear fit of MSD against lag time,
    µm²/min (d = 3, or 2 for 2D tracks or ``two_d``), as in ``metrics_summary.json``.

    ``fit_lags`` is the ``(first, last)`` lag of the fit in frames (default: chosen
    automatically). With ``full=True`` the whole fit is returned as a dict (``slope_um2_per_min``,
    ``intercept_um2``, ``r_squared``, ``lag_frames``, …). NaN with fewer than 2 lags.
    """
    tr, kw, dt = _metric_inputs(
        tracks, frame_interval, two_d=two_d, min_points=min_points, exclude_border=exclude_border,
        max_lag=max_lag, fit_lags=fit_lags,
    )
    fit = _core.msd_fit(tr, kw, dt)
    if _util.flag("full", full):
        return fit
    m = fit["motility_coefficient_um2_per_min"]
    return float("nan") if m is None else float(m)


def motility_summary(tracks: pd.DataFrame, **kwargs: Any) -> dict[str, Any]:
    """Everything :func:`metrics` takes, summarised over the population as
    ``metrics_summary.json``: counts, motility coefficient, persistence time, the MSD and
    Fürth fits, distributions over cells and steps, Hotelling and Rayleigh tests."""
    frame_interval = kwargs.pop("frame_interval", None)
    tr, kw, dt = _metric_inputs(tracks, frame_interval, **kwargs)
    return _core.analyze(tr, kw, dt)[4]


def evaluate(
    tracks: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    match_um: float | None = None,
    gap_frames: int | None = None,
) -> dict[str, Any]:
    """Scores tracks (or detections) against ground truth, matching points one to one per
    frame within ``match_um`` µm.

    For tracks (a table with ``track_id``): the detection score of the tracked points
    (``detection``: precision, recall, F1, RMSE), link recall/precision/F1 and the Cell
    Tracking Challenge's DET, TRA and LNK (``ctc``); ``gap_frames`` is the largest frame
    difference of a true link. For detections: the detection score alone. Returns a dict.
    """
    kw = _util.keywords({"match_um": match_um, "gap_frames": gap_frames})
    t = _tables.tracks_to_native(truth, what="truth")
    if _tables.is_tracks(tracks):
        p = _tables.tracks_to_native(tracks)
        return _core.evaluate(t, p, True, kw)
    p = _tables.detections_to_native(tracks)
    return _core.evaluate(t, p, False, kw)


def synth(
    out_dir: str | os.PathLike[str],
    *,
    preset: str | None = None,
    seed: int | None = None,
    frames: int | None = None,
    size: Mapping[str, int] | None = None,
    voxel_size: Mapping[str, float] | None = None,
    frame_interval: float | None = None,
    channels: int | None = None,
    density: float | None = None,
    cell_photons: float | None = None,
    touching_pairs: int | None = None,
    config: Mapping[str, Any] | None = None,
    deflate: bool = False,
    progress: Progress = True,
) -> tuple[Recording, pd.DataFrame]:
    """Simulates a two-photon recording with ground truth, as ``leukotrack synth``.

    Writes ``recording.tif`` (ImageJ hyperstack, uint16), ``ground_truth.csv``,
    ``drift.csv``, ``debris.csv`` and ``synth.json`` into ``out_dir`` and returns the opened
    recording and the ground truth (``track_id, frame, t_s, x_um, y_um, z_um``, …).

    ``size`` is ``{"x", "y", "z"}`` in voxels, ``voxel_size`` ``{"x", "y", "z"}`` in µm,
    ``frame_interval`` in s, ``density`` in cells per 100,000 µm³, ``cell_photons`` photons
    per voxel (lower: lower SNR); ``config`` any simulator setting (the fields of
    ``synth.json``). ``preset`` names a scene (``default``, ``hard``, ``2d``, ``thin``,
    ``swarm``: ``leukotrack synth --help``). Precedence: preset < ``config`` < keywords; a
    keyword left ``None`` takes ``config``'s value, else the preset's. Deterministic for a
    given ``seed``; ``synth.json`` records the preset and every resolved value.

    >>> import leukotrack as lt
    >>> rec, truth = lt.synth(getfixture("tmp_path"), frames=3, size={"x": 96, "y": 96, "z": 10}, progress=False)
    >>> rec.shape.t, truth.columns[:6].tolist()
    (3, ['track_id', 'frame', 't_s', 'x_um', 'y_um', 'z_um'])
    """
    out = Path(_util.path("out_dir", out_dir))
    cfg = _stage_json(config, "synth")
    kw = _util.keywords({
        "preset": preset, "seed": seed, "frames": frames, "size": size, "voxel_size": voxel_size,
        "frame_interval": frame_interval, "channels": channels, "density": density, "cell_photons": cell_photons, "touching_pairs": touching_pairs,
    })
    with Reporter(progress) as callback:
        cols = _core.synth_write(cfg, kw, os.fspath(out), _util.flag("deflate", deflate), callback)
    return _open(out / "recording.tif", {}), _tables.frame(cols)


def synth_truth(
    *,
    preset: str | None = None,
    seed: int | None = None,
    frames: int | None = None,
    size: Mapping[str, int] | None = None,
    voxel_size: Mapping[str, float] | None = None,
    frame_interval: float | None = None,
    density: float | None = None,
    touching_pairs: int | None = None,
    config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The ground-truth tracks of a simulation (as :func:`synth`) without rendering images:
    cheap test data for linking and metrics."""
    kw = _util.keywords({
        "preset": preset, "seed": seed, "frames": frames, "size": size, "voxel_size": voxel_size,
        "frame_interval": frame_interval, "density": density, "touching_pairs": touching_pairs,
    })
    return _tables.frame(_core.synth_truth(_stage_json(config, "synth"), kw))
