"""Interactions from Python: lt.track(partners=...), Analysis.interactions/.contacts, the
per-track columns, lt.interactions on existing tracks, the saved files, bad partners."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import leukotrack as lt

COLUMNS = ["frame", "track_id", "detection", "partner", "distance_um", "gap_um", "nearest_id",
           "n_within", "in_contact"]
CONTACTS = ["track_id", "partner", "partner_id", "start_frame", "end_frame", "duration_s",
            "mean_gap_um", "speed_um_per_min", "stable"]


@pytest.fixture(scope="module")
def vessel_scene(tmp_path_factory: pytest.TempPathFactory) -> lt.Recording:
    d = tmp_path_factory.mktemp("vessel")
    rec, _ = lt.synth(d, frames=4, size={"x": 96, "y": 96, "z": 10}, channels=2, seed=3,
                      config={"vessel_count": 1, "reporter2_fraction": 0.0, "drift_um_per_min": 0.0,
                              "drift_jitter_um": 0.0, "density_per_1e5_um3": 3.0}, progress=False)
    return rec


def test_track_with_a_partner(vessel_scene: lt.Recording, tmp_path: Path) -> None:
    a = lt.track(vessel_scene, partners=["vessels=1:structure"], progress=False, plots=False)
    it, ct = a.interactions, a.contacts
    assert list(it.columns[: len(COLUMNS)]) == COLUMNS and list(ct.columns) == CONTACTS
    assert set(it["partner"]) == {"vessels"} and len(it) == len(a.tracks)
    assert it["distance_um"].notna().all() and (it["distance_um"] < 0).any() and (it["distance_um"] > 5).any()
    assert ((it["gap_um"] <= 1.0) == (it["in_contact"] == 1)).all()
    assert "vessels_contacts" in a.metrics.columns and "vessels_mean_distance_um" in a.metrics.columns
    assert a.config["interact"]["partner"][0]["name"] == "vessels"
    assert a.summary["interact"]["partners"][0]["name"] == "vessels"
    out = a.save(tmp_path / "out")
    assert (out / "interactions.csv").is_file() and (out / "contacts.csv").is_file()
    # The same distances from the tracks alone.
    it2, ct2, per_track = lt.interactions(a.tracks, vessel_scene, partners=[{"kind": "structure", "name": "vessels", "channel": 1}])
    np.testing.assert_allclose(it2["distance_um"].to_numpy(), it["distance_um"].to_numpy(), rtol=1e-12)
    assert len(ct2) == len(ct)
    assert "vessels_contact_time_s" in per_track.columns and per_track.index.name == "track_id"


def test_without_partners_and_bad_partners(vessel_scene: lt.Recording) -> None:
    a = lt.track(vessel_scene, progress=False, plots=False)
    assert a.interactions is None and a.contacts is None
    with pytest.raises(lt.InvalidInputError, match="NAME=CHANNEL:structure"):
        lt.track(vessel_scene, partners=["vessels"], progress=False)
    with pytest.raises(lt.InvalidInputError, match="channel 4 does not exist"):
        lt.track(vessel_scene, partners=["v=4:structure"], progress=False)
    with pytest.raises(lt.InvalidInputError, match="not implemented yet"):
        lt.track(vessel_scene, partners=["t=1:objects:20"], progress=False)
    with pytest.raises(lt.InvalidInputError, match="no partners"):
        lt.interactions(a.tracks, vessel_scene)
