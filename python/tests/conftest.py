"""Shared fixtures: the bundled fixture recording, the shared test data, the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import leukotrack as lt

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "two_photon_2ch.tif"
FIXTURE_TRUTH = ROOT / "fixtures" / "two_photon_2ch.ground_truth.csv"
SHARED = ROOT.parent / "shared" / "data"


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV of the command line, every float parsed exactly (pandas 3 does by default)."""
    if int(pd.__version__.split(".")[0]) < 3:
        return pd.read_csv(path, float_precision="round_trip")
    return pd.read_csv(path)


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"the shared test data are missing: {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def cli() -> str:
    """The `leukotrack` command line: $LEUKOTRACK_CLI (scripts/test.sh sets it to the binary
    `cargo test` built), else target/{debug,release}/leukotrack, else built with cargo."""
    env = os.environ.get("LEUKOTRACK_CLI")
    if env:
        return env
    found = [p for p in (ROOT / "target/debug/leukotrack", ROOT / "target/release/leukotrack") if p.is_file()]
    if found:
        return str(max(found, key=lambda p: p.stat().st_mtime))
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("no leukotrack binary and no cargo to build one")
    subprocess.run([cargo, "build", "--quiet", "--bin", "leukotrack"], cwd=ROOT, check=True)
    return str(ROOT / "target/debug/leukotrack")


@pytest.fixture(scope="session")
def recording() -> lt.Recording:
    return lt.read(FIXTURE)


@pytest.fixture(scope="session")
def analysis(recording: lt.Recording) -> lt.Analysis:
    """The whole pipeline on the fixture, with the default configuration (run once)."""
    return lt.track(recording, progress=False)


@pytest.fixture(scope="session")
def truth() -> pd.DataFrame:
    return read_csv(FIXTURE_TRUTH)


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[lt.Recording, pd.DataFrame]:
    """A small simulated recording (6 timepoints, 2 channels, 96 × 96 × 12, dense) and its truth."""
    out = tmp_path_factory.mktemp("small")
    return lt.synth(
        out, seed=11, frames=6, size={"x": 96, "y": 96, "z": 12}, channels=2, density=4.0, progress=False
    )
