//! Helpers shared by the fuzz targets: the readers take paths, so each input is written to a
//! file in a per-process folder (on `/dev/shm` when there is one) and opened from there.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use leukotrack::Recording;

/// The test TIFF writer of the integration tests, reused to wrap fuzzed metadata in valid
/// pages.
#[allow(dead_code, clippy::all)]
#[path = "../../tests/common/tiffgen.rs"]
pub mod tiffgen;

/// A folder private to this process for the inputs.
pub fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("leukotrack-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz work folder");
        dir
    })
}

/// Writes `bytes` to `name` in the work folder and returns its path.
pub fn write_input(name: &str, bytes: &[u8]) -> PathBuf {
    let path = work_dir().join(name);
    std::fs::write(&path, bytes).expect("write fuzz input");
    path
}

/// Opens `path` and, when it opens, reads a few (t, c) volumes and everything the recording
/// reports: none of it may panic, whatever the file holds.
pub fn open_and_read(path: &Path) {
    let Ok(rec) = Recording::open(path) else { return };
    let shape = rec.shape();
    let _ = (rec.dtype(), rec.stored_dtype(), rec.format(), rec.page_order(), rec.warnings());
    let cal = rec.calibration();
    let _ = cal.voxel_size_um();
    let _ = format!("{rec:?}");
    // Bound the work per input: the first and last timepoints of the first two channels.
    let ts = [0, shape.t.saturating_sub(1)];
    for c in 0..shape.c.min(2) {
        for &t in &ts {
            let _ = rec.volume(t, c);
        }
    }
    // Out of range is an error, never a panic.
    assert!(rec.volume(shape.t, 0).is_err());
}
