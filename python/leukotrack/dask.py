"""When one workstation is not enough: the batch on a Dask cluster, one task per recording.

Needs the ``dask`` extra (``pip install 'leukotrack[dask]'``: dask and distributed), and
leukotrack installed on every worker. Each task writes its recording's results exactly as
``leukotrack batch`` does — one folder per recording, ``manifest.json`` last — so a second
run skips what is complete, on the cluster as on a workstation.

Pointing it at a SLURM cluster with dask-jobqueue::

    from dask_jobqueue import SLURMCluster
    from distributed import Client
    import leukotrack.dask

    cluster = SLURMCluster(cores=8, memory="16GB", walltime="04:00:00")
    cluster.scale(jobs=10)                      # ten nodes, one worker each
    client = Client(cluster)
    summary = leukotrack.dask.track_many(
        "/shared/recordings/", client, config="params.toml", out_dir="/shared/results/"
    )
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import _core, _util
from ._pipeline import resolve_config
from ._util import invalid

__all__ = ["track_many"]


def _run_one(path: str, name: str, out_root: str | None, config_json: str, stop: Any = None) -> dict[str, Any]:
    """One task: a recording analysed as ``leukotrack batch`` does; never raises for a bad
    recording (the row says what failed)."""
    progress = None
    if stop is not None:
        progress = lambda stage, done, total: not stop.is_set()  # noqa: E731
    if out_root is None:
        with tempfile.TemporaryDirectory(prefix="leukotrack-") as tmp:
            return _core.batch_run_one(path, name, tmp, config_json, progress)
    return _core.batch_run_one(path, name, out_root, config_json, progress)


def _failed(path: str, name: str, error: str) -> dict[str, Any]:
    return {"name": name, "path": path, "status": "failed", "error": error}


def track_many(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    client: Any = None,
    config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    series: bool = False,
    **overrides: Any,
) -> pd.DataFrame:
    """Analyses many recordings, one Dask task each, and returns the per-recording summary.

    Parameters
    ----------
    paths
        Folders (searched recursively: every TIFF is a recording), glob patterns
        (``"recs/*.tif"``) or files — as ``leukotrack batch`` takes them.
    client
        A ``distributed.Client`` (e.g. of a dask-jobqueue SLURM cluster, see the module
        docs). ``None``: the current client if there is one, else Dask's local threaded
        scheduler.
    config
        The pipeline configuration: a dict, the path of a TOML file, or ``None`` for the
        defaults; ``**overrides`` as :func:`leukotrack.track`'s win over it.
    out_dir
        Where each recording's folder (named by its path relative to the input folder) and
        ``summary.csv`` go; complete folders from an earlier run with the same input and
        settings are skipped. ``None``: nothing is kept (each task works in a temporary
        folder) and only the summary is returned.
    series
        Each folder directly holding TIFF files is one recording (per-timepoint files).

    Returns
    -------
    DataFrame
        One row per recording, the columns of ``summary.csv``: ``name, path, status``
        (``done``, ``skipped`` or ``failed``), ``frames, detections, tracks,
        tracks_analysed, mean_speed_um_per_min, mean_straightness, mean_arrest_coefficient,
        motility_coefficient_um2_per_min, seconds, error``. A failing recording (or a lost
        task) is reported in its row; the others go on.
    """
    try:
        import dask
    except ImportError:
        raise ImportError("leukotrack.dask needs dask: pip install 'leukotrack[dask]'") from None
    cfg_json = _util.to_json("config", resolve_config(config, overrides))
    if isinstance(paths, (str, os.PathLike)):
        roots = [os.fspath(paths)]
    else:
        roots = [_util.path("paths", p) for p in paths]
    if not roots:
        raise invalid("paths", "no recordings given")
    inputs = [(os.fspath(p), n) for p, n in _core.batch_discover(roots, _util.flag("series", series))]
    out_root = None
    if out_dir is not None:
        out_root = os.path.abspath(_util.path("out_dir", out_dir))
        os.makedirs(out_root, exist_ok=True)

    if client is None:
        try:
            from distributed import get_client

            client = get_client()
        except (ImportError, ValueError):
            client = None
    rows: list[dict[str, Any]]
    if client is not None:
        rows = _on_cluster(client, inputs, out_root, cfg_json)
    else:
        rows = _on_threads(dask, inputs, out_root, cfg_json)

    columns = list(_core.batch_summary_columns())
    if out_root is not None:
        full = [{c: r.get(c) for c in columns} for r in rows]
        _core.batch_write_summary(os.path.join(out_root, "summary.csv"), _util.to_json("rows", _rows_for_native(full)))
    df = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    df["path"] = [str(Path(p)) for p in df["path"]]
    return df


def _rows_for_native(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows]


def _on_cluster(client: Any, inputs: list[tuple[str, str]], out_root: str | None, cfg_json: str) -> list[dict[str, Any]]:
    from distributed import as_completed

    futures = {
        client.submit(_run_one, path, name, out_root, cfg_json, key=f"leukotrack-{i}-{name}", pure=False): i
        for i, (path, name) in enumerate(inputs)
    }
    rows: list[dict[str, Any] | None] = [None] * len(inputs)
    try:
        for fut in as_completed(list(futures)):
            i = futures[fut]
            path, name = inputs[i]
            try:
                rows[i] = fut.result()
            except Exception as e:  # the task itself was lost (worker died, …)
                rows[i] = _failed(path, name, f"task failed: {type(e).__name__}: {e}")
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise
    return [r for r in rows if r is not None]


def _on_threads(dask: Any, inputs: list[tuple[str, str]], out_root: str | None, cfg_json: str) -> list[dict[str, Any]]:
    stop = threading.Event()
    tasks = [dask.delayed(_run_one, pure=False)(p, n, out_root, cfg_json, stop) for p, n in inputs]
    try:
        return list(dask.compute(*tasks, scheduler="threads"))
    except KeyboardInterrupt:
        stop.set()  # running recordings stop at their next timepoint
        raise
