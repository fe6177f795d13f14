//! Each command-line stage gives byte-identical files with 1 and 2 threads and from run to
//! run — the stage by stage complement of the pipeline's determinism test in
//! tests/pipeline.rs. The recording is Deflate-compressed, so its planes are decoded in
//! parallel.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Runs the CLI with `threads` rayon threads; returns every file it wrote in `out`.
fn stage(args: &[&str], out: &Path, threads: usize) -> BTreeMap<String, Vec<u8>> {
    let _ = std::fs::remove_dir_all(out);
    let st = Command::new(env!("CARGO_BIN_EXE_leukotrack"))
        .args(args)
        .arg("-o")
        .arg(out)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .unwrap();
    assert!(st.status.success(), "{args:?}: {}", String::from_utf8_lossy(&st.stderr));
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(out).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            files.insert(
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            );
        }
    }
    assert!(!files.is_empty());
    files
}

fn same_with_1_and_2_threads_and_again(args: &[&str], out: &Path) -> BTreeMap<String, Vec<u8>> {
    let one = stage(args, out, 1);
    let two = stage(args, out, 2);
    let again = stage(args, out, 2);
    for (name, bytes) in &one {
        assert!(two.get(name) == Some(bytes), "{args:?}: {name} differs with 1 and 2 threads");
        assert!(again.get(name) == Some(bytes), "{args:?}: {name} differs from run to run");
    }
    assert_eq!(one.len(), two.len());
    one
}

#[test]
fn every_stage_is_deterministic_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim = d.join("sim");
    let st = Command::new(env!("CARGO_BIN_EXE_leukotrack"))
        .args(["synth", "--frames", "6", "--size", "96,96,12", "--seed", "4", "--deflate"])
        .args(["--touching-pairs", "2", "--quiet", "-o"])
        .arg(&sim)
        .status()
        .unwrap();
    assert!(st.success());
    let rec = sim.join("recording.tif");
    let rec = rec.to_str().unwrap();

    for method in ["blob", "threshold"] {
        let out = d.join(format!("seg_{method}"));
        let files = same_with_1_and_2_threads_and_again(
            &["segment", rec, "--method", method, "--quiet"],
            &out,
        );
        assert!(files["detections.csv"].len() > 200, "{method}: too few detections");
    }
    let det = d.join("seg_blob/detections.csv");
    let det = det.to_str().unwrap();
    for drift in ["none", "median"] {
        let out = d.join(format!("link_{drift}"));
        same_with_1_and_2_threads_and_again(
            &["link", det, "--frame-interval", "30", "--drift", drift],
            &out,
        );
    }
    let tracks = d.join("link_median/tracks.csv");
    same_with_1_and_2_threads_and_again(&["metrics", tracks.to_str().unwrap()], &d.join("metrics"));
}
