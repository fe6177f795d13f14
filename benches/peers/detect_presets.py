"""Detection on every simulator preset, the independent simulator's recording and a real
recording: leukotrack's detectors at defaults (only the calibration given) side by side with a
scikit-image pipeline (Gaussian 1 um, background Gaussian 20 um, Otsu, distance-transform
watershed seeded at 0.6 x the median object diameter, regionprops centroids), all scored by
`leukotrack eval` (one-to-one within 5 um; 6 um on the real recording; partly visible cells
neutral where the scene lists them).

    python detect_presets.py LEUKOTRACK SCENE_DIR... [--real CANCER_MIGRATION_DIR]
Each SCENE_DIR holds recording.tif, ground_truth.csv, synth.json (voxel size) and optionally
partial.csv.
"""
import json, os, subprocess, sys, tempfile, time
import numpy as np, pandas as pd, tifffile
from scipy import ndimage as ndi
from skimage import filters, measure, segmentation, feature


def skimage_detect(stack, voxel, out):
    rows = []
    vz, vy, vx = voxel[2], voxel[1], voxel[0]
    for t, vol in enumerate(stack):
        v = vol.astype(np.float32)
        sig = [1.0 / vz, 1.0 / vy, 1.0 / vx] if v.shape[0] > 1 else [0, 1.0 / vy, 1.0 / vx]
        sm = filters.gaussian(v, sigma=sig, preserve_range=True)
        bg = filters.gaussian(v, sigma=[s * 20 for s in sig], preserve_range=True)
        img = sm - bg
        mask = img > filters.threshold_otsu(img)
        dist = ndi.distance_transform_edt(mask, sampling=(vz, vy, vx))
        peaks = feature.peak_local_max(dist, min_distance=max(1, int(3 / vx)), labels=measure.label(mask))
        markers = np.zeros(mask.shape, int)
        if len(peaks):
            markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        lab = segmentation.watershed(-dist, markers, mask=mask)
        for p in measure.regionprops(lab, intensity_image=np.clip(img, 0, None)):
            if p.area * vx * vy * vz < 20:
                continue
            z, y, x = p.centroid_weighted
            rows.append((t, x * vx, y * vy, z * vz))
    pd.DataFrame(rows, columns=["frame", "x_um", "y_um", "z_um"]).to_csv(out, index=False)


def score(lt, truth, det, partial, match):
    cmd = [lt, "eval", "--truth", truth, "--detections", det, "--match-um", str(match), "--json"]
    if partial and os.path.exists(partial):
        cmd += ["--partial", partial]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main():
    lt = sys.argv[1]
    args = sys.argv[2:]
    real = None
    if "--real" in args:
        i = args.index("--real"); real = args[i + 1]; args = args[:i] + args[i + 2:]
    tmp = tempfile.mkdtemp()
    table = []
    scenes = [(d, os.path.basename(d.rstrip("/")), []) for d in args]
    if real:
        scenes.append((real, "real cancer_migration", ["--shape", "48,1,1", "--voxel-size", "1,1,1", "--frame-interval", "60"]))
    for d, name, flags in scenes:
        rec = os.path.join(d, "recording.tif")
        if flags:
            truth = os.path.join(tmp, "truth.csv")
            c = pd.read_csv(os.path.join(d, "reference_centroids.csv"))
            pd.DataFrame({"track_id": range(len(c)), "frame": c.frame, "t_s": c.frame * 60.0,
                          "x_um": c.x_px, "y_um": c.y_px}).to_csv(truth, index=False)
            voxel, match = [1.0, 1.0, 1.0], 6
        else:
            truth = os.path.join(d, "ground_truth.csv")
            sj = os.path.join(d, "synth.json")
            voxel = json.load(open(sj))["voxel_um"] if os.path.exists(sj) else [0.8, 0.8, 3.0]
            match = 5
        partial = os.path.join(d, "partial.csv")
        row = {"scene": name}
        for det in ["hybrid", "blob", "threshold"]:
            out = os.path.join(tmp, det)
            t0 = time.perf_counter()
            subprocess.run([lt, "segment", rec, "-o", out, "--quiet", "--detector", det] + flags, check=True)
            row[f"{det}_s"] = time.perf_counter() - t0
            s = score(lt, truth, os.path.join(out, "detections.csv"), partial, match)
            row[det] = s["f1"]
            if det == "hybrid":
                row["hybrid_P"], row["hybrid_R"] = s["precision"], s["recall"]
                row["phenomena"] = ", ".join(f"{k} {v['recall']:.2f}" for k, v in s.get("by_phenomenon", {}).items()
                                             if k not in ("arrested", "reporter2"))
        t0 = time.perf_counter()
        stack = tifffile.imread(rec)
        if stack.ndim == 5:
            stack = stack[:, :, 0]
        if stack.ndim == 3:
            stack = stack[:, None]
        out = os.path.join(tmp, "sk.csv")
        skimage_detect(stack, voxel, out)
        row["skimage_s"] = time.perf_counter() - t0
        row["skimage"] = score(lt, truth, out, partial, match)["f1"]
        table.append(row)
        print(json.dumps(row), flush=True)
    print()
    print("| scene | hybrid (default) F1 | P | R | blob F1 | threshold F1 | scikit-image F1 | time hybrid / skimage | hybrid recall by phenomenon |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['scene']} | {r['hybrid']:.3f} | {r['hybrid_P']:.3f} | {r['hybrid_R']:.3f} | {r['blob']:.3f} | {r['threshold']:.3f} | {r['skimage']:.3f} | {r['hybrid_s']:.2f} s / {r['skimage_s']:.2f} s | {r['phenomena']} |")


main()
