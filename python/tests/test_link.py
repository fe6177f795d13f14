"""Linking from Python: the command line's rows, accuracy on ground truth, settings, errors."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

import leukotrack as lt

from conftest import read_csv


@pytest.fixture(scope="module")
def detections(analysis):
    return analysis.detections


def test_same_rows_as_the_command_line(detections, cli, tmp_path):
    det_csv = tmp_path / "detections.csv"
    detections.to_csv(det_csv, index=False)
    for flags, kw in [
        ([], {}),
        (["--max-distance", "12", "--gap-frames", "2", "--no-prediction"], {"max_distance": 12, "gap_frames": 2, "predict": False}),
        (["--drift", "objects"], {"drift": "objects"}),
    ]:
        out = tmp_path / "out"
        subprocess.run([cli, "link", str(det_csv), "-o", str(out), "--frame-interval", "30", *flags], check=True, capture_output=True)
        ours = lt.link(read_csv(det_csv), frame_interval=30, **kw)
        pd.testing.assert_frame_equal(ours, read_csv(out / "tracks.csv"), check_dtype=False)
    assert "x_um_corrected" in ours.columns


def test_pipeline_detections_link_to_the_pipeline_tracks(analysis):
    tracks = lt.link(analysis.detections, frame_interval=analysis.recording.calibration)
    pd.testing.assert_frame_equal(tracks, analysis.tracks)


def test_true_positions_link_into_the_true_tracks(truth):
    det = truth.drop(columns=["track_id", "t_s"]).sample(frac=1.0, random_state=3).reset_index(drop=True)
    tracks = lt.link(det, frame_interval=30)
    assert list(tracks.columns[:7]) == ["track_id", "frame", "t_s", "x_um", "y_um", "z_um", "detection"]
    assert tracks["track_id"].dtype == np.int64 and tracks["frame"].dtype == np.int64
    assert np.array_equal(tracks["t_s"], tracks["frame"] * 30.0)
    # Every detection once, its row given.
    assert sorted(tracks["detection"]) == list(range(len(det)))
    np.testing.assert_array_equal(tracks["x_um"], det["x_um"].to_numpy()[tracks["detection"]])
    s = lt.evaluate(tracks, truth)
    assert s["link_recall"] >= 0.98 and s["link_precision"] >= 0.98, s
    assert s["ctc"]["tra"] >= 0.98, s


def test_settings_change_the_result(truth):
    det = truth[["frame", "x_um", "y_um", "z_um"]]
    # A gate too small for any step: every detection its own track.
    alone = lt.link(det, frame_interval=30, max_distance=0.01)
    assert alone["track_id"].nunique() == len(det)
    # No gap closing with a missing frame splits the tracks it crossed.
    holes = det[~((det.frame == 5) & (det.index % 2 == 0))]
    with_gaps = lt.link(holes, frame_interval=30, gap_frames=3)
    without = lt.link(holes, frame_interval=30, gap_frames=0)
    assert without["track_id"].nunique() > with_gaps["track_id"].nunique()
    greedy = lt.link(det, frame_interval=30, linker="greedy")
    assert len(greedy) == len(det)


def test_a_drift_table_is_applied(truth):
    det = truth[["frame", "x_um", "y_um", "z_um"]]
    drift = pd.DataFrame({"frame": range(12), "dx_um": np.arange(12) * 0.5, "dy_um": 0.0})
    t = lt.link(det, frame_interval=30, drift=drift)
    np.testing.assert_allclose(t["x_um_corrected"], t["x_um"] - 0.5 * t["frame"])


def test_2d_detections_give_2d_tracks(truth):
    t = lt.link(truth[["frame", "x_um", "y_um"]], frame_interval=30)
    assert "z_um" not in t.columns and len(t) == len(truth)


@pytest.mark.parametrize(
    "change, kw, match",
    [
        (lambda d: d.drop(columns="y_um"), {}, "y_um"),
        (lambda d: d.assign(x_um=np.where(d.index == 3, np.nan, d.x_um)), {}, "finite"),
        (lambda d: d.assign(frame=d.frame - 1), {}, "frame"),
        (lambda d: d.assign(frame=d.frame + 0.5), {}, "whole numbers"),
        (lambda d: d.assign(x_um=d.x_um.astype(str)), {}, "numbers"),
        (lambda d: d, {"frame_interval": -30}, "frame_interval"),
        (lambda d: d, {"max_speed": 0}, "max_speed"),
        (lambda d: d, {"gap_frames": 1.5}, "gap_frames"),
        (lambda d: d, {"gap_frames": -1}, "gap_frames"),
        (lambda d: d, {"predict": "yes"}, "predict"),
        (lambda d: d, {"linker": "hungarian"}, "linker"),
        (lambda d: d, {"drift": "phase"}, "drift"),
        (lambda d: d, {"config": {"alternative_cost_factor": -1}}, "link.alternative_cost_factor"),
        (lambda d: d, {"config": {"feature_penalties": {"colour": 1.0}}}, "colour"),
    ],
)
def test_bad_inputs_are_value_errors(truth, change, kw, match):
    det = change(truth[["frame", "x_um", "y_um", "z_um"]].copy())
    kw = {"frame_interval": 30, **kw}
    with pytest.raises(lt.InvalidInputError, match=match):
        lt.link(det, **kw)


def test_frame_interval_is_required(truth):
    with pytest.raises(TypeError):
        lt.link(truth)  # type: ignore[call-arg]
