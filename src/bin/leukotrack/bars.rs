//! Progress bars: one per pipeline stage, hidden when quiet or when stderr is not a terminal.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use leukotrack::pipeline::{Progress, Stage};

/// A bar of `len` frames labelled `msg` (hidden unless `show` and stderr is a terminal).
pub fn frames(show: bool, len: u64, msg: &'static str) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} frames, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(msg);
    bar
}

/// The bars of the pipeline: timepoints with ETA for segmentation and drift, a spinner for
/// the others.
pub struct StageBars {
    show: bool,
    current: Mutex<Option<(Stage, ProgressBar)>>,
}

impl StageBars {
    /// Bars shown when `show` and stderr is a terminal.
    pub fn new(show: bool) -> Self {
        StageBars { show: show && std::io::stderr().is_terminal(), current: Mutex::new(None) }
    }

    /// Reports `p` (always returns `true`: the command line stops on Ctrl-C itself).
    pub fn update(&self, p: Progress) -> bool {
        if !self.show {
            return true;
        }
        let Ok(mut cur) = self.current.lock() else { return true };
        if cur.as_ref().map(|(s, _)| *s) != Some(p.stage) {
            if let Some((_, bar)) = cur.take() {
                bar.finish_and_clear();
            }
            let bar = ProgressBar::new(p.total as u64);
            let template = match p.stage {
                Stage::Segment | Stage::Drift => {
                    "{msg:>9} [{bar:30}] {pos}/{len} timepoints, {elapsed} elapsed, eta {eta}"
                }
                _ => "{msg:>9} {spinner} {elapsed}",
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(p.stage.name());
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            *cur = Some((p.stage, bar));
        }
        if let Some((_, bar)) = cur.as_ref() {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
        }
        true
    }

    /// Clears the last bar.
    pub fn finish(&self) {
        if let Ok(mut cur) = self.current.lock() {
            if let Some((_, bar)) = cur.take() {
                bar.finish_and_clear();
            }
        }
    }
}
