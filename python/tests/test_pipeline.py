"""The whole pipeline from Python: the command line's tables and files, the configuration,
napari's array, plots."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

import leukotrack as lt

from conftest import FIXTURE, read_csv

TABLES = {
    "detections.csv": "detections",
    "tracks.csv": "tracks",
    "track_metrics.csv": "metrics",
    "steps.csv": "steps",
    "msd.csv": "msd",
    "autocorrelation.csv": "autocorrelation",
    "drift.csv": "drift",
}
FILES = [*TABLES, "metrics_summary.json", "tracks.xml"]


def run_cli(cli, out, *flags):
    subprocess.run([cli, "track", str(FIXTURE), "-o", str(out), "--quiet", *flags], check=True)


def without_timings(summary: dict) -> dict:
    s = json.loads(json.dumps(summary))
    s.pop("timings_s")
    s["recording"].pop("path")
    return s


@pytest.fixture(scope="module")
def cli_out(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    run_cli(cli, out)
    return out


def test_python_and_the_cli_give_identical_tables(analysis, cli_out):
    for file, attr in TABLES.items():
        ours = getattr(analysis, attr)
        theirs = read_csv(cli_out / file)
        assert len(ours) > 0, file
        pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, obj=file)
    theirs = json.loads((cli_out / "metrics_summary.json").read_text())
    assert analysis.metrics_summary == theirs
    cli_summary = json.loads((cli_out / "summary.json").read_text())
    assert without_timings(analysis.summary) == without_timings(cli_summary)


def test_save_writes_the_clis_files_byte_for_byte(analysis, cli_out, tmp_path):
    out = analysis.save(tmp_path / "py")
    files = sorted(str(p.relative_to(cli_out)) for p in cli_out.rglob("*") if p.is_file())
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == files
    assert set(FILES) <= set(files)
    for f in files:  # the tables, tracks.xml and the plots
        if f != "summary.json":
            assert (out / f).read_bytes() == (cli_out / f).read_bytes(), f
    saved = json.loads((out / "summary.json").read_text())
    assert saved["timings_s"]["save"] > 0
    assert without_timings(saved) == without_timings(analysis.summary)
    # No temporary file is left behind.
    assert not [p for p in out.iterdir() if p.name.startswith(".") or p.suffix == ".partial"]


def test_ctc_export_as_the_cli(cli, small, tmp_path):
    rec = small[0]
    subprocess.run([cli, "track", str(rec.path), "-o", str(tmp_path / "cli"), "--quiet", "--ctc", "--no-plots"], check=True)
    a = lt.track(rec, progress=False, ctc=True, plots=False)
    out = a.save(tmp_path / "py")
    theirs = tmp_path / "cli"
    names = sorted(str(p.relative_to(theirs)) for p in theirs.rglob("*") if p.is_file())
    assert "res_track.txt" in names and sum(n.startswith("mask") for n in names) == rec.shape.t
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == names
    for n in names:
        if n != "summary.json":
            assert (out / n).read_bytes() == (theirs / n).read_bytes(), n


def test_overrides_are_the_clis_flags(cli, tmp_path, recording):
    flags = ["--max-distance", "15", "--gap-frames", "2", "--drift", "median", "--detector", "threshold",
             "--min-points", "3", "--2d", "--max-lag", "5", "--channel", "0", "--cell-diameter", "11",
             "--no-plots", "--no-trackmate"]
    run_cli(cli, tmp_path / "cli", *flags)
    a = lt.track(
        recording, progress=False, max_distance=15, gap_frames=2, drift="median", detector="threshold",
        min_points=3, two_d=True, max_lag=5, channel=0, cell_diameter=11, plots=False, trackmate_xml=False,
    )
    for file, attr in TABLES.items():
        pd.testing.assert_frame_equal(getattr(a, attr), read_csv(tmp_path / "cli" / file), check_dtype=False, obj=file)
    cfg = a.config
    assert cfg["link"]["gate"] == {"kind": "max_distance", "um": 15.0}
    assert cfg["segment"]["detector"]["kind"] == "threshold"
    assert cfg["drift"] == {"method": "median"}
    assert cfg["export"] == {"trackmate_xml": False, "plots": False, "ctc": False, "labels": False}
    assert "x_um_corrected" in a.tracks.columns


def test_config_as_dict_toml_file_and_overrides(tmp_path, small):
    recording = small[0]
    cfg = lt.default_config()
    assert cfg["link"]["gap_frames"] == 3 and cfg["segment"]["cell_diameter_um"] is None
    assert lt.config_from_toml(lt.default_config_toml()) == cfg
    toml = tmp_path / "params.toml"
    toml.write_text("[link]\ngap_frames = 1\n[metrics]\nmin_points = 4\n")
    from_file = lt.load_config(toml)
    assert from_file["link"]["gap_frames"] == 1 and from_file["metrics"]["min_points"] == 4
    a = lt.track(recording, config=toml, progress=False, gap_frames=2)
    assert a.config["link"]["gap_frames"] == 2 and a.config["metrics"]["min_points"] == 4
    b = lt.track(recording.path, config={"link": {"gap_frames": 2}, "metrics": {"min_points": 4}}, progress=False)
    pd.testing.assert_frame_equal(a.tracks, b.tracks)
    assert lt.config_from_toml(lt.config_to_toml(a.config)) == a.config


@pytest.mark.parametrize(
    "config, overrides, match",
    [
        ({"link": {"gap_frame": 2}}, {}, "gap_frame"),
        ({"chanel": 1}, {}, "chanel"),
        ({"segment": {"cell_diameter_um": -3}}, {}, "cell_diameter_um"),
        (None, {"gap_frame": 2}, "gap_frame"),
        (None, {"channel": 5}, "channel 5"),
        (None, {"drift": "phase"}, "drift"),
        (None, {"voxel_size": (3, 0.8, 0.8)}, "never guesses"),
        (None, {"max_speed": 10, "max_distance": 5}, "not both"),
        (None, {"detector": "magic"}, "detector"),
        (None, {"frame_interval": -1}, "frame_interval"),
    ],
)
def test_bad_configurations_name_the_key(recording, config, overrides, match):
    with pytest.raises(lt.InvalidInputError, match=match):
        lt.track(recording, config=config, progress=False, **overrides)


def test_bad_toml_file_names_the_file_and_line(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[link]\ngap_frames = 2\nmax_sped = 3\n")
    with pytest.raises(lt.InvalidInputError, match="max_sped") as e:
        lt.load_config(p)
    assert "line 3" in str(e.value)
    with pytest.raises(lt.RecordingError):
        lt.load_config(tmp_path / "missing.toml")


def test_read_overrides_reach_the_recording(small):
    path = small[0].path
    a = lt.track(path, progress=False, voxel_size={"x": 1.6, "y": 1.6, "z": 6.0}, frame_interval=60, cell_diameter=20)
    rec = a.summary["recording"]
    assert rec["voxel_size_um"] == [1.6, 1.6, 6.0] and rec["frame_interval_s"] == 60.0
    assert rec["calibration_source"]["x"] == "user"
    assert set(a.tracks["t_s"] / 60.0) <= set(range(6))
    # A recording opened with overrides keeps them, and they are the run's settings.
    b = lt.track(lt.read(path, frame_interval=60), progress=False)
    assert b.config["read"]["frame_interval_s"] == 60.0 and b.summary["recording"]["frame_interval_s"] == 60.0


def test_napari_array(analysis):
    data = analysis.to_napari()
    tracks = analysis.tracks
    assert data.shape == (len(tracks), 5) and data.dtype == np.float64
    ids = analysis.track_ids
    assert len(ids) == tracks["track_id"].nunique()
    # Integer ids 0…n−1, sorted by id then time; each row is one point of the tracks.
    assert np.array_equal(np.unique(data[:, 0]), np.arange(len(ids)))
    assert np.all(np.diff(data[:, 0]) >= 0)
    same = np.diff(data[:, 0]) == 0
    assert np.all(np.diff(data[:, 1])[same] > 0)
    for k in (0, len(ids) - 1):
        rows = tracks[tracks["track_id"] == ids[k]].sort_values("frame")
        mine = data[data[:, 0] == k]
        np.testing.assert_array_equal(mine[:, 1:], rows[["frame", "z_um", "y_um", "x_um"]].to_numpy(float))
    flat = lt.to_napari(tracks.drop(columns="z_um"))[0]
    assert flat.shape == (len(tracks), 4)


def test_summary_repr_and_projection(analysis):
    s = analysis.summary
    assert s["counts"]["frames"] == 12 and s["counts"]["detections"] == len(analysis.detections)
    assert s["recording"]["name"] == "two_photon_2ch"
    assert "12 timepoints" in repr(analysis)
    assert "motility coefficient" in analysis._repr_html_()
    p = analysis.projection
    assert p.shape == (128, 128) and p.dtype == np.float32
    rec = analysis.recording
    want = np.max([rec.volume(t, 0).max(axis=0) for t in range(12)], axis=0)
    np.testing.assert_array_equal(p, want.astype(np.float32))
    assert analysis.pixel_size == {"x": 0.8, "y": 0.8}


def test_plot(analysis, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = analysis.plot()
    tracks_ax, msd_ax = fig.axes[:2]
    assert len(tracks_ax.lines) == 2 * analysis.tracks["track_id"].nunique()
    assert msd_ax.get_xlabel() == "lag (min)"
    plt.close(fig)


def test_a_2d_recording_end_to_end(tmp_path):
    _, truth = lt.synth(tmp_path, frames=4, size={"x": 96, "y": 96, "z": 1}, seed=4, progress=False)
    a = lt.track(tmp_path / "recording.tif", progress=False)
    assert "z_um" not in a.tracks.columns
    assert a.to_napari().shape[1] == 4


def test_an_uncalibrated_recording_asks_for_its_calibration(shared):
    path = shared / "tiff-layouts" / "plain_pages.tif"
    shape = {"t": 3, "c": 2, "z": 4}
    with pytest.raises(lt.RecordingError, match="voxel size") as e:
        lt.track(path, progress=False, shape=shape)
    assert e.value.path == str(path)
    a = lt.track(
        path, progress=False, shape=shape, voxel_size={"x": 0.6, "y": 0.6, "z": 2.5}, frame_interval=30
    )
    assert a.summary["recording"]["shape"] == {"t": 3, "c": 2, "z": 4, "y": 24, "x": 32}


def test_the_deprecated_method_keyword_still_works_and_warns(recording):
    """``method=`` is the old spelling of ``detector=`` / ``linker=`` (kept for one release)."""
    with pytest.warns(DeprecationWarning, match="detector= or linker="):
        cfg = lt._pipeline.resolve_config(None, {"method": ["threshold", "greedy"]})
    assert cfg["segment"]["detector"]["kind"] == "threshold" and cfg["link"]["method"] == "greedy"
    with pytest.warns(DeprecationWarning), pytest.raises(lt.InvalidInputError, match="method"):
        lt._pipeline.resolve_config(None, {"method": "magic"})
    det = pd.DataFrame({"frame": [0, 1], "x_um": [0.0, 1.0], "y_um": [0.0, 1.0]})
    with pytest.warns(DeprecationWarning, match="linker="):
        tracks = lt.link(det, frame_interval=30, method="greedy")
    assert len(tracks) == 2
