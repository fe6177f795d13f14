"""Studies: many recordings, mice and groups compared with statistics whose unit is the mouse
(``leukotrack study``). The statistics are the core's; this module gives them DataFrames."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _core, _util
from ._pipeline import resolve_config
from ._util import invalid

__all__ = ["Study", "study"]

_CLASSES = ("arrested", "confined", "meandering", "directed")
_STUDY_COLUMNS = ("recording", "mouse", "group")
# Columns of tracks_all.csv that are not per-track measures.
_NOT_MEASURES = {"track_id", "behaviour_class", "mean_z_um"}


class Study:
    """The results of :func:`study`: every table as a DataFrame, read from ``out_dir``.

    :attr:`tracks` (``tracks_all.csv``: one row per track with the study's columns and
    ``behaviour_class``), :attr:`per_recording`, :attr:`per_mouse`, :attr:`comparisons`
    (``comparisons.csv``), :attr:`curves`; :attr:`summary` is ``study.json`` (counts,
    warnings, settings) and :attr:`warnings` its warnings.
    """

    def __init__(self, out_dir: str, config: dict[str, Any], table_columns: list[str]) -> None:
        self.out_dir = Path(out_dir)
        self._config = config
        self._table_columns = table_columns
        self.summary: dict[str, Any] = json.loads((self.out_dir / "study.json").read_text())
        self.tracks = pd.read_csv(self.out_dir / "tracks_all.csv", dtype={c: str for c in _STUDY_COLUMNS})
        self.per_recording = pd.read_csv(self.out_dir / "per_recording.csv", dtype={c: str for c in _STUDY_COLUMNS})
        self.per_mouse = pd.read_csv(self.out_dir / "per_mouse.csv", dtype={"group": str, "mouse": str})
        self.comparisons = pd.read_csv(self.out_dir / "comparisons.csv", dtype={"group": str, "reference": str})
        self.curves = pd.read_csv(self.out_dir / "curves.csv", dtype={"group": str})

    @property
    def warnings(self) -> list[str]:
        """The warnings in words (few mice, failed recordings, mixed frame intervals, …)."""
        return list(self.summary["warnings"])

    def measures(self) -> list[str]:
        """The per-track measures of :attr:`tracks` that can be compared."""
        extra = set(self._table_columns)
        return [
            c
            for c in self.tracks.columns
            if c not in _STUDY_COLUMNS and c not in extra and c not in _NOT_MEASURES
            and pd.api.types.is_numeric_dtype(self.tracks[c])
        ]

    def compare(self, measure: str | list[str] | None = None, by: str = "group", reference: str | None = None) -> pd.DataFrame:
        """Compares the values of ``by`` (``group``, or any column of the study table such as
        a treatment time) with ``reference`` (default: the first value in the table's order)
        for ``measure`` (a measure of :meth:`measures`, ``fraction_<class>`` for a behaviour
        class, a list of them, or ``None`` for every one), the mouse as the unit — the columns
        of ``comparisons.csv``. For example, per imaging session rather than per group::

            s = lt.study("study.csv", out_dir="study_out")
            s.compare("speed_um_per_min", by="session", reference="s1")
        """
        if by not in self.tracks.columns:
            raise invalid("by", f"`{by}` is not a column of the study (columns: {', '.join(self.tracks.columns[:3])}, …)")
        all_measures = self.measures() + [f"fraction_{c}" for c in _CLASSES]
        if measure is None:
            names = all_measures
        else:
            names = [measure] if isinstance(measure, str) else list(measure)
            for n in names:
                if n not in all_measures:
                    raise invalid("measure", f"`{n}` is not a measure of the study (e.g. {', '.join(all_measures[:4])})")
        values, fractions = [], []
        for n in names:
            if n.startswith("fraction_") and n not in self.tracks.columns:
                cls = n[len("fraction_"):]
                values.append((self.tracks["behaviour_class"] == cls).astype(float).tolist())
                fractions.append(True)
            else:
                values.append(pd.to_numeric(self.tracks[n], errors="coerce").astype(float).tolist())
                fractions.append(False)
        groups = self.tracks[by].astype(str).tolist()
        ref = None if reference is None else str(reference)
        rows = json.loads(
            _core.study_compare(
                self.tracks["mouse"].astype(str).tolist(), groups, names, values, fractions,
                _util.to_json("config", self._config), ref,
            )
        )
        df = pd.DataFrame(rows)
        first = [c for c in pd.read_csv(self.out_dir / "comparisons.csv", nrows=0).columns if c in df.columns]
        return df[first + [c for c in df.columns if c not in first]].astype({c: float for c in df.columns if df[c].dtype == object and c not in ("measure", "group", "reference", "mouse_value")})

    def embedding(
        self,
        method: str = "pca",
        n_clusters: int | None = None,
        features: list[str] | None = None,
        seed: int = 0,
    ) -> pd.DataFrame:
        """An unsupervised view of the tracks: the per-track ``features`` (default: speed,
        straightness, arrest coefficient, mean turning angle, MSD exponent, outreach ratio,
        asphericity — those present), each standardised, embedded in 2D by ``method``
        (``"pca"``: principal components, numpy alone or scikit-learn; ``"umap"``: needs
        umap-learn) and, with ``n_clusters``, clustered by k-means (needs scikit-learn:
        ``pip install 'leukotrack[embed]'``). Tracks with a missing feature are left out.
        Returns the study columns, ``track_id``, ``behaviour_class``, ``dim1``, ``dim2`` and
        ``cluster`` (−1 without clustering); :meth:`plot_embedding` draws it by group."""
        default = ["speed_um_per_min", "straightness", "arrest_coefficient", "mean_turning_angle_deg",
                   "msd_alpha", "outreach_ratio", "asphericity"]
        names = [f for f in (features or default) if f in self.tracks.columns]
        if features is not None and len(names) != len(features):
            missing = [f for f in features if f not in self.tracks.columns]
            raise invalid("features", f"not measures of the study: {', '.join(missing)}")
        if len(names) < 2:
            raise invalid("features", "give at least two per-track measures")
        x = self.tracks[names].apply(pd.to_numeric, errors="coerce")
        keep = x.notna().all(axis=1).to_numpy()
        if keep.sum() < 3:
            raise invalid("features", "fewer than 3 tracks have every feature")
        z = x[keep].to_numpy(float)
        sd = z.std(axis=0)
        z = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        if method == "pca":
            u, s, _ = np.linalg.svd(z, full_matrices=False)
            coords = u[:, :2] * s[:2]
            # A sign convention, so the result does not depend on the SVD routine.
            coords *= np.where(coords[np.abs(coords).argmax(axis=0), range(2)] < 0, -1.0, 1.0)
        elif method == "umap":
            try:
                import umap
            except ImportError:
                raise ImportError("method='umap' needs umap-learn: pip install 'leukotrack[embed]'") from None
            coords = umap.UMAP(n_components=2, random_state=seed).fit_transform(z)
        else:
            raise invalid("method", f"`{method}`: give 'pca' or 'umap'")
        cluster = np.full(len(z), -1)
        if n_clusters is not None:
            n = _util.integer("n_clusters", n_clusters, minimum=1)
            try:
                from sklearn.cluster import KMeans
            except ImportError:
                raise ImportError("n_clusters needs scikit-learn: pip install 'leukotrack[embed]'") from None
            cluster = KMeans(n_clusters=n, n_init=10, random_state=seed).fit_predict(z)
        cols = [c for c in ("recording", "mouse", "group", *self._table_columns, "track_id", "behaviour_class") if c in self.tracks]
        out = self.tracks.loc[keep, cols].reset_index(drop=True)
        out["dim1"], out["dim2"], out["cluster"] = coords[:, 0], coords[:, 1], cluster
        return out

    @staticmethod
    def plot_embedding(embedding: pd.DataFrame, by: str = "group", ax: Any = None) -> Any:
        """Draws :meth:`embedding`'s tracks coloured by ``by`` (``group``, ``cluster``,
        ``behaviour_class``, ``mouse``, …) with matplotlib; returns the axes."""
        from .plot import _pyplot

        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 5))
        if by not in embedding.columns:
            raise invalid("by", f"`{by}` is not a column of the embedding")
        for value, g in embedding.groupby(by, sort=False):
            ax.scatter(g["dim1"], g["dim2"], s=9, alpha=0.7, label=str(value))
        ax.set_xlabel("dimension 1")
        ax.set_ylabel("dimension 2")
        ax.legend(title=by, fontsize="small")
        return ax

    def plot(self, measure: str = "speed_um_per_min") -> Any:
        """The study's figure for ``measure`` (its superplot), or ``"msd_groups"``,
        ``"classes"``, ``"forest"``: an ``IPython.display.Image`` in a notebook, else the PNG
        file's path."""
        name = measure if measure in ("msd_groups", "classes", "forest") else f"superplot_{measure}"
        path = self.out_dir / "plots" / f"{name}.png"
        if not path.is_file():
            have = sorted(p.stem for p in (self.out_dir / "plots").glob("*.png"))
            raise invalid("measure", f"no figure `{name}` (figures: {', '.join(have)})")
        try:
            from IPython.display import Image
        except ImportError:
            return path
        return Image(filename=str(path))

    def report(self, path: str | os.PathLike[str] | None = None) -> Path:
        """``report.html`` (self-contained), copied to ``path`` when given; returns its path."""
        src = self.out_dir / "report.html"
        if path is None:
            return src
        dst = Path(_util.path("path", path))
        shutil.copyfile(src, dst)
        return dst

    def __repr__(self) -> str:
        c = self.summary["counts"]
        return (
            f"<Study {c['rows']} rows, {c['mice']} mice, {c['tracks']} tracks, groups "
            f"{', '.join(self.summary['groups'])}; reference {self.summary['reference']}>"
        )


def study(
    table_or_path: pd.DataFrame | str | os.PathLike[str],
    config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    client: Any = None,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    reference: str | None = None,
    jobs: int | None = None,
    **overrides: Any,
) -> Study:
    """A study, as ``leukotrack study STUDY.csv -o OUTDIR``: every recording of the table
    analysed as ``batch`` does (resumable; rows naming tracks — our ``tracks.csv``, a
    TrackMate ``.xml`` — skip segmentation and linking), then the groups compared with the
    mouse as the unit.

    Parameters
    ----------
    table_or_path
        The study table: a CSV or TOML file, or a DataFrame with the columns ``recording``,
        ``mouse``, ``group`` (further columns are carried along; ``frame_interval_s``,
        ``voxel_size_um`` as ``"X,Y,Z"`` and ``channel`` override per row). Relative paths
        are relative to the file (a DataFrame's: to the working folder).
    config
        The configuration (a dict, a TOML path, ``None`` for the defaults; its ``[study]``
        table sets the statistics and the behaviour classes); ``**overrides`` as
        :func:`leukotrack.track`'s win over it.
    client
        A ``distributed.Client``: the recordings are analysed on it, one task each, as
        :func:`leukotrack.dask.track_many` does; the pooling runs here.
    out_dir
        Where everything goes (``recordings/<name>/``, the tables, ``plots/``,
        ``report.html``). ``None``: a new temporary folder (``Study.out_dir``).
    reference
        The group every other is compared with (default: the table's first group).
    jobs
        Recordings analysed at once without a client (default 1).
    """
    cfg = resolve_config(config, overrides)
    cfg_json = _util.to_json("config", cfg)
    out = os.path.abspath(_util.path("out_dir", out_dir)) if out_dir is not None else tempfile.mkdtemp(prefix="leukotrack-study-")
    os.makedirs(out, exist_ok=True)
    if isinstance(table_or_path, pd.DataFrame):
        df = table_or_path.copy()
        for c in _STUDY_COLUMNS:
            if c not in df.columns:
                raise invalid("table_or_path", f"the table has no `{c}` column (it needs recording, mouse, group)")
        df["recording"] = [os.path.abspath(os.fspath(p)) for p in df["recording"]]
        table = os.path.join(out, "study_table.csv")
        df.to_csv(table, index=False)
    else:
        table = os.path.abspath(_util.path("table_or_path", table_or_path))
    if jobs is not None:
        jobs = _util.integer("jobs", jobs, minimum=1)
    if client is not None:
        _on_client(client, table, out, cfg_json)
    summary = json.loads(_core.run_study(table, out, cfg_json, jobs, reference))
    header = pd.read_csv(table, nrows=0).columns.tolist() if table.lower().endswith(".csv") else []
    extra = [c for c in header if c not in _STUDY_COLUMNS and c not in ("frame_interval_s", "voxel_size_um", "channel")]
    del summary
    return Study(out, cfg, extra)


def _on_client(client: Any, table: str, out: str, cfg_json: str) -> None:
    """The recording rows analysed on a Dask cluster into ``out/recordings/`` (the folders
    ``run_study`` then finds complete and reuses)."""
    from distributed import wait

    from .dask import _run_one

    root = os.path.join(out, "recordings")
    os.makedirs(root, exist_ok=True)
    futures = [
        client.submit(_run_one, path, name, root, row_cfg, key=f"leukotrack-study-{i}-{name}", pure=False)
        for i, (path, name, row_cfg) in enumerate(_core.study_recordings(table, cfg_json))
    ]
    wait(futures)
