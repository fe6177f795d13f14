//! Long runs: the peak memory of `leukotrack track` (a child process, measured by the kernel
//! through `wait4`) on on-disk recordings of 8 and 32 timepoints is the same — memory is
//! bounded by a few timepoints, never by the length of the recording.
//!
//! A child's `ru_maxrss` also counts the memory of the process that spawned it (at `exec`
//! the kernel keeps the larger of the old and new address spaces' peaks), so `leukotrack` is
//! spawned by a small runner — this test binary started afresh — never by the test process
//! that has just simulated the recordings.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;

use leukotrack::synth::{Simulation, SynthConfig};

/// Runs the command to completion; returns its peak resident memory (kB) and whether it
/// succeeded.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which clippy does not see
fn peak_rss_kb(cmd: &mut Command) -> (u64, bool) {
    let child = cmd.spawn().unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into the two locals.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (usage.ru_maxrss as u64, ok)
}

/// The runner: run by `run_measured` in a fresh process; spawns the command in
/// `LEUKOTRACK_MEASURE` (arguments separated by newlines) and prints its peak memory.
#[test]
fn runner() {
    let Ok(args) = std::env::var("LEUKOTRACK_MEASURE") else { return };
    let mut args = args.lines();
    let mut cmd = Command::new(args.next().unwrap());
    cmd.args(args);
    let (kb, ok) = peak_rss_kb(&mut cmd);
    println!("peak_rss_kb={kb} ok={ok}");
}

/// The peak memory (kB) of a command, spawned by the runner; and whether it succeeded.
fn run_measured(args: &[&std::ffi::OsStr]) -> (u64, bool) {
    let list: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["runner", "--exact", "--nocapture", "--test-threads=1"])
        .env("LEUKOTRACK_MEASURE", list.join("\n"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The report may share a line with the harness's `test runner ... `.
    let at = stdout.find("peak_rss_kb=").expect("runner's report");
    let mut words = stdout[at + "peak_rss_kb=".len()..].split_whitespace();
    (words.next().unwrap().parse().unwrap(), words.next() == Some("ok=true"))
}

fn track_peak(dir: &Path, frames: usize) -> (u64, u64) {
    let rec = dir.join(format!("rec{frames}"));
    // 192×192×16 uint16: 1.2 MB a timepoint, so holding every timepoint of the long
    // recording would add ~28 MB over the short one.
    let cfg = SynthConfig { seed: 3, frames, size: [192, 192, 16], ..SynthConfig::default() };
    Simulation::new(&cfg).unwrap().write(&rec).unwrap();
    let tif = rec.join("recording.tif");
    let bytes = std::fs::metadata(&tif).unwrap().len();
    let out = dir.join(format!("out{frames}"));
    let (kb, ok) = run_measured(&[
        env!("CARGO_BIN_EXE_leukotrack").as_ref(),
        "track".as_ref(),
        tif.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert!(ok, "leukotrack track failed on {frames} timepoints");
    let tracks = std::fs::read_to_string(out.join("tracks.csv")).unwrap();
    let last_frame = tracks
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1)?.parse::<usize>().ok())
        .max()
        .unwrap();
    assert_eq!(last_frame, frames - 1, "tracks reach the last timepoint");
    std::fs::remove_dir_all(&rec).unwrap();
    (kb, bytes)
}

#[test]
fn peak_memory_of_track_does_not_grow_with_the_timepoints() {
    let dir = tempfile::tempdir().unwrap();
    let (short, short_bytes) = track_peak(dir.path(), 8);
    let (long, long_bytes) = track_peak(dir.path(), 32);
    eprintln!(
        "leukotrack track peak RSS: 8 timepoints ({} MB file) {} MB, 32 timepoints ({} MB file) {} MB",
        short_bytes >> 20,
        short >> 10,
        long_bytes >> 20,
        long >> 10
    );
    // 4× the timepoints adds ~28 MB of pixels on disk; the peak may move by a few MB (more
    // detections and tracks, allocator noise), not by the recording's growth.
    let grown = long.saturating_sub(short);
    assert!(
        grown < 10 * 1024,
        "peak RSS 8 timepoints {short} kB, 32 timepoints {long} kB (file {short_bytes} → {long_bytes} bytes)"
    );
}
