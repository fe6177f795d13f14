//! The Cell Tracking Challenge (CTC) result format: `res_track.txt` and one label image
//! `maskTTT.tif` per timepoint (see `../shared/reference/ctc-format.md`), as the CTC's
//! evaluation tools (and py-ctcmetrics, traccuracy) read it.
//!
//! - **Labels.** Each track is cut at its gaps into gap-free segments; each segment is one CTC
//!   track with a label L = 1, 2, … (in order of the tracks' first appearance, then of the
//!   segments in time). A gap-closing link (frames more than 1 apart) becomes a *parent link*:
//!   the segment after the gap has the segment before it as parent P, as the format encodes a
//!   gap. Labels are 16-bit: more than 65535 segments is an error.
//! - **`res_track.txt`.** One line `L B E P` per segment: label, first and last frame (0-based,
//!   inclusive), parent label (0 for none).
//! - **Masks.** `maskTTT.tif`, one per timepoint of the recording (empty ones included), TTT
//!   the frame zero-padded to 3 digits (4 or more for recordings of 1000 frames or more); each
//!   a 16-bit label image of the recording's size (z, y, x), one page per z plane, 0 =
//!   background. The voxels are the segmentation's: every timepoint is segmented again
//!   by the caller (deterministic; [`crate::pipeline::Analysis::save`] does it) and the voxels of each object are given the
//!   label of the segment whose point came from that object; objects in no track are left out
//!   (0).
//!
//! The files are written atomically, the masks first and `res_track.txt` last.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::write::{write_atomic, HyperstackWriter, SampleType};
use crate::io::{Recording, Shape};
use crate::segment::Segmentation;
use crate::table::{Detections, Tracks};

/// One line of `res_track.txt`: a gap-free track segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtcTrack {
    /// Label in the masks, ≥ 1.
    pub label: u16,
    /// First frame (0-based).
    pub begin: u32,
    /// Last frame (inclusive).
    pub end: u32,
    /// Label of the parent segment (the one before a gap), 0 for none.
    pub parent: u16,
}

/// Cuts `tracks` into CTC segments at their gaps. Returns the segments (ordered by label) and
/// the label of each row of `tracks`.
pub fn segments(tracks: &Tracks) -> Result<(Vec<CtcTrack>, Vec<u16>)> {
    tracks.validate()?;
    let mut out: Vec<CtcTrack> = Vec::new();
    let mut row_label = vec![0u16; tracks.len()];
    for rows in tracks.rows_by_track() {
        for (k, &r) in rows.iter().enumerate() {
            let f = tracks.frame[r];
            let starts = k == 0 || f - tracks.frame[rows[k - 1]] > 1;
            if starts {
                let label = u16::try_from(out.len() + 1).map_err(|_| {
                    Error::data(
                        "more than 65535 track segments: the CTC format's 16-bit labels cannot hold them",
                    )
                })?;
                // Within a track the previous segment is the last one pushed.
                let parent = if k > 0 { out.last().map_or(0, |p| p.label) } else { 0 };
                out.push(CtcTrack { label, begin: f, end: f, parent });
            }
            let seg = out.last_mut().expect("a segment was started");
            seg.end = f;
            row_label[r] = seg.label;
        }
    }
    Ok((out, row_label))
}

/// The file name of frame `frame`'s mask in a recording of `n_frames` frames: `mask007.tif`
/// (3 digits; 4 or more when there are 1000 frames or more).
pub fn mask_name(frame: usize, n_frames: usize) -> String {
    let width = if n_frames >= 1000 { (n_frames - 1).to_string().len().max(4) } else { 3 };
    format!("mask{frame:0width$}.tif")
}

/// Writes the CTC result format into a folder, one timepoint at a time: [`Writer::new`] checks
/// the tracks against the detections and the recording, [`Writer::write_frame`] takes each
/// timepoint's segmentation (the one the detections came from: the caller segments again, in
/// order) and writes its `maskTTT.tif`, [`Writer::finish`] writes `res_track.txt`.
pub struct Writer<'a> {
    dir: std::path::PathBuf,
    ctc: Vec<CtcTrack>,
    detections: &'a Detections,
    label_col: &'a [f64],
    det_ctc: Vec<u16>,
    by_frame: Vec<Vec<usize>>,
    shape: Shape,
    calibration: crate::calib::Calibration,
    rec_path: std::path::PathBuf,
}

impl<'a> Writer<'a> {
    /// A writer of the tracks' masks and track file into `dir` (created), for `recording`.
    pub fn new(
        dir: &Path,
        tracks: &Tracks,
        detections: &'a Detections,
        recording: &Recording,
    ) -> Result<Self> {
        let (ctc, row_label) = segments(tracks)?;
        let det_rows = tracks.detection.as_deref().ok_or_else(|| {
            Error::data(
                "the CTC masks need the tracks' `detection` column (the detection of each point)",
            )
        })?;
        detections.validate()?;
        let shape = recording.shape();
        if let Some(i) = (0..tracks.len()).find(|&i| tracks.frame[i] as usize >= shape.t) {
            return Err(Error::data(format!(
                "track {} has a point in frame {}, but the recording has {} frames",
                tracks.track_id.label(i),
                tracks.frame[i],
                shape.t
            )));
        }
        let label_col = detections.column("label").and_then(|c| c.as_f64()).ok_or_else(|| {
            Error::data(
                "the detections have no numeric `label` column: they do not come from the segmentation",
            )
        })?;
        // CTC label of each detection (0: in no track).
        let mut det_ctc = vec![0u16; detections.len()];
        for (r, &d) in det_rows.iter().enumerate() {
            let slot = det_ctc.get_mut(d as usize).ok_or_else(|| {
                Error::data(format!(
                    "track {} frame {} refers to detection {d}, but there are {} detections",
                    tracks.track_id.label(r),
                    tracks.frame[r],
                    detections.len()
                ))
            })?;
            if detections.frame[d as usize] != tracks.frame[r] {
                return Err(Error::data(format!(
                    "track {} has a point in frame {} from detection {d}, which is in frame {}",
                    tracks.track_id.label(r),
                    tracks.frame[r],
                    detections.frame[d as usize]
                )));
            }
            *slot = row_label[r];
        }
        // Detection rows of each frame.
        let mut by_frame: Vec<Vec<usize>> = vec![Vec::new(); shape.t];
        for (i, &f) in detections.frame.iter().enumerate() {
            if f as usize >= shape.t {
                return Err(Error::data(format!(
                    "detection {i} is in frame {f}, but the recording has {} frames",
                    shape.t
                )));
            }
            by_frame[f as usize].push(i);
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(Writer {
            dir: dir.to_path_buf(),
            ctc,
            detections,
            label_col,
            det_ctc,
            by_frame,
            shape,
            calibration: recording.calibration().clone(),
            rec_path: recording.path().to_path_buf(),
        })
    }

    /// Writes `maskTTT.tif` of timepoint `t` from its segmentation `seg`.
    pub fn write_frame(&mut self, t: usize, seg: &Segmentation) -> Result<()> {
        let frame_err = |frame: usize, reason: String| Error::Frame {
            path: Some(self.rec_path.clone()),
            frame,
            reason,
        };
        let rows = self
            .by_frame
            .get(t)
            .ok_or_else(|| frame_err(t, format!("the recording has {} frames", self.shape.t)))?;
        let detections = self.detections;
        let d = &seg.detections;
        let seg_labels = d.column("label").and_then(|c| c.as_f64()).unwrap_or(&[]);
        let n_objects = seg_labels.iter().fold(0usize, |m, &l| m.max(l as usize));
        // Object label -> its row in this frame's segmentation.
        let mut object_row = vec![usize::MAX; n_objects + 1];
        for (j, &l) in seg_labels.iter().enumerate() {
            object_row[l as usize] = j;
        }
        let mut lut = vec![0u16; n_objects + 1];
        let z = |dets: &Detections, i: usize| dets.z_um.as_ref().map_or(0.0, |z| z[i]);
        for &i in rows {
            let l = self.label_col[i];
            let j = if l >= 1.0 && l.fract() == 0.0 && (l as usize) <= n_objects {
                object_row[l as usize]
            } else {
                usize::MAX
            };
            let same = j != usize::MAX
                && (d.x_um[j] - detections.x_um[i]).abs() <= 1e-6
                && (d.y_um[j] - detections.y_um[i]).abs() <= 1e-6
                && (z(d, j) - z(detections, i)).abs() <= 1e-6;
            if !same {
                return Err(frame_err(
                    t,
                    format!(
                        "detection {i} (label {l}) is not an object of this frame's segmentation: \
                         the detections do not come from this recording, channel and segmentation settings"
                    ),
                ));
            }
            lut[l as usize] = self.det_ctc[i];
        }
        let labels = seg.labels();
        let mut present = vec![false; self.ctc.len() + 1];
        let mask = labels.mapv(|v| {
            let c = lut.get(v as usize).copied().unwrap_or(0);
            present[c as usize] = true;
            u32::from(c)
        });
        for &i in rows {
            let c = self.det_ctc[i];
            if c != 0 && !present[c as usize] {
                return Err(frame_err(
                    t,
                    format!("the object of detection {i} has no voxels in the label image"),
                ));
            }
        }
        let path = self.dir.join(mask_name(t, self.shape.t));
        let mask_shape = Shape { t: 1, c: 1, ..self.shape };
        let mut w =
            HyperstackWriter::create(&path, mask_shape, SampleType::U16, &self.calibration)?;
        w.write_labels(&mask)?;
        w.finish()
    }

    /// Writes `res_track.txt` (after the masks).
    pub fn finish(self) -> Result<()> {
        write_atomic(&self.dir.join("res_track.txt"), |w| {
            for s in &self.ctc {
                writeln!(w, "{} {} {} {}", s.label, s.begin, s.end, s.parent)?;
            }
            Ok(())
        })
    }
}

/// Reads a CTC track file (`res_track.txt` or `man_track.txt`): one `L B E P` line per track,
/// separated by spaces or tabs.
pub fn read_track_file(path: impl AsRef<Path>) -> Result<Vec<CtcTrack>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Vec<&str> = line.split_whitespace().collect();
        let bad = || Error::table(path, Some(i as u64 + 1), format!("`{line}` is not `L B E P`"));
        if v.len() != 4 {
            return Err(bad());
        }
        let t = CtcTrack {
            label: v[0].parse().map_err(|_| bad())?,
            begin: v[1].parse().map_err(|_| bad())?,
            end: v[2].parse().map_err(|_| bad())?,
            parent: v[3].parse().map_err(|_| bad())?,
        };
        if t.label == 0 || t.end < t.begin {
            return Err(bad());
        }
        out.push(t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::TrackIds;

    #[test]
    fn gaps_become_parent_links() {
        // Track 5: frames 0,1 | gap | 3,4 | gap | 7; track 2: frames 1,2.
        let tracks = Tracks {
            track_id: TrackIds::Int(vec![5, 5, 2, 2, 5, 5, 5]),
            frame: vec![0, 1, 1, 2, 3, 4, 7],
            t_s: vec![0.0, 1.0, 1.0, 2.0, 3.0, 4.0, 7.0],
            x_um: vec![0.0; 7],
            y_um: vec![0.0; 7],
            ..Default::default()
        };
        let (segs, rows) = segments(&tracks).unwrap();
        let ctc = |label, begin, end, parent| CtcTrack { label, begin, end, parent };
        assert_eq!(segs, vec![ctc(1, 0, 1, 0), ctc(2, 3, 4, 1), ctc(3, 7, 7, 2), ctc(4, 1, 2, 0)]);
        assert_eq!(rows, vec![1, 1, 4, 4, 2, 2, 3]);
    }

    #[test]
    fn mask_names_pad_to_three_or_four_digits() {
        assert_eq!(mask_name(7, 20), "mask007.tif");
        assert_eq!(mask_name(999, 1000), "mask0999.tif");
        assert_eq!(mask_name(12, 12000), "mask00012.tif");
    }
}
