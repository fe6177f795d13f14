#!/usr/bin/env python3
"""Every stage against the Python peers in one run, scored against ground truth, with the
tables written into BENCHMARKS.md in place.

Run through run_all.sh (it makes the venv, builds the CLI and calls this):

    benches/peers/run_all.sh [--frames 6] [--size 256,256,32] [--link 10000,100000]
                             [--metrics-tracks 2000] [--stages segment,link,metrics,e2e]
                             [--no-write]

One simulated recording (leukotrack synth, seed 21) is the input of the segmentation and
end-to-end stages; the linking stage links noisy detections made from the simulator's
ground truth (link_peers.make: 3 % missed, 2 % false, 0.5 µm noise); the metrics stage
measures 3D Gaussian random walks whose true MSD is 12 µm² per frame of lag
(metrics_peers.make_csv: sd 2 µm per axis and step). The per-stage scripts beside this one
(segment_peers, link_peers, metrics_peers, e2e_peers) are used as modules: the peers' code
is theirs.

Tools: the leukotrack command line, the leukotrack Python bindings (`import leukotrack`,
when importable in the venv; reported as skipped otherwise), scikit-image, trackpy (locate,
link, imsd/emsd), laptrack (linking, at most --laptrack-max detections) and pandas. Each
method's wall time, CPU time (user + system) and, for child processes, peak RSS are
measured; ratios are each method's wall time over the leukotrack CLI's.

Each stage's section of BENCHMARKS.md gets (or has replaced) one block between
`<!-- peers:STAGE -->` and `<!-- /peers:STAGE -->`; everything else in the file is kept.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import e2e_peers  # noqa: E402
import link_peers  # noqa: E402
import metrics_peers  # noqa: E402
import segment_peers  # noqa: E402

FRAME_S = 30.0
VOXEL = "0.8,0.8,3"  # the simulator's default voxel, µm (x, y, z)

SECTIONS = {
    "segment": "## Segmentation",
    "link": "## Linking detections into tracks",
    "metrics": "## Motility metrics",
    "e2e": "## End to end",
}


# ---------------------------------------------------------------- helpers


def bindings():
    """The leukotrack Python package, or None when it is not importable here."""
    try:
        import leukotrack

        return leukotrack
    except ImportError:
        return None


def versions():
    out = {}
    for name in ["numpy", "scipy", "pandas", "skimage", "trackpy", "laptrack", "tifffile"]:
        try:
            mod = __import__(name)
            out[name] = getattr(mod, "__version__", "?")
        except ImportError:
            out[name] = None
    lt = bindings()
    out["leukotrack (Python)"] = getattr(lt, "__version__", "?") if lt else None
    return out


def machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_gb = int(f.readline().split()[1]) / 1024**2
    except OSError:
        mem_gb = float("nan")
    return "%s, %d cores, %.0f GB, %s, Python %s" % (
        cpu, os.cpu_count(), mem_gb, platform.system(), platform.python_version())


def in_process(fn, repeat=1):
    """Median wall s and CPU s (this process) of fn over `repeat` runs; the last result."""
    walls, cpus, res = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        res = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), res


def child(cmd, repeat=1):
    """Median wall s, CPU s and peak RSS MB of a child process over `repeat` runs."""
    runs = [e2e_peers.measured(cmd) for _ in range(repeat)]
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def evaluate(lt, truth, **kind):
    (flag, path), = kind.items()
    return json.loads(run([lt, "eval", "--truth", truth, "--" + flag, path, "--json"]))


def ratio(t, base):
    return "%.2f×" % (t / base) if base and base > 0 else "—"


def f3(v):
    return "—" if v is None or (isinstance(v, float) and np.isnan(v)) else "%.3f" % v


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- stages


def stage_segment(a, sim, work):
    rec = os.path.join(sim, "recording.tif")
    truth = os.path.join(sim, "ground_truth.csv")
    rows = []

    def add(name, wall, cpu, rss, det_csv):
        s = evaluate(a.leukotrack, truth, detections=det_csv)
        rows.append((name, wall, cpu, rss, s))
        log("segment:", name, "%.2f s" % wall, "F1 %.3f" % s["f1"])

    out = os.path.join(work, "seg_cli")
    wall, cpu, rss = child([a.leukotrack, "segment", rec, "-o", out, "--quiet"], a.repeat)
    add("leukotrack segment (CLI, blob)", wall, cpu, rss, os.path.join(out, "detections.csv"))

    lt = bindings()
    if lt is not None:
        path = os.path.join(work, "seg_py.csv")
        wall, cpu, det = in_process(
            lambda: lt.segment(lt.read(rec), cell_diameter=10.0, progress=False), a.repeat)
        det.to_csv(path, index=False)
        add("leukotrack.segment (Python bindings)", wall, cpu, None, path)

    import tifffile

    def peer(name, fn, tag):
        path = os.path.join(work, "seg_%s.csv" % tag)
        wall, cpu, rows_ = in_process(lambda: fn(tifffile.imread(rec)))
        segment_peers.write_csv(path, rows_)
        add(name, wall, cpu, None, path)

    peer("scikit-image (gaussian, background, median + 6·MAD, label, regionprops)",
         lambda s: segment_peers.skimage_pipeline(s, robust=True), "skimage")
    peer("scikit-image, Otsu threshold",
         lambda s: segment_peers.skimage_pipeline(s, robust=False), "otsu")
    if not a.skip_slow:
        peer("trackpy.locate 3D (diameter 5,13,13 voxels; Otsu on mass)",
             segment_peers.trackpy_pipeline, "trackpy")

    base = rows[0][1]
    table = ["| method | wall s | CPU s | wall vs CLI | F1 | precision | recall | RMSE xy µm "
             "| RMSE z µm |", "|---|---|---|---|---|---|---|---|---|"]
    for name, wall, cpu, rss, s in rows:
        table.append("| %s | %.2f | %.2f | %s | %s | %s | %s | %s | %s |" % (
            name, wall, cpu, ratio(wall, base), f3(s["f1"]), f3(s["precision"]),
            f3(s["recall"]), f3(s["rmse_xy_um"]), f3(s["rmse_z_um"])))
    return table


def stage_link(a, work):
    link_peers.LT = a.leukotrack
    lt = bindings()
    table = ["| detections | tool | wall s | wall vs CLI | link recall | link precision "
             "| CTC TRA |", "|---|---|---|---|---|---|---|"]
    for n in a.link:
        gt, det_csv, det = link_peers.make(n, work)
        tools = [("leukotrack link (CLI, incl. CSV I/O)",
                  lambda: link_peers.run_leukotrack(det_csv, work))]
        if lt is not None:
            def py():
                t0 = time.perf_counter()
                tr = lt.link(det, frame_interval=FRAME_S, max_speed=30.0,
                             gap_frames=link_peers.GAP_FRAMES)
                dt = time.perf_counter() - t0
                path = os.path.join(work, "lt_py_tracks.csv")
                tr.to_csv(path, index=False)
                return dt, path
            tools.append(("leukotrack.link (Python bindings)", py))
        tools.append(("trackpy.link", lambda: link_peers.run_trackpy(det, work)))
        if len(det) <= a.laptrack_max:
            tools.append(("laptrack", lambda: link_peers.run_laptrack(det, work)))
        base = None
        for name, fn in tools:
            reps = 1 if (name == "laptrack" or len(det) > 200_000) else a.repeat
            times, path = [], None
            for _ in range(reps):
                t, path = fn()
                times.append(t)
            t = statistics.median(times)
            base = base or t
            s = link_peers.score(gt, path)
            log("link:", len(det), name, "%.3f s" % t)
            table.append("| %s | %s | %.3f | %s | %.4f | %.4f | %.4f |" % (
                format(len(det), ","), name, t, ratio(t, base), s["link_recall"],
                s["link_precision"], s["ctc"]["tra"]))
    return table


def msd_error(lags, msd):
    """Largest relative deviation from the walks' true MSD, 12 µm² × lag."""
    lags, msd = np.asarray(lags, float), np.asarray(msd, float)
    return float(np.max(np.abs(msd / (12.0 * lags) - 1.0)))


def stage_metrics(a, work):
    csv = os.path.join(work, "walks.csv")
    metrics_peers.make_csv(csv, a.metrics_tracks, 100)
    df = pd.read_csv(csv)
    lags = np.arange(1, metrics_peers.MAX_LAG + 1)
    rows = []

    out = os.path.join(work, "metrics_cli")
    cmd = [a.leukotrack, "metrics", csv, "-o", out, "--max-lag", str(metrics_peers.MAX_LAG)]
    wall, cpu, rss = child(cmd, a.repeat)
    m = pd.read_csv(os.path.join(out, "msd.csv"))
    rows.append(("leukotrack metrics (CLI: read CSV, every measure, MSD, write the tables)",
                 wall, cpu, msd_error(m["lag_frames"], m["msd_um2"])))

    lt = bindings()
    if lt is not None:
        def py():
            lt.metrics(df, frame_interval=FRAME_S, max_lag=metrics_peers.MAX_LAG)
            return lt.msd(df, frame_interval=FRAME_S, max_lag=metrics_peers.MAX_LAG)
        wall, cpu, m = in_process(py, a.repeat)
        rows.append(("leukotrack.metrics + leukotrack.msd (Python bindings, in memory)",
                     wall, cpu, msd_error(m["lag_frames"], m["msd_um2"])))

    wall, cpu, m = in_process(
        lambda: (metrics_peers.speed_straightness(df), metrics_peers.pandas_msd(df))[1],
        a.repeat)
    rows.append(("pandas speed + straightness + MSD (in memory)", wall, cpu,
                 msd_error(m["lag_frames"], m["msd_um2"])))
    if not a.skip_slow:
        import trackpy

        def tp():
            traj = df.rename(columns={"track_id": "particle", "x_um": "x", "y_um": "y",
                                      "z_um": "z"})
            return trackpy.emsd(traj, mpp=1.0, fps=1.0 / FRAME_S,
                                max_lagtime=metrics_peers.MAX_LAG, pos_columns=["x", "y", "z"])
        wall, cpu, em = in_process(tp)
        rows.append(("trackpy.emsd (in memory)", wall, cpu,
                     msd_error(np.round(em.index.values / FRAME_S), em.values)))
    for r in rows:
        log("metrics:", r[0], "%.3f s" % r[1], "MSD error %.4f" % r[3])
    base = rows[0][1]
    table = ["| method (%s points, %s tracks) | wall s | CPU s | wall vs CLI "
             "| MSD max relative error (lags 1–%d) |" % (
                 format(len(df), ","), format(a.metrics_tracks, ","), metrics_peers.MAX_LAG),
             "|---|---|---|---|---|"]
    for name, wall, cpu, err in rows:
        table.append("| %s | %.3f | %.3f | %s | %.4f |" % (name, wall, cpu, ratio(wall, base),
                                                           err))
    return table


def stage_e2e(a, sim, work):
    rec = os.path.join(sim, "recording.tif")
    truth = os.path.join(sim, "ground_truth.csv")
    rows = []
    out = os.path.join(work, "e2e_cli")
    runs = [("leukotrack track (CLI)", [a.leukotrack, "track", rec, "-o", out, "--quiet"],
             os.path.join(out, "tracks.csv"))]
    if bindings() is not None:
        out_py = os.path.join(work, "e2e_py")
        code = ("import sys, leukotrack as lt; "
                "lt.track(sys.argv[1], progress=False).save(sys.argv[2])")
        runs.append(("leukotrack.track (Python bindings) + save",
                     [sys.executable, "-c", code, rec, out_py],
                     os.path.join(out_py, "tracks.csv")))
    csv = os.path.join(work, "e2e_peer.csv")
    runs.append(("scikit-image + trackpy.link + imsd",
                 [sys.executable, e2e_peers.__file__, "peer", rec, csv], csv))
    for name, cmd, tracks in runs:
        wall, cpu, rss = child(cmd)
        s = evaluate(a.leukotrack, truth, tracks=tracks)
        rows.append((name, wall, cpu, rss, s))
        log("e2e:", name, "%.2f s" % wall)
    base = rows[0][1]
    table = ["| method | wall s | CPU s | peak RSS MB | wall vs CLI | detection F1 | link F1 "
             "| CTC TRA |", "|---|---|---|---|---|---|---|---|"]
    for name, wall, cpu, rss, s in rows:
        table.append("| %s | %.2f | %.2f | %.0f | %s | %.3f | %.3f | %.3f |" % (
            name, wall, cpu, rss, ratio(wall, base), s["detection"]["f1"], s["link_f1"],
            s["ctc"]["tra"]))
    return table


# ---------------------------------------------------------------- BENCHMARKS.md


def block(stage, header, table):
    return "\n".join(["<!-- peers:%s -->" % stage] + header + [""] + table +
                     ["<!-- /peers:%s -->" % stage])


def update_benchmarks(path, blocks):
    """Replaces each stage's marked block, or appends one at the end of its section."""
    text = open(path, encoding="utf-8").read()
    for stage, b in blocks.items():
        marked = re.compile(r"<!-- peers:%s -->.*?<!-- /peers:%s -->" % (stage, stage), re.S)
        if marked.search(text):
            text = marked.sub(lambda _: b, text)
            continue
        head = SECTIONS[stage]
        at = text.find("\n" + head + "\n")
        if at < 0:
            text = text.rstrip("\n") + "\n\n" + head + "\n\n" + b + "\n"
            continue
        nxt = text.find("\n## ", at + len(head) + 2)
        end = len(text) if nxt < 0 else nxt
        text = text[:end].rstrip("\n") + "\n\n" + b + "\n" + text[end:]
    tmp = path + ".partial"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leukotrack", default=os.path.join(ROOT, "target", "release", "leukotrack"))
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--size", default="256,256,32", help="X,Y,Z voxels of the recording")
    ap.add_argument("--link", default="10000,100000",
                    type=lambda s: [int(x) for x in s.split(",") if x])
    ap.add_argument("--metrics-tracks", type=int, default=2000, help="× 100 points each")
    ap.add_argument("--laptrack-max", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of the fast methods (median)")
    ap.add_argument("--stages", default="segment,link,metrics,e2e")
    ap.add_argument("--skip-slow", action="store_true", help="no trackpy.locate/emsd")
    ap.add_argument("--benchmarks", default=os.path.join(ROOT, "BENCHMARKS.md"))
    ap.add_argument("--no-write", action="store_true", help="print the blocks only")
    ap.add_argument("--command", default=None, help="the command line to record")
    a = ap.parse_args()
    stages = [s for s in a.stages.split(",") if s]
    command = a.command or "benches/peers/run_all.sh " + " ".join(sys.argv[1:])
    load0 = os.getloadavg()
    vers = versions()
    with tempfile.TemporaryDirectory(prefix="leukotrack-peers-") as work:
        sim = os.path.join(work, "sim")
        if "segment" in stages or "e2e" in stages:
            run([a.leukotrack, "synth", "-o", sim, "--frames", str(a.frames), "--size", a.size,
                 "--seed", "21", "--quiet"])
        tables = {}
        for stage in stages:
            t0 = time.perf_counter()
            if stage == "segment":
                tables[stage] = stage_segment(a, sim, work)
            elif stage == "link":
                tables[stage] = stage_link(a, work)
            elif stage == "metrics":
                tables[stage] = stage_metrics(a, work)
            elif stage == "e2e":
                tables[stage] = stage_e2e(a, sim, work)
            else:
                raise SystemExit("unknown stage %s" % stage)
            log("%s done in %.0f s" % (stage, time.perf_counter() - t0))
    load1 = os.getloadavg()
    peers = ", ".join("%s %s" % (k, v) for k, v in vers.items() if v is not None)
    missing = [k for k, v in vers.items() if v is None]
    x, y, z = a.size.split(",")
    inputs = {
        "segment": "the same simulated recording, %s timepoints of %s×%s×%s uint16 voxels "
                   "(%s µm), seed 21; scored by `leukotrack eval --detections` (one-to-one "
                   "within 5 µm)" % (a.frames, x, y, z, VOXEL),
        "link": "noisy detections from the simulator's ground truth (3 %% missed, 2 %% false, "
                "0.5 µm noise), gate 15 µm, gap closing over 3 frames; laptrack up to %s "
                "detections; scored by `leukotrack eval --tracks`" % format(a.laptrack_max, ","),
        "metrics": "3D Gaussian random walks, 100 points each, 30 s apart, sd 2 µm per axis "
                   "and step: the true MSD is 12 µm² × lag; accuracy = the largest relative "
                   "deviation from it over lags 1–20",
        "e2e": "the segmentation stage's recording, end to end; each method a child process "
               "(wall, CPU and peak RSS of that process); scored by `leukotrack eval --tracks`",
    }
    blocks = {}
    for stage, table in tables.items():
        header = [
            "### All tools in one run (`benches/peers/run_all.sh`)",
            "",
            "- Machine: %s; load average %.1f at the start, %.1f at the end (shared machine: "
            "absolute times vary with the load, ratios measured side by side are the useful "
            "part)." % (machine(), load0[0], load1[0]),
            "- Command: `%s`" % command,
            "- Input: %s." % inputs[stage],
            "- Versions: %s%s." % (peers, "; not installed: " + ", ".join(missing)
                                    if missing else ""),
        ]
        blocks[stage] = block(stage, header, table)
        print(blocks[stage] + "\n")
    if not a.no_write:
        update_benchmarks(a.benchmarks, blocks)
        log("updated", a.benchmarks)


if __name__ == "__main__":
    main()
