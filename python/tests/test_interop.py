"""trackpy's tables, evaluation against ground truth, the simulator, the type stubs."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import leukotrack as lt
from leukotrack import _core


def test_trackpy_round_trip_in_pixels(analysis):
    tracks = analysis.tracks
    px = {"x": 0.8, "y": 0.8, "z": 3.0}
    tp = lt.to_trackpy(tracks, voxel_size=px)
    assert list(tp.columns[:5]) == ["frame", "x", "y", "z", "particle"]
    assert "t_s" not in tp.columns and "mean_intensity" in tp.columns
    np.testing.assert_allclose(tp["x"], tracks["x_um"] / 0.8)
    np.testing.assert_allclose(tp["z"], tracks["z_um"] / 3.0)
    back = lt.from_trackpy(tp, voxel_size=px, frame_interval=30)
    assert list(back.columns[:6]) == ["track_id", "frame", "t_s", "x_um", "y_um", "z_um"]
    pd.testing.assert_frame_equal(back[tracks.columns], tracks, check_exact=False, rtol=1e-12, check_dtype=False)
    # The same tracks measure the same.
    pd.testing.assert_frame_equal(lt.metrics(back), analysis.metrics)


def test_trackpy_features_become_detections_and_link(truth):
    feats = pd.DataFrame(
        {"y": truth.y_um / 0.5, "x": truth.x_um / 0.5, "mass": 100.0, "frame": truth.frame}
    )
    det = lt.from_trackpy(feats, voxel_size={"x": 0.5, "y": 0.5, "z": 1.0}, frame_interval=30)
    assert list(det.columns) == ["frame", "x_um", "y_um", "mass"]
    np.testing.assert_allclose(det.x_um, truth.x_um)
    tracks = lt.link(det, frame_interval=30)
    assert "mass" in tracks.columns and "z_um" not in tracks.columns
    # µm positions stay µm with voxel_size=None.
    same = lt.to_trackpy(det, voxel_size=None)
    np.testing.assert_allclose(same.x, det.x_um)


def test_trackpy_needs_an_explicit_voxel_size(truth):
    tp = pd.DataFrame({"frame": [0], "x": [1.0], "y": [1.0]})
    with pytest.raises(TypeError):
        lt.from_trackpy(tp, frame_interval=30)  # type: ignore[call-arg]


def test_evaluate_perfect_and_shifted(truth):
    s = lt.evaluate(truth, truth)
    assert s["detection"]["f1"] == 1.0 and s["link_f1"] == 1.0 and s["ctc"]["tra"] == 1.0
    moved = truth.assign(x_um=truth.x_um + 6.0)
    s = lt.evaluate(moved, truth, match_um=5.0)
    assert s["detection"]["true_positives"] == 0
    d = lt.evaluate(truth[["frame", "x_um", "y_um", "z_um"]], truth)
    assert d["f1"] == 1.0 and d["rmse_xy_um"] == 0.0


def test_synth_writes_a_recording_with_its_truth(small, tmp_path):
    rec, truth = small
    assert rec.shape == (6, 2, 12, 96, 96)
    assert rec.calibration.voxel_size == {"x": 0.8, "y": 0.8, "z": 3.0}
    folder = rec.path.parent
    for f in ("recording.tif", "ground_truth.csv", "drift.csv", "debris.csv", "synth.json"):
        assert (folder / f).is_file(), f
    pd.testing.assert_frame_equal(truth, pd.read_csv(folder / "ground_truth.csv"), check_dtype=False)
    again = lt.synth_truth(seed=11, frames=6, size={"x": 96, "y": 96, "z": 12}, density=4.0)
    pd.testing.assert_frame_equal(again, truth)
    a = lt.track(rec, progress=False)
    s = lt.evaluate(a.tracks, truth)
    # A small crop: many cells cut by its borders (the fixture's own test asks F1 ≥ 0.9).
    assert len(truth) >= 40
    assert s["detection"]["f1"] >= 0.8 and s["link_f1"] >= 0.85, s


def test_type_stubs_cover_the_native_module():
    stub = Path(lt.__file__).parent / "_core.pyi"
    tree = ast.parse(stub.read_text())
    stubbed = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    stubbed |= {
        t.id for n in tree.body if isinstance(n, ast.AnnAssign)
        for t in [n.target] if isinstance(t, ast.Name) and (t.id == "__version__" or not t.id.startswith("_"))
    }
    public = {n for n in dir(_core) if not n.startswith("__")} | {"__version__"}
    assert stubbed == public
    assert (Path(lt.__file__).parent / "py.typed").is_file()
    for cls in ("Recording", "Analysis"):
        node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
        methods = {m.name for m in node.body if isinstance(m, ast.FunctionDef)}
        assert methods == {m for m in dir(getattr(_core, cls)) if not m.startswith("__")}, cls


def test_every_public_function_documents_its_units():
    for name in lt.__all__:
        assert (getattr(lt, name).__doc__ or "").strip(), f"{name} has no docstring"
    for f in (lt.read, lt.segment, lt.link, lt.metrics, lt.steps, lt.msd, lt.autocorrelation,
              lt.motility_coefficient, lt.track, lt.synth, lt.evaluate, lt.from_trackpy, lt.to_napari):
        assert "µm" in f.__doc__, f.__name__


def test_the_issues_signatures_hold():
    """Names users' scripts rely on (issue 8): arguments, defaults, keyword-only markers."""
    import inspect

    def params(f):
        return {n: (p.kind, p.default) for n, p in inspect.signature(f).parameters.items()}

    kw, pos, empty = inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty
    r = params(lt.read)
    assert r["path"] == (pos, empty)
    assert all(r[k] == (kw, None) for k in ("voxel_size", "frame_interval", "shape", "page_order"))
    s = params(lt.segment)
    assert list(s)[0] == "volume_or_recording"
    # Settings default to None ("the configuration's value", issue 14): no number restated.
    assert s["channel"] == (kw, None) and s["cell_diameter"] == (kw, None)
    assert s["detector"] == (kw, None) and s["method"] == (kw, None) and s["voxel_size"] == (kw, None)
    k = params(lt.link)
    assert list(k)[0] == "detections" and k["frame_interval"] == (kw, empty)
    assert k["max_speed"] == (kw, None) and k["max_distance"] == (kw, None)
    assert k["gap_frames"] == (kw, None) and k["predict"] == (kw, None) and k["linker"] == (kw, None)
    t = params(lt.track)
    assert list(t)[:2] == ["path_or_recording", "config"] and t["config"] == (pos, None)
    assert inspect.Parameter.VAR_KEYWORD in {p for p, _ in t.values()}
    assert list(params(lt.Analysis.save))[1] == "dir"
    assert params(lt.Recording.volume)["c"] == (pos, 0)
    from leukotrack.dask import track_many

    m = params(track_many)
    assert list(m)[:4] == ["paths", "client", "config", "out_dir"]
    assert m["client"][1] is None and m["config"][1] is None and m["out_dir"][1] is None
    assert list(params(lt.evaluate))[:2] == ["tracks", "truth"]
    for f in (lt.metrics, lt.steps, lt.msd, lt.motility_coefficient):
        assert list(params(f))[0] == "tracks"
