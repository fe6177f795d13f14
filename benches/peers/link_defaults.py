#!/usr/bin/env python3
"""Linking at leukotrack's default settings (no gate given: it comes from the data) against
trackpy.link at its best search range and laptrack, on the same detections, each scored with
`leukotrack eval` (one-to-one within 5 µm; true links up to 3 frames apart).

Datasets (pick with the positional arguments; default: all but the slow ones):
  tcells, bcells, neutrophils   celltrackR's raw 3D positions (real two-photon data, 24 s
                                frames), identities removed and shuffled within frames; the
                                published tracks are the truth
  noisy100, noisy1000           ~1,000 cells per frame in 410 × 410 × 96 µm, 30 s frames, 3 %
                                missed, 2 % false, 0.4 µm xy / 1 µm z noise; 100 or 1,000 frames
  hard, swarm                   the simulator's presets' true positions (40 frames) as detections
  jumps, nojumps                the default scene (256 × 256 × 24, 100 frames, 0.4/1 µm noise, 3 %
                                missed) with tissue jumps of 4–10 µm in 4 % of frame pairs
                                (4 jumps), and without

trackpy: search_range in 5, 8, 10, 12, 15, 20, 25, 30 µm, memory=2, best by recall + precision
(the range is reported). laptrack: its default-like LAP with the same gate as trackpy's best.

Usage: benches/peers/run_link.sh is the speed comparison; this one is
  benches/peers/env.sh-sourced:  peers_python benches/peers/link_defaults.py [DATASET ...]
Prints a markdown table.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LT = os.environ.get("LEUKOTRACK", os.path.join(ROOT, "target", "release", "leukotrack"))
DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data", "celltrackR"))
RANGES = [5, 8, 10, 12, 15, 20, 25, 30]


def run(*args):
    return subprocess.run([LT, *map(str, args)], check=True, capture_output=True, text=True)


def celltrackr(name, work):
    raw = pd.read_csv(os.path.join(DATA, f"{name}Raw.csv"))
    dt = 24.0
    raw["frame"] = np.round((raw.t - raw.t.min()) / dt).astype(int)
    raw["track_id"] = pd.factorize(raw.track_id.astype(str))[0]
    gt = raw.rename(columns={"x": "x_um", "y": "y_um", "z": "z_um"})
    gt["t_s"] = gt.frame * dt
    gt = gt.sort_values(["track_id", "frame"])
    rng = np.random.default_rng(0)
    det = gt[["frame", "x_um", "y_um", "z_um"]].sample(frac=1.0, random_state=rng.integers(1 << 31))
    det = det.sort_values("frame", kind="stable").reset_index(drop=True)
    return finish(work, name, gt[["track_id", "frame", "t_s", "x_um", "y_um", "z_um"]], det, dt)


def synth_truth(work, name, args, config=None):
    out = os.path.join(work, name)
    extra = []
    if config:
        path = os.path.join(work, f"{name}.json")
        with open(path, "w") as f:
            json.dump(config, f)
        extra = ["--config", path]
    run("synth", "-o", out, "--truth-only", "--quiet", *extra, *args)
    gt = pd.read_csv(os.path.join(out, "ground_truth.csv"))
    dt = json.load(open(os.path.join(out, "synth.json")))["frame_interval_s"]
    return gt, dt


def noisy(gt, seed, miss=0.03, fp=0.02, xy=0.4, z=1.0):
    rng = np.random.default_rng(seed)
    det = gt[rng.random(len(gt)) >= miss][["frame", "x_um", "y_um", "z_um"]].copy()
    for c, s in (("x_um", xy), ("y_um", xy), ("z_um", z)):
        det[c] += rng.normal(0, s, len(det))
    n_fp = int(fp * len(gt))
    frames = gt.frame.max() + 1
    extra = pd.DataFrame({
        "frame": rng.integers(0, frames, n_fp),
        **{c: rng.uniform(gt[c].min(), gt[c].max(), n_fp) for c in ("x_um", "y_um", "z_um")},
    })
    det = pd.concat([det, extra]).sort_values("frame", kind="stable").reset_index(drop=True)
    return det


def finish(work, name, gt, det, dt):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    gt_csv, det_csv = os.path.join(d, "truth.csv"), os.path.join(d, "detections.csv")
    gt.to_csv(gt_csv, index=False)
    det.to_csv(det_csv, index=False)
    return name, gt_csv, det_csv, det, dt


def dataset(name, work):
    if name in ("tcells", "bcells", "neutrophils"):
        return celltrackr({"tcells": "TCells", "bcells": "BCells", "neutrophils": "Neutrophils"}[name], work)
    if name.startswith("noisy"):
        frames = int(name[5:])
        # 1,000 cells in 410 × 410 × 96 µm (512 × 512 × 32 voxels of 0.8 × 0.8 × 3 µm).
        gt, dt = synth_truth(work, name, ["--frames", frames, "--size", "512,512,32", "--density", 5.0,
                                          "--seed", 1])
        return finish(work, name, gt, noisy(gt, 1), dt)
    if name in ("hard", "swarm"):
        gt, dt = synth_truth(work, name, ["--preset", name, "--frames", 40, "--seed", 3])
        return finish(work, name, gt, gt[["frame", "x_um", "y_um", "z_um"]], dt)
    if name in ("jumps", "nojumps"):
        cfg = {"jump_fraction": 0.04 if name == "jumps" else 0.0}
        gt, dt = synth_truth(work, name, ["--frames", 100, "--size", "256,256,24", "--seed", 1], cfg)
        return finish(work, name, gt, noisy(gt, 1, fp=0.0), dt)
    raise SystemExit(f"unknown dataset {name}")


def score(gt_csv, tracks_csv):
    return json.loads(run("eval", "--truth", gt_csv, "--tracks", tracks_csv, "--json").stdout)


def write_tracks(df, path, dt):
    df = df.copy()
    df["t_s"] = df["frame"] * dt
    df[["track_id", "frame", "t_s", "x_um", "y_um", "z_um"]].to_csv(path, index=False)


def leukotrack(det_csv, dt, work, extra=()):
    out = os.path.join(work, "lt")
    t0 = time.perf_counter()
    run("link", det_csv, "-o", out, "--frame-interval", dt, *extra)
    took = time.perf_counter() - t0
    sp = os.path.join(out, "summary.json")
    summary = json.load(open(sp)) if os.path.exists(sp) else {}
    return took, os.path.join(out, "tracks.csv"), summary


def trackpy_at(det, sr, dt, work):
    import trackpy as tp
    tp.quiet()
    t0 = time.perf_counter()
    kw = dict(search_range=sr, memory=2, pos_columns=["x", "y", "z"], t_column="frame")
    df = det.rename(columns={"x_um": "x", "y_um": "y", "z_um": "z"})
    try:
        res = tp.link(df, **kw)
    except tp.SubnetOversizeException:
        # What its docs advise: shrink the range inside oversized subnetworks.
        res = tp.link(df, adaptive_stop=1.0, adaptive_step=0.9, **kw)
    took = time.perf_counter() - t0
    res = res.rename(columns={"x": "x_um", "y": "y_um", "z": "z_um", "particle": "track_id"})
    path = os.path.join(work, f"trackpy_{sr}.csv")
    write_tracks(res, path, dt)
    return took, path


def laptrack_at(det, gate, dt, work):
    from laptrack import LapTrack
    lt = LapTrack(cutoff=gate ** 2, gap_closing_cutoff=gate ** 2, gap_closing_max_frame_count=3,
                  splitting_cutoff=False, merging_cutoff=False)
    t0 = time.perf_counter()
    track_df, _, _ = lt.predict_dataframe(det.copy(), coordinate_cols=["x_um", "y_um", "z_um"], frame_col="frame",
                                          only_coordinate_cols=False)
    took = time.perf_counter() - t0
    path = os.path.join(work, "laptrack.csv")
    write_tracks(track_df.rename(columns={"tree_id": "track_id"}), path, dt)
    return took, path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("datasets", nargs="*",
                    default=["tcells", "bcells", "neutrophils", "noisy100", "hard", "swarm", "jumps", "nojumps"])
    ap.add_argument("--no-peers", action="store_true", help="leukotrack only")
    ap.add_argument("--laptrack-max", type=int, default=150_000)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for ds in a.datasets:
            name, gt_csv, det_csv, det, dt = dataset(ds, work)
            took, path, summary = leukotrack(det_csv, dt, work)
            s = score(gt_csv, path)
            derived = summary.get("link", {}).get("derived", {})
            gate = derived.get("gate_um")
            rows.append((name, len(det), "leukotrack defaults", s, took,
                         f"gate {gate:.1f} µm" if gate else ""))
            print(rows[-1][:3], s["link_recall"], s["link_precision"], derived, file=sys.stderr, flush=True)
            if a.no_peers:
                continue
            best = None
            for sr in RANGES:
                t, p = trackpy_at(det, sr, dt, work)
                sc = score(gt_csv, p)
                key = sc["link_recall"] + sc["link_precision"]
                if best is None or key > best[0]:
                    best = (key, sr, sc, t)
            _, sr, sc, t = best
            rows.append((name, len(det), "trackpy (best)", sc, t, f"search_range {sr} µm, memory 2"))
            print(rows[-1][:3], sc["link_recall"], sc["link_precision"], sr, file=sys.stderr, flush=True)
            if len(det) <= a.laptrack_max:
                t, p = laptrack_at(det, sr, dt, work)
                sc = score(gt_csv, p)
                rows.append((name, len(det), "laptrack", sc, t, f"cutoff {sr} µm, gap 3"))
    print("| dataset | detections | tool | link recall | link precision | CTC TRA | time (s) | setting |")
    print("|---|---|---|---|---|---|---|---|")
    for name, n, tool, s, t, note in rows:
        print(f"| {name} | {n:,} | {tool} | {s['link_recall']:.4f} | {s['link_precision']:.4f} | "
              f"{s['ctc']['tra']:.4f} | {t:.2f} | {note} |")


if __name__ == "__main__":
    main()
