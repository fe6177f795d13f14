"""lt.twin and lt.tune: the command line's files, from Python."""

import json

import pytest

import leukotrack as lt


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("scene")
    lt.synth(
        d,
        seed=11,
        frames=6,
        size={"x": 64, "y": 64, "z": 8},
        voxel_size={"x": 1.5, "y": 1.5, "z": 3.0},
        density=6.0,
    )
    return d / "recording.tif"


def test_twin_writes_its_files(scene, tmp_path):
    t = lt.twin(scene, tmp_path / "twin")
    for f in ("twin.json", "recording.tif", "ground_truth.csv", "comparison.png"):
        assert (tmp_path / "twin" / f).is_file(), f
    assert t["measured"]["shape"] == [6, 8, 64, 64]
    assert t["measured"]["cells_per_frame"] > 3
    assert json.loads((tmp_path / "twin" / "twin.json").read_text())["synth"] == t["synth"]


def test_tune_and_track_with_best(scene, tmp_path):
    out = tmp_path / "tune"
    e = lt.tune(scene, out, budget=4)
    assert set(("detection_f1", "link_f1", "tra")) <= set(e)
    assert (out / "tune.csv").read_text().count("\n") == 5
    a = lt.track(scene, config=out / "best.toml", progress=False)
    assert a.qc["frames"] and isinstance(a.qc["warnings"], list)


def test_tune_bad_input(scene, tmp_path):
    with pytest.raises(lt.InvalidInputError, match="budget"):
        lt.tune(scene, tmp_path / "x", budget=0)
    gt = tmp_path / "gt.csv"
    gt.write_text("frame,x_um\n0,1\n")
    with pytest.raises(lt.LeukotrackError, match="y_um"):
        lt.tune(scene, tmp_path / "y", truth=gt, budget=2)
    assert not (tmp_path / "y").exists()
