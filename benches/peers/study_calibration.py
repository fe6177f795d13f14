"""The calibration of `leukotrack study` end to end (the command line on tables of simulated
tracks CSVs), as issue 19 asks: with no true difference, how often the mouse-level
permutation test and the pooled-track Mann-Whitney test reject at 5 %; with group B 40 %
slower, how often the mouse-level test detects it (p_permutation < 0.05 and ci_high < 0).

Studies: 2 groups, two recordings per mouse, 30 tracks of 15 points (30-s frames) per
recording; a mouse's speed log-normal (sd 0.25) around 8 µm/min (× 0.6 for B with a
difference), a track's log-normal (sd 0.5) around its mouse's; persistent random walks.

    python benches/peers/study_calibration.py [N_STUDIES [SEED]]   # default 200 per setting, seed 1
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
CLI = os.environ.get("LEUKOTRACK_CLI", str(ROOT / "target" / "release" / "leukotrack"))


def write_study(d: Path, rng: np.random.Generator, mice: int, factor_b: float) -> Path:
    lines = ["recording,mouse,group"]
    for g, f in (("A", 1.0), ("B", factor_b)):
        for m in range(mice):
            ms = 8.0 * f * np.exp(rng.normal(0, 0.25))
            for r in range(2):
                n, k = 30, 15
                v = ms * np.exp(rng.normal(0, 0.5, n))
                a = rng.uniform(0, 2 * np.pi, n)[:, None] + np.cumsum(rng.normal(0, 0.6, (n, k)), axis=1)
                step = (v * 0.5)[:, None]
                x = rng.uniform(0, 300, n)[:, None] + np.cumsum(np.hstack([np.zeros((n, 1)), (step * np.cos(a))[:, :-1]]), axis=1)
                y = rng.uniform(0, 300, n)[:, None] + np.cumsum(np.hstack([np.zeros((n, 1)), (step * np.sin(a))[:, :-1]]), axis=1)
                df = pd.DataFrame({
                    "track_id": np.repeat(np.arange(n), k), "frame": np.tile(np.arange(k), n),
                    "t_s": np.tile(np.arange(k) * 30.0, n), "x_um": x.ravel(), "y_um": y.ravel(),
                })
                name = f"{g}{m}_{r}.csv"
                df.to_csv(d / name, index=False)
                lines.append(f"{name},{g}{m},{g}")
    (d / "study.csv").write_text("\n".join(lines) + "\n")
    return d / "study.csv"


def run(n: int, mice: int, factor_b: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    config = Path(tempfile.mkdtemp()) / "c.toml"
    config.write_text("[export]\nplots = false\n")
    for i in range(n):
        with tempfile.TemporaryDirectory() as tmp:
            table = write_study(Path(tmp), rng, mice, factor_b)
            subprocess.run([CLI, "study", str(table), "-o", f"{tmp}/out", "--quiet", "--config", str(config)], check=True)
            c = pd.read_csv(f"{tmp}/out/comparisons.csv").set_index("measure").loc["speed_um_per_min"]
            rows.append(c)
    return pd.DataFrame(rows)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    t0 = time.perf_counter()
    null = run(n, 4, 1.0, seed)
    alt = run(n, 6, 0.6, seed + 1)
    print(f"{n} studies each, {time.perf_counter() - t0:.0f} s, {CLI}")
    print(f"no difference, 2 x 4 mice: mouse-level p_permutation < 0.05 in {np.mean(null.p_permutation < 0.05):.3f}; "
          f"pooled tracks (p_tracks_mannwhitney) in {np.mean(null.p_tracks_mannwhitney < 0.05):.3f}, "
          f"(p_tracks_ks) in {np.mean(null.p_tracks_ks < 0.05):.3f}; "
          f"the 95 % interval holds 0 in {np.mean((null.ci_low <= 0) & (null.ci_high >= 0)):.3f}")
    print(f"B 40 % slower, 2 x 6 mice: detected (p_permutation < 0.05 and ci_high < 0) in "
          f"{np.mean((alt.p_permutation < 0.05) & (alt.ci_high < 0)):.3f}")


if __name__ == "__main__":
    main()
