#!/usr/bin/env python3
"""`leukotrack track REC -o OUT` at defaults (only the recording; its calibration is in the file)
on simulated presets, scored against the simulator's truth with `leukotrack eval --tracks`
(one-to-one within 5 µm; cells whose centre is outside the volume are left out with
`--partial`): detection F1, link recall / precision, CTC TRA; and the same linker on the
true positions (`link` on ground_truth.csv's positions).

Usage: python benches/peers/track_presets.py [PRESET ...] [--frames N] [--seed S]
"""
import argparse, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LT = os.environ.get("LEUKOTRACK", os.path.join(ROOT, "target", "release", "leukotrack"))


def run(*args):
    return subprocess.run([LT, *map(str, args)], check=True, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("presets", nargs="*", default=["default", "hard", "swarm"])
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    print("| preset | detection F1 | link recall | link precision | CTC TRA | gate (µm) | true positions: link recall / precision |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for p in a.presets:
            sim = os.path.join(work, p)
            run("synth", "-o", sim, "--preset", p, "--frames", a.frames, "--seed", a.seed, "--quiet")
            out = os.path.join(work, p + "_out")
            run("track", os.path.join(sim, "recording.tif"), "-o", out, "--no-plots", "--no-trackmate", "--quiet")
            gt = os.path.join(sim, "ground_truth.csv")
            s = json.loads(run("eval", "--truth", gt, "--tracks", os.path.join(out, "tracks.csv"), "--json").stdout)
            summary = json.load(open(os.path.join(out, "summary.json")))
            gate = summary["link"]["derived"]["gate_um"]
            # The linker alone on the true positions.
            import csv
            det = os.path.join(work, p + "_truth_det.csv")
            with open(gt) as f, open(det, "w", newline="") as g:
                r = csv.DictReader(f)
                w = csv.writer(g)
                w.writerow(["frame", "x_um", "y_um", "z_um"])
                for row in r:
                    w.writerow([row["frame"], row["x_um"], row["y_um"], row["z_um"]])
            dt = json.load(open(os.path.join(sim, "synth.json")))["frame_interval_s"]
            lo = os.path.join(work, p + "_link")
            run("link", det, "-o", lo, "--frame-interval", dt)
            t = json.loads(run("eval", "--truth", gt, "--tracks", os.path.join(lo, "tracks.csv"), "--json").stdout)
            print(f"| {p} | {s['detection']['f1']:.4f} | {s['link_recall']:.4f} | {s['link_precision']:.4f} | "
                  f"{s['ctc']['tra']:.4f} | {gate:.1f} | {t['link_recall']:.4f} / {t['link_precision']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
