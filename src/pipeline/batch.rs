//! Batch runs over many recordings: one results folder per recording, a summary table for
//! all, resumable (a recording whose outputs are complete is skipped), and a failing
//! recording recorded as failed while the batch goes on.
//!
//! A recording's folder is complete when its `manifest.json` — written last, after every
//! other file — names the same input (path, size, modification time), the same
//! configuration (a hash of its canonical JSON) and files that all exist.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{recording_name, Analysis, Config, ProgressFn};
use crate::error::{Error, Result};
use crate::io::series::{glob_match, natural_cmp};
use crate::io::write::write_atomic;
use crate::io::Recording;

/// One recording of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The recording: a TIFF file, or a folder of per-timepoint files (`series`).
    pub path: PathBuf,
    /// Its results folder's name: the path relative to the input root without the
    /// `.tif`/`.ome.tif` suffix (`/` kept, so subfolders nest), made unique.
    pub name: String,
}

fn is_tiff(p: &Path) -> bool {
    let n = p.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    (n.ends_with(".tif") || n.ends_with(".tiff")) && !n.starts_with('.')
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    Ok(v)
}

fn walk(dir: &Path, series: bool, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = read_dir_sorted(dir)?;
    if series && entries.iter().any(|p| p.is_file() && is_tiff(p)) {
        out.push(dir.to_path_buf());
    }
    for p in entries {
        if p.is_dir() {
            walk(&p, series, out)?;
        } else if !series && is_tiff(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// The recordings under `roots`: each a folder (searched recursively: every TIFF file is a
/// recording, or with `series` every folder directly holding TIFF files), a glob pattern
/// (wildcards in the last component) or a file. Errors when nothing is found.
pub fn discover(roots: &[PathBuf], series: bool) -> Result<Vec<Input>> {
    let mut found: Vec<(PathBuf, PathBuf)> = Vec::new(); // (recording, its root)
    for root in roots {
        let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if root.is_dir() {
            let mut v = Vec::new();
            walk(root, series, &mut v)?;
            // A series folder given directly is itself the recording.
            found.extend(v.into_iter().map(|p| (p, root.clone())));
        } else if name.contains(['*', '?', '[']) {
            let dir = root.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            for p in read_dir_sorted(dir)? {
                let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if glob_match(&name, &n) && (p.is_dir() == series) && (series || is_tiff(&p)) {
                    found.push((p, dir.to_path_buf()));
                }
            }
        } else if root.is_file() {
            let dir = root.parent().unwrap_or(Path::new(".")).to_path_buf();
            found.push((root.clone(), dir));
        } else {
            return Err(Error::io(
                root,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file, folder or match"),
            ));
        }
    }
    if found.is_empty() {
        let what = if series { "folders of TIFF files" } else { "TIFF files" };
        return Err(Error::param(
            "input",
            format!(
                "no {what} in {}",
                roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let mut seen_paths = HashSet::new();
    let mut names = HashSet::new();
    let mut inputs = Vec::new();
    for (path, root) in found {
        if !seen_paths.insert(path.clone()) {
            continue;
        }
        let rel = if path == root {
            PathBuf::from(path.file_name().unwrap_or(path.as_os_str()))
        } else {
            path.strip_prefix(&root).map(Path::to_path_buf).unwrap_or_else(|_| path.clone())
        };
        let base = match rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => format!("{}/{}", parent.to_string_lossy(), recording_name(&rel)),
            None => recording_name(&rel),
        };
        let base = base.replace('\\', "/");
        let mut name = base.clone();
        let mut k = 2;
        while !names.insert(name.to_ascii_lowercase()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        inputs.push(Input { path, name });
    }
    Ok(inputs)
}

/// A stable 64-bit FNV-1a hash, as 16 hex digits.
fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The hash of a configuration that decides whether earlier outputs can be reused.
/// The `[study]` table is left out: it does not change a recording's outputs.
pub fn config_hash(config: &Config) -> String {
    let analysis = Config { study: Default::default(), ..config.clone() };
    fnv1a(serde_json::to_string(&analysis).unwrap_or_default().as_bytes())
}

/// Size and modification time of an input (the sum over a folder's files).
fn fingerprint(path: &Path) -> Result<(u64, u64)> {
    let one = |p: &Path| -> Result<(u64, u64)> {
        let m = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        Ok((m.len(), mtime))
    };
    if path.is_dir() {
        let mut size = 0;
        let mut mtime = 0;
        for p in read_dir_sorted(path)? {
            if p.is_file() {
                let (s, t) = one(&p)?;
                size += s;
                mtime = mtime.max(t);
            }
        }
        Ok((size, mtime))
    } else {
        one(path)
    }
}

/// The outcome of one recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Status {
    /// Analysed in this run.
    #[serde(rename = "done")]
    Done,
    /// Complete outputs from an earlier run with the same input and configuration.
    #[serde(rename = "skipped")]
    Skipped,
    /// An error; the batch went on.
    #[serde(rename = "failed")]
    Failed,
}

impl Status {
    /// `done`, `skipped` or `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }
}

/// One row of `summary.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The results folder's name (relative to the output folder).
    pub name: String,
    /// The recording's path.
    pub path: PathBuf,
    /// What happened.
    pub status: Status,
    /// The error, for a failed recording.
    pub error: Option<String>,
    /// Timepoints.
    pub frames: Option<usize>,
    /// Detections.
    pub detections: Option<usize>,
    /// Tracks.
    pub tracks: Option<usize>,
    /// Tracks the metrics kept.
    pub tracks_analysed: Option<usize>,
    /// Mean over tracks of the track speed, µm/min.
    pub mean_speed_um_per_min: Option<f64>,
    /// Mean over tracks of the straightness.
    pub mean_straightness: Option<f64>,
    /// Mean over tracks of the arrest coefficient.
    pub mean_arrest_coefficient: Option<f64>,
    /// Motility coefficient from the MSD fit, µm²/min.
    pub motility_coefficient_um2_per_min: Option<f64>,
    /// Wall time of the analysis, s (of the run that made the outputs).
    pub seconds: Option<f64>,
    /// The quality-control warnings (`qc.json`'s `warnings`), joined with `; `.
    #[serde(default)]
    pub qc_warnings: Option<String>,
}

impl Row {
    pub(crate) fn failed(input: &Input, e: &Error) -> Self {
        Row {
            name: input.name.clone(),
            path: input.path.clone(),
            status: Status::Failed,
            error: Some(e.to_string()),
            frames: None,
            detections: None,
            tracks: None,
            tracks_analysed: None,
            mean_speed_um_per_min: None,
            mean_straightness: None,
            mean_arrest_coefficient: None,
            motility_coefficient_um2_per_min: None,
            seconds: None,
            qc_warnings: None,
        }
    }

    fn from_analysis(input: &Input, a: &Analysis, seconds: f64) -> Self {
        let finite = |v: f64| v.is_finite().then_some(v);
        let cb = &a.metrics.summary.cell_based;
        Row {
            name: input.name.clone(),
            path: input.path.clone(),
            status: Status::Done,
            error: None,
            frames: Some(a.summary.counts.frames),
            detections: Some(a.summary.counts.detections),
            tracks: Some(a.summary.counts.tracks),
            tracks_analysed: Some(a.summary.counts.tracks_analysed),
            mean_speed_um_per_min: finite(cb.speed_um_per_min.mean),
            mean_straightness: finite(cb.straightness.mean),
            mean_arrest_coefficient: finite(cb.arrest_coefficient.mean),
            motility_coefficient_um2_per_min: finite(
                a.metrics.summary.motility_coefficient_um2_per_min,
            ),
            seconds: Some(seconds),
            qc_warnings: Some(a.qc.warnings.join("; ")),
        }
    }
}

/// `manifest.json` of a complete results folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The crate version that wrote it.
    pub version: String,
    /// The input's path.
    pub input: PathBuf,
    /// The input's size, bytes (summed over a folder's files).
    pub input_size: u64,
    /// The input's modification time, ns since the Unix epoch (the latest of a folder's).
    pub input_mtime_ns: u64,
    /// [`config_hash`] of the effective configuration.
    pub config_hash: String,
    /// The files written, relative to the results folder.
    pub files: Vec<String>,
    /// The summary row.
    pub row: Row,
}

/// The name of the completeness marker in each results folder.
pub const MANIFEST: &str = "manifest.json";

/// Reads `dir/manifest.json` and returns its row when it matches `input` and `hash` and every
/// file it lists exists.
pub fn complete(dir: &Path, input: &Input, hash: &str) -> Option<Row> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
    let m: Manifest = serde_json::from_str(&text).ok()?;
    let (size, mtime) = fingerprint(&input.path).ok()?;
    let ok = m.input == input.path
        && m.input_size == size
        && m.input_mtime_ns == mtime
        && m.config_hash == hash
        && m.files.iter().all(|f| dir.join(f).is_file());
    ok.then(|| Row { status: Status::Skipped, name: input.name.clone(), ..m.row })
}

fn list_files(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<()> {
    for p in read_dir_sorted(dir)? {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name == MANIFEST || name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            list_files(&p, &format!("{prefix}{name}/"), out)?;
        } else {
            out.push(format!("{prefix}{name}"));
        }
    }
    Ok(())
}

/// Analyses one recording into `out_root/<name>/` unless complete outputs are there already;
/// never returns an error (a failure is a [`Status::Failed`] row).
pub fn run_one(input: &Input, out_root: &Path, config: &Config, progress: ProgressFn) -> Row {
    let dir = out_root.join(&input.name);
    let hash = config_hash(config);
    if let Some(row) = complete(&dir, input, &hash) {
        return row;
    }
    match analyse(input, &dir, config, &hash, progress) {
        Ok(row) => row,
        Err(e @ Error::Interrupted { .. }) => Row::failed(input, &e),
        Err(e) => Row::failed(input, &e),
    }
}

fn analyse(
    input: &Input,
    dir: &Path,
    config: &Config,
    hash: &str,
    progress: ProgressFn,
) -> Result<Row> {
    let t0 = Instant::now();
    let (size, mtime) = fingerprint(&input.path)?;
    // An earlier incomplete manifest must not survive a new run.
    match std::fs::remove_file(dir.join(MANIFEST)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(dir, e)),
        _ => {}
    }
    let rec = Recording::open_with(&input.path, &config.read.options()?)?;
    let mut analysis = super::run(&rec, config, progress)?;
    analysis.save(dir, progress)?;
    let row = Row::from_analysis(input, &analysis, t0.elapsed().as_secs_f64());
    let mut files = Vec::new();
    list_files(dir, "", &mut files)?;
    let manifest = Manifest {
        version: env!("CARGO_PKG_VERSION").to_string(),
        input: input.path.clone(),
        input_size: size,
        input_mtime_ns: mtime,
        config_hash: hash.to_string(),
        files,
        row: row.clone(),
    };
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| Error::data(e.to_string()))?;
    write_atomic(&dir.join(MANIFEST), |w| w.write_all(json.as_bytes()))?;
    Ok(row)
}

/// Column names of `summary.csv`, in order.
pub const SUMMARY_COLUMNS: [&str; 14] = [
    "name",
    "path",
    "status",
    "frames",
    "detections",
    "tracks",
    "tracks_analysed",
    "mean_speed_um_per_min",
    "mean_straightness",
    "mean_arrest_coefficient",
    "motility_coefficient_um2_per_min",
    "seconds",
    "error",
    "qc_warnings",
];

/// Writes `summary.csv` (one row per recording, [`SUMMARY_COLUMNS`]) atomically.
pub fn write_summary(path: &Path, rows: &[Row]) -> Result<()> {
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let io = |e: csv::Error| std::io::Error::other(e.to_string());
        csv.write_record(SUMMARY_COLUMNS).map_err(io)?;
        let opt_u = |v: Option<usize>| v.map(|v| v.to_string()).unwrap_or_default();
        let opt_f = |v: Option<f64>| v.map(crate::table::fmt_f64).unwrap_or_default();
        for r in rows {
            csv.write_record([
                r.name.clone(),
                r.path.display().to_string(),
                r.status.name().to_string(),
                opt_u(r.frames),
                opt_u(r.detections),
                opt_u(r.tracks),
                opt_u(r.tracks_analysed),
                opt_f(r.mean_speed_um_per_min),
                opt_f(r.mean_straightness),
                opt_f(r.mean_arrest_coefficient),
                opt_f(r.motility_coefficient_um2_per_min),
                opt_f(r.seconds),
                r.error.clone().unwrap_or_default(),
                r.qc_warnings.clone().unwrap_or_default(),
            ])
            .map_err(io)?;
        }
        csv.flush()
    })
}

/// Memory one recording's analysis needs at most, bytes (a rough upper bound: two batches of
/// as many timepoints as threads, every channel, plus float working copies).
pub fn memory_estimate(path: &Path, config: &Config) -> Option<u64> {
    let rec = Recording::open_with(path, &config.read.options().ok()?).ok()?;
    let s = rec.shape();
    let threads = rayon::current_num_threads() as u64;
    let volume = (s.z * s.y * s.x) as u64;
    let stored = volume * s.c as u64 * rec.dtype().bytes() as u64;
    Some(2 * threads * (stored + 6 * 4 * volume))
}

/// Available memory, bytes (Linux `MemAvailable`), when known.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// How many recordings may run at once: as many as half the available memory holds, at most
/// `max_jobs`, at least 1.
pub fn jobs_for(inputs: &[Input], config: &Config, max_jobs: usize) -> usize {
    let largest = inputs.iter().filter_map(|i| memory_estimate(&i.path, config)).max().unwrap_or(0);
    let fit = match (available_memory(), largest) {
        (Some(avail), l) if l > 0 => (avail / 2 / l) as usize,
        _ => 1,
    };
    fit.clamp(1, max_jobs.max(1))
}

/// Analyses every input with [`run_one`], `jobs` at a time, into `out_root/<name>/`, keeping
/// `out_root/summary.csv` current after each recording; `on_row` sees each row as it is made.
/// Returns the rows in input order (a failure is a row; [`check`] turns failures into an
/// error).
pub fn run_all(
    inputs: &[Input],
    out_root: &Path,
    config: &Config,
    jobs: usize,
    on_row: &(dyn Fn(&Input, &Row) + Sync),
) -> Result<Vec<Row>> {
    if jobs == 0 {
        return Err(Error::param("jobs", "must be ≥ 1"));
    }
    std::fs::create_dir_all(out_root).map_err(|e| Error::io(out_root, e))?;
    let summary = out_root.join("summary.csv");
    let rows: std::sync::Mutex<Vec<Option<Row>>> = std::sync::Mutex::new(vec![None; inputs.len()]);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let written: std::sync::Mutex<Result<()>> = std::sync::Mutex::new(Ok(()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(inputs.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(input) = inputs.get(i) else { break };
                let row = run_one(input, out_root, config, &|_| true);
                on_row(input, &row);
                if let Ok(mut r) = rows.lock() {
                    r[i] = Some(row);
                    let done: Vec<Row> = r.iter().flatten().cloned().collect();
                    if let Err(e) = write_summary(&summary, &done) {
                        if let Ok(mut w) = written.lock() {
                            *w = Err(e);
                        }
                    }
                }
            });
        }
    });
    written.into_inner().map_err(|_| Error::internal("a batch worker panicked"))??;
    let rows: Vec<Row> = rows
        .into_inner()
        .map_err(|_| Error::internal("a batch worker panicked"))?
        .into_iter()
        .flatten()
        .collect();
    write_summary(&summary, &rows)?;
    Ok(rows)
}

/// [`Error::Batch`] when some of `rows` failed, naming the summary table `summary`.
pub fn check(rows: &[Row], summary: &Path) -> Result<()> {
    let failed = rows.iter().filter(|r| r.status == Status::Failed).count();
    if failed > 0 {
        return Err(Error::Batch { failed, total: rows.len(), summary: summary.to_path_buf() });
    }
    Ok(())
}
