//! The one streaming entry over a recording's timepoints: [`frames`], an iterator of each
//! timepoint's volumes and segmentation, in order, reading the next batch of timepoints
//! while the current one is segmented (rayon inside, a few timepoints in memory).

use std::collections::VecDeque;

use rayon::prelude::*;

use super::{empty_detections, segment_frame, SegmentConfig, Segmentation};
use crate::calib::Calibration;
use crate::error::{Error, Result};
use crate::io::{Recording, Volume};
use crate::table::Detections;

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
    pub fn detections(self, mut each: impl FnMut(&Frame) -> Result<()>) -> Result<Detections> {
        let shape = self.recording.shape();
        let mut all = empty_detections(shape.z > 1, shape.c);
        for frame in self {
            let frame = frame?;
            each(&frame)?;
            if frame.t == 0 {
                all = frame.segmentation.detections;
            } else {
                all.append(frame.segmentation.detections)?;
            }
        }
        Ok(all)
    }
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
    let batch = rayon::current_num_threads().max(1);
    let mut it = Frames {
        recording,
        channel,
        cfg: cfg.clone(),
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
