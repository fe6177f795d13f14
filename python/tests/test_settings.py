"""The parameter surface from Python (issue 14): keywords default to None and never restate a
number; keyword > ``config=`` > default, for ``lt.track`` and each stage function; the table
``lt.settings()``; the error classes by kind. The keyword checks are generated from the core's
table, so a new setting is covered without a new test."""

from __future__ import annotations

import copy
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

import leukotrack as lt
from leukotrack import _pipeline

XYZ_KEYWORDS = ("voxel_size", "reference_direction", "reference_point")


def _set(doc: dict, key: str, value) -> None:
    *parents, last = key.split(".")
    for p in parents:
        if not isinstance(doc.get(p), dict):
            doc[p] = {}
        doc = doc[p]
    doc[last] = value


def _examples():
    """(row, keyword value, the config= dict giving the same setting) for every keyword."""
    rows = lt.settings()
    out = []
    for _, r in rows[rows.keyword.notna()].iterrows():
        kw, key, default = r.keyword, r.key, r.default
        if r.type == "boolean":
            yield_ = (not default, not default, {})
        elif kw == "shape":
            yield_ = ({"t": 2, "c": 1, "z": 1}, {"t": 2, "c": 1, "z": 1}, None)
            key = "read.shape"
        elif kw in XYZ_KEYWORDS:
            v = [0.5, 0.6, 2.0]
            yield_ = (dict(zip("xyz", v)), v, None)
        elif kw == "fit_lags":
            yield_ = ((1, 4), [1, 4], None)
        elif kw == "drift":
            yield_ = ("median", "median", None)
            key = "drift.method"
        elif kw == "drift_table":
            yield_ = ("d.csv", "d.csv", None)
        elif kw == "detector":
            yield_ = ("threshold", "threshold", None)
        elif kw == "linker":
            yield_ = ("greedy", "greedy", None)
        elif kw == "page_order":
            yield_ = ("zct", "zct", None)
        elif r.type == "integer":
            v = int(default or 0) + 2
            yield_ = (v, v, None)
        else:
            v = float(default or 1.0) * 0.75 + 0.25
            yield_ = (np.float64(v), v, None)  # a numpy scalar, as users pass them
        out.append((kw, key, r.when if isinstance(r.when, str) else None, *yield_[:2]))
    return out


def _config_dict(key, value, when):
    """A ``config=`` dict setting ``key`` to ``value`` in the table's kind ``when``."""
    cfg: dict = {}
    if isinstance(when, str):
        tag_key, kind = when.split(" = ")
        table, tag = tag_key.rsplit(".", 1)
        _set(cfg, table, {tag: kind})
    if key == "drift.method":
        _set(cfg, "drift", {"method": value})
    elif key.startswith("metrics.reference."):
        _set(cfg, "metrics.reference", {"kind": "direction" if key.endswith("vector") else "point"})
        _set(cfg, key, value)
    elif key == "drift.path":
        _set(cfg, "drift", {"method": "table", "path": value})
    elif key == "segment.detector.kind":
        _set(cfg, "segment.detector", {"kind": value})
    else:
        _set(cfg, key, value)
    return cfg


@pytest.mark.parametrize("kw, key, when, kw_value, cfg_value", _examples(), ids=lambda v: str(v))
def test_every_keyword_is_its_configuration_key(kw, key, when, kw_value, cfg_value):
    """A keyword gives the same effective configuration as ``config=`` with its key, and it
    beats ``config=``, which beats the default."""
    by_keyword = _pipeline.resolve_config(None, {kw: kw_value})
    by_config = _pipeline.resolve_config(_config_dict(key, cfg_value, when), {})
    assert by_keyword == by_config, kw
    default = _pipeline.resolve_config(None, {})
    assert by_keyword != default, kw
    # keyword > config=: the config sets the key, the keyword wins; the default loses to both.
    assert _pipeline.resolve_config(copy.deepcopy(_config_dict(key, cfg_value, when)), {kw: kw_value}) == by_keyword


def test_the_settings_table():
    s = lt.settings().set_index("key")
    assert {"stage", "flag", "keyword", "type", "unit", "default", "minimum", "help"} <= set(s.columns)
    row = s.loc["link.gate.um_per_min"]
    # The gate comes from the data by default: a speed gate has no default of its own.
    assert (row.flag, row.keyword, row.unit, row.default, row.exclusive_minimum) == (
        "--max-speed", "max_speed", "µm/min", None, 0.0)
    assert s.loc["link.gate.kind", "default"] == "auto"
    assert s.loc["link.gate.kind", "choices"] == ["auto", "max_speed", "max_distance"]
    assert s.loc["link.gate.fallback_um_per_min", "default"] == 30.0
    assert s.loc["segment.detector.kind", "choices"] == ["hybrid", "threshold", "blob"]
    assert s.help.str.len().min() > 0
    # The same table as the command line's.
    cli = os.environ.get("LEUKOTRACK_CLI")
    if cli:
        out = subprocess.run([cli, "config", "--schema"], check=True, capture_output=True, text=True).stdout
        assert json.loads(out) == json.loads(lt._core.settings())


def test_stage_keywords_do_not_overwrite_config():
    """The issue's bug: ``lt.link(..., max_distance=15, config={"gap_frames": 0})`` linked with
    gap closing on, since the keyword defaults overwrote ``config``."""
    truth = lt.synth_truth(frames=12, size={"x": 160, "y": 160, "z": 12}, seed=3)
    det = truth.drop(columns=["track_id"])
    det = det[(det.frame % 4 != 2) | (det.index % 3 != 0)].reset_index(drop=True)  # gaps
    n = lambda t: t.track_id.nunique()  # noqa: E731
    from_config = lt.link(det, frame_interval=30, max_distance=15, config={"gap_frames": 0})
    from_keyword = lt.link(det, frame_interval=30, max_distance=15, gap_frames=0)
    with_gaps = lt.link(det, frame_interval=30, max_distance=15)
    assert n(from_config) == n(from_keyword) > n(with_gaps)
    # The keyword wins over config=.
    assert n(lt.link(det, frame_interval=30, max_distance=15, gap_frames=3, config={"gap_frames": 0})) == n(with_gaps)


def test_synth_config_keeps_its_values(tmp_path):
    """``lt.synth(config={"frames": 4})`` no longer resets frames to the keyword's default."""
    rec, truth = lt.synth(tmp_path / "a", config={"frames": 4, "seed": 9}, size={"x": 48, "y": 48, "z": 6},
                          progress=False)
    assert rec.shape.t == 4
    saved = json.loads((tmp_path / "a" / "synth.json").read_text())
    assert (saved["frames"], saved["seed"], saved["size"]) == (4, 9, [48, 48, 6])
    rec2, _ = lt.synth(tmp_path / "b", config=saved, progress=False)
    assert json.loads((tmp_path / "b" / "synth.json").read_text()) == saved
    assert lt.synth_truth(config=saved, frames=2).frame.max() == 1  # the keyword wins


def test_segment_keywords_over_config():
    v = lt.synth_truth  # noqa: F841 (keeps the import list honest)
    vol = np.zeros((6, 32, 32), np.uint16)
    vol[2:4, 10:16, 10:16] = 1000
    vs = {"x": 1.0, "y": 1.0, "z": 2.0}
    a = lt.segment(vol, voxel_size=vs, config={"cell_diameter_um": 6.0, "detector": {"kind": "threshold"}})
    b = lt.segment(vol, voxel_size=vs, cell_diameter=6.0, detector="threshold")
    pd.testing.assert_frame_equal(a, b)


def test_errors_name_the_keyword_and_the_key():
    with pytest.raises(lt.InvalidInputError) as e:
        lt.track(lt.read(os.fspath(_pipeline.Path(__file__).parent.parent.parent / "fixtures" / "two_photon_2ch.tif")),
                 max_speed=-1, progress=False)
    assert e.value.parameter == "max_speed" and e.value.key == "link.gate.um_per_min"
    assert "max_speed" in str(e.value) and "link.gate.um_per_min" in str(e.value)
    with pytest.raises(lt.InvalidInputError, match="did you mean `gap_frames`"):
        _pipeline.resolve_config(None, {"gap_frame": 2})
    with pytest.raises(lt.InvalidInputError, match="did you mean `cell_diameter_um`"):
        _pipeline.resolve_config({"segment": {"cell_diameter": 8}}, {})


def _rgb_tiff(path, w=8, h=8) -> None:
    """A valid 8-bit RGB TIFF (three samples per pixel), written by hand."""
    import struct

    pixels = bytes(w * h * 3)
    entries = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 3, 0), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, 0), (277, 3, 1, 3), (278, 3, 1, h), (279, 4, 1, len(pixels))]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_at, data_at = 8 + ifd_size, 8 + ifd_size + 6
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, typ, count, value in entries:
        value = {258: bits_at, 273: data_at}.get(tag, value)
        packed = struct.pack("<H", value) + b"\x00\x00" if typ == 3 and count == 1 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    out += struct.pack("<I", 0) + struct.pack("<HHH", 8, 8, 8) + pixels
    path.write_bytes(bytes(out))


def test_error_classes_by_kind(tmp_path):
    assert issubclass(lt.UnsupportedError, lt.RecordingError) and issubclass(lt.UnsupportedError, OSError)
    assert issubclass(lt.InternalError, RuntimeError) and not issubclass(lt.InternalError, ValueError)
    assert issubclass(lt.BatchError, lt.LeukotrackError)
    assert not issubclass(lt.BatchError, (ValueError, OSError))
    p = tmp_path / "rgb.tif"
    _rgb_tiff(p)
    with pytest.raises(lt.UnsupportedError) as e:
        lt.read(p)
    assert e.value.kind == "unsupported" and e.value.path == str(p) and "grayscale" in str(e.value)


def test_keyword_errors_name_the_keyword():
    with pytest.raises(lt.InvalidInputError) as e:
        _pipeline.resolve_config(None, {"max_speed": float("nan")})
    assert e.value.parameter == "max_speed"
    with pytest.raises(lt.InvalidInputError, match="unknown keyword"):
        lt.motility_summary(lt.synth_truth(frames=3), gap_frames=2)  # not a metrics setting
    with pytest.raises(lt.InvalidInputError) as e:
        lt.synth_truth(voxel_size={"x": 0.5, "y": -1, "z": 2})
    assert e.value.parameter == "voxel_size"
    with pytest.raises(lt.InvalidInputError) as e:
        lt.synth_truth(frames=2.5)
    assert e.value.parameter == "frames"
