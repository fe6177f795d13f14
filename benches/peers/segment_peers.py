"""Segmentation speed and accuracy: leukotrack against the Python pipelines a user would write.

Run through run_segment.sh (it makes the venv and the simulated recording). Every method reads
the same recording (one file, TZYX uint16, 0.8 x 0.8 x 3 um voxels) and writes
frame,x_um,y_um,z_um detections that `leukotrack eval` scores against the simulator's truth
(one-to-one matching within 5 um).

Throughput counts input voxels (t * z * y * x) per wall-clock second of the whole run of each
method (reading the file included), on the machine's cores as each method uses them, and per
CPU-second (user + system time of the process), which does not depend on what else loads the
machine.
"""


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

import argparse
import json
import os
import resource
import subprocess
import time

import numpy as np
import tifffile
from scipy import ndimage as ndi
from skimage import filters, measure

VOXEL = np.array([0.8, 0.8, 3.0])  # x, y, z um


def write_csv(path, rows):
    with open(path, "w") as f:
        f.write("frame,x_um,y_um,z_um\n")
        for r in rows:
            f.write("%d,%.4f,%.4f,%.4f\n" % r)


def skimage_pipeline(stack, robust=True):
    """anisotropic gaussian -> background subtraction -> threshold -> label -> regionprops."""
    rows = []
    sig = 1.0 / VOXEL[::-1]  # 1 um in z, y, x voxels
    for t, vol in enumerate(stack):
        v = vol.astype(np.float32)
        sm = filters.gaussian(v, sigma=sig, preserve_range=True)
        bg = filters.gaussian(v, sigma=20.0 / VOXEL[::-1], preserve_range=True)
        sig_img = sm - bg
        if robust:
            med = np.median(sig_img)
            mad = np.median(np.abs(sig_img - med)) * 1.4826
            thr = med + 6 * mad
        else:
            thr = filters.threshold_otsu(sig_img)
        lab = measure.label(sig_img > thr)
        min_vox = (np.pi / 6 * 10**3 / 8) / np.prod(VOXEL)
        for p in measure.regionprops(lab, intensity_image=np.clip(sig_img, 0, None)):
            if p.area < min_vox:
                continue
            z, y, x = p.centroid_weighted
            rows.append((t, x * VOXEL[0], y * VOXEL[1], z * VOXEL[2]))
    return rows


def trackpy_pipeline(stack):
    import trackpy as tp

    tp.quiet()
    rows = []
    # Feature diameter must be odd, in voxels per axis (z, y, x): about a 10 um cell.
    diam = (5, 13, 13)
    for t, vol in enumerate(stack):
        f = tp.locate(vol.astype(np.float32), diameter=diam, minmass=None, separation=(4, 10, 10),
                      engine="numba" if False else "python", preprocess=True)
        # minmass: keep the brightest features (cells), drop noise peaks.
        if len(f):
            thr = np.percentile(f["mass"], 0) if len(f) < 5 else _otsu(f["mass"].values)
            f = f[f["mass"] > thr]
        for _, r in f.iterrows():
            rows.append((t, r["x"] * VOXEL[0], r["y"] * VOXEL[1], r["z"] * VOXEL[2]))
    return rows


def _otsu(values):
    return filters.threshold_otsu(np.asarray(values, dtype=np.float64))


def score(lt, truth, det):
    out = subprocess.run([lt, "eval", "--truth", truth, "--detections", det, "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--leukotrack", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    rec = os.path.join(a.sim, "recording.tif")
    truth = os.path.join(a.sim, "ground_truth.csv")
    results = []

    for method in ["blob", "threshold"]:
        out = os.path.join(a.work, "lt_" + method)
        t0, c0 = time.perf_counter(), children_cpu()
        subprocess.run([a.leukotrack, "segment", rec, "-o", out, "--detector", method, "--quiet"],
                       check=True)
        secs, cpu = time.perf_counter() - t0, children_cpu() - c0
        results.append(("leukotrack segment --detector " + method, secs, cpu,
                        score(a.leukotrack, truth, os.path.join(out, "detections.csv"))))

    def timed(name, fn):
        t0, c0 = time.perf_counter(), time.process_time()
        stack = tifffile.imread(rec)  # (t, z, y, x)
        rows = fn(stack)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        path = os.path.join(a.work, name.split()[0] + ".csv")
        write_csv(path, rows)
        results.append((name, secs, cpu, score(a.leukotrack, truth, path)))
        return stack.shape

    shape = timed("scikit-image (gaussian, background, median+6*MAD, label, regionprops)",
                  lambda s: skimage_pipeline(s, robust=True))
    timed("scikit-image-otsu (same, Otsu threshold)", lambda s: skimage_pipeline(s, robust=False))
    timed("trackpy.locate 3D (diameter 5,13,13 voxels; Otsu on mass)", trackpy_pipeline)

    voxels = int(np.prod(shape))
    print("Recording: %s (t, z, y, x), %d voxels, %d cores" % (shape, voxels, os.cpu_count()))
    print()
    print("Load average at the end: %.2f %.2f %.2f" % os.getloadavg())
    print()
    print("| method | wall s | Mvoxels/s | CPU s | Mvoxels/CPU-s | F1 | precision | recall "
          "| RMSE xy um | RMSE z um |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, secs, cpu, s in results:
        print("| %s | %.2f | %.1f | %.2f | %.1f | %.3f | %.3f | %.3f | %.2f | %.2f |" % (
            name, secs, voxels / secs / 1e6, cpu, voxels / cpu / 1e6, s["f1"],
            s["precision"] or float("nan"),
            s["recall"] or float("nan"), s["rmse_xy_um"] or float("nan"),
            s["rmse_z_um"] or float("nan")))


if __name__ == "__main__":
    main()
