"""leukotrack.dask.track_many on a local Dask cluster: one task per recording, each written as
`leukotrack batch` writes it, failures in their rows, resumable."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest

import leukotrack as lt

from conftest import read_csv

distributed = pytest.importorskip("distributed")
from leukotrack.dask import track_many  # noqa: E402

COLUMNS = [
    "name", "path", "status", "frames", "detections", "tracks", "tracks_analysed",
    "mean_speed_um_per_min", "mean_straightness", "mean_arrest_coefficient",
    "motility_coefficient_um2_per_min", "seconds", "error", "qc_warnings",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two small recordings and a broken one, in subfolders."""
    root = tmp_path_factory.mktemp("recordings")
    for i, seed in enumerate((21, 22)):
        d = tmp_path_factory.mktemp(f"sim{i}")
        lt.synth(d, seed=seed, frames=4, size={"x": 64, "y": 64, "z": 8}, density=5.0, progress=False)
        (root / "mouse1").mkdir(exist_ok=True)
        (d / "recording.tif").rename(root / "mouse1" / f"rec{i + 1}.tif")
    (root / "broken.tif").write_bytes(b"not a tiff")
    return root


def test_without_a_client_or_an_output_folder(inputs):
    """Dask's local threaded scheduler (no distributed client exists yet in this module)."""
    with pytest.raises(ValueError):
        distributed.get_client()
    df = track_many([inputs / "mouse1" / "rec1.tif", inputs / "mouse1" / "rec2.tif"], plots=False)
    assert list(df["status"]) == ["done", "done"]
    assert list(df["name"]) == ["rec1", "rec2"]
    assert not list((inputs / "mouse1").glob("rec1/"))


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:
        yield c


def test_track_many_on_a_local_cluster_writes_what_batch_writes(inputs, client, cli, tmp_path):
    out = tmp_path / "dask"
    # (Plots off: drawing them is not what is tested here, and slow in the test build.)
    config = {"link": {"gap_frames": 2}, "export": {"plots": False}}
    df = track_many(inputs, client, out_dir=out, config=config)
    assert list(df.columns) == COLUMNS
    rows = df.set_index("name")
    assert sorted(rows.index) == ["broken", "mouse1/rec1", "mouse1/rec2"]
    assert rows.loc["broken", "status"] == "failed" and "broken.tif" in rows.loc["broken", "error"]
    for name in ("mouse1/rec1", "mouse1/rec2"):
        assert rows.loc[name, "status"] == "done"
        assert rows.loc[name, "frames"] == 4 and rows.loc[name, "detections"] > 0
        assert pd.isna(rows.loc[name, "error"])
    # The same as the command line's batch on the same inputs and settings.
    toml = tmp_path / "params.toml"
    toml.write_text("[link]\ngap_frames = 2\n[export]\nplots = false\n")
    batch = tmp_path / "batch"
    r = subprocess.run([cli, "batch", str(inputs), "-o", str(batch), "--config", str(toml), "--quiet"], capture_output=True)
    assert r.returncode == 1  # one recording failed
    theirs = read_csv(batch / "summary.csv").set_index("name")
    ours = read_csv(out / "summary.csv").set_index("name")
    same = [c for c in COLUMNS if c not in ("name", "seconds")]
    pd.testing.assert_frame_equal(ours.loc[theirs.index, same], theirs[same], check_dtype=False)
    for name in ("mouse1/rec1", "mouse1/rec2"):
        files = sorted(p.relative_to(out / name) for p in (out / name).rglob("*"))
        assert files == sorted(p.relative_to(batch / name) for p in (batch / name).rglob("*"))
        for f in ("tracks.csv", "track_metrics.csv", "detections.csv", "msd.csv"):
            assert (out / name / f).read_bytes() == (batch / name / f).read_bytes(), (name, f)
        assert (out / name / "manifest.json").is_file()

    # A second run skips the complete recordings and retries the failed one.
    again = track_many(inputs, client, out_dir=out, config=config).set_index("name")
    assert again.loc["mouse1/rec1", "status"] == "skipped" and again.loc["mouse1/rec2", "status"] == "skipped"
    assert again.loc["broken", "status"] == "failed"
    assert again.loc["mouse1/rec1", "tracks"] == rows.loc["mouse1/rec1", "tracks"]
    # Other settings: analysed again.
    third = track_many(inputs, client, out_dir=out, config=config, gap_frames=1).set_index("name")
    assert third.loc["mouse1/rec1", "status"] == "done"


def test_bad_arguments(inputs, tmp_path):
    with pytest.raises(lt.RecordingError):
        track_many(tmp_path / "nothing-here")
    with pytest.raises(lt.InvalidInputError, match="no TIFF files"):
        track_many(tmp_path)
    with pytest.raises(lt.InvalidInputError, match="gap_frame"):
        track_many(inputs, config={"link": {"gap_frame": 1}})
