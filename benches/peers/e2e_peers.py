"""End to end: leukotrack track against the pipeline a user would write in Python
(scikit-image segmentation per timepoint -> trackpy.link -> pandas/trackpy metrics).

Run through run_e2e.sh (it makes the venv and the simulated recordings). Each method runs
in its own child process; wall time, CPU time and the child's peak RSS are measured from
outside (getrusage of that child alone). Both are scored against the simulator's ground
truth with `leukotrack eval --tracks`.

    python e2e_peers.py --leukotrack BIN --sim DIR [--sim DIR ...] --work DIR
    python e2e_peers.py peer REC OUT_CSV      (the Python pipeline, used as a child)
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

VOXEL = np.array([0.8, 0.8, 3.0])  # x, y, z um
FRAME_S = 30.0


def peer(rec, out_csv):
    """Per timepoint: scikit-image (the segmentation peers' robust pipeline); then
    trackpy.link (3D, search range = 30 um/min x 30 s = 15 um, memory 2 = gap_frames 3),
    then per-track speed/straightness (pandas) and trackpy.imsd up to 20 lags."""
    import pandas as pd
    import tifffile
    import trackpy as tp

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from segment_peers import skimage_pipeline

    tp.quiet()
    rows = []
    with tifffile.TiffFile(rec) as tif:
        nz = tif.imagej_metadata.get("slices", 1)
        nt = len(tif.pages) // nz
        for t in range(nt):
            vol = tif.asarray(key=range(t * nz, (t + 1) * nz))  # one timepoint (z, y, x)
            for r in skimage_pipeline(vol[None], robust=True):
                rows.append((t, r[1], r[2], r[3]))
    f = pd.DataFrame(rows, columns=["frame", "x", "y", "z"])
    traj = tp.link(f, search_range=15.0, memory=2, pos_columns=["x", "y", "z"])
    traj = traj.sort_values(["particle", "frame"])
    g = traj.groupby("particle")
    d = g[["x", "y", "z"]].diff()
    step = np.sqrt((d**2).sum(axis=1))
    traj["step"] = step
    length = traj.groupby("particle")["step"].sum()
    first, last = g[["x", "y", "z"]].first(), g[["x", "y", "z"]].last()
    disp = np.sqrt(((last - first) ** 2).sum(axis=1))
    dur = (g["frame"].last() - g["frame"].first()) * FRAME_S / 60
    _speed = (length / dur).replace([np.inf], np.nan)
    _straight = (disp / length).replace([np.inf], np.nan)
    _msd = tp.imsd(traj, mpp=1.0, fps=1 / FRAME_S, max_lagtime=20, pos_columns=["x", "y", "z"])
    out = pd.DataFrame({
        "track_id": traj["particle"], "frame": traj["frame"],
        "t_s": traj["frame"] * FRAME_S, "x_um": traj["x"], "y_um": traj["y"], "z_um": traj["z"],
    })
    out.to_csv(out_csv, index=False)


def measured(cmd):
    """Runs cmd as a child; returns wall s, CPU s and its peak RSS in MB.

    A child's ru_maxrss also counts the address space of the process that forked it (the
    kernel keeps the larger peak at exec), and this Python process holds numpy, pandas and
    the peers: so the child is started by /usr/bin/time, a small process, when there is one.
    """
    if os.path.exists("/usr/bin/time"):
        with tempfile.NamedTemporaryFile("r", suffix=".time") as f:
            t0 = time.perf_counter()
            r = subprocess.run(["/usr/bin/time", "-o", f.name, "-f", "%U %S %M"] + cmd,
                               stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            if r.returncode != 0:
                raise SystemExit("failed: %s" % " ".join(cmd))
            user, sys_, kb = f.read().split()[-3:]
        return wall, float(user) + float(sys_), int(kb) / 1024
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("failed: %s" % " ".join(cmd))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def score(lt, truth, tracks):
    out = subprocess.run([lt, "eval", "--truth", truth, "--tracks", tracks, "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "peer":
        peer(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--leukotrack", required=True)
    ap.add_argument("--sim", required=True, action="append")
    ap.add_argument("--work", required=True)
    ap.add_argument("--skip-peers", action="store_true", help="leukotrack only")
    a = ap.parse_args()
    print("| recording | method | wall s | CPU s | peak RSS MB | detection F1 | link F1 | CTC TRA |")
    print("|---|---|---|---|---|---|---|---|")
    for sim in a.sim:
        rec = os.path.join(sim, "recording.tif")
        truth = os.path.join(sim, "ground_truth.csv")
        info = json.loads(subprocess.run([a.leukotrack, "info", rec, "--json"], check=True,
                                         capture_output=True, text=True).stdout)
        s = info["shape"]
        label = "%d×%d×%d×%d (t,z,y,x)" % (s["t"], s["z"], s["y"], s["x"])
        out = os.path.join(a.work, "lt_" + os.path.basename(sim))
        runs = [("leukotrack track", [a.leukotrack, "track", rec, "-o", out, "--quiet"],
                 os.path.join(out, "tracks.csv"))]
        if not a.skip_peers:
            csv = os.path.join(a.work, "peer_%s.csv" % os.path.basename(sim))
            runs.append(("scikit-image + trackpy.link + imsd",
                         [sys.executable, os.path.abspath(__file__), "peer", rec, csv], csv))
        for name, cmd, tracks in runs:
            wall, cpu, rss = measured(cmd)
            sc = score(a.leukotrack, truth, tracks)
            print("| %s | %s | %.1f | %.1f | %.0f | %.3f | %.3f | %.3f |" % (
                label, name, wall, cpu, rss, sc["detection"]["f1"], sc["link_f1"],
                sc["ctc"]["tra"]))
            sys.stdout.flush()
    print()
    print("Machine: %d cores; load average at the end %.2f %.2f %.2f" % (
        os.cpu_count(), *os.getloadavg()))


if __name__ == "__main__":
    main()
