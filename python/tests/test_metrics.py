"""Motility metrics from Python: golden values, celltrackR's own results, the CLI's tables."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pandas as pd
import pytest

import leukotrack as lt

from conftest import read_csv


def celltrackr(shared, name: str) -> pd.DataFrame:
    df = pd.read_csv(shared / "celltrackR" / name, dtype={"track_id": str})
    return df.rename(columns={"t": "t_s", "x": "x_um", "y": "y_um", "z": "z_um"})


PER_TRACK = [
    ("duration", "duration_s", 1.0),
    ("trackLength", "track_length_um", 1.0),
    ("speed", "speed_um_per_min", 1.0 / 60.0),
    ("displacement", "displacement_um", 1.0),
    ("squareDisplacement", "square_displacement_um2", 1.0),
    ("maxDisplacement", "max_displacement_um", 1.0),
    ("straightness", "straightness", 1.0),
    ("displacementRatio", "displacement_ratio", 1.0),
    ("outreachRatio", "outreach_ratio", 1.0),
    ("asphericity", "asphericity", 1.0),
    ("overallAngle_deg", "overall_angle_deg", 1.0),
    ("meanTurningAngle_deg", "mean_turning_angle_deg", 1.0),
    ("n_points", "n_points", 1.0),
]


def test_golden_values_of_one_track():
    # One cell moving along x at 1 µm per 30-s frame, then turning 90° to y.
    t = pd.DataFrame(
        {"track_id": 7, "frame": [0, 1, 2, 3], "t_s": [0.0, 30, 60, 90], "x_um": [0.0, 1, 2, 2], "y_um": [0.0, 0, 0, 1]}
    )
    m = lt.metrics(t)
    assert len(m) == 1 and m.track_id[0] == 7 and m.n_points[0] == 4
    assert m.track_length_um[0] == 3.0
    assert m.speed_um_per_min[0] == 2.0  # 3 µm in 1.5 min
    assert m.mean_turning_angle_deg[0] == 45.0
    assert m.displacement_um[0] == pytest.approx(math.sqrt(5))
    s = lt.steps(t)
    assert list(s.speed_um_per_min) == [2.0, 2.0, 2.0]
    assert math.isnan(s.turning_angle_deg[0]) and list(s.turning_angle_deg[1:]) == [0.0, 90.0]
    d = lt.msd(t)
    assert list(d.lag_frames) == [1, 2, 3] and d.msd_um2[0] == 1.0
    assert list(d.n) == [3, 2, 1]
    # A t_s column is made from frame × frame_interval when missing.
    pd.testing.assert_frame_equal(lt.metrics(t.drop(columns="t_s"), frame_interval=30), m)


@pytest.mark.parametrize("data, ref", [("TCells.csv", "per_track_TCells.csv"), ("BCellsRaw.csv", "per_track_BCellsRaw.csv")])
def test_per_track_measures_match_celltrackr(shared, data, ref):
    tracks = celltrackr(shared, data)
    m = lt.metrics(tracks, frame_interval=24)
    want = pd.read_csv(shared / "celltrackR" / "reference" / ref, dtype={"track_id": str})
    assert list(m.track_id.astype(str)) == list(want.track_id)
    for theirs, ours, factor in PER_TRACK:
        got = m[ours].to_numpy(dtype=float) * factor
        exp = want[theirs].to_numpy(dtype=float)
        if ours.endswith("_deg"):
            np.testing.assert_allclose(got, exp, rtol=0, atol=1e-9, equal_nan=True, err_msg=theirs)
        else:
            np.testing.assert_allclose(got, exp, rtol=1e-9, atol=0, equal_nan=True, err_msg=theirs)


def test_msd_matches_celltrackr(shared):
    d = lt.msd(celltrackr(shared, "TCells.csv"), frame_interval=24)
    want = pd.read_csv(shared / "celltrackR" / "reference" / "msd_TCells.csv")
    assert list(d.lag_frames) == list(want.i_steps)
    assert list(d.n) == list(want.n_subtracks)
    np.testing.assert_allclose(d.lag_s, want.tau_s, rtol=1e-12)
    np.testing.assert_allclose(d.msd_um2, want.msd_mean, rtol=1e-9)
    np.testing.assert_allclose(d.msd_um2 - d.sem_um2, want.msd_se_lower, rtol=1e-9)


def test_same_tables_and_summary_as_the_command_line(shared, cli, tmp_path):
    src = shared / "celltrackR" / "BCellsRaw.csv"
    csv = tmp_path / "tracks.csv"
    celltrackr(shared, "BCellsRaw.csv").to_csv(csv, index=False)
    subprocess.run(
        [cli, "metrics", str(csv), "-o", str(tmp_path / "out"), "--frame-interval", "24", "--max-lag", "10",
         "--reference-direction", "1,0,0", "--min-points", "3"],
        check=True, capture_output=True,
    )
    tracks = pd.read_csv(csv, dtype={"track_id": str})
    kw = {"frame_interval": 24, "max_lag": 10, "reference_direction": {"x": 1, "y": 0, "z": 0}, "min_points": 3}
    cli_tm = pd.read_csv(tmp_path / "out" / "track_metrics.csv", dtype={"track_id": str})
    pd.testing.assert_frame_equal(lt.metrics(tracks, **kw), cli_tm, check_dtype=False)
    for ours, name in [
        (lt.steps(tracks, frame_interval=24, min_points=3), "steps.csv"),
        (lt.msd(tracks, frame_interval=24, max_lag=10, min_points=3), "msd.csv"),
        (lt.autocorrelation(tracks, frame_interval=24, max_lag=10, min_points=3), "autocorrelation.csv"),
    ]:
        theirs = read_csv(tmp_path / "out" / name)
        if "track_id" in theirs.columns:
            theirs["track_id"] = theirs["track_id"].astype(str)
        pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
    import json

    summary = json.loads((tmp_path / "out" / "metrics_summary.json").read_text())
    ours = lt.motility_summary(tracks, **kw)
    assert ours == summary
    m = lt.motility_coefficient(tracks, frame_interval=24, max_lag=10, min_points=3)
    assert m == summary["motility_coefficient_um2_per_min"]
    fit = lt.motility_coefficient(tracks, frame_interval=24, max_lag=10, min_points=3, full=True)
    assert fit == summary["msd_fit"]
    assert src.exists()


def test_motility_coefficient_of_a_random_walk():
    """Brownian steps with a known diffusion: M = D (µm²/min) in 3D, slope/6."""
    rng = np.random.default_rng(4)
    n_tracks, n, dt = 500, 40, 30.0  # over 8 seeds, M was within 3 % of D
    d_um2_per_min = 10.0
    sd = math.sqrt(2 * d_um2_per_min * dt / 60.0)
    steps = rng.normal(0, sd, size=(n_tracks, n - 1, 3))
    pos = np.concatenate([np.zeros((n_tracks, 1, 3)), np.cumsum(steps, axis=1)], axis=1)
    df = pd.DataFrame(
        {
            "track_id": np.repeat(np.arange(n_tracks), n),
            "frame": np.tile(np.arange(n), n_tracks),
            "x_um": pos[..., 0].ravel(),
            "y_um": pos[..., 1].ravel(),
            "z_um": pos[..., 2].ravel(),
        }
    )
    m = lt.motility_coefficient(df, frame_interval=dt, fit_lags=(1, 4))
    assert m == pytest.approx(d_um2_per_min, rel=0.05)
    m2 = lt.motility_coefficient(df, frame_interval=dt, fit_lags=(1, 4), two_d=True)
    assert m2 == pytest.approx(d_um2_per_min, rel=0.05)


def test_text_track_ids_are_kept(shared):
    t = celltrackr(shared, "TCells.csv")
    t["track_id"] = "cell-" + t["track_id"]
    m = lt.metrics(t, frame_interval=24)
    assert m.track_id.iloc[0].startswith("cell-")
    s = lt.steps(t, frame_interval=24)
    assert set(s.track_id) <= set(t.track_id)


@pytest.mark.parametrize(
    "change, kw, match",
    [
        (lambda t: t.drop(columns="track_id"), {}, "track_id"),
        (lambda t: t.drop(columns=["frame"]), {}, "frame_interval"),
        (lambda t: t.assign(frame=0), {}, "two points in frame"),
        (lambda t: t.assign(x_um=np.inf), {}, "finite"),
        (lambda t: t, {"arrest_threshold": -1}, "arrest_threshold"),
        (lambda t: t, {"max_lag": 0}, "max_lag"),
        (lambda t: t, {"fit_lags": (3, 1)}, "fit_lag"),
        (lambda t: t, {"reference_direction": (1, 0, 0)}, "never guesses"),
        (lambda t: t, {"reference_direction": {"x": 0, "y": 0}}, "non-zero"),
        (lambda t: t, {"exclude_border": True}, "touches_border"),
    ],
)
def test_bad_inputs_are_value_errors(change, kw, match):
    t = pd.DataFrame({"track_id": 1, "frame": [0, 1, 2], "t_s": [0.0, 30, 60], "x_um": [0.0, 1, 2], "y_um": 0.0})
    with pytest.raises(lt.InvalidInputError, match=match):
        lt.metrics(change(t), **kw)
