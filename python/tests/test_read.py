"""Reading recordings: shapes, pixel values, calibration, overrides, errors."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest

import leukotrack as lt

from conftest import FIXTURE


def expected_volume(t: int, c: int, shape: list[int], dtype: str, channels: bool = True) -> np.ndarray:
    """The shared layouts' pixel formula: 1000·t + 100·c + 10·z + (y + x) % 10."""
    _, _, nz, ny, nx = shape
    z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    v = 1000 * t + (100 * c if channels else 0) + 10 * z + (y + x) % 10
    if dtype == "uint8":
        v = v % 256
    return v.astype(dtype)


def layouts(shared):
    return json.loads((shared / "tiff-layouts" / "expected.json").read_text())


def test_every_shared_layout_reads_with_its_shape_pixels_and_calibration(shared):
    for e in layouts(shared):
        path = shared / "tiff-layouts" / e["file"]
        kw = {}
        if e["file"] == "plain_pages.tif":
            t, c, z = e["shape_tczyx"][:3]
            kw["shape"] = {"t": t, "c": c, "z": z}
        rec = lt.read(path, **kw)
        assert tuple(rec.shape) == tuple(e["shape_tczyx"]), e["file"]
        assert rec.dtype == np.dtype(e["dtype"]), e["file"]
        cal = rec.calibration
        for a in "xyz":
            want = e[f"voxel_{a}_um"]
            got = cal.voxel_size[a]
            assert (got is None) if want is None else got == pytest.approx(want, rel=1e-9), (e["file"], a)
        want = e["frame_interval_s"]
        assert (cal.frame_interval is None) if want is None else cal.frame_interval == pytest.approx(want)
        series = e["file"].startswith("series")
        for t in range(rec.shape.t):
            for c in range(rec.shape.c):
                v = rec.volume(t, c)
                np.testing.assert_array_equal(
                    v, expected_volume(t, c, e["shape_tczyx"], e["dtype"], not series), err_msg=e["file"]
                )


def test_fixture_recording(recording):
    rec = recording
    assert rec.shape == (12, 2, 16, 128, 128)
    assert rec.shape.z == 16 and rec.dims == ("t", "c", "z", "y", "x")
    assert len(rec) == 12
    assert rec.dtype == np.uint16
    assert rec.format == "imagej"
    cal = rec.calibration
    assert cal.voxel_size == {"x": 0.8, "y": 0.8, "z": 3.0}
    assert cal.frame_interval == 30.0
    assert cal.source == {"x": "file", "y": "file", "z": "file", "frame_interval": "file"}
    assert cal.is_calibrated
    v = rec.volume(5, 1)
    assert v.shape == (16, 128, 128) and v.dtype == np.uint16
    assert v.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(rec.volume(-1, -1), rec.volume(11, 1))
    assert "t=12 c=2 z=16 y=128 x=128" in repr(rec)
    html = rec._repr_html_()
    assert "<table" in html and "0.8 µm" in html and "two_photon_2ch.tif" in html


def test_overrides_win_and_are_marked_as_the_users(shared):
    path = shared / "tiff-layouts" / "plain_pages.tif"
    rec = lt.read(
        path,
        shape={"t": 3, "c": 2, "z": 4},
        voxel_size={"x": 0.5, "y": 0.6, "z": 2.0},
        frame_interval=15,
    )
    cal = rec.calibration
    assert cal.voxel_size == {"x": 0.5, "y": 0.6, "z": 2.0}
    assert cal.frame_interval == 15.0
    assert cal.source == {"x": "user", "y": "user", "z": "user", "frame_interval": "user"}
    # A Calibration is a voxel size too.
    rec2 = lt.read(FIXTURE, voxel_size=lt.Calibration({"x": 1.0, "y": 1.0, "z": 4.0}))
    assert rec2.calibration.voxel_size == {"x": 1.0, "y": 1.0, "z": 4.0}
    # Another page order maps pages differently: czt vs zct swap c and z for the same pages.
    a = lt.read(path, shape={"t": 3, "c": 2, "z": 4}, page_order="czt")
    b = lt.read(path, shape={"t": 3, "c": 2, "z": 4}, page_order="zct")
    pages_a = np.stack([a.volume(0, c) for c in range(2)], axis=1).reshape(8, 24, 32)  # z, c
    pages_b = np.stack([b.volume(0, c) for c in range(2)], axis=0).reshape(8, 24, 32)  # c, z
    np.testing.assert_array_equal(pages_a, pages_b)


def test_uncalibrated_plain_file_says_so(shared):
    rec = lt.read(shared / "tiff-layouts" / "plain_pages.tif", shape={"t": 3, "c": 2, "z": 4})
    cal = rec.calibration
    assert cal.voxel_size == {"x": None, "y": None, "z": None}
    assert cal.frame_interval is None and not cal.is_calibrated
    assert cal.voxel_size_um() is None
    assert any("voxel size" in w for w in rec.warnings)


@pytest.mark.parametrize("bad", [(0.8, 0.8, 3.0), [0.8, 0.8, 3.0], np.array([3.0, 0.8, 0.8])])
def test_a_bare_voxel_size_sequence_is_refused(bad):
    with pytest.raises(lt.InvalidInputError, match="never guesses"):
        lt.read(FIXTURE, voxel_size=bad)
    with pytest.raises(lt.InvalidInputError, match="never guesses"):
        lt.segment(np.zeros((4, 8, 8), np.uint16), voxel_size=bad)


@pytest.mark.parametrize(
    "kw",
    [
        {"voxel_size": {"x": 0.8, "y": 0.8}},
        {"voxel_size": {"x": 0.8, "y": 0.8, "z": -3}},
        {"voxel_size": {"x": 0.8, "y": 0.8, "z": float("nan")}},
        {"voxel_size": {"x": 0.8, "y": 0.8, "z": 3, "t": 1}},
        {"frame_interval": 0},
        {"frame_interval": "30"},
        {"shape": (12, 2, 16)},
        {"shape": {"t": 0, "c": 2, "z": 16}},
        {"page_order": "xyz"},
    ],
)
def test_bad_read_arguments_are_value_errors(kw):
    with pytest.raises(lt.InvalidInputError) as e:
        lt.read(FIXTURE, **kw)
    assert isinstance(e.value, ValueError) and isinstance(e.value, lt.LeukotrackError)


def test_missing_file_is_an_oserror_with_its_name(tmp_path):
    missing = tmp_path / "nope.tif"
    with pytest.raises(lt.RecordingError) as e:
        lt.read(missing)
    err = e.value
    assert isinstance(err, OSError)
    assert err.errno == errno.ENOENT
    assert err.filename == str(missing) and err.path == str(missing)
    assert err.kind == "io"
    assert str(missing) in str(err)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"this is not a TIFF file at all\n",
        b"II*\x00\xff\xff\xff\x7f",  # first IFD far past the end
        b"MM\x00*\x00\x00\x00\x08\x00\x00",  # an IFD with no entries
    ],
)
def test_broken_files_are_recording_errors(tmp_path, content):
    p = tmp_path / "broken.tif"
    p.write_bytes(content)
    with pytest.raises(lt.RecordingError) as e:
        lt.read(p)
    assert str(p) in str(e.value)
    assert e.value.kind in ("format", "page", "metadata", "io")


def test_truncated_fixture_fails_when_read_not_with_a_panic(tmp_path):
    data = FIXTURE.read_bytes()
    p = tmp_path / "truncated.tif"
    # Keep the header and the page index (at the start for the writer), cut the pixels.
    for cut in (len(data) // 2, len(data) - 1000, 4096):
        p.write_bytes(data[:cut])
        try:
            rec = lt.read(p)
        except lt.RecordingError:
            continue
        with pytest.raises(lt.LeukotrackError):
            for t in range(rec.shape.t):
                for c in range(rec.shape.c):
                    rec.volume(t, c)


def test_volume_index_errors(recording):
    with pytest.raises(lt.InvalidInputError, match="t=12"):
        recording.volume(12)
    with pytest.raises(lt.InvalidInputError):
        recording.volume(0, 2)
    with pytest.raises(lt.InvalidInputError):
        recording.volume(0.5)  # type: ignore[arg-type]
