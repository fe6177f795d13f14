//! Shared pieces of every plot: drawing errors, the scale of sizes and the colours, number
//! labels, the track colours ([`track_colour`]), the header, and the chart with its mesh,
//! legend and notes.

use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::FAMILY;
use super::Plot;
use crate::error::Error;

/// A drawing failure, with the backend's message.
pub(super) struct DrawErr(pub(super) String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawErr {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawErr(e.to_string())
    }
}

impl DrawErr {
    pub(super) fn into_error(self, plot: Plot) -> Error {
        Error::data(format!("drawing the {} plot: {}", plot.name(), self.0))
    }
}

pub(super) type Drawn<T = ()> = std::result::Result<T, DrawErr>;

/// Sizes at one scale: every length in the plots is `s` × its value at 1000 × 700 pixels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sty {
    s: f64,
}

pub(super) const INK: RGBColor = RGBColor(30, 30, 30);
pub(super) const MUTED: RGBColor = RGBColor(95, 95, 95);
pub(super) const BAR: RGBColor = RGBColor(76, 114, 176);
pub(super) const MEAN: RGBColor = RGBColor(196, 58, 49);
pub(super) const MEDIAN: RGBColor = RGBColor(232, 140, 20);
pub(super) const LEFT_OUT: RGBColor = RGBColor(170, 170, 170);

impl Sty {
    pub(super) fn of<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Self {
        let (w, h) = area.dim_in_pixel();
        Sty { s: ((w as f64 * h as f64).sqrt() / 840.0).clamp(0.45, 4.0) }
    }
    pub(super) fn px(&self, v: f64) -> i32 {
        (v * self.s).round().max(1.0) as i32
    }
    pub(super) fn upx(&self, v: f64) -> u32 {
        self.px(v) as u32
    }
    fn font(&self, size: f64) -> FontDesc<'static> {
        (FAMILY, size * self.s).into_font()
    }
    pub(super) fn text(&self, size: f64, colour: RGBColor) -> TextStyle<'static> {
        self.font(size).color(&colour)
    }
}

/// A number for a label: up to 3 significant digits past the point, no trailing zeros, a
/// true minus sign.
pub(super) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "—".to_string();
    }
    let a = v.abs();
    let decimals = if a == 0.0 || a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        (2 - a.log10().floor() as i32).clamp(2, 6) as usize
    };
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s.replace('-', "−")
}

/// A tick label: the value rounded to 1e-9 of its magnitude, printed as short as possible.
fn tick(v: &f64) -> String {
    let r = (v * 1e9).round() / 1e9;
    let r = if r == 0.0 { 0.0 } else { r };
    format!("{r}").replace('-', "−")
}

/// 1, 2 or 5 × a power of ten, the nearest at or below `v`.
pub(super) fn nice_below(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    let m = v / p;
    (if m >= 5.0 {
        5.0
    } else if m >= 2.0 {
        2.0
    } else {
        1.0
    }) * p
}

/// 1, 2 or 5 × a power of ten, the nearest at or above `v`.
pub(super) fn nice_up(v: f64) -> f64 {
    let b = nice_below(v);
    if b >= v * (1.0 - 1e-12) {
        return b;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&c| c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * p)
}

/// An sRGB colour from OKLCH (lightness 0–1, chroma, hue in degrees), clipped to the gamut.
fn oklch(l: f64, c: f64, h_deg: f64) -> RGBColor {
    let h = h_deg.to_radians();
    let (a, b) = (c * h.cos(), c * h.sin());
    let l_ = l + 0.396_337_777_4 * a + 0.215_803_757_3 * b;
    let m_ = l - 0.105_561_345_8 * a - 0.063_854_172_8 * b;
    let s_ = l - 0.089_484_177_5 * a - 1.291_485_548 * b;
    let (l3, m3, s3) = (l_ * l_ * l_, m_ * m_ * m_, s_ * s_ * s_);
    let lin = [
        4.076_741_662_1 * l3 - 3.307_711_591_3 * m3 + 0.230_969_929_2 * s3,
        -1.268_438_004_6 * l3 + 2.609_757_401_1 * m3 - 0.341_319_396_5 * s3,
        -0.004_196_086_3 * l3 - 0.703_418_614_7 * m3 + 1.707_614_701 * s3,
    ];
    let enc = |x: f64| {
        let x = x.clamp(0.0, 1.0);
        let v = if x <= 0.003_130_8 { 12.92 * x } else { 1.055 * x.powf(1.0 / 2.4) - 0.055 };
        (v * 255.0).round() as u8
    };
    RGBColor(enc(lin[0]), enc(lin[1]), enc(lin[2]))
}

/// Colour of the track that appears `index`-th in the tracks table (0-based, in order of
/// first appearance), as the plots draw it, sRGB: hues a golden angle (137.5°) apart at equal
/// perceived lightness and chroma (OKLCH), so neighbouring tracks differ and no colour
/// dominates; lighter over an image (`over_image`), darker on white. Other views (napari,
/// notebooks) can use it to colour tracks as the plots do.
pub fn track_colour(index: usize, over_image: bool) -> [u8; 3] {
    let RGBColor(r, g, b) = track_rgb(index, over_image);
    [r, g, b]
}

pub(super) fn track_rgb(k: usize, on_image: bool) -> RGBColor {
    let hue = (30.0 + k as f64 * 137.507_764) % 360.0;
    if on_image {
        oklch(0.80, 0.15, hue)
    } else {
        oklch(0.60, 0.16, hue)
    }
}

/// The title and a grey subtitle at the top of `area`; returns the area below them.
pub(super) fn header<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Sty,
    title: &str,
    subtitle: &str,
) -> Drawn<DrawingArea<DB, Shift>> {
    let (head, body) = area.split_vertically(st.px(78.0));
    let width = head.dim_in_pixel().0 as i32 - st.px(32.0);
    fit_text(&head, title, st, 24.0, INK, (st.px(16.0), st.px(12.0)), width)?;
    fit_text(&head, subtitle, st, 16.0, MUTED, (st.px(16.0), st.px(46.0)), width)?;
    Ok(body)
}

/// Draws `text` at `pos` (top left), shrunk (to 70 %) and then cut with "…" to fit `width`.
fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    st: &Sty,
    size: f64,
    colour: RGBColor,
    pos: (i32, i32),
    width: i32,
) -> Drawn {
    let fits = |t: &str, size: f64| -> Drawn<bool> {
        Ok(area.estimate_text_size(t, &st.text(size, INK))?.0 as i32 <= width)
    };
    let mut size = size;
    for _ in 0..6 {
        if fits(text, size)? {
            area.draw_text(text, &st.text(size, colour), pos)?;
            return Ok(());
        }
        size *= 0.94;
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let t: String = chars.iter().collect::<String>() + "…";
        if fits(&t, size)? {
            area.draw_text(&t, &st.text(size, colour), pos)?;
            return Ok(());
        }
    }
    Ok(())
}

pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Margins and label areas of every chart: (top, right, bottom label area, left label area).
fn chart_frame(st: &Sty) -> (i32, i32, u32, u32) {
    (st.px(12.0), st.px(24.0), st.upx(58.0), st.upx(78.0))
}

pub(super) fn build_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    st: &Sty,
    x: Range<f64>,
    y: Range<f64>,
) -> Drawn<Chart<'a, DB>> {
    let (top, right, bottom, left) = chart_frame(st);
    Ok(ChartBuilder::on(area)
        .margin_top(top)
        .margin_right(right)
        .margin_left(st.px(16.0))
        .margin_bottom(st.px(8.0))
        .x_label_area_size(bottom)
        .y_label_area_size(left)
        .build_cartesian_2d(x, y)?)
}

/// Plot-area size of a chart built on `area`, pixels.
pub(super) fn plot_dims<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Sty,
) -> Drawn<(u32, u32)> {
    let probe = build_chart(area, st, 0.0..1.0, 0.0..1.0)?;
    Ok(probe.plotting_area().dim_in_pixel())
}

/// Widens the shorter range so that a µm takes as many pixels on both axes of a `dims`
/// plotting area (ranges as [low, high]).
pub(super) fn equal_aspect(x: [f64; 2], y: [f64; 2], dims: (u32, u32)) -> ([f64; 2], [f64; 2]) {
    let (pw, ph) = (dims.0.max(1) as f64, dims.1.max(1) as f64);
    let per_px = ((x[1] - x[0]) / pw).max((y[1] - y[0]) / ph);
    let grow = |r: [f64; 2], n: f64| {
        let c = (r[0] + r[1]) / 2.0;
        [c - per_px * n / 2.0, c + per_px * n / 2.0]
    };
    (grow(x, pw), grow(y, ph))
}

pub(super) fn draw_mesh<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    st: &Sty,
    x_desc: &str,
    y_desc: &str,
    grid: bool,
    y_counts: bool,
) -> Drawn {
    let fmt = |v: &f64| tick(v);
    // Counts: whole numbers only.
    let count = |v: &f64| if v.fract() == 0.0 { tick(v) } else { String::new() };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(st.text(15.0, INK))
        .axis_desc_style(st.text(17.0, INK))
        .x_label_formatter(&fmt)
        .y_label_formatter(if y_counts { &count } else { &fmt })
        .x_labels(9)
        .y_labels(8)
        .axis_style(ShapeStyle { color: INK.mix(0.7), filled: false, stroke_width: st.upx(1.2) })
        .bold_line_style(ShapeStyle { color: BLACK.mix(0.09), filled: false, stroke_width: 1 })
        .light_line_style(TRANSPARENT)
        .set_all_tick_mark_size(st.px(5.0));
    if !grid {
        mesh.disable_mesh();
    }
    mesh.draw()?;
    Ok(())
}

pub(super) fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    st: &Sty,
    pos: SeriesLabelPosition,
) -> Drawn {
    // plotters sets the upper-left box against the axis: move it in a little.
    let pos = match pos {
        SeriesLabelPosition::UpperLeft => SeriesLabelPosition::Coordinate(st.px(14.0), st.px(10.0)),
        other => other,
    };
    chart
        .configure_series_labels()
        .position(pos)
        .margin(st.px(8.0))
        .legend_area_size(st.px(30.0))
        .label_font(st.text(15.0, INK))
        .background_style(WHITE.mix(0.88))
        .border_style(ShapeStyle { color: BLACK.mix(0.3), filled: false, stroke_width: 1 })
        .draw()?;
    Ok(())
}

/// A big grey note in the middle of the plotting area ("no tracks").
pub(super) fn centre_note<DB: DrawingBackend>(chart: &Chart<DB>, st: &Sty, note: &str) -> Drawn {
    let area = chart.plotting_area().strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    let style = st.text(30.0, MUTED).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(note, &style, (w as i32 / 2, h as i32 / 2))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(7.346), "7.35");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(123.4), "123");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-2.5), "−2.5");
        assert_eq!(num(0.012345), "0.0123");
        assert_eq!(num(f64::NAN), "—");
        assert_eq!(tick(&(0.1 + 0.2)), "0.3");
        assert_eq!(tick(&-20.0), "−20");
        assert_eq!(nice_below(37.0), 20.0);
        assert_eq!(nice_below(5.0), 5.0);
        assert_eq!(nice_up(0.37), 0.5);
        assert_eq!(nice_up(2.0), 2.0);
        assert_eq!(nice_up(5.1), 10.0);
    }

    #[test]
    fn equal_aspect_gives_equal_scales() {
        let (x, y) = equal_aspect([0.0, 100.0], [0.0, 50.0], (400, 400));
        assert_eq!(x, [0.0, 100.0]);
        assert_eq!(y, [-25.0, 75.0]);
    }

    #[test]
    fn track_colours_are_distinct_and_in_gamut() {
        let colours: Vec<RGBColor> = (0..12).map(|k| track_rgb(k, true)).collect();
        for i in 0..colours.len() {
            for j in 0..i {
                let (a, b) = (colours[i], colours[j]);
                let d = (a.0 as i32 - b.0 as i32).abs()
                    + (a.1 as i32 - b.1 as i32).abs()
                    + (a.2 as i32 - b.2 as i32).abs();
                assert!(d > 30, "{i} {j}: {a:?} {b:?}");
            }
        }
        // OKLCH white and black.
        assert_eq!(oklch(1.0, 0.0, 0.0), RGBColor(255, 255, 255));
        assert_eq!(oklch(0.0, 0.0, 0.0), RGBColor(0, 0, 0));
    }
}
