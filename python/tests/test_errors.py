"""Errors: the exception classes, their fields, and no Rust panic ever reaching Python."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import leukotrack as lt
from leukotrack import _core


def test_class_hierarchy():
    assert issubclass(lt.InvalidInputError, lt.LeukotrackError)
    assert issubclass(lt.InvalidInputError, ValueError)
    assert issubclass(lt.RecordingError, lt.LeukotrackError)
    assert issubclass(lt.RecordingError, OSError)
    assert issubclass(lt.LeukotrackError, Exception)


def test_a_panic_arrives_as_a_leukotrack_error():
    with pytest.raises(lt.InternalError, match="internal error.*boom") as e:
        _core._panic_for_tests("boom")
    assert isinstance(e.value, lt.LeukotrackError) and isinstance(e.value, RuntimeError)
    assert e.value.kind == "internal"
    assert isinstance(e.value, Exception)  # not pyo3's PanicException (a BaseException)
    # The interpreter goes on as before.
    assert lt.default_config()["channel"] == 0


def test_errors_carry_the_library_message_and_fields():
    with pytest.raises(lt.InvalidInputError) as e:
        lt.link(pd.DataFrame({"frame": [0], "x_um": [1.0], "y_um": [1.0]}), frame_interval=30, max_speed=-1)
    err = e.value
    assert err.kind == "invalid_parameter" and err.parameter == "max_speed"
    assert "max_speed" in str(err) and err.reason


def test_table_errors_name_the_row():
    t = pd.DataFrame({"track_id": [1, 1], "frame": [0, 1], "t_s": [0.0, 30.0], "x_um": [0.0, np.nan], "y_um": 0.0})
    with pytest.raises(lt.InvalidInputError, match="track 1 frame 1") as e:
        lt.metrics(t)
    assert e.value.kind == "invalid_data"


def test_internal_json_cannot_take_nan():
    with pytest.raises(lt.InvalidInputError):
        lt.segment(np.zeros((2, 8, 8), np.uint16), voxel_size={"x": 1, "y": 1, "z": 1}, config={"min_volume_um3": float("nan")})


@pytest.mark.parametrize(
    "call",
    [
        lambda: lt.read(12),
        lambda: lt.segment("does/not/exist.tif"),
        lambda: lt.link("not a table", frame_interval=30),
        lambda: lt.metrics(pd.DataFrame()),
        lambda: lt.msd(pd.DataFrame({"track_id": ["a"], "frame": [-3], "t_s": [0.0], "x_um": [0.0], "y_um": [0.0]})),
        lambda: lt.steps(pd.DataFrame({"track_id": [-1], "frame": [0], "t_s": [0.0], "x_um": [0.0], "y_um": [0.0]})),
        lambda: lt.evaluate(pd.DataFrame({"frame": [0]}), pd.DataFrame()),
        lambda: lt.evaluate(pd.DataFrame({"frame": [0], "x_um": [0.0], "y_um": [0.0]}), pd.DataFrame({"track_id": [1], "frame": [0], "t_s": [0.0], "x_um": [0.0], "y_um": [0.0]}), match_um=0),
        lambda: lt.track(3.5),
        lambda: lt.track("missing.tif", progress=False),
        lambda: lt.synth_truth(frames=0),
        lambda: lt.synth_truth(size=(10, 10, 10)),
        lambda: lt.synth_truth(config={"arrested_fraction": 2.0}),
        lambda: lt.synth_truth(config={"unknown_key": 3}),
        lambda: lt.to_napari(pd.DataFrame({"frame": [0]})),
        lambda: lt.from_trackpy(pd.DataFrame({"frame": [0], "x": [0.0], "y": [0.0]}), voxel_size=(1, 1, 1), frame_interval=1),
        lambda: lt.segment(np.zeros((3, 8, 8), np.uint16), voxel_size={"x": 1, "y": 1, "z": 1}, progress="yes"),
        lambda: lt.Calibration({"x": 1, "y": 1}),
        lambda: lt.config_to_toml({"link": {"gate": {"kind": "fast"}}}),
    ],
)
def test_bad_arguments_raise_library_errors_only(call):
    with pytest.raises(lt.LeukotrackError):
        call()


def test_random_bytes_never_crash_the_reader(tmp_path):
    """Random mutations of a valid TIFF header and index: an error or a recording, never a
    panic or a crash."""
    from conftest import FIXTURE

    head = bytearray(FIXTURE.read_bytes()[:65536])
    rng = np.random.default_rng(7)
    p = tmp_path / "mutant.tif"
    outcomes = {"error": 0, "read": 0}
    for _ in range(60):
        b = bytearray(head)
        for i in rng.integers(0, 4096, size=8):
            b[i] = rng.integers(0, 256)
        p.write_bytes(bytes(b))
        try:
            rec = lt.read(p)
            rec.volume(0, 0)
            outcomes["read"] += 1
        except lt.LeukotrackError as e:
            assert not str(e).startswith("internal error"), e
            outcomes["error"] += 1
    assert outcomes["error"] > 0
