"""Segmentation from Python: recordings and numpy volumes, accuracy, layouts, errors."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

import leukotrack as lt

from conftest import FIXTURE, read_csv

VOXEL = {"x": 0.8, "y": 0.8, "z": 3.0}


@pytest.fixture(scope="module")
def detections(recording):
    return lt.segment(recording, progress=False)


def test_recording_segmentation_finds_the_cells(detections, truth):
    assert list(detections.columns[:4]) == ["frame", "x_um", "y_um", "z_um"]
    for c in ("volume_um3", "mean_intensity", "quality", "mean_intensity_c1", "touches_border_z"):
        assert c in detections.columns
    assert detections["frame"].dtype == np.int64 and detections["x_um"].dtype == np.float64
    assert sorted(detections["frame"].unique()) == list(range(12))
    s = lt.evaluate(detections, truth)
    assert s["f1"] >= 0.9 and s["recall"] >= 0.93, s
    assert s["rmse_xy_um"] <= 1.0 and s["rmse_z_um"] <= 1.5, s


def test_same_table_as_the_command_line(detections, cli, tmp_path):
    subprocess.run([cli, "segment", str(FIXTURE), "-o", str(tmp_path), "--quiet"], check=True)
    pd.testing.assert_frame_equal(detections, read_csv(tmp_path / "detections.csv"), check_dtype=False)


def test_numpy_volumes_give_the_recordings_rows(recording):
    """Each timepoint as a (c, z, y, x) array: the same rows, intensities in both channels —
    at a given diameter (a lone volume estimates its own; a recording estimates one for all
    its timepoints)."""
    parts = []
    for t in range(recording.shape.t):
        chans = np.stack([recording.volume(t, c) for c in range(recording.shape.c)])
        parts.append(lt.segment(chans, voxel_size=recording.calibration, frame=t, cell_diameter=10.0))
    whole = lt.segment(recording, cell_diameter=10.0, progress=False)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)


def test_any_memory_layout_gives_the_same_detections(recording):
    v = recording.volume(4, 0)
    base = lt.segment(v, voxel_size=VOXEL)
    assert len(base) >= 3
    fortran = np.asfortranarray(v)
    assert not fortran.flags["C_CONTIGUOUS"]
    pd.testing.assert_frame_equal(lt.segment(fortran, voxel_size=VOXEL), base)
    wide = np.zeros(v.shape[:2] + (2 * v.shape[2],), v.dtype)
    wide[..., ::2] = v
    view = wide[..., ::2]
    assert not view.flags["C_CONTIGUOUS"]
    pd.testing.assert_frame_equal(lt.segment(view, voxel_size=VOXEL), base)
    # Other real types are converted to float32: the same cells.
    as_f64 = lt.segment(v.astype(np.float64), voxel_size=VOXEL)
    np.testing.assert_allclose(as_f64[["x_um", "y_um", "z_um"]], base[["x_um", "y_um", "z_um"]], atol=1e-6)
    big_endian = v.astype(">u2")
    pd.testing.assert_frame_equal(lt.segment(big_endian, voxel_size=VOXEL), base)
    as_i32 = lt.segment(v.astype(np.int32), voxel_size=VOXEL)
    pd.testing.assert_frame_equal(as_i32[["x_um", "y_um"]], as_f64[["x_um", "y_um"]])


def test_threshold_method_and_settings(recording, truth):
    v = recording.volume(2, 0)
    blob = lt.segment(v, voxel_size=VOXEL)
    thr = lt.segment(v, voxel_size=VOXEL, detector="threshold")
    assert not thr.equals(blob)
    s = lt.evaluate(thr.assign(frame=2), truth[truth.frame == 2])
    assert s["f1"] >= 0.8, s
    big = lt.segment(v, voxel_size=VOXEL, config={"min_volume_um3": 1e6})
    assert len(big) == 0 and list(big.columns) == list(blob.columns)


def test_a_plane_gives_2d_detections(recording):
    plane = recording.volume(0, 0).max(axis=0)
    d = lt.segment(plane, voxel_size=VOXEL)
    assert "z_um" not in d.columns and len(d) >= 3


def test_overridden_voxel_size_scales_positions(recording):
    v = recording.volume(3, 0)
    a = lt.segment(v, voxel_size=VOXEL)
    b = lt.segment(v, voxel_size={"x": 1.6, "y": 1.6, "z": 6.0}, cell_diameter=20)
    np.testing.assert_allclose(b["x_um"].to_numpy(), 2 * a["x_um"].to_numpy(), rtol=1e-9)


@pytest.mark.parametrize(
    "volume, kw, match",
    [
        (np.zeros((4, 16, 16), np.uint16), {}, "voxel_size"),
        (np.zeros((4, 16, 16), bool), {"voxel_size": VOXEL}, "not a real number"),
        (np.zeros((4, 16, 16), np.complex64), {"voxel_size": VOXEL}, "not a real number"),
        (np.zeros((1, 2, 4, 16, 16), np.uint16), {"voxel_size": VOXEL}, "got shape"),
        (np.zeros((2, 4, 16, 16), np.uint16), {"voxel_size": VOXEL, "channel": 2}, "channel 2"),
        (np.zeros((4, 16, 16), np.uint16), {"voxel_size": VOXEL, "detector": "watershed"}, "detector"),
        (np.zeros((4, 16, 16), np.uint16), {"voxel_size": VOXEL, "cell_diameter": -1}, "cell_diameter"),
        (np.zeros((4, 16, 16), np.uint16), {"voxel_size": VOXEL, "config": {"bin_xy": 0}}, "bin_xy"),
        (np.zeros((4, 16, 16), np.uint16), {"voxel_size": VOXEL, "config": {"colour": 1}}, "colour"),
        (np.zeros((4, 16, 16), np.uint16), {"voxel_size": VOXEL, "frame": -1}, "frame"),
        ([[1, 2], [3, 4]], {"voxel_size": VOXEL}, "numpy array"),
    ],
)
def test_bad_inputs_are_value_errors(volume, kw, match):
    with pytest.raises(lt.InvalidInputError, match=match):
        lt.segment(volume, **kw)


def test_non_finite_voxels_name_the_voxel():
    v = np.ones((4, 16, 16), np.float32)
    v[2, 3, 5] = np.nan
    with pytest.raises(lt.InvalidInputError, match=r"z=2, y=3, x=5") as e:
        lt.segment(v, voxel_size=VOXEL, frame=7)
    assert e.value.kind == "frame" and e.value.frame == 7


def test_empty_and_constant_volumes_give_no_detections():
    for v in (np.zeros((0, 16, 16), np.uint16), np.full((3, 16, 16), 7, np.uint16)):
        d = lt.segment(v, voxel_size=VOXEL)
        assert len(d) == 0 and "x_um" in d.columns
