//! The rose plot ([`draw_rose`]): the analysed tracks moved to a common origin.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{
    build_chart, centre_note, draw_legend, draw_mesh, equal_aspect, header, num, plot_dims,
    track_rgb, Drawn, Sty, INK,
};
use super::tracks::{track_lines, TrackLine};
use super::{check_size, Plot, PlotInput};
use crate::error::Result;

/// The analysed tracks moved so that each starts at (0, 0) (xy, equal aspect, µm, y down as
/// in the image), each end marked, and a dashed circle whose radius is the mean net xy
/// displacement.
pub fn draw_rose<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
) -> Result<()> {
    check_size(area)?;
    let lines = track_lines(input.tracks, input.metrics)?;
    rose_plot(area, input, &lines).map_err(|e| e.into_error(Plot::Rose))
}

/// Runs of consecutive finite points of a track, µm.
type Runs = Vec<Vec<(f64, f64)>>;

fn rose_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
    lines: &[TrackLine],
) -> Drawn {
    let st = Sty::of(area);
    let l = st.px(12.0); // half the length of a legend's line sample
    let end_r = st.px(3.5);
    area.fill(&WHITE)?;
    // Each analysed track relative to its first point.
    let moved: Vec<(usize, Runs)> = lines
        .iter()
        .filter(|l| l.analysed)
        .filter_map(|l| {
            let (x0, y0) = l.first()?;
            let runs =
                l.runs.iter().map(|r| r.iter().map(|&(x, y)| (x - x0, y - y0)).collect()).collect();
            Some((l.index, runs))
        })
        .collect();
    let net: Vec<f64> = moved
        .iter()
        .filter_map(|(_, runs)| runs.last()?.last().map(|&(x, y)| x.hypot(y)))
        .collect();
    let mean_net =
        if net.is_empty() { f64::NAN } else { net.iter().sum::<f64>() / net.len() as f64 };
    let reach = moved
        .iter()
        .flat_map(|(_, runs)| runs.iter().flatten())
        .fold(0.0f64, |m, &(x, y)| m.max(x.abs()).max(y.abs()));
    let r = if reach > 0.0 { reach * 1.08 } else { 10.0 };

    let subtitle = format!(
        "{} analysed tracks, each moved to start at (0, 0) · xy{}",
        moved.len(),
        if input.metrics.summary.dimensions == 3 { " projection of 3D tracks" } else { "" }
    );
    let body =
        header(area, &st, &format!("{} — tracks from a common origin", input.title), &subtitle)?;
    let (xr, yr) = equal_aspect([-r, r], [-r, r], plot_dims(&body, &st)?);
    let mut chart = build_chart(&body, &st, xr[0]..xr[1], yr[1]..yr[0])?;
    draw_mesh(&mut chart, &st, "Δx (µm)", "Δy (µm), down as in the image", true, false)?;
    let axis = ShapeStyle { color: BLACK.mix(0.35), filled: false, stroke_width: 1 };
    chart.draw_series([
        PathElement::new(vec![(xr[0], 0.0), (xr[1], 0.0)], axis),
        PathElement::new(vec![(0.0, yr[0]), (0.0, yr[1])], axis),
    ])?;
    for (index, runs) in &moved {
        let c = track_rgb(*index, false);
        let style = ShapeStyle { color: c.to_rgba(), filled: false, stroke_width: st.upx(1.8) };
        for run in runs {
            chart.draw_series(std::iter::once(PathElement::new(run.clone(), style)))?;
        }
        if let Some(&end) = runs.last().and_then(|r| r.last()) {
            chart.draw_series(std::iter::once(Circle::new(end, end_r, c.filled())))?;
        }
    }
    if mean_net.is_finite() {
        // (No circle when no track moved, but the legend still says so.)
        let steps = if mean_net > 0.0 { 240 } else { 0 };
        let circle: Vec<(f64, f64)> = (0..=steps)
            .filter(|_| steps > 0)
            .map(|k| {
                let a = k as f64 / steps as f64 * std::f64::consts::TAU;
                (mean_net * a.cos(), mean_net * a.sin())
            })
            .collect();
        let style = ShapeStyle { color: INK.to_rgba(), filled: false, stroke_width: st.upx(2.2) };
        chart
            .draw_series(DashedLineSeries::new(circle, st.px(9.0), st.px(6.0), style))?
            .label(format!("mean net displacement {} µm (n = {})", num(mean_net), net.len()))
            .legend(move |(x, y)| PathElement::new(vec![(x - l, y), (x + l, y)], style));
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label("end of a track")
            .legend(move |c| Circle::new(c, end_r, track_rgb(0, false).filled()));
        draw_legend(&mut chart, &st, SeriesLabelPosition::UpperLeft)?;
    }
    if moved.is_empty() {
        centre_note(&chart, &st, "no tracks")?;
    }
    Ok(())
}
