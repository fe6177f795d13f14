//! Exports for other tools: TrackMate XML ([`trackmate`]) and the Cell Tracking Challenge
//! result format ([`ctc`]); and for people: [`plots`] (PNG and SVG). Importers of other
//! tools' tracks are in [`crate::import`].
//!
//! Exported positions are the raw positions (never drift-corrected), in µm with the centre of
//! voxel (i, j, k) at (i·vx, j·vy, k·vz) — the convention of ImageJ and TrackMate — so the
//! tracks overlay the image they came from. Every file is written under a temporary name and
//! renamed into place.

pub mod ctc;
pub mod plots;
pub mod trackmate;

use std::path::{Path, PathBuf};

use crate::io::Recording;

/// The image a TrackMate file refers to (TrackMate's `ImageData`): where Fiji finds it and
/// its size in voxels and timepoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// File name of the image (e.g. `mouse3.tif`).
    pub filename: String,
    /// Folder holding the image, ending in a path separator as ImageJ writes it; empty means
    /// "the folder of the XML file" (TrackMate also looks there when this folder fails).
    pub folder: String,
    /// Width in voxels (x).
    pub width: usize,
    /// Height in voxels (y).
    pub height: usize,
    /// Number of z planes.
    pub nslices: usize,
    /// Number of timepoints.
    pub nframes: usize,
}

impl ImageInfo {
    /// The image of `recording`: its file (for a recording of several files — a folder, a
    /// glob, a Prairie View or OME companion file — the first of them, which is what Fiji
    /// can open), the absolute folder of that file, and the recording's x, y, z and t sizes.
    pub fn from_recording(recording: &Recording) -> Self {
        let path: PathBuf = if recording.path().is_file() && recording.files().count() == 1 {
            recording.path().to_path_buf()
        } else {
            recording
                .files()
                .next()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| recording.path().to_path_buf())
        };
        let filename =
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        let folder = match parent {
            Some(p) => {
                let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
                let mut s = abs.to_string_lossy().into_owned();
                if !s.ends_with(std::path::MAIN_SEPARATOR) {
                    s.push(std::path::MAIN_SEPARATOR);
                }
                s
            }
            None => String::new(),
        };
        let s = recording.shape();
        ImageInfo { filename, folder, width: s.x, height: s.y, nslices: s.z, nframes: s.t }
    }
}

impl From<&Recording> for ImageInfo {
    fn from(recording: &Recording) -> Self {
        ImageInfo::from_recording(recording)
    }
}
