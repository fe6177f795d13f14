"""The twin and the tuner on simulated recordings treated as real (their truth used only to
score): does the twin resemble its recording, does its accuracy predict the recording's, and
does `tune` (without truth) find settings close to the best a brute-force sweep with the
truth finds?

    python benches/peers/twin_tune.py twin [PRESET …]     # twin parameters and prediction
    python benches/peers/twin_tune.py tune                 # 6 µm cells, 20 µm cells, fast cells

Runs the release CLI (target/release/leukotrack); prints Markdown tables.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "target" / "release" / "leukotrack"


def run(*args):
    r = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))}: {r.stderr}")
    return r.stdout


def score(truth, tracks):
    e = json.loads(run("eval", "--truth", truth, "--tracks", tracks, "--json"))
    return e["detection"]["f1"], e["link_f1"], e["ctc"]["tra"]


def track_and_score(rec, truth, out, *flags):
    run("track", rec, "-o", out, "--quiet", "--no-plots", "--no-trackmate", *flags)
    return score(truth, Path(out) / "tracks.csv")


def twin_bench(presets, seeds=(1, 2)):
    rows = []
    for preset in presets:
        for seed in seeds:
            with tempfile.TemporaryDirectory() as d:
                d = Path(d)
                run("synth", "-o", d / "rec", "--preset", preset, "--seed", seed, "--frames", 20)
                true = json.loads((d / "rec" / "synth.json").read_text())
                actual = track_and_score(d / "rec" / "recording.tif", d / "rec" / "ground_truth.csv", d / "out")
                run("twin", d / "rec" / "recording.tif", "-o", d / "twin", "--quiet")
                tw = json.loads((d / "twin" / "twin.json").read_text())
                m = tw["measured"]
                predicted = track_and_score(d / "twin" / "recording.tif", d / "twin" / "ground_truth.csv", d / "tout")
                noise = (true["gain"] ** 2 * true["background_photons"] + true["read_noise"] ** 2) ** 0.5
                rows.append((preset, seed, m["noise_sd"] / noise, m["cell_photons"] / true["cell_photons"],
                             m["density_per_1e5_um3"] / true["density_per_1e5_um3"],
                             m["arrested_fraction"], true["arrested_fraction"], m["mean_speed_um_per_min"],
                             actual, predicted))
    print("| preset | seed | noise ratio | brightness ratio | density ratio | arrested (twin / true) | mean speed twin | F1 det actual / twin | link F1 actual / twin | TRA actual / twin |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for p, s, nr, br, dr, af, at, ms, a, t in rows:
        print(f"| {p} | {s} | {nr:.2f} | {br:.2f} | {dr:.2f} | {af:.2f} / {at:.2f} | {ms:.1f} | {a[0]:.3f} / {t[0]:.3f} | {a[1]:.3f} / {t[1]:.3f} | {a[2]:.3f} / {t[2]:.3f} |")


SCENES = {
    "6 µm cells": ["", json.dumps({"diameter_um": [5.0, 7.0], "density_per_1e5_um3": 4.0})],
    "20 µm cells": ["", json.dumps({"diameter_um": [17.0, 23.0], "density_per_1e5_um3": 0.5})],
    "fast cells": ["", json.dumps({"speed_um_per_min": [15.0, 30.0], "arrested_fraction": 0.05})],
}


def tune_bench():
    print("| scene | defaults F1 det / link / TRA | tune's best.toml on the original | best of the sweep with truth | expected (twin) | tune s |")
    print("|---|---|---|---|---|---|")
    for name, synth_cfg in SCENES.items():
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            cfg = d / "synth.json"
            cfg.write_text(synth_cfg[1])
            run("synth", "-o", d / "rec", "--config", cfg, "--seed", 3, "--frames", 20)
            rec, gt = d / "rec" / "recording.tif", d / "rec" / "ground_truth.csv"
            default = track_and_score(rec, gt, d / "def")
            t0 = time.perf_counter()
            run("tune", rec, "-o", d / "tune", "--quiet")
            secs = time.perf_counter() - t0
            best = track_and_score(rec, gt, d / "best", "--config", d / "tune" / "best.toml")
            exp = json.loads((d / "tune" / "expected.json").read_text())
            # The sweep with the truth: every setting tune tried, scored on the original.
            import csv
            sweep = []
            for row in csv.DictReader(open(d / "tune" / "tune.csv")):
                flags = ["--detector", row["detector"], "--gap-frames", row["gap_frames"]]
                if row["cell_diameter_um"]:
                    flags += ["--cell-diameter", row["cell_diameter_um"]]
                if row["gate_um_per_min"]:
                    flags += ["--max-speed", row["gate_um_per_min"]]
                if row["threshold_k"]:
                    continue  # not a flag; the other rows cover the sweep
                sweep.append(track_and_score(rec, gt, d / f"s{row['trial']}", *flags))
            top = max(sweep, key=lambda s: sum(s) / 3)
            f = lambda s: f"{s[0]:.3f} / {s[1]:.3f} / {s[2]:.3f}"
            print(f"| {name} | {f(default)} | {f(best)} | {f(top)} | {exp['detection_f1']:.3f} / {exp['link_f1']:.3f} / {exp['tra']:.3f} | {secs:.0f} |")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "twin"
    if what == "twin":
        twin_bench(sys.argv[2:] or ["default", "hard", "2d", "thin", "swarm"])
    else:
        tune_bench()
