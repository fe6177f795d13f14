//! The histograms of per-track values: speed ([`draw_speed`]), straightness
//! ([`draw_straightness`]) and arrest coefficient ([`draw_arrest`]).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{
    build_chart, centre_note, draw_legend, draw_mesh, header, nice_up, num, Drawn, Sty, BAR, MEAN,
    MEDIAN,
};
use super::{check_size, Plot, PlotInput};
use crate::error::Result;

/// Histogram of the track speeds (track length / duration, µm/min), with n, mean and median.
pub fn draw_speed<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
) -> Result<()> {
    check_size(area)?;
    let spec = Hist {
        what: "speed per track",
        values: &input.metrics.track_metrics.speed_um_per_min,
        x_desc: "speed: track length / duration (µm/min)",
        unit: " µm/min",
        unit_range: false,
        note: String::new(),
    };
    hist_plot(area, input, &spec).map_err(|e| e.into_error(Plot::Speed))
}

/// Histogram of the straightness (net displacement / track length, 0–1), with n, mean and
/// median.
pub fn draw_straightness<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
) -> Result<()> {
    check_size(area)?;
    let spec = Hist {
        what: "straightness per track",
        values: &input.metrics.track_metrics.straightness,
        x_desc: "straightness: net displacement / track length",
        unit: "",
        unit_range: true,
        note: "1 = a straight line".to_string(),
    };
    hist_plot(area, input, &spec).map_err(|e| e.into_error(Plot::Straightness))
}

/// Histogram of the arrest coefficient (fraction of a track's steps slower than the arrest
/// threshold, 0–1), with n, mean and median.
pub fn draw_arrest<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
) -> Result<()> {
    check_size(area)?;
    let threshold = input.metrics.summary.config.arrest_threshold_um_per_min;
    let spec = Hist {
        what: "arrest coefficient per track",
        values: &input.metrics.track_metrics.arrest_coefficient,
        x_desc: "arrest coefficient: fraction of steps slower than the threshold",
        unit: "",
        unit_range: true,
        note: format!("arrest threshold {} µm/min", num(threshold)),
    };
    hist_plot(area, input, &spec).map_err(|e| e.into_error(Plot::Arrest))
}

struct Hist<'v> {
    /// "speed per track": the title after the recording's name.
    what: &'static str,
    values: &'v [f64],
    x_desc: &'static str,
    /// " µm/min" or "" for a ratio.
    unit: &'static str,
    /// Values lie in [0, 1].
    unit_range: bool,
    /// Appended to the subtitle.
    note: String,
}

fn hist_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
    h: &Hist,
) -> Drawn {
    let st = Sty::of(area);
    let l = st.px(12.0); // half the length of a legend's line sample
    area.fill(&WHITE)?;
    let mut v: Vec<f64> = h.values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let n_tracks = input.metrics.track_metrics.track_id.len();
    let mean = if n > 0 { v.iter().sum::<f64>() / n as f64 } else { f64::NAN };
    let median = match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    };
    let sd = if n > 1 {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    // Bins: [0, 1] in steps of 0.05 (0.1 for fewer than 50 values), or from 0 in a 1-2-5 step
    // giving about √n bins (8 to 30).
    let (lo, width, bins) = if h.unit_range || n == 0 {
        let w: f64 = if n >= 50 { 0.05 } else { 0.1 };
        (0.0, w, (1.0 / w).round() as usize)
    } else {
        let lo = v.first().copied().unwrap_or(0.0).min(0.0);
        let hi = v.last().copied().unwrap_or(1.0);
        // All values equal (say every cell at 0 µm/min): one unit wide.
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let target = (n as f64).sqrt().clamp(8.0, 30.0);
        let w = nice_up((hi - lo) / target);
        (lo, w, (((hi - lo) / w + 1e-9).floor() as usize + 1).max(1))
    };
    let mut counts = vec![0u64; bins];
    for &x in &v {
        let k = ((x - lo) / width + 1e-9).floor();
        let k = if k < 0.0 { 0 } else { (k as usize).min(bins - 1) };
        counts[k] += 1;
    }
    let x1 = lo + width * bins as f64;
    let c_max = counts.iter().copied().max().unwrap_or(0);
    let y1 = if c_max > 0 { c_max as f64 * 1.32 + 0.5 } else { 1.0 };

    let mut subtitle = if n > 0 {
        format!(
            "n = {n} tracks · mean {}{u} · median {}{u} · SD {}{u}",
            num(mean),
            num(median),
            num(sd),
            u = h.unit
        )
    } else if n_tracks == 0 {
        "no tracks".to_string()
    } else {
        format!("no defined value in {n_tracks} tracks")
    };
    if n > 0 && n < n_tracks {
        subtitle += &format!(" ({} of {n_tracks} undefined)", n_tracks - n);
    }
    if !h.note.is_empty() {
        subtitle += &format!(" · {}", h.note);
    }
    let body = header(area, &st, &format!("{} — {}", input.title, h.what), &subtitle)?;
    let mut chart = build_chart(&body, &st, lo..x1, 0.0..y1)?;
    draw_mesh(&mut chart, &st, h.x_desc, "tracks", true, true)?;
    if n == 0 {
        let note = if n_tracks == 0 && input.tracks.is_empty() {
            "no tracks"
        } else {
            "no defined values"
        };
        return centre_note(&chart, &st, note);
    }
    let edge = ShapeStyle { color: WHITE.to_rgba(), filled: false, stroke_width: st.upx(1.0) };
    let h7 = st.px(7.0);
    chart
        .draw_series(counts.iter().enumerate().filter(|(_, &c)| c > 0).map(|(k, &c)| {
            let a = lo + width * k as f64;
            Rectangle::new([(a, 0.0), (a + width, c as f64)], BAR.filled())
        }))?
        .label(format!("tracks per bin of {}{} (n = {n})", num(width), h.unit))
        .legend(move |(x, y)| Rectangle::new([(x - l, y - h7), (x + l, y + h7)], BAR.filled()));
    chart.draw_series(counts.iter().enumerate().filter(|(_, &c)| c > 0).map(|(k, &c)| {
        let a = lo + width * k as f64;
        Rectangle::new([(a, 0.0), (a + width, c as f64)], edge)
    }))?;
    let top = c_max as f64 * 1.12;
    let mean_style = ShapeStyle { color: MEAN.to_rgba(), filled: false, stroke_width: st.upx(2.6) };
    let median_style =
        ShapeStyle { color: MEDIAN.to_rgba(), filled: false, stroke_width: st.upx(2.6) };
    chart
        .draw_series(LineSeries::new([(mean, 0.0), (mean, top)], mean_style))?
        .label(format!("mean {}{}", num(mean), h.unit))
        .legend(move |(x, y)| PathElement::new(vec![(x - l, y), (x + l, y)], mean_style));
    chart
        .draw_series(DashedLineSeries::new(
            [(median, 0.0), (median, top)],
            st.px(8.0),
            st.px(5.0),
            median_style,
        ))?
        .label(format!("median {}{}", num(median), h.unit))
        .legend(move |(x, y)| PathElement::new(vec![(x - l, y), (x + l, y)], median_style));
    // The legend goes on the side with fewer values.
    let left: u64 = counts[..bins / 2].iter().sum();
    let right: u64 = counts[bins / 2..].iter().sum();
    let pos = if left <= right {
        SeriesLabelPosition::UpperLeft
    } else {
        SeriesLabelPosition::UpperRight
    };
    draw_legend(&mut chart, &st, pos)
}
