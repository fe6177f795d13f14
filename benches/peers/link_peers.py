#!/usr/bin/env python3
"""Linking side by side: leukotrack (CLI) vs trackpy.link vs laptrack on the same noisy
detections, each scored against the simulator's ground truth with `leukotrack eval`.

Detections: the simulator's true positions (default scene motion: 2-15 µm/min, 30 s frames,
~1,000 cells in view) with 3 % missed, 2 % false positives and 0.5 µm positional noise.
Same gate for everyone: 30 µm/min × 0.5 min = 15 µm; gap closing over 3 frames
(trackpy memory = gap_frames - 1 = 2; laptrack gap_closing_max_frame_count = 3).

Usage: benches/peers/run_link.sh [N_DETECTIONS ...]   (default: 10000 100000 1000000)
Prints a markdown table; timings are medians of --repeat runs (wall clock).
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LT = os.path.join(ROOT, "target", "release", "leukotrack")
GATE_UM = 15.0
GAP_FRAMES = 3
DT = 30.0


def make(n_target, work, seed=1):
    # ~1,000 cells in view at the default density (1.7 / 100,000 µm³), 24 planes of 3 µm.
    cells = 1000 if n_target >= 100_000 else max(100, n_target // 100)
    frames = max(2, round(n_target / cells))
    side_um = (cells / 1.7e-5 / 72.0) ** 0.5
    n = round(side_um / 0.8)
    out = os.path.join(work, f"scene_{n_target}")
    subprocess.run([LT, "synth", "-o", out, "--truth-only", "--frames", str(frames), "--size", f"{n},{n},24",
                    "--seed", str(seed), "--quiet"], check=True)
    gt = pd.read_csv(os.path.join(out, "ground_truth.csv"))
    rng = np.random.default_rng(seed)
    det = gt[rng.random(len(gt)) >= 0.03][["frame", "x_um", "y_um", "z_um"]].copy()
    for c in ("x_um", "y_um", "z_um"):
        det[c] += rng.normal(0, 0.5, len(det))
    n_fp = int(0.02 * len(gt))
    fp = pd.DataFrame({
        "frame": rng.integers(0, frames, n_fp),
        "x_um": rng.uniform(gt.x_um.min(), gt.x_um.max(), n_fp),
        "y_um": rng.uniform(gt.y_um.min(), gt.y_um.max(), n_fp),
        "z_um": rng.uniform(gt.z_um.min(), gt.z_um.max(), n_fp),
    })
    det = pd.concat([det, fp]).sort_values("frame", kind="stable").reset_index(drop=True)
    path = os.path.join(out, "detections.csv")
    det.to_csv(path, index=False)
    return os.path.join(out, "ground_truth.csv"), path, det


def score(gt, tracks_csv):
    r = subprocess.run([LT, "eval", "--truth", gt, "--tracks", tracks_csv, "--json"], check=True,
                       capture_output=True, text=True)
    return json.loads(r.stdout)


def write_tracks(df, path):
    df = df.copy()
    df["t_s"] = df["frame"] * DT
    df[["track_id", "frame", "t_s", "x_um", "y_um", "z_um"]].to_csv(path, index=False)


def run_leukotrack(det_csv, work):
    out = os.path.join(work, "lt")
    t0 = time.perf_counter()
    subprocess.run([LT, "link", det_csv, "-o", out, "--frame-interval", str(DT), "--max-speed", "30",
                    "--gap-frames", str(GAP_FRAMES)], check=True, capture_output=True)
    return time.perf_counter() - t0, os.path.join(out, "tracks.csv")


def run_trackpy(det, work):
    import trackpy as tp
    tp.quiet()
    t0 = time.perf_counter()
    res = tp.link(det.rename(columns={"x_um": "x", "y_um": "y", "z_um": "z"}), search_range=GATE_UM,
                  memory=GAP_FRAMES - 1, pos_columns=["x", "y", "z"], t_column="frame")
    dt = time.perf_counter() - t0
    res = res.rename(columns={"x": "x_um", "y": "y_um", "z": "z_um", "particle": "track_id"})
    path = os.path.join(work, "trackpy.csv")
    write_tracks(res, path)
    return dt, path


def run_laptrack(det, work):
    from laptrack import LapTrack
    lt = LapTrack(cutoff=GATE_UM ** 2, gap_closing_cutoff=GATE_UM ** 2,
                  gap_closing_max_frame_count=GAP_FRAMES, splitting_cutoff=False, merging_cutoff=False)
    t0 = time.perf_counter()
    track_df, _, _ = lt.predict_dataframe(det.copy(), coordinate_cols=["x_um", "y_um", "z_um"],
                                          frame_col="frame", only_coordinate_cols=False)
    dt = time.perf_counter() - t0
    track_df = track_df.rename(columns={"tree_id": "track_id"})
    path = os.path.join(work, "laptrack.csv")
    write_tracks(track_df, path)
    return dt, path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--laptrack-max", type=int, default=100_000)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for n in a.sizes:
            gt, det_csv, det = make(n, work)
            for name, fn in [("leukotrack link (CLI, incl. CSV I/O)", lambda: run_leukotrack(det_csv, work)),
                             ("trackpy.link", lambda: run_trackpy(det, work)),
                             ("laptrack", lambda: run_laptrack(det, work))]:
                if name == "laptrack" and n > a.laptrack_max:
                    continue
                reps = a.repeat if n <= 100_000 or name.startswith("leuko") else 1
                times, path = [], None
                for _ in range(reps):
                    t, path = fn()
                    times.append(t)
                s = score(gt, path)
                rows.append((len(det), name, float(np.median(times)), s["link_recall"], s["link_precision"],
                             s["ctc"]["tra"]))
                print(rows[-1], file=sys.stderr, flush=True)
    print("| detections | tool | time (s, median) | link recall | link precision | CTC TRA |")
    print("|---|---|---|---|---|---|")
    for n, name, t, r, p, tra in rows:
        print(f"| {n:,} | {name} | {t:.3f} | {r:.4f} | {p:.4f} | {tra:.4f} |")


if __name__ == "__main__":
    main()
