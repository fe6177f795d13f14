"""Motility metrics side by side on one 1,000,000-point tracks CSV: pandas, trackpy and the
leukotrack command line. Prints a Markdown table of median wall times over --repeats runs.

    python metrics_peers.py --csv tracks.csv --leukotrack ../../target/release/leukotrack

The CSV is made first when it does not exist (--tracks x --points 3D Gaussian random walks,
30 s apart, seed 7): track_id,frame,t_s,x_um,y_um,z_um.
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd

MAX_LAG = 20
COLS = ["x_um", "y_um", "z_um"]


def make_csv(path, tracks, points):
    rng = np.random.default_rng(7)
    start = rng.uniform(0, 500, size=(tracks, 1, 3))
    start[:, :, 2] = 0.0
    pos = start + np.cumsum(rng.normal(0.0, 2.0, size=(tracks, points, 3)), axis=1)
    frame = np.tile(np.arange(points), tracks)
    df = pd.DataFrame(
        {
            "track_id": np.repeat(np.arange(tracks), points),
            "frame": frame,
            "t_s": frame * 30.0,
            "x_um": pos[:, :, 0].ravel(),
            "y_um": pos[:, :, 1].ravel(),
            "z_um": pos[:, :, 2].ravel(),
        }
    )
    df.to_csv(path, index=False)


def speed_straightness(df):
    """Per track: path length, duration, speed (µm/min) and straightness."""
    g = df.groupby("track_id", sort=False)
    d = g[COLS].diff()
    step = np.sqrt((d**2).sum(axis=1, min_count=1))
    length = step.groupby(df["track_id"], sort=False).sum()
    first, last = g[COLS + ["t_s"]].first(), g[COLS + ["t_s"]].last()
    disp = np.sqrt(((last[COLS] - first[COLS]) ** 2).sum(axis=1))
    duration = last["t_s"] - first["t_s"]
    return pd.DataFrame(
        {"speed_um_per_min": length / duration * 60.0, "straightness": disp / length}
    )


def pandas_msd(df):
    """MSD for lags 1..MAX_LAG frames over all tracks (shift within each track)."""
    g = df.groupby("track_id", sort=False)
    rows = []
    for lag in range(1, MAX_LAG + 1):
        shifted = g[COLS + ["frame"]].shift(-lag)
        ok = (shifted["frame"] - df["frame"]) == lag
        sq = ((shifted[COLS] - df[COLS]) ** 2).sum(axis=1)[ok]
        rows.append((lag, sq.mean(), len(sq)))
    return pd.DataFrame(rows, columns=["lag_frames", "msd_um2", "n"])


def trackpy_imsd(df):
    import trackpy

    traj = df.rename(
        columns={"track_id": "particle", "x_um": "x", "y_um": "y", "z_um": "z"}
    )
    return trackpy.imsd(
        traj, mpp=1.0, fps=1.0 / 30.0, max_lagtime=MAX_LAG, pos_columns=["x", "y", "z"]
    )


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--leukotrack", help="path of the leukotrack binary (release build)")
    ap.add_argument("--tracks", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--trackpy-repeats", type=int, default=3)
    args = ap.parse_args()

    if not os.path.exists(args.csv):
        make_csv(args.csv, args.tracks, args.points)
    results = []
    t_read, _ = timed(lambda: pd.read_csv(args.csv), args.repeats)
    df = pd.read_csv(args.csv)
    results.append(("pandas read_csv (input only)", t_read))
    base, _ = timed(lambda: speed_straightness(df), args.repeats)
    results.append(("pandas groupby speed + straightness", base))
    msd, _ = timed(lambda: (speed_straightness(df), pandas_msd(df)), args.repeats)
    results.append((f"pandas speed + straightness + MSD (lags 1..{MAX_LAG})", msd))
    if args.trackpy_repeats > 0:
        tp, _ = timed(lambda: trackpy_imsd(df), args.trackpy_repeats)
        results.append((f"trackpy.imsd (lags 1..{MAX_LAG})", tp))
    if args.leukotrack:
        with tempfile.TemporaryDirectory() as out:
            cmd = [args.leukotrack, "metrics", args.csv, "-o", out, "--max-lag", str(MAX_LAG)]
            lt, _ = timed(lambda: subprocess.run(cmd, check=True, capture_output=True), args.repeats)
        results.append(
            (
                f"leukotrack metrics CLI (read CSV, all measures, MSD + autocorrelation to {MAX_LAG}, "
                "write 5 files)",
                lt,
            )
        )

    n = len(df)
    print(f"{n:,} points, {df['track_id'].nunique():,} tracks; median of {args.repeats} runs "
          f"(trackpy: {args.trackpy_repeats})\n")
    print("| what | median s |")
    print("|---|---:|")
    for name, t in results:
        print(f"| {name} | {t:.3f} |")


if __name__ == "__main__":
    main()
