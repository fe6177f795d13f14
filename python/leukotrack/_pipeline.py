"""The whole pipeline on one recording: :func:`track` and its :class:`Analysis`; the
configuration (the command line's TOML file) as a dict."""

from __future__ import annotations

import html
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _core, _tables, _util
from ._progress import Progress, Reporter
from ._recording import Recording, _open
from ._util import invalid

__all__ = [
    "track",
    "Analysis",
    "default_config",
    "load_config",
    "config_to_toml",
    "config_from_toml",
    "default_config_toml",
    "settings",
]


def default_config() -> dict[str, Any]:
    """The pipeline's default configuration as a dict: one table per stage (``channel``,
    ``read``, ``segment``, ``drift``, ``link``, ``metrics``, ``export``), every value given.
    :func:`default_config_toml` is the same with a comment on every key and its unit."""
    return json.loads(_core.default_config())


def default_config_toml() -> str:
    """The commented default configuration file (``leukotrack config --default``)."""
    return _core.default_config_toml()


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads a TOML configuration file (as ``leukotrack track --config``): a dict with every
    value. An unknown key or a value out of range is an :class:`InvalidInputError` naming it."""
    return json.loads(_core.load_config(_util.path("path", path)))


def config_from_toml(text: str) -> dict[str, Any]:
    """Parses a configuration given as TOML text."""
    if not isinstance(text, str):
        raise invalid("text", "expected TOML text")
    return json.loads(_core.config_from_toml(text))


def config_to_toml(config: Mapping[str, Any]) -> str:
    """The configuration as TOML, for ``leukotrack track --config`` or ``batch``."""
    return _core.config_to_toml(_util.to_json("config", dict(config)))


def _check(config: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration checked, every default filled in."""
    return json.loads(_core.check_config(_util.to_json("config", dict(config))))


def _base_json(config: Any) -> str | None:
    """The JSON of ``config=``: ``None`` (the defaults), a dict or the path of a TOML file."""
    if config is None:
        return None
    if isinstance(config, Mapping):
        return _util.to_json("config", _util.plain("config", dict(config)))
    if isinstance(config, (str, os.PathLike)):
        return _core.load_config(_util.path("config", config))
    raise invalid("config", f"expected a dict or the path of a TOML file, got {type(config).__name__}")


def resolve_config(config: Any, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration of a run: ``config`` (None, a dict, a TOML path) with the keyword
    ``overrides`` applied and checked — keyword > ``config=`` > default, as ``--config`` and
    the flags on the command line."""
    if overrides.get("method") is not None:
        _util.deprecated("method", "detector= or linker=")
    return json.loads(_core.resolve_config(_base_json(config), _util.keywords(overrides)))


def settings() -> pd.DataFrame:
    """The table of every setting, one row each (as ``leukotrack config --schema``):
    ``key`` (the configuration's key path, e.g. ``link.gap_frames``), ``stage``, ``flag``
    (the command line's), ``keyword`` (this package's), ``type``, ``optional``, ``unit``,
    ``default``, ``range`` (as text) and ``minimum``/``maximum``/``exclusive_minimum``/``exclusive_maximum``,
    ``choices``, ``when`` (the table kind it applies to) and ``help``.

    >>> import leukotrack as lt
    >>> s = lt.settings().set_index("key")
    >>> s.loc["link.gap_frames", ["flag", "keyword", "default"]].tolist()
    ['--gap-frames', 'gap_frames', 3]
    """
    return pd.DataFrame(json.loads(_core.settings()))


def _read_options(cfg: dict[str, Any]) -> dict[str, Any]:
    r = cfg["read"]
    out: dict[str, Any] = {}
    if r.get("voxel_size_um") is not None:
        out["voxel_size"] = list(r["voxel_size_um"])
    if r.get("frame_interval_s") is not None:
        out["frame_interval"] = r["frame_interval_s"]
    if r.get("shape") is not None:
        s = r["shape"]
        out["shape"] = (s["t"], s["c"], s["z"])
    if r.get("page_order") is not None:
        out["page_order"] = r["page_order"]
    return out


def partner_tables(partners: Any) -> list[dict[str, Any]]:
    """The ``partners=`` of :func:`track` and :func:`interactions` as
    ``[[interact.partner]]`` tables: each a ``--partner`` string
    (``"vessels=2:structure"``, ``"region=mask:roi.tif"``) or a dict of the table."""
    if partners is None:
        return []
    if isinstance(partners, (str, Mapping)):
        partners = [partners]
    out = []
    for p in partners:
        if isinstance(p, str):
            out.append(json.loads(_core.parse_partner(p)))
        elif isinstance(p, Mapping):
            out.append(dict(p))
        else:
            raise invalid("partners", f"give '--partner' strings or dicts, got {p!r}")
    return out


def track(
    path_or_recording: Recording | str | os.PathLike[str],
    config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    progress: Progress = True,
    partners: Any = None,
    **overrides: Any,
) -> Analysis:
    """The whole pipeline on one recording — segment, drift, link, metrics — as
    ``leukotrack track``; every table stays in memory (:class:`Analysis`), ``.save(dir)``
    writes the command line's files.

    Parameters
    ----------
    path_or_recording
        A :class:`Recording` or its path.
    config
        ``None`` (the defaults), a dict (the configuration file's tables; missing keys take
        their defaults, see :func:`default_config`) or the path of a TOML file.
    progress
        ``True``: tqdm bars when tqdm is installed; ``False``: none; or a function
        ``(stage, done, total)`` returning ``False`` to stop. Ctrl-C (Jupyter's interrupt)
        stops the run after the timepoint being segmented and raises ``KeyboardInterrupt``.
    partners
        Partners of the interactions (``interactions.csv``, ``contacts.csv``): ``--partner``
        strings such as ``"vessels=1:structure"`` or ``"region=mask:roi.tif"``, or dicts of
        the ``[[interact.partner]]`` table; added to the configuration's.
    **overrides
        The command line's flags, winning over ``config`` (which wins over the defaults);
        :func:`settings` lists each with its key, unit, default and range: ``voxel_size``
        (``{"x", "y", "z"}`` µm), ``frame_interval`` (s), ``shape`` (``{"t", "c", "z"}``),
        ``page_order``, ``channel``, ``cell_diameter`` (µm), ``detector`` (``"threshold"``
        or ``"blob"``), ``linker`` (``"lap"`` or ``"greedy"``), ``max_speed`` (µm/min),
        ``max_distance`` (µm), ``gap_frames``, ``gap_max_distance`` (µm), ``predict``,
        ``drift`` (``"none"``, ``"channel:N"``, ``"objects"``, ``"median"``),
        ``drift_table`` (a CSV path), ``arrest_threshold`` (µm/min), ``two_d``, ``max_lag``,
        ``fit_lags``, ``min_points``, ``exclude_border``, ``reference_direction``,
        ``reference_point`` (µm), ``staggered``, ``ctc``, ``labels``, ``plots``,
        ``trackmate_xml``; ``method`` is the deprecated spelling of ``detector`` and
        ``linker``.

    Returns
    -------
    Analysis
    """
    cfg = resolve_config(config, overrides)
    extra = partner_tables(partners)
    if extra:
        cfg["interact"]["partner"] = list(cfg["interact"]["partner"]) + extra
        cfg = json.loads(_core.check_config(_util.to_json("config", cfg)))
    if isinstance(path_or_recording, Recording):
        # The recording's own read options count as settings of the run (summary.json).
        given = path_or_recording._options
        r = cfg["read"]
        if r.get("voxel_size_um") is None and "voxel_size" in given:
            r["voxel_size_um"] = list(given["voxel_size"])
        if r.get("frame_interval_s") is None and "frame_interval" in given:
            r["frame_interval_s"] = given["frame_interval"]
        if r.get("shape") is None and "shape" in given:
            t, c, z = given["shape"]
            r["shape"] = {"t": t, "c": c, "z": z}
        if r.get("page_order") is None and "page_order" in given:
            r["page_order"] = given["page_order"]
        rec = path_or_recording._reopened(**_read_options(cfg))
    elif isinstance(path_or_recording, (str, os.PathLike)):
        rec = _open(path_or_recording, _read_options(cfg))
    else:
        raise invalid(
            "path_or_recording", f"expected a Recording or a path, got {type(path_or_recording).__name__}"
        )
    with Reporter(progress) as callback:
        native = _core.run_pipeline(rec._native, _util.to_json("config", cfg), callback)
    return Analysis(native, rec)


def _recording_and_config(path_or_recording: Any, config: Any, overrides: Mapping[str, Any]) -> tuple[Recording, dict[str, Any]]:
    cfg = resolve_config(config, overrides)
    if isinstance(path_or_recording, Recording):
        return path_or_recording._reopened(**_read_options(cfg)), cfg
    if isinstance(path_or_recording, (str, os.PathLike)):
        return _open(path_or_recording, _read_options(cfg)), cfg
    raise invalid("path_or_recording", f"expected a Recording or a path, got {type(path_or_recording).__name__}")


def twin(
    path_or_recording: Recording | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A simulated twin of a recording, as ``leukotrack twin REC -o DIR``: its statistics
    (noise model, background, brightness, sizes, density, speeds, arrested fraction, drift)
    measured from the image and a first pass of the pipeline with ``config`` and the
    keywords of :func:`track`, then simulated with exact ground truth. Writes
    ``out_dir/twin.json``, ``recording.tif``, ``ground_truth.csv`` and ``comparison.png``
    (recording and twin side by side, same contrast); returns ``twin.json``'s contents
    (``measured``, ``synth``)."""
    rec, cfg = _recording_and_config(path_or_recording, config, overrides)
    out = _util.path("out_dir", out_dir)
    return json.loads(_core.run_twin(rec._native, _util.to_json("config", cfg), out))


def tune(
    path_or_recording: Recording | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    truth: str | os.PathLike[str] | None = None,
    budget: int | None = None,
    config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The tuner, as ``leukotrack tune REC -o DIR [--truth GT.csv] [--budget N]``: the main
    settings (cell diameter, detector and its threshold, gate, gap frames) searched on the
    recording's simulated twin — or, with ``truth`` (a CSV ``frame, x_um, y_um[, z_um]`` or a
    napari Points layer saved as CSV), against those cells on the recording itself — at most
    ``budget`` settings (default 24), the given settings always among them. Writes
    ``out_dir/tune.csv`` (every setting, scored), ``best.toml`` (``track(rec, config=...)``
    and ``leukotrack track --config`` take it) and ``expected.json``; returns the latter:
    ``detection_f1``, ``link_f1``, ``tra`` expected of ``best.toml``."""
    rec, cfg = _recording_and_config(path_or_recording, config, overrides)
    out = _util.path("out_dir", out_dir)
    if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool) or budget < 1):
        raise invalid("budget", f"must be an integer ≥ 1 (the number of settings evaluated), got {budget!r}")
    gt = None if truth is None else _util.path("truth", truth)
    return json.loads(_core.run_tune(rec._native, _util.to_json("config", cfg), out, gt, budget))


class Analysis:
    """What :func:`track` found on one recording, every table in memory.

    Tables are pandas DataFrames with the command line's file names and columns:
    :attr:`detections`, :attr:`tracks`, :attr:`metrics` (per track), :attr:`steps`,
    :attr:`msd`, :attr:`autocorrelation`, :attr:`drift`; :attr:`summary` and
    :attr:`metrics_summary` are the JSON summaries as dicts.
    """

    def __init__(self, native: Any, recording: Recording) -> None:
        self._native = native
        self._recording = recording
        self._cache: dict[str, Any] = {}
        self._napari: tuple[np.ndarray, np.ndarray] | None = None

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            self._cache[name] = _tables.frame(getattr(self._native, name)())
        return self._cache[name]

    @property
    def recording(self) -> Recording:
        """The recording analysed."""
        return self._recording

    @property
    def detections(self) -> pd.DataFrame:
        """One row per detected cell and timepoint (``detections.csv``)."""
        return self._table("detections")

    @property
    def tracks(self) -> pd.DataFrame:
        """The detections linked into tracks (``tracks.csv``: ``track_id, frame, t_s, x_um,
        y_um, z_um, detection, …``; ``*_corrected`` columns with drift correction)."""
        return self._table("tracks")

    @property
    def metrics(self) -> pd.DataFrame:
        """Motility measures, one row per track (``track_metrics.csv``)."""
        return self._table("track_metrics")

    @property
    def steps(self) -> pd.DataFrame:
        """One row per step (``steps.csv``)."""
        return self._table("steps")

    @property
    def msd(self) -> pd.DataFrame:
        """Mean square displacement against lag (``msd.csv``)."""
        return self._table("msd")

    @property
    def autocorrelation(self) -> pd.DataFrame:
        """Velocity autocorrelation against lag (``autocorrelation.csv``)."""
        return self._table("autocorrelation")

    @property
    def drift(self) -> pd.DataFrame:
        """The drift removed before linking, µm per frame (``drift.csv``; zeros when off)."""
        return self._table("drift")

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json``: version, recording, effective configuration, counts, timings (s)."""
        if "summary" not in self._cache:
            self._cache["summary"] = self._native.summary()
        return self._cache["summary"]

    @property
    def metrics_summary(self) -> dict[str, Any]:
        """``metrics_summary.json``: motility coefficient (µm²/min), persistence time (min),
        fits, distributions and tests."""
        if "metrics_summary" not in self._cache:
            self._cache["metrics_summary"] = self._native.metrics_summary()
        return self._cache["metrics_summary"]

    def _interaction_tables(self) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        if "interactions" not in self._cache:
            got = self._native.interactions_csv()
            self._cache["interactions"] = None if got is None else tuple(
                pd.read_csv(io.StringIO(t), dtype={"partner": str, "track_id": str}) for t in got
            )
        return self._cache["interactions"]

    @property
    def interactions(self) -> pd.DataFrame | None:
        """``interactions.csv``: per tracked detection and partner the signed distance to the
        partner's surface (``distance_um``), the gap, ``in_contact``, the approach speed and
        angle; ``None`` without partners (``partners=`` of :func:`track`)."""
        t = self._interaction_tables()
        return None if t is None else t[0]

    @property
    def contacts(self) -> pd.DataFrame | None:
        """``contacts.csv``: one row per contact (track, partner, start and end frame,
        duration, mean gap, speed, ``stable``); ``None`` without partners."""
        t = self._interaction_tables()
        return None if t is None else t[1]

    @property
    def qc(self) -> dict[str, Any]:
        """``qc.json``: per frame (``frames``) the detection count, background, noise,
        signal-to-noise ratio, cell size, fraction linked and tracks starting and ending
        inside the field; the track-length distribution, gap rate, artefact share; and
        ``warnings`` in words (the segmentation's and the linker's among them)."""
        if "qc" not in self._cache:
            self._cache["qc"] = self._native.qc()
        return self._cache["qc"]

    @property
    def config(self) -> dict[str, Any]:
        """The effective configuration (every value)."""
        return self.summary["config"]

    @property
    def projection(self) -> np.ndarray | None:
        """The maximum-intensity projection (y, x) of the segmented channel over z and time."""
        p = self._native.projection()
        return None if p is None else p[0]

    @property
    def pixel_size(self) -> dict[str, float]:
        """The projection's pixel size ``{"x", "y"}``, µm."""
        vs = self.summary["recording"]["voxel_size_um"]
        return {"x": vs[0], "y": vs[1]}

    def _napari_data(self) -> tuple[np.ndarray, np.ndarray]:
        if self._napari is None:
            from .interop import to_napari

            self._napari = to_napari(self.tracks)
        return self._napari

    def to_napari(self) -> np.ndarray:
        """The tracks as napari's Tracks layer takes them: an ``(N, 5)`` float array of
        ``track_id, t, z, y, x`` (``(N, 4)`` without z) — positions in µm (give image layers
        ``scale=(vz, vy, vx)``), ``t`` the frame, ``track_id`` integers 0, 1, … whose
        original ids are :attr:`track_ids` — sorted by track and frame.

        ``viewer.add_tracks(analysis.to_napari())``
        """
        return self._napari_data()[0]

    @property
    def track_ids(self) -> np.ndarray:
        """The original track id of each napari id: ``track_ids[k]`` is the ``track_id`` of
        the rows :meth:`to_napari` numbers ``k``."""
        return self._napari_data()[1]

    def plot(self, *, ax: Any = None) -> Any:
        """The tracks over the maximum-intensity projection and the MSD against lag, side by
        side (matplotlib, ``pip install leukotrack[plot]``). Returns the figure (or the axes
        given: a pair)."""
        from . import plot as _plot

        return _plot.plot_analysis(self, ax=ax)

    def save(self, dir: str | os.PathLike[str], *, progress: Progress = False) -> Path:  # noqa: A002
        """Writes every result file into the folder ``dir`` (created), as ``leukotrack track -o``:
        ``detections.csv``, ``tracks.csv``, ``track_metrics.csv``, ``steps.csv``,
        ``msd.csv``, ``autocorrelation.csv``, ``drift.csv``, ``metrics_summary.json``, ``qc.json``, the
        exports the configuration asks for (``export`` table: ``tracks.xml`` for Fiji's
        TrackMate and ``plots/`` by default; with ``labels=True`` ``labels.tif``, with
        ``ctc=True`` the Cell Tracking Challenge's ``res_track.txt`` and ``maskTTT.tif``:
        both segment the recording again) and ``summary.json`` (last). Each file is written under a temporary name and renamed.
        Returns the folder."""
        out = Path(_util.path("dir", dir))
        with Reporter(progress) as callback:
            self._native.save(os.fspath(out), callback)
        self._cache.pop("summary", None)  # the save time is now known
        return out

    def __repr__(self) -> str:
        c = self.summary["counts"]
        return (
            f"<Analysis of {self.summary['recording']['name']!r}: {c['frames']} timepoints, "
            f"{c['detections']} detections, {c['tracks']} tracks>"
        )

    def _repr_html_(self) -> str:
        s = self.summary
        c = s["counts"]
        ms = self.metrics_summary
        speed = ms["cell_based"]["speed_um_per_min"]
        rows = [
            ("recording", html.escape(str(s["recording"]["path"]))),
            ("timepoints", c["frames"]),
            ("detections", c["detections"]),
            ("tracks", f"{c['tracks']} ({c['tracks_analysed']} analysed)"),
            ("speed", _fmt(speed.get("mean"), "µm/min", speed.get("sd"))),
            ("motility coefficient", _fmt(ms.get("motility_coefficient_um2_per_min"), "µm²/min")),
            ("time", _fmt(s["timings_s"]["total"], "s")),
        ]
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        return f"<table><caption>leukotrack Analysis</caption>{body}</table>"


def _fmt(v: Any, unit: str, sd: Any = None) -> str:
    if v is None:
        return "—"
    out = f"{v:.3g} {unit}"
    if sd is not None:
        out = f"{v:.3g} ± {sd:.3g} {unit} (mean ± sd)"
    return out


def interactions(
    tracks: pd.DataFrame,
    recording: Recording | str | os.PathLike[str],
    partners: Any = None,
    config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The interactions of existing ``tracks`` (positions as in ``recording``, µm) with
    partners of the recording, as ``leukotrack interact TRACKS REC``: ``partners`` are
    ``--partner`` strings (``"vessels=1:structure"``, ``"region=mask:roi.tif"``) or dicts of
    the ``[[interact.partner]]`` table, added to the configuration's. Returns
    (``interactions.csv``, ``contacts.csv``, the per-track ``<partner>_…`` columns indexed
    by ``track_id``)."""
    cfg = resolve_config(config, {})
    cfg["interact"]["partner"] = list(cfg["interact"]["partner"]) + partner_tables(partners)
    if not cfg["interact"]["partner"]:
        raise invalid("partners", "no partners: give e.g. partners=['vessels=1:structure']")
    rec = recording if isinstance(recording, Recording) else _open(recording, _read_options(cfg))
    native = _tables.tracks_to_native(tracks)
    a, b, ids, cols = _core.run_interactions(native, rec._native, _util.to_json("config", cfg))
    per_track = pd.DataFrame({n: v for n, v in cols}, index=pd.Index(ids, name="track_id"))
    read = lambda t: pd.read_csv(io.StringIO(t), dtype={"partner": str, "track_id": str})  # noqa: E731
    return read(a), read(b), per_track
