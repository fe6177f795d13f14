//! The one streaming entry over a recording's timepoints: [`frames`], an iterator of each
//! timepoint's volumes and segmentation, in order, reading the next batch of timepoints
//! while the current one is segmented (rayon inside, a few timepoints in memory).

use std::collections::VecDeque;

use rayon::prelude::*;

use super::{empty_detections, scale, segment_frame, SegmentConfig, Segmentation};
use crate::calib::Calibration;
use crate::error::{Error, Result};
use crate::io::{Recording, Volume};
use crate::table::Detections;

/// What the segmentation of a recording decided and noticed (`summary.json`'s `segment`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SegmentReport {
    /// The cell diameter used, µm: the one given, else the estimate.
    pub cell_diameter_um: Option<f64>,
    /// The diameter estimated from a sample of up to 3 timepoints, µm (`None` when nothing
    /// stands out of them).
    pub estimated_cell_diameter_um: Option<f64>,
    /// Whether the stack is shallower than its cells and was detected on its z projection.
    pub thin_stack: bool,
    /// Timepoints that are constant (empty, all zero, or one value): no detections there.
    pub blank_frames: Vec<usize>,
    /// Warnings in words.
    pub warnings: Vec<String>,
}

/// A given diameter this far from the estimate (either way) is warned about.
const DIAMETER_WARN_RATIO: f64 = 1.5;

/// One segmented timepoint.
#[derive(Debug)]
pub struct Frame {
    /// The timepoint, 0-based.
    pub t: usize,
    /// Its volumes, one per channel, as read.
    pub volumes: Vec<Volume>,
    /// Its segmentation.
    pub segmentation: Segmentation,
}

/// The timepoints of a recording segmented in order ([`frames`]).
pub struct Frames<'a> {
    recording: &'a Recording,
    channel: usize,
    cfg: SegmentConfig,
    report: SegmentReport,
    cal: Calibration,
    batch: usize,
    ready: VecDeque<Result<Frame>>,
    /// The batch read ahead: its first timepoint and each timepoint's volumes (or why they
    /// could not be read), in order.
    ahead: Option<(usize, Vec<Result<Vec<Volume>>>)>,
    done: bool,
}

impl Frames<'_> {
    /// Every timepoint's detections in one table, frame by frame. `each` sees each timepoint
    /// first — its volumes and segmentation, e.g. to write its label image or to accumulate a
    /// projection — and stops the run by returning an error.
    pub fn detections(self, each: impl FnMut(&Frame) -> Result<()>) -> Result<Detections> {
        self.run(each).map(|(d, _)| d)
    }

    /// As [`Frames::detections`], with the [`SegmentReport`] of the run (its blank frames and
    /// their warning included).
    pub fn run(
        mut self,
        mut each: impl FnMut(&Frame) -> Result<()>,
    ) -> Result<(Detections, SegmentReport)> {
        let shape = self.recording.shape();
        let mut all = empty_detections(shape.z > 1, shape.c);
        let mut blank = Vec::new();
        for frame in self.by_ref() {
            let frame = frame?;
            each(&frame)?;
            if frame.segmentation.blank {
                blank.push(frame.t);
            }
            if frame.t == 0 {
                all = frame.segmentation.detections;
            } else {
                all.append(frame.segmentation.detections)?;
            }
        }
        let mut report = self.report;
        if !blank.is_empty() {
            let list: Vec<String> = blank.iter().take(10).map(|t| t.to_string()).collect();
            let more = if blank.len() > 10 {
                format!(" and {} more", blank.len() - 10)
            } else {
                String::new()
            };
            report.warnings.push(format!(
                "{} timepoint(s) are constant (empty, all zero or one value) and have no \
                 detections: {}{more}",
                blank.len(),
                list.join(", ")
            ));
        }
        report.blank_frames = blank;
        Ok((all, report))
    }

    /// The settings every timepoint is segmented with (the estimated diameter filled in).
    pub fn config(&self) -> &SegmentConfig {
        &self.cfg
    }

    /// The report so far: the diameter used and estimated (blank frames come with
    /// [`Frames::run`]).
    pub fn report(&self) -> &SegmentReport {
        &self.report
    }
}

/// The cell diameter of `recording`'s channel `channel` estimated on up to 3 timepoints (the
/// first, the middle and the last), µm.
pub fn estimate_diameter(recording: &Recording, channel: usize) -> Result<Option<f64>> {
    let shape = recording.shape();
    if shape.t == 0 {
        return Ok(None);
    }
    let mut ts = vec![0, shape.t / 2, shape.t - 1];
    ts.dedup();
    let volumes =
        ts.par_iter().map(|&t| recording.volume(t, channel)).collect::<Result<Vec<Volume>>>()?;
    let views: Vec<_> = volumes.iter().map(Volume::view).collect();
    let voxel = recording.calibration().voxel_size_um()?.to_array();
    Ok(scale::estimate_diameter(&views, voxel))
}

/// Segments every timepoint of `recording` in channel `channel` (intensities in every
/// channel), yielding them in order. A batch of as many timepoints as rayon has threads is
/// segmented in parallel while the next one is read: two batches in memory at most. The
/// settings and the channel are checked first; after an error the iterator ends.
pub fn frames<'a>(
    recording: &'a Recording,
    channel: usize,
    cfg: &SegmentConfig,
) -> Result<Frames<'a>> {
    cfg.validate()?;
    let shape = recording.shape();
    if channel >= shape.c {
        return Err(Error::param(
            "channel",
            format!(
                "channel {channel} does not exist: {} has {} channel(s), numbered from 0",
                recording.path().display(),
                shape.c
            ),
        ));
    }
    let estimated = estimate_diameter(recording, channel)?;
    let mut cfg = cfg.clone();
    let mut report = SegmentReport { estimated_cell_diameter_um: estimated, ..Default::default() };
    match (cfg.cell_diameter_um, estimated) {
        (Some(given), Some(est))
            if given / est > DIAMETER_WARN_RATIO || est / given > DIAMETER_WARN_RATIO =>
        {
            report.warnings.push(format!(
                "the estimated cell diameter {est:.1} µm is far from the configured {given:.1} µm \
                 (segment.cell_diameter_um): check the voxel size, or leave the diameter out to \
                 use the estimate"
            ));
        }
        (None, Some(est)) => cfg.cell_diameter_um = Some(est),
        _ => {}
    }
    if let Some(d) = cfg.cell_diameter_um {
        let voxel = recording.calibration().voxel_size_um()?.to_array();
        let (fx, fy) = (shape.x as f64 * voxel[0], shape.y as f64 * voxel[1]);
        if d > fx.min(fy) {
            return Err(Error::param(
                "segment.cell_diameter_um",
                format!(
                    "cells of {d:.1} µm do not fit in the {fx:.1} × {fy:.1} µm field of {}",
                    recording.path().display()
                ),
            ));
        }
        report.thin_stack = scale::is_thin(shape.z, voxel[2], d);
    }
    report.cell_diameter_um = cfg.cell_diameter_um;
    let batch = rayon::current_num_threads().max(1);
    let mut it = Frames {
        recording,
        channel,
        report,
        cfg,
        cal: recording.calibration().clone(),
        batch,
        ready: VecDeque::new(),
        ahead: None,
        done: false,
    };
    if shape.t > 0 {
        it.ahead = Some((0, it.read(0)));
    }
    Ok(it)
}

impl Frames<'_> {
    fn read(&self, start: usize) -> Vec<Result<Vec<Volume>>> {
        let shape = self.recording.shape();
        (start..(start + self.batch).min(shape.t))
            .into_par_iter()
            .map(|t| (0..shape.c).map(|c| self.recording.volume(t, c)).collect())
            .collect()
    }

    /// Segments the batch read ahead while reading the one after it.
    fn refill(&mut self) {
        let Some((start, batch)) = self.ahead.take() else { return };
        let following = start + batch.len();
        let total = self.recording.shape().t;
        let path = self.recording.path();
        let (results, upcoming) = rayon::join(
            || {
                batch
                    .into_par_iter()
                    .enumerate()
                    .map(|(i, volumes)| {
                        let t = start + i;
                        let volumes = volumes?;
                        segment_frame(&volumes, self.channel, t, &self.cal, &self.cfg)
                            .map(|segmentation| Frame { t, volumes, segmentation })
                            .map_err(|e| match e {
                                Error::Frame { path: None, frame, reason } => {
                                    Error::Frame { path: Some(path.to_path_buf()), frame, reason }
                                }
                                other => other,
                            })
                    })
                    .collect::<Vec<_>>()
            },
            || (following < total).then(|| (following, self.read(following))),
        );
        self.ready.extend(results);
        self.ahead = upcoming;
    }
}

impl Iterator for Frames<'_> {
    type Item = Result<Frame>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.ready.is_empty() {
            self.refill();
        }
        let item = self.ready.pop_front();
        match &item {
            None | Some(Err(_)) => {
                self.done = true;
                self.ready.clear();
                self.ahead = None;
            }
            Some(Ok(_)) => {}
        }
        item
    }
}

/// Segments every timepoint of `recording` ([`frames`]) and returns all detections, frame by
/// frame; `progress(t)` is called after timepoint `t` and returning `false` stops the run
/// ([`Error::Interrupted`]).
pub fn segment_recording(
    recording: &Recording,
    channel: usize,
    cfg: &SegmentConfig,
    progress: &dyn Fn(usize) -> bool,
) -> Result<Detections> {
    frames(recording, channel, cfg)?.detections(|frame| match progress(frame.t) {
        true => Ok(()),
        false => Err(Error::Interrupted { stage: "segment".into() }),
    })
}
