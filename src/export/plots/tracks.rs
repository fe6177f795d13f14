//! The tracks plot ([`draw_tracks`]): the tracks over the projection (or a blank grid), a
//! scale bar and a legend; and the tracks as polylines, shared with the rose plot.

use std::collections::HashSet;

use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::{
    build_chart, centre_note, draw_mesh, equal_aspect, header, nice_below, num, plot_dims,
    track_rgb, Chart, Drawn, Sty, INK, LEFT_OUT,
};
use super::{check_size, Plot, PlotInput, Projection};
use crate::error::{Error, Result};
use crate::metrics::Analysis;
use crate::table::Tracks;

/// The tracks over the projection (or a blank grid): x and y in µm with the origin at the top
/// left, the image with contrast from its 0.5 % and 99.5 % percentiles, each track a polyline
/// of its own colour with its start marked (and its id when there are few tracks), tracks
/// left out of the analysis in grey, a scale bar and a legend.
pub fn draw_tracks<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
) -> Result<()> {
    check_size(area)?;
    let lines = track_lines(input.tracks, input.metrics)?;
    if let Some(p) = input.projection {
        check_projection(p)?;
    }
    tracks_plot(area, input, &lines).map_err(|e| e.into_error(Plot::Tracks))
}

fn check_projection(p: &Projection) -> Result<()> {
    if !p.pixel_um.iter().all(|v| v.is_finite() && *v > 0.0) {
        return Err(Error::param(
            "pixel_um",
            format!("the projection's pixel size must be > 0 µm, got {:?}", p.pixel_um),
        ));
    }
    if p.image.is_empty() {
        return Err(Error::data("the projection has no pixels"));
    }
    Ok(())
}

/// One track's xy points, sorted by frame; non-finite points break the line.
#[derive(Debug, Clone, Default)]
pub(super) struct TrackLine {
    /// The id as text.
    id: String,
    /// Order of first appearance among all tracks (its colour).
    pub(super) index: usize,
    /// In the analysis (present in the per-track metrics).
    pub(super) analysed: bool,
    /// Runs of consecutive finite points.
    pub(super) runs: Vec<Vec<(f64, f64)>>,
}

impl TrackLine {
    pub(super) fn first(&self) -> Option<(f64, f64)> {
        self.runs.first().and_then(|r| r.first()).copied()
    }
    fn points(&self) -> impl Iterator<Item = &(f64, f64)> {
        self.runs.iter().flatten()
    }
}

pub(super) fn track_lines(tracks: &Tracks, metrics: &Analysis) -> Result<Vec<TrackLine>> {
    let n = tracks.len();
    for (name, len) in [
        ("track_id", tracks.track_id.len()),
        ("x_um", tracks.x_um.len()),
        ("y_um", tracks.y_um.len()),
    ] {
        if len != n {
            return Err(Error::data(format!("column `{name}` has {len} values for {n} rows")));
        }
    }
    let ids = &metrics.track_metrics.track_id;
    let analysed: HashSet<String> = (0..ids.len()).map(|i| ids.label(i)).collect();
    Ok(tracks
        .rows_by_track()
        .into_iter()
        .enumerate()
        .map(|(index, rows)| {
            let id = tracks.track_id.label(rows[0]);
            let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
            let mut current = Vec::new();
            for &r in &rows {
                let (x, y) = (tracks.x_um[r], tracks.y_um[r]);
                if x.is_finite() && y.is_finite() {
                    current.push((x, y));
                } else if !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
            }
            if !current.is_empty() {
                runs.push(current);
            }
            TrackLine { analysed: analysed.contains(&id), id, index, runs }
        })
        .collect())
}

/// The µm extent shown by the tracks plot, `[[x0, x1], [y0, y1]]`: the image, widened to
/// every track point; without an image the tracks with a 5 % margin.
pub(super) fn field_extent(input: &PlotInput, lines: &[TrackLine]) -> [[f64; 2]; 2] {
    let mut ext = [[f64::INFINITY, f64::NEG_INFINITY]; 2];
    for &(x, y) in lines.iter().flat_map(|l| l.points()) {
        ext[0] = [ext[0][0].min(x), ext[0][1].max(x)];
        ext[1] = [ext[1][0].min(y), ext[1][1].max(y)];
    }
    let image = input
        .projection
        .filter(|p| p.pixel_um.iter().all(|v| v.is_finite() && *v > 0.0) && !p.image.is_empty());
    match image {
        Some(p) => {
            let e = p.extent_um();
            for a in 0..2 {
                ext[a] = [ext[a][0].min(e[a][0]), ext[a][1].max(e[a][1])];
            }
        }
        None if ext[0][0].is_finite() => {
            let pad = 0.05 * (ext[0][1] - ext[0][0]).max(ext[1][1] - ext[1][0]).max(10.0);
            for r in &mut ext {
                *r = [r[0] - pad, r[1] + pad];
            }
        }
        None => ext = [[0.0, 100.0], [0.0, 100.0]],
    }
    ext
}

fn tracks_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
    lines: &[TrackLine],
) -> Drawn {
    let st = Sty::of(area);
    area.fill(&WHITE)?;
    let n_in = lines.iter().filter(|l| l.analysed).count();
    let n_out = lines.len() - n_in;
    let frames = input.tracks.frame.iter().copied().max().map_or(0, |f| f + 1);
    let mut subtitle = format!("{} tracks", lines.len());
    if n_out > 0 {
        subtitle += &format!(" ({n_in} analysed, {n_out} left out)");
    }
    if frames > 0 {
        subtitle += &format!(" over {frames} frames");
    }
    if let Some(dt) = input.metrics.summary.frame_interval_s {
        subtitle += &format!(", {} s per frame", num(dt));
    }
    subtitle += match input.projection {
        Some(_) => " · image: maximum-intensity projection",
        None => " · no image",
    };
    let title = format!("{} — tracks", input.title);
    let body = header(area, &st, &title, &subtitle)?;
    let on_image = input.projection.is_some();
    let labelled = lines.len() <= 30;
    let entries = tracks_legend_entries(lines, n_in, n_out, on_image, labelled);
    let (chart_area, legend_area) = {
        let (w, h) = body.dim_in_pixel();
        let (_, legend_h) = legend_layout(&body, &st, &entries, w as i32)?;
        body.split_vertically(h as i32 - legend_h.max(st.px(24.0)))
    };

    let field = field_extent(input, lines);
    let (xr, yr) = equal_aspect(field[0], field[1], plot_dims(&chart_area, &st)?);
    // y runs down (origin at the top left): the range's start is drawn at the bottom.
    let mut chart = build_chart(&chart_area, &st, xr[0]..xr[1], yr[1]..yr[0])?;
    if let Some(p) = input.projection {
        let e = p.extent_um();
        let (x0, y0) = chart.backend_coord(&(e[0][0], e[1][0]));
        let (x1, y1) = chart.backend_coord(&(e[0][1], e[1][1]));
        let (w, h) = ((x1 - x0).max(1) as u32, (y1 - y0).max(1) as u32);
        let rgb = projection_pixels(p, w, h);
        if let Some(img) = BitMapElement::with_owned_buffer((e[0][0], e[1][0]), (w, h), rgb) {
            chart.draw_series(std::iter::once(img))?;
        }
    }
    draw_mesh(&mut chart, &st, "x (µm)", "y (µm)", !on_image, false)?;

    let width = st.upx(2.2);
    let left_out =
        ShapeStyle { color: LEFT_OUT.to_rgba(), filled: false, stroke_width: st.upx(1.4) };
    for line in lines.iter().filter(|l| !l.analysed) {
        for run in &line.runs {
            chart.draw_series(std::iter::once(PathElement::new(run.clone(), left_out)))?;
        }
    }
    for line in lines.iter().filter(|l| l.analysed) {
        let c = track_rgb(line.index, on_image);
        let style = ShapeStyle { color: c.to_rgba(), filled: false, stroke_width: width };
        for run in &line.runs {
            chart.draw_series(std::iter::once(PathElement::new(run.clone(), style)))?;
        }
    }
    // Starts on top of every line: a filled dot ringed in the background's opposite.
    let ring = if on_image { BLACK } else { WHITE };
    let r = st.px(3.6);
    for line in lines {
        let Some(p) = line.first() else { continue };
        let c = if line.analysed { track_rgb(line.index, on_image) } else { LEFT_OUT };
        chart.draw_series([
            Circle::new(p, r + st.px(1.3), ring.filled()),
            Circle::new(p, r, c.filled()),
        ])?;
    }
    // Ids beside the starts when there are few tracks.
    if labelled {
        let plot = chart.plotting_area();
        for line in lines {
            let Some(p) = line.first() else { continue };
            let (x, y) = chart.backend_coord(&p);
            let (ox, oy) = plot.get_base_pixel();
            let pos = (x - ox + st.px(7.0), y - oy - st.px(18.0));
            let c = if line.analysed { track_rgb(line.index, on_image) } else { LEFT_OUT };
            let strip = plot.strip_coord_spec();
            let shadow = (pos.0 + st.px(1.0), pos.1 + st.px(1.0));
            strip.draw_text(&line.id, &st.text(14.0, ring), shadow)?;
            strip.draw_text(&line.id, &st.text(14.0, c), pos)?;
        }
    }
    scale_bar(&chart, &st, xr, on_image)?;
    if lines.is_empty() {
        centre_note(&chart, &st, "no tracks")?;
    }
    tracks_legend(&legend_area, &st, &entries, on_image)?;
    Ok(())
}

/// A scale bar of 1, 2 or 5 × 10^k µm (about a sixth of the width) at the bottom right.
fn scale_bar<DB: DrawingBackend>(
    chart: &Chart<DB>,
    st: &Sty,
    xr: [f64; 2],
    on_image: bool,
) -> Drawn {
    let len_um = nice_below((xr[1] - xr[0]) / 6.0);
    let plot = chart.plotting_area().strip_coord_spec();
    let (w, h) = plot.dim_in_pixel();
    let len_px = (len_um / (xr[1] - xr[0]) * w as f64).round() as i32;
    let (x1, y1) = (w as i32 - st.px(24.0), h as i32 - st.px(22.0));
    let ink = if on_image { WHITE } else { INK };
    let label = format!("{} µm", num(len_um));
    if on_image {
        // A dark backing, so the bar reads over bright cells too.
        let (tw, th) = plot.estimate_text_size(&label, &st.text(15.0, INK))?;
        let left = (x1 - len_px).min(x1 - tw as i32) - st.px(8.0);
        plot.draw(&Rectangle::new(
            [(left, y1 - th as i32 - st.px(18.0)), (x1 + st.px(8.0), y1 + st.px(10.0))],
            BLACK.mix(0.45).filled(),
        ))?;
    }
    plot.draw(&Rectangle::new(
        [(x1 - len_px, y1 - st.px(3.0)), (x1, y1 + st.px(2.0))],
        ink.filled(),
    ))?;
    let style = st.text(15.0, ink).pos(Pos::new(HPos::Center, VPos::Bottom));
    plot.draw_text(&label, &style, (x1 - len_px / 2, y1 - st.px(8.0)))?;
    Ok(())
}

/// What an entry of the tracks plot's legend shows before its text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Swatch {
    /// Three short lines in the first three track colours.
    Tracks,
    /// A grey line.
    LeftOut,
    /// A start marker.
    Start,
    /// Nothing (a note).
    Note,
}

/// The entries of the tracks plot's legend.
fn tracks_legend_entries(
    lines: &[TrackLine],
    n_in: usize,
    n_out: usize,
    on_image: bool,
    labelled: bool,
) -> Vec<(Swatch, String)> {
    let mut entries = Vec::new();
    if n_in > 0 {
        let label = if labelled { ", labelled with its id" } else { "" };
        entries.push((Swatch::Tracks, format!("a track, one colour each{label} (n = {n_in})")));
    }
    if n_out > 0 {
        entries.push((Swatch::LeftOut, format!("left out of the analysis (n = {n_out})")));
    }
    if !lines.is_empty() {
        entries.push((Swatch::Start, "start of a track".to_string()));
    }
    if on_image {
        let note = "image: grey levels from its 0.5 % to its 99.5 % percentile";
        entries.push((Swatch::Note, note.to_string()));
    }
    entries
}

/// Left ends (swatch's left centre) of the legend entries flowed into rows of width `width`,
/// and the height the rows take, pixels.
fn legend_layout<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Sty,
    entries: &[(Swatch, String)],
    width: i32,
) -> Drawn<(Vec<(i32, i32)>, i32)> {
    let (x0, y0, row) = (st.px(94.0), st.px(14.0), st.px(30.0));
    let (mut x, mut y) = (x0, y0);
    let mut at = Vec::with_capacity(entries.len());
    for (swatch, text) in entries {
        let tw = area.estimate_text_size(text, &st.text(15.0, INK))?.0 as i32;
        let lead = if *swatch == Swatch::Note { 0 } else { st.px(42.0) };
        let need = lead + tw + st.px(26.0);
        if x + need > width - st.px(16.0) && x > x0 {
            x = x0;
            y += row;
        }
        at.push((x, y));
        x += need;
    }
    let height = if entries.is_empty() { 0 } else { y + row / 2 + st.px(10.0) };
    Ok((at, height))
}

/// The legend strip under the tracks plot.
fn tracks_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Sty,
    entries: &[(Swatch, String)],
    on_image: bool,
) -> Drawn {
    let (w, _) = area.dim_in_pixel();
    let (at, _) = legend_layout(area, st, entries, w as i32)?;
    let swatch = st.px(34.0);
    let line_style =
        |c: RGBColor| ShapeStyle { color: c.to_rgba(), filled: false, stroke_width: st.upx(2.2) };
    let back = if on_image { RGBColor(70, 70, 70) } else { WHITE };
    let left = Pos::new(HPos::Left, VPos::Center);
    for ((kind, text), &(x, y)) in entries.iter().zip(&at) {
        let text_x = if *kind == Swatch::Note { x } else { x + st.px(42.0) };
        area.draw_text(text, &st.text(15.0, INK).pos(left), (text_x, y))?;
        if *kind == Swatch::Note {
            continue;
        }
        area.draw(&Rectangle::new(
            [(x - st.px(3.0), y - st.px(10.0)), (x + swatch + st.px(3.0), y + st.px(10.0))],
            back.filled(),
        ))?;
        match kind {
            Swatch::Tracks => {
                let third = swatch / 3;
                for k in 0..3i32 {
                    let c = track_rgb(k as usize, on_image);
                    let rise = st.px(4.0);
                    area.draw(&PathElement::new(
                        vec![
                            (x + k * third, y + rise - k * rise),
                            (x + (k + 1) * third, y - k * rise),
                        ],
                        line_style(c),
                    ))?;
                }
            }
            Swatch::LeftOut => {
                area.draw(&PathElement::new(vec![(x, y), (x + swatch, y)], line_style(LEFT_OUT)))?;
            }
            Swatch::Start => {
                let c = (x + swatch / 2, y);
                let ring = if on_image { BLACK } else { WHITE };
                area.draw(&Circle::new(c, st.px(6.0), ring.filled()))?;
                area.draw(&Circle::new(c, st.px(4.5), track_rgb(0, on_image).filled()))?;
            }
            Swatch::Note => {}
        }
    }
    Ok(())
}

/// The projection as RGB pixels of a `w` × `h` rectangle: grey levels from the 0.5 % and
/// 99.5 % percentiles of its finite values, box-averaged when shrunk, nearest when enlarged.
fn projection_pixels(p: &Projection, w: u32, h: u32) -> Vec<u8> {
    let (ny, nx) = p.image.dim();
    let (lo, hi) = contrast(&p.image);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let grey = |v: f32| -> f32 {
        if v.is_finite() {
            ((v - lo) / span).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    // Source pixel range of each output column / row.
    let ranges = |n_out: u32, n_in: usize| -> Vec<(usize, usize)> {
        (0..n_out as usize)
            .map(|o| {
                let a = o as f64 * n_in as f64 / n_out as f64;
                let b = (o + 1) as f64 * n_in as f64 / n_out as f64;
                let first = (a.floor() as usize).min(n_in - 1);
                let last = ((b.ceil() as usize).max(first + 1)).min(n_in);
                (first, last)
            })
            .collect()
    };
    let cols = ranges(w, nx);
    let rows = ranges(h, ny);
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for &(r0, r1) in &rows {
        for &(c0, c1) in &cols {
            let mut sum = 0.0f32;
            for r in r0..r1 {
                for c in c0..c1 {
                    sum += grey(p.image[[r, c]]);
                }
            }
            let g = (sum / ((r1 - r0) * (c1 - c0)) as f32 * 255.0).round() as u8;
            out.extend_from_slice(&[g, g, g]);
        }
    }
    out
}

/// The 0.5 % and 99.5 % percentiles of the finite values (0, 1 without any).
fn contrast(image: &Array2<f32>) -> (f32, f32) {
    let mut v: Vec<f32> = image.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    let n = v.len();
    let at = |q: f64| ((n - 1) as f64 * q).round() as usize;
    let (ilo, ihi) = (at(0.005), at(0.995));
    let (_, lo, rest) = v.select_nth_unstable_by(ilo, |a, b| a.total_cmp(b));
    let lo = *lo;
    let hi = if ihi > ilo {
        *rest.select_nth_unstable_by(ihi - ilo - 1, |a, b| a.total_cmp(b)).1
    } else {
        lo
    };
    if hi > lo {
        (lo, hi)
    } else {
        // A flat image, or one whose percentiles meet: the full range.
        let (mn, mx) =
            v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        (mn, if mx > mn { mx } else { mn + 1.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_uses_robust_percentiles() {
        // 1000 values 0..999 and one huge outlier: the outlier does not set the white level.
        let mut v: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        v.push(1e9);
        v.push(f32::NAN);
        let img = Array2::from_shape_vec((1, v.len()), v).unwrap();
        let (lo, hi) = contrast(&img);
        assert_eq!(lo, 5.0); // round(1000 × 0.005)
        assert_eq!(hi, 995.0); // round(1000 × 0.995)
        let flat = Array2::from_elem((4, 4), 7.0f32);
        assert_eq!(contrast(&flat), (7.0, 8.0));
    }
}
