//! The tuner: the main settings searched on a recording's simulated twin (or against cells a
//! user marked), every setting tried scored, the best written as a configuration file
//! ([`tune`]).
//!
//! The search: the given settings (the defaults) first, then a coarse grid — the cell
//! diameter (the estimate, × 0.6, × 0.8, × 1.25, × 1.6), the detector (`hybrid`, `blob`),
//! the gate (derived, or 1.5× and 2.5× the derived speed), gap frames (1, 3) — then a local
//! refinement around the best (its diameter × 0.9 and × 1.1, the `hybrid` threshold × 0.7 and
//! × 1.4, the best gate and gap frames combined with the best detection). The candidates are
//! deterministic and evaluated in parallel (at most `jobs` at a time, each run bounded as one
//! `batch` job is); `budget` caps the runs. The score on a twin is the mean of detection F1,
//! link F1 and TRA; against marked cells, detection F1 within 10 µm of them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::{self, EvalConfig};
use crate::io::write::write_atomic;
use crate::pipeline::{self, Config};
use crate::segment::DetectorConfig;
use crate::table::{Detections, Tracks};
use crate::track::Gate;
use crate::Recording;

/// The default number of settings evaluated (`--budget`).
pub const DEFAULT_BUDGET: usize = 24;
/// A setting replaces the given ones only when it scores this much more (the score's
/// spread between twins of one recording is about this size).
pub const MIN_GAIN: f64 = 0.01;
/// Against marked cells, only detections within this distance of one count, µm.
pub const TRUTH_RADIUS_UM: f64 = 10.0;

/// One setting tried: the values the tuner varies (`None`: the given configuration's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// `segment.cell_diameter_um` (`None`: estimated).
    pub cell_diameter_um: Option<f64>,
    /// The detector's name.
    pub detector: String,
    /// The `hybrid` detector's `threshold_k`.
    pub threshold_k: Option<f64>,
    /// An explicit gate, µm/min (`None`: the given gate).
    pub gate_um_per_min: Option<f64>,
    /// `link.gap_frames`.
    pub gap_frames: u32,
}

impl Candidate {
    /// The configuration `base` with this candidate's values.
    pub fn apply(&self, base: &Config) -> Result<Config> {
        let mut c = base.clone();
        c.segment.cell_diameter_um = self.cell_diameter_um;
        if c.segment.detector.kind() != self.detector {
            c.segment.detector = DetectorConfig::of_kind(&self.detector)?;
        }
        if let (Some(k), DetectorConfig::Hybrid(h)) = (self.threshold_k, &mut c.segment.detector) {
            h.threshold_k = k;
        }
        if let Some(v) = self.gate_um_per_min {
            c.link.gate = Gate::MaxSpeed { um_per_min: v };
        }
        c.link.gap_frames = self.gap_frames;
        c.validate()?;
        Ok(c)
    }
}

/// One row of `tune.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// 0-based, in the order tried; trial 0 is the given settings.
    pub trial: usize,
    /// `default`, `grid` or `refine`.
    pub stage: String,
    /// The setting.
    pub candidate: Candidate,
    /// Detection F1.
    pub detection_f1: f64,
    /// Link recall (NaN against marked cells without tracks).
    pub link_recall: f64,
    /// Link precision.
    pub link_precision: f64,
    /// 2·R·P/(R+P).
    pub link_f1: f64,
    /// CTC DET.
    pub det: f64,
    /// CTC TRA.
    pub tra: f64,
    /// What the search maximises.
    pub score: f64,
    /// Wall time, s.
    pub seconds: f64,
    /// Why the run failed, if it did.
    pub error: Option<String>,
}

/// What the tuner scores against.
pub enum Target {
    /// A simulated twin's exact truth.
    Twin {
        /// Its ground truth.
        truth: Tracks,
    },
    /// Cells a user marked on the recording itself (positions, µm).
    Marked(Detections),
}

/// `tune`'s options.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// Settings evaluated at most (≥ 1).
    pub budget: usize,
    /// Runs at a time (≥ 1).
    pub jobs: usize,
}

/// `expected.json`: the accuracy expected of `best.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Expected {
    /// Detection F1 of the best setting.
    pub detection_f1: f64,
    /// Link F1 (2·R·P/(R+P)).
    pub link_f1: f64,
    /// CTC TRA.
    pub tra: f64,
    /// Link recall and precision.
    pub link_recall: f64,
    /// Link precision.
    pub link_precision: f64,
    /// `twin` or `truth` (marked cells).
    pub on: String,
    /// The trial of `tune.csv`.
    pub trial: usize,
    /// Its setting.
    pub settings: Candidate,
    /// The same scores of the given settings (trial 0).
    pub defaults: Scores,
}

/// Scores of one trial.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scores {
    /// Detection F1.
    pub detection_f1: f64,
    /// Link F1.
    pub link_f1: f64,
    /// CTC TRA.
    pub tra: f64,
}

/// Reads marked cells: a CSV `frame, x_um, y_um[, z_um]`, or a napari Points layer saved as
/// CSV (`index, axis-0, axis-1, …`: (t, y, x), (t, z, y, x) in pixels of the recording),
/// converted with `voxel` `[x, y, z]` µm. Checked against the recording's `shape`
/// `[t, z, y, x]`: an error names the file and the row.
pub fn read_truth(path: &Path, voxel: [f64; 3], shape: [usize; 4]) -> Result<Detections> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let bad = |why: String| Error::data(format!("{}: {why}", path.display()));
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| bad("empty file".into()))?
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect();
    let col = |n: &str| header.iter().position(|h| h == n);
    let napari = col("axis-0").is_some();
    let cols: Vec<usize> = if napari {
        let n = header.iter().filter(|h| h.starts_with("axis-")).count();
        if n < 3 {
            return Err(bad(format!(
                "a napari Points CSV needs axis-0 (t), axis-1…: found {n} axes"
            )));
        }
        (0..n).map(|k| col(&format!("axis-{k}")).unwrap_or(usize::MAX)).collect()
    } else {
        let need = ["frame", "x_um", "y_um"];
        let missing: Vec<&str> = need.iter().copied().filter(|n| col(n).is_none()).collect();
        if !missing.is_empty() {
            return Err(bad(format!(
                "missing column(s) {}: expected frame, x_um, y_um[, z_um] or a napari Points CSV \
                 (index, axis-0, …)",
                missing.join(", ")
            )));
        }
        let mut c =
            vec![col("frame").unwrap_or(0), col("x_um").unwrap_or(0), col("y_um").unwrap_or(0)];
        if let Some(z) = col("z_um") {
            c.push(z);
        }
        c
    };
    let is_3d = shape[1] > 1;
    let mut det = Detections::new(is_3d);
    let [vx, vy, vz] = voxel;
    let ext = [shape[3] as f64 * vx, shape[2] as f64 * vy, shape[1] as f64 * vz];
    for (i, line) in lines.enumerate() {
        let row = i + 2;
        let cells: Vec<&str> = line.split(',').map(|s| s.trim()).collect();
        let num = |k: usize| -> Result<f64> {
            cells.get(k).and_then(|s| s.parse::<f64>().ok()).filter(|v| v.is_finite()).ok_or_else(
                || {
                    bad(format!(
                        "row {row}: column {} is not a number",
                        header.get(k).map_or("?", |h| h.as_str())
                    ))
                },
            )
        };
        let (frame, x, y, z) = if napari {
            let t = num(cols[0])?;
            let v: Vec<f64> = cols[1..].iter().map(|&k| num(k)).collect::<Result<_>>()?;
            match v.len() {
                2 => (t, v[1] * vx, v[0] * vy, None),
                _ => (t, v[2] * vx, v[1] * vy, Some(v[0] * vz)),
            }
        } else {
            (num(cols[0])?, num(cols[1])?, num(cols[2])?, cols.get(3).map(|&k| num(k)).transpose()?)
        };
        let f = frame.round();
        if f < 0.0 || f >= shape[0] as f64 {
            return Err(bad(format!(
                "row {row}: frame {frame} is outside the recording's 0–{}",
                shape[0] - 1
            )));
        }
        // Voxel centres lie in [0, (n − 1)·v]; a voxel's width either side is allowed.
        let outside = |v: f64, e: f64, vox: f64| v < -vox || v > e;
        if outside(x, ext[0], vx)
            || outside(y, ext[1], vy)
            || z.is_some_and(|z| is_3d && outside(z, ext[2], vz))
        {
            return Err(bad(format!(
                "row {row}: position ({x:.1}, {y:.1}{}) µm is outside the volume ({:.1} × {:.1} × {:.1} µm)",
                z.map(|z| format!(", {z:.1}")).unwrap_or_default(),
                ext[0],
                ext[1],
                ext[2]
            )));
        }
        det.push(f as u32, x, y, if is_3d { Some(z.unwrap_or(ext[2] / 2.0)) } else { None });
    }
    if det.is_empty() {
        return Err(bad("no cells in the file".into()));
    }
    Ok(det)
}

fn candidates_grid(base: &Config, d0: f64, gate0: f64) -> Vec<(String, Candidate)> {
    let kind = base.segment.detector.kind().to_string();
    let given = Candidate {
        cell_diameter_um: base.segment.cell_diameter_um,
        detector: kind.clone(),
        threshold_k: None,
        gate_um_per_min: None,
        gap_frames: base.link.gap_frames,
    };
    let mut out = vec![("default".to_string(), given.clone())];
    let mut push = |c: Candidate| {
        if !out.iter().any(|(_, o)| *o == c) {
            out.push(("grid".to_string(), c));
        }
    };
    for f in [0.6, 0.8, 1.25, 1.6] {
        push(Candidate { cell_diameter_um: Some(d0 * f), ..given.clone() });
    }
    for det in ["hybrid", "blob"] {
        for f in [None, Some(0.8), Some(1.25)] {
            push(Candidate {
                detector: det.to_string(),
                cell_diameter_um: f.map(|f| d0 * f).or(given.cell_diameter_um),
                ..given.clone()
            });
        }
    }
    if gate0.is_finite() && gate0 > 0.0 {
        for f in [1.5, 2.5] {
            push(Candidate { gate_um_per_min: Some(gate0 * f), ..given.clone() });
        }
    }
    for g in [1, 3] {
        push(Candidate { gap_frames: g, ..given.clone() });
    }
    out
}

fn refine(best: &Candidate, trials: &[Trial], d0: f64) -> Vec<Candidate> {
    let d = best.cell_diameter_um.unwrap_or(d0);
    let mut out = Vec::new();
    for f in [0.9, 1.1] {
        out.push(Candidate { cell_diameter_um: Some(d * f), ..best.clone() });
    }
    if best.detector == "hybrid" {
        let k = best.threshold_k.unwrap_or(crate::segment::HybridDetector::default().threshold_k);
        for f in [0.7, 1.4] {
            out.push(Candidate { threshold_k: Some(k * f), ..best.clone() });
        }
    }
    // The best linking values found with the best detection.
    let ok = |t: &&Trial| t.error.is_none() && t.score.is_finite();
    let by = |f: &dyn Fn(&Trial) -> bool| {
        trials
            .iter()
            .filter(ok)
            .filter(|t| f(t))
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .cloned()
    };
    if let Some(t) = by(&|t| t.candidate.gate_um_per_min.is_some()) {
        out.push(Candidate { gate_um_per_min: t.candidate.gate_um_per_min, ..best.clone() });
    }
    if let Some(t) = by(&|t| t.candidate.gap_frames != best.gap_frames) {
        out.push(Candidate { gap_frames: t.candidate.gap_frames, ..best.clone() });
    }
    out
}

/// Scores one configuration on the target.
fn evaluate(target: &Target, source: &Path, config: &Config) -> Result<[f64; 6]> {
    let rec = Recording::open_with(source, &config.read.options()?)?;
    let a = pipeline::run(&rec, config, &|_| true)?;
    let ecfg = EvalConfig::default();
    match target {
        Target::Twin { truth, .. } => {
            let s = eval::score_tracks(truth, &a.tracks, &ecfg)?;
            let d = eval::score_detections(truth, &a.detections, &ecfg)?;
            Ok([d.f1, s.link_recall, s.link_precision, s.link_f1, s.ctc.det, s.ctc.tra])
        }
        Target::Marked(marked) => {
            let near = near_marked(&a.detections, marked);
            let truth = Tracks {
                track_id: crate::table::TrackIds::Int((0..marked.len() as u64).collect()),
                frame: marked.frame.clone(),
                t_s: vec![0.0; marked.len()],
                x_um: marked.x_um.clone(),
                y_um: marked.y_um.clone(),
                z_um: marked.z_um.clone(),
                ..Default::default()
            };
            let d = eval::score_detections(&truth, &near, &ecfg)?;
            Ok([d.f1, f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN])
        }
    }
}

/// The detections within [`TRUTH_RADIUS_UM`] of a marked cell of their frame.
fn near_marked(det: &Detections, marked: &Detections) -> Detections {
    let r2 = TRUTH_RADIUS_UM * TRUTH_RADIUS_UM;
    let rows: Vec<usize> = (0..det.len())
        .filter(|&i| {
            (0..marked.len()).any(|j| {
                marked.frame[j] == det.frame[i] && {
                    let dz = match (&det.z_um, &marked.z_um) {
                        (Some(a), Some(b)) => a[i] - b[j],
                        _ => 0.0,
                    };
                    (det.x_um[i] - marked.x_um[j]).powi(2)
                        + (det.y_um[i] - marked.y_um[j]).powi(2)
                        + dz * dz
                        <= r2
                }
            })
        })
        .collect();
    det.take_rows(&rows)
}

fn score(m: &[f64; 6], marked: bool) -> f64 {
    if marked {
        m[0]
    } else {
        (m[0] + m[3] + m[5]) / 3.0
    }
}

/// Runs the search. `base` is the configuration of the real recording (its `read` and
/// `channel` stay in `best.toml`); `run_base` the same for the target's recording (a twin:
/// channel 0, its own calibration). `d0` is the first pass's diameter, `gate0` its gate
/// (µm/min). Writes `dir/tune.csv`, `dir/best.toml`, `dir/expected.json`.
#[allow(clippy::too_many_arguments)]
pub fn tune(
    target: &Target,
    source: &Path,
    base: &Config,
    run_base: &Config,
    d0: f64,
    gate0: f64,
    opts: &TuneOptions,
    dir: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(Vec<Trial>, Expected)> {
    if opts.budget == 0 {
        return Err(Error::param("budget", "must be ≥ 1 (the number of settings evaluated)"));
    }
    let marked = matches!(target, Target::Marked(_));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .map_err(|e| Error::internal(e.to_string()))?;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let run = |list: Vec<(String, Candidate)>, first: usize, total: usize| -> Vec<Trial> {
        pool.install(|| {
            list.into_par_iter()
                .enumerate()
                .map(|(k, (stage, c))| {
                    let t0 = Instant::now();
                    let r = c.apply(run_base).and_then(|cfg| evaluate(target, source, &cfg));
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress(n, total);
                    let (m, error) = match r {
                        Ok(m) => (m, None),
                        Err(e) => ([f64::NAN; 6], Some(e.to_string())),
                    };
                    Trial {
                        trial: first + k,
                        stage,
                        candidate: c,
                        detection_f1: m[0],
                        link_recall: m[1],
                        link_precision: m[2],
                        link_f1: m[3],
                        det: m[4],
                        tra: m[5],
                        score: score(&m, marked),
                        seconds: t0.elapsed().as_secs_f64(),
                        error,
                    }
                })
                .collect()
        })
    };
    let mut grid = candidates_grid(run_base, d0, gate0);
    let n_refine = if opts.budget >= 4 { 6.min(opts.budget / 3) } else { 0 };
    grid.truncate(opts.budget.saturating_sub(n_refine).max(1));
    let total = grid.len() + n_refine;
    let mut trials = run(grid, 0, total);
    if trials[0].error.is_some() {
        return Err(Error::data(format!(
            "the given settings failed on the {}: {}",
            if marked { "recording" } else { "twin" },
            trials[0].error.clone().unwrap_or_default()
        )));
    }
    let best_of = |ts: &[Trial]| -> Trial {
        ts.iter()
            .filter(|t| t.error.is_none() && t.score.is_finite())
            .fold(ts[0].clone(), |b, t| if t.score > b.score { t.clone() } else { b })
    };
    if n_refine > 0 {
        let best = best_of(&trials);
        let mut more: Vec<(String, Candidate)> = Vec::new();
        for c in refine(&best.candidate, &trials, d0) {
            if !trials.iter().any(|t| t.candidate == c) && !more.iter().any(|(_, m)| *m == c) {
                more.push(("refine".into(), c));
            }
        }
        more.truncate(n_refine);
        let first = trials.len();
        trials.extend(run(more, first, total));
    }
    // The given settings stay unless another beats them by more than a twin's run-to-run
    // uncertainty ([`MIN_GAIN`]).
    let best = match best_of(&trials) {
        b if b.score > trials[0].score + MIN_GAIN => b,
        _ => trials[0].clone(),
    };
    let d = &trials[0];
    let expected = Expected {
        detection_f1: best.detection_f1,
        link_f1: best.link_f1,
        tra: best.tra,
        link_recall: best.link_recall,
        link_precision: best.link_precision,
        on: if marked { "truth" } else { "twin" }.into(),
        trial: best.trial,
        settings: best.candidate.clone(),
        defaults: Scores { detection_f1: d.detection_f1, link_f1: d.link_f1, tra: d.tra },
    };
    let best_config = best.candidate.apply(base)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    write_trials(&dir.join("tune.csv"), &trials)?;
    let toml = format!(
        "# leukotrack tune: the best of {} settings on the {} (trial {}; expected.json)\n{}",
        trials.len(),
        expected.on,
        best.trial,
        best_config.to_toml()?
    );
    write_atomic(&dir.join("best.toml"), |w| w.write_all(toml.as_bytes()))?;
    let json =
        serde_json::to_string_pretty(&expected).map_err(|e| Error::internal(e.to_string()))?;
    write_atomic(&dir.join("expected.json"), |w| w.write_all(json.as_bytes()))?;
    Ok((trials, expected))
}

/// `tune.csv`'s columns.
pub const TUNE_COLUMNS: [&str; 16] = [
    "trial",
    "stage",
    "cell_diameter_um",
    "detector",
    "threshold_k",
    "gate_um_per_min",
    "gap_frames",
    "detection_f1",
    "link_recall",
    "link_precision",
    "link_f1",
    "det",
    "tra",
    "score",
    "seconds",
    "error",
];

fn write_trials(path: &Path, trials: &[Trial]) -> Result<()> {
    use crate::table::fmt_f64;
    let f = |v: f64| if v.is_finite() { fmt_f64(v) } else { String::new() };
    let o = |v: Option<f64>| v.map(f).unwrap_or_default();
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let io = |e: csv::Error| std::io::Error::other(e.to_string());
        csv.write_record(TUNE_COLUMNS).map_err(io)?;
        for t in trials {
            let c = &t.candidate;
            csv.write_record([
                t.trial.to_string(),
                t.stage.clone(),
                o(c.cell_diameter_um),
                c.detector.clone(),
                o(c.threshold_k),
                o(c.gate_um_per_min),
                c.gap_frames.to_string(),
                f(t.detection_f1),
                f(t.link_recall),
                f(t.link_precision),
                f(t.link_f1),
                f(t.det),
                f(t.tra),
                f(t.score),
                f(t.seconds),
                t.error.clone().unwrap_or_default(),
            ])
            .map_err(io)?;
        }
        csv.flush()
    })
}

/// What [`tune_recording`] did: the trials, the expectation, and where the twin went.
pub struct TuneReport {
    /// Every setting tried.
    pub trials: Vec<Trial>,
    /// `expected.json`.
    pub expected: Expected,
    /// The twin's folder (`DIR/twin`), when the search ran on a twin.
    pub twin_dir: Option<PathBuf>,
}

/// `leukotrack tune`: a first pass on `recording` with `config`, then the search on its twin
/// (written into `dir/twin/`) or, with `truth` (a CSV of marked cells, [`read_truth`]), on
/// the recording itself; writes `dir/tune.csv`, `dir/best.toml` (the best setting on
/// `config`, for `track --config` and `batch --config`) and `dir/expected.json`. The inputs
/// are checked before anything is written. `progress(done, total)` after each run.
pub fn tune_recording(
    recording: &Recording,
    config: &Config,
    truth: Option<&Path>,
    opts: &TuneOptions,
    dir: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<TuneReport> {
    if opts.budget == 0 {
        return Err(Error::param("budget", "must be ≥ 1 (the number of settings evaluated)"));
    }
    config.validate()?;
    let shape = recording.shape();
    let voxel = recording.calibration().voxel_size_um()?.to_array();
    let marked = match truth {
        Some(p) => Some(read_truth(p, voxel, [shape.t, shape.z, shape.y, shape.x])?),
        None => None,
    };
    let (twin, first) = crate::twin::measure(recording, config)?;
    let d0 = first.summary.segment.cell_diameter_um.unwrap_or(first.qc.median_cell_diameter_um);
    let gate0 = first.summary.link.derived.gate_um_per_min;
    match marked {
        Some(m) => {
            let (trials, expected) = tune(
                &Target::Marked(m),
                recording.path(),
                config,
                config,
                d0,
                gate0,
                opts,
                dir,
                progress,
            )?;
            Ok(TuneReport { trials, expected, twin_dir: None })
        }
        None => {
            let twin_dir = dir.join("twin");
            let sim = crate::twin::write(&twin, recording, &twin_dir)?;
            let run_base = Config {
                channel: 0,
                read: Default::default(),
                drift: Default::default(),
                ..config.clone()
            };
            let target = Target::Twin { truth: sim.truth().clone() };
            let source = twin_dir.join("recording.tif");
            let (trials, expected) =
                tune(&target, &source, config, &run_base, d0, gate0, opts, dir, progress)?;
            Ok(TuneReport { trials, expected, twin_dir: Some(twin_dir) })
        }
    }
}
