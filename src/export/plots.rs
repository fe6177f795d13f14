//! Plots of a tracking analysis, each as PNG and SVG: the tracks over the max-intensity
//! projection, a rose plot, the MSD with its fit, and the distributions of speed,
//! straightness and arrest coefficient.
//!
//! [`write_all`] writes the six plots into a folder; [`render_png`] and [`render_svg`] give
//! one plot as bytes or text (for a notebook); [`draw`] (or the `draw_*` function of each
//! plot) draws one on any plotters drawing area, at any size of at least
//! [`MIN_SIZE`] pixels.
//!
//! Units as everywhere in the crate: positions in µm (x to the right, y **down**, origin at the
//! top left as in Fiji), lag times in min, speeds in µm/min, the motility coefficient in
//! µm²/min.
//!
//! Text is drawn with a font compiled into the library (a subset of DejaVu Sans), so PNGs have
//! their labels on machines without any system font; SVGs name the `sans-serif` family and
//! leave the glyphs to the viewer.
//!
//! ```
//! use leukotrack::export::plots::{self, PlotInput};
//! use leukotrack::metrics::{self, MetricsConfig};
//! use leukotrack::{TrackIds, Tracks};
//!
//! # fn main() -> leukotrack::Result<()> {
//! let tracks = Tracks {
//!     track_id: TrackIds::Int(vec![1, 1, 1, 2, 2, 2]),
//!     frame: vec![0, 1, 2, 0, 1, 2],
//!     t_s: vec![0.0, 30.0, 60.0, 0.0, 30.0, 60.0],
//!     x_um: vec![10.0, 14.0, 19.0, 40.0, 38.0, 35.0],
//!     y_um: vec![10.0, 12.0, 13.0, 30.0, 33.0, 37.0],
//!     ..Default::default()
//! };
//! let analysis = metrics::analyze(&tracks, &MetricsConfig::default())?;
//! let input = PlotInput { tracks: &tracks, metrics: &analysis, projection: None, title: "demo" };
//! let dir = std::env::temp_dir().join(format!("leukotrack-plots-doc-{}", std::process::id()));
//! let files = plots::write_all(&dir, &input)?;
//! assert_eq!(files.len(), 12); // six plots, PNG and SVG
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```

use std::cell::RefCell;
use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use ndarray::Array2;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::io::write::write_atomic;
use crate::io::Volume;
use crate::metrics::Analysis;
use crate::table::Tracks;

/// A 2D image to draw the tracks over: usually the maximum-intensity projection of the
/// recording over z and time.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// Intensities, (y, x); any scale (the contrast comes from its percentiles). Values that
    /// are not finite are drawn black and ignored by the contrast.
    pub image: Array2<f32>,
    /// Pixel size, µm, `[x, y]`: the centre of pixel (row j, column i) is at (i·px, j·py).
    pub pixel_um: [f64; 2],
}

impl Projection {
    /// An empty projection of `ny` × `nx` pixels (every value −∞), to fill with
    /// [`Projection::include`] one timepoint at a time (memory: one image).
    pub fn empty(ny: usize, nx: usize, pixel_um: [f64; 2]) -> Self {
        Projection { image: Array2::from_elem((ny, nx), f32::NEG_INFINITY), pixel_um }
    }

    /// Takes the maximum of the image and of `volume` (z, y, x) over z, pixel by pixel.
    /// An error when the volume's (y, x) size differs from the image's.
    pub fn include(&mut self, volume: &Volume) -> Result<()> {
        let (_, ny, nx) = volume.dim();
        if (ny, nx) != self.image.dim() {
            return Err(Error::data(format!(
                "projection: a volume of {ny} × {nx} (y × x) pixels does not match the \
                 projection's {} × {}",
                self.image.dim().0,
                self.image.dim().1
            )));
        }
        fn fold<T: Copy + Into<f32>>(img: &mut Array2<f32>, v: &ndarray::Array3<T>) {
            for plane in v.outer_iter() {
                ndarray::Zip::from(&mut *img).and(&plane).for_each(|m, &x| {
                    let x: f32 = x.into();
                    if x > *m {
                        *m = x;
                    }
                });
            }
        }
        match volume {
            Volume::U8(v) => fold(&mut self.image, v),
            Volume::U16(v) => fold(&mut self.image, v),
            Volume::F32(v) => fold(&mut self.image, v),
        }
        Ok(())
    }

    /// The µm extent of the image, `[[x_min, x_max], [y_min, y_max]]`: pixel edges, from
    /// −px/2 to (n − ½)·px on each axis.
    pub fn extent_um(&self) -> [[f64; 2]; 2] {
        let (ny, nx) = self.image.dim();
        let [px, py] = self.pixel_um;
        [[-px / 2.0, (nx as f64 - 0.5) * px], [-py / 2.0, (ny as f64 - 0.5) * py]]
    }
}

/// What the plots show.
#[derive(Debug, Clone, Copy)]
pub struct PlotInput<'a> {
    /// The tracks, raw positions `x_um`, `y_um` (drawn as they are over the image; z is
    /// ignored: the plots are xy projections).
    pub tracks: &'a Tracks,
    /// The motility analysis of these tracks: per-track metrics (the histograms, which tracks
    /// were analysed), the MSD and its fits.
    pub metrics: &'a Analysis,
    /// The image under the tracks; `None`: the tracks on a blank µm grid.
    pub projection: Option<&'a Projection>,
    /// Name of the recording, shown in every title.
    pub title: &'a str,
}

/// One of the plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plot {
    /// The tracks over the projection ([`draw_tracks`]).
    Tracks,
    /// The tracks moved to a common origin ([`draw_rose`]).
    Rose,
    /// MSD against lag time with its fits ([`draw_msd`]).
    Msd,
    /// Histogram of the track speeds ([`draw_speed`]).
    Speed,
    /// Histogram of the straightness ([`draw_straightness`]).
    Straightness,
    /// Histogram of the arrest coefficient ([`draw_arrest`]).
    Arrest,
}

impl Plot {
    /// Every plot, in the order [`write_all`] writes them.
    pub const ALL: [Plot; 6] =
        [Plot::Tracks, Plot::Rose, Plot::Msd, Plot::Speed, Plot::Straightness, Plot::Arrest];

    /// The file stem: `tracks`, `rose`, `msd`, `speed`, `straightness`, `arrest`.
    pub fn name(self) -> &'static str {
        match self {
            Plot::Tracks => "tracks",
            Plot::Rose => "rose",
            Plot::Msd => "msd",
            Plot::Speed => "speed",
            Plot::Straightness => "straightness",
            Plot::Arrest => "arrest",
        }
    }
}

/// Smallest drawing area the plots accept, pixels (width, height).
pub const MIN_SIZE: (u32, u32) = (320, 240);

/// Writes `dir/{tracks,rose,msd,speed,straightness,arrest}.{png,svg}` (creating `dir`), each
/// atomically, and returns the files written (PNG then SVG of each plot, in [`Plot::ALL`]
/// order).
pub fn write_all(dir: &Path, input: &PlotInput) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let jobs: Vec<(Plot, bool)> = Plot::ALL.iter().flat_map(|&p| [(p, true), (p, false)]).collect();
    jobs.par_iter()
        .map(|&(plot, png)| {
            let path = dir.join(format!("{}.{}", plot.name(), if png { "png" } else { "svg" }));
            let bytes =
                if png { render_png(plot, input)? } else { render_svg(plot, input)?.into_bytes() };
            write_atomic(&path, |w| w.write_all(&bytes))?;
            Ok(path)
        })
        .collect()
}

/// The size [`write_all`] gives a plot, pixels (width, height): 1000 × 700 for the MSD and
/// histograms, a square plotting area for the rose, and for the tracks a plotting area with
/// the aspect of the field (equal µm per pixel on both axes).
pub fn canvas_size(plot: Plot, input: &PlotInput) -> (u32, u32) {
    match plot {
        Plot::Tracks => {
            let field =
                field_extent(input, &track_lines(input.tracks, input.metrics).unwrap_or_default());
            let (w, h) = (field[0][1] - field[0][0], field[1][1] - field[1][0]);
            let (long, short_min) = (860.0, 560.0);
            let (pw, ph) = if w >= h {
                (long, (long * h / w).clamp(short_min * 0.6, long))
            } else {
                ((long * w / h).clamp(short_min, long), long)
            };
            // Plot area + the label areas, margins, header and legend of `draw_tracks` at
            // scale 1 (the scale changes little around this size).
            (pw as u32 + 78 + 16 + 24, ph as u32 + 78 + 58 + 20 + 70)
        }
        Plot::Rose => (860, 960),
        _ => (1000, 700),
    }
}

/// One plot as a PNG file's bytes, at [`canvas_size`]. Drawn at twice the size and shrunk,
/// so lines and text are anti-aliased.
pub fn render_png(plot: Plot, input: &PlotInput) -> Result<Vec<u8>> {
    const SUPERSAMPLE: u32 = 2;
    let (w, h) = canvas_size(plot, input);
    let (bw, bh) = (w * SUPERSAMPLE, h * SUPERSAMPLE);
    let mut rgb = vec![255u8; bw as usize * bh as usize * 3];
    {
        let inner = BitMapBackend::with_buffer(&mut rgb, (bw, bh));
        let root = Canvas { inner, raster: true, images: None }.into_drawing_area();
        draw(plot, &root, input)?;
        root.present().map_err(|e| Error::data(format!("{} plot: {e}", plot.name())))?;
    }
    encode_png(&downsample(&rgb, bw, bh, SUPERSAMPLE), w, h, png::ColorType::Rgb)
}

/// One plot as SVG text, at [`canvas_size`]. The projection (tracks plot) is embedded as a
/// PNG image; text names the `sans-serif` family.
pub fn render_svg(plot: Plot, input: &PlotInput) -> Result<String> {
    let size = canvas_size(plot, input);
    let mut svg = String::new();
    let images = Rc::new(RefCell::new(Vec::new()));
    {
        let inner = SVGBackend::with_string(&mut svg, size);
        let backend = Canvas { inner, raster: false, images: Some(images.clone()) };
        let root = backend.into_drawing_area();
        draw(plot, &root, input)?;
        root.present().map_err(|e| Error::data(format!("{} plot: {e}", plot.name())))?;
    }
    let images = images.borrow();
    embed_images(svg, &images)
}

/// Draws `plot` on `area` (any backend, at least [`MIN_SIZE`]).
pub fn draw<DB: DrawingBackend>(
    plot: Plot,
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
) -> Result<()> {
    match plot {
        Plot::Tracks => draw_tracks(area, input),
        Plot::Rose => draw_rose(area, input),
        Plot::Msd => draw_msd(area, input),
        Plot::Speed => draw_speed(area, input),
        Plot::Straightness => draw_straightness(area, input),
        Plot::Arrest => draw_arrest(area, input),
    }
}

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

/// Mean square displacement against lag time (min) with SEM error bars, the linear fit over
/// its lag range (legend: motility coefficient in µm²/min and R²) and, when it converged,
/// Fürth's persistent-random-walk fit.
pub fn draw_msd<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
) -> Result<()> {
    check_size(area)?;
    msd_plot(area, input).map_err(|e| e.into_error(Plot::Msd))
}

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

// ---------------------------------------------------------------------------------------
// Shared pieces: font, scale, errors, colours, numbers.

/// The embedded font (see `assets/fonts/README.md`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

/// The family every text uses (the name SVGs carry).
const FAMILY: &str = "sans-serif";

/// Registers the embedded font under [`FAMILY`], once.
fn ensure_font() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The font is a valid TrueType file checked by the tests: this cannot fail.
            let _ = plotters::style::register_font(FAMILY, style, FONT);
        }
    });
}

/// A drawing failure, with the backend's message.
struct DrawErr(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawErr {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawErr(e.to_string())
    }
}

impl DrawErr {
    fn into_error(self, plot: Plot) -> Error {
        Error::data(format!("drawing the {} plot: {}", plot.name(), self.0))
    }
}

type Drawn<T = ()> = std::result::Result<T, DrawErr>;

fn check_size<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<()> {
    ensure_font();
    let (w, h) = area.dim_in_pixel();
    if w < MIN_SIZE.0 || h < MIN_SIZE.1 {
        return Err(Error::param(
            "plot size",
            format!("{w} × {h} pixels is smaller than {} × {}", MIN_SIZE.0, MIN_SIZE.1),
        ));
    }
    Ok(())
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

/// Sizes at one scale: every length in the plots is `s` × its value at 1000 × 700 pixels.
#[derive(Debug, Clone, Copy)]
struct Sty {
    s: f64,
}

const INK: RGBColor = RGBColor(30, 30, 30);
const MUTED: RGBColor = RGBColor(95, 95, 95);
const BAR: RGBColor = RGBColor(76, 114, 176);
const MEAN: RGBColor = RGBColor(196, 58, 49);
const MEDIAN: RGBColor = RGBColor(232, 140, 20);
const LEFT_OUT: RGBColor = RGBColor(170, 170, 170);

impl Sty {
    fn of<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Self {
        let (w, h) = area.dim_in_pixel();
        Sty { s: ((w as f64 * h as f64).sqrt() / 840.0).clamp(0.45, 4.0) }
    }
    fn px(&self, v: f64) -> i32 {
        (v * self.s).round().max(1.0) as i32
    }
    fn upx(&self, v: f64) -> u32 {
        self.px(v) as u32
    }
    fn font(&self, size: f64) -> FontDesc<'static> {
        (FAMILY, size * self.s).into_font()
    }
    fn text(&self, size: f64, colour: RGBColor) -> TextStyle<'static> {
        self.font(size).color(&colour)
    }
}

/// A number for a label: up to 3 significant digits past the point, no trailing zeros, a
/// true minus sign.
fn num(v: f64) -> String {
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
fn nice_below(v: f64) -> f64 {
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

fn track_rgb(k: usize, on_image: bool) -> RGBColor {
    let hue = (30.0 + k as f64 * 137.507_764) % 360.0;
    if on_image {
        oklch(0.80, 0.15, hue)
    } else {
        oklch(0.60, 0.16, hue)
    }
}

/// The title and a grey subtitle at the top of `area`; returns the area below them.
fn header<DB: DrawingBackend>(
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

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Margins and label areas of every chart: (top, right, bottom label area, left label area).
fn chart_frame(st: &Sty) -> (i32, i32, u32, u32) {
    (st.px(12.0), st.px(24.0), st.upx(58.0), st.upx(78.0))
}

fn build_chart<'a, DB: DrawingBackend>(
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
fn plot_dims<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, st: &Sty) -> Drawn<(u32, u32)> {
    let probe = build_chart(area, st, 0.0..1.0, 0.0..1.0)?;
    Ok(probe.plotting_area().dim_in_pixel())
}

/// Widens the shorter range so that a µm takes as many pixels on both axes of a `dims`
/// plotting area (ranges as [low, high]).
fn equal_aspect(x: [f64; 2], y: [f64; 2], dims: (u32, u32)) -> ([f64; 2], [f64; 2]) {
    let (pw, ph) = (dims.0.max(1) as f64, dims.1.max(1) as f64);
    let per_px = ((x[1] - x[0]) / pw).max((y[1] - y[0]) / ph);
    let grow = |r: [f64; 2], n: f64| {
        let c = (r[0] + r[1]) / 2.0;
        [c - per_px * n / 2.0, c + per_px * n / 2.0]
    };
    (grow(x, pw), grow(y, ph))
}

fn draw_mesh<DB: DrawingBackend>(
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

fn draw_legend<'a, DB: DrawingBackend + 'a>(
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
fn centre_note<DB: DrawingBackend>(chart: &Chart<DB>, st: &Sty, note: &str) -> Drawn {
    let area = chart.plotting_area().strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    let style = st.text(30.0, MUTED).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(note, &style, (w as i32 / 2, h as i32 / 2))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Tracks as polylines.

/// One track's xy points, sorted by frame; non-finite points break the line.
#[derive(Debug, Clone, Default)]
struct TrackLine {
    /// The id as text.
    id: String,
    /// Order of first appearance among all tracks (its colour).
    index: usize,
    /// In the analysis (present in the per-track metrics).
    analysed: bool,
    /// Runs of consecutive finite points.
    runs: Vec<Vec<(f64, f64)>>,
}

impl TrackLine {
    fn first(&self) -> Option<(f64, f64)> {
        self.runs.first().and_then(|r| r.first()).copied()
    }
    fn points(&self) -> impl Iterator<Item = &(f64, f64)> {
        self.runs.iter().flatten()
    }
}

fn track_lines(tracks: &Tracks, metrics: &Analysis) -> Result<Vec<TrackLine>> {
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
fn field_extent(input: &PlotInput, lines: &[TrackLine]) -> [[f64; 2]; 2] {
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

// ---------------------------------------------------------------------------------------
// The tracks plot.

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

// ---------------------------------------------------------------------------------------
// The rose plot.

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

// ---------------------------------------------------------------------------------------
// The MSD plot.

fn msd_plot<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, input: &PlotInput) -> Drawn {
    let st = Sty::of(area);
    let l = st.px(12.0); // half the length of a legend's line sample
    area.fill(&WHITE)?;
    let msd = &input.metrics.msd;
    let summary = &input.metrics.summary;
    let fit = &summary.msd_fit;
    let furth = &summary.furth_fit;
    let d = summary.dimensions;
    let n1 = msd.n.first().copied().unwrap_or(0) as f64;
    // (lag time min, MSD, SEM, reliable) of the finite rows.
    let pts: Vec<(f64, f64, f64, bool)> = (0..msd.len())
        .filter(|&i| msd.lag_s[i].is_finite() && msd.msd_um2[i].is_finite())
        .map(|i| (msd.lag_s[i] / 60.0, msd.msd_um2[i], msd.sem_um2[i], msd.n[i] as f64 >= n1 / 2.0))
        .collect();
    let n_tracks = input.metrics.track_metrics.track_id.len();
    let subtitle = format!(
        "{n_tracks} tracks, {}D · mean ± SEM over all pairs of points a lag apart · M = slope / (2·{d})",
        d
    );
    let body =
        header(area, &st, &format!("{} — mean square displacement", input.title), &subtitle)?;
    let t_max = pts.iter().map(|p| p.0).fold(0.0, f64::max);
    let y_max =
        pts.iter().map(|p| p.1 + if p.2.is_finite() { p.2 } else { 0.0 }).fold(0.0, f64::max);
    let x1 = if t_max > 0.0 { t_max * 1.04 } else { 1.0 };
    let y1 = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    let mut chart = build_chart(&body, &st, 0.0..x1, 0.0..y1)?;
    draw_mesh(&mut chart, &st, "lag time (min)", "MSD (µm²)", true, false)?;
    if pts.is_empty() {
        let note = if n_tracks == 0 { "no tracks" } else { "no lags (tracks of one point)" };
        return centre_note(&chart, &st, note);
    }
    let (pw, _) = chart.plotting_area().dim_in_pixel();
    let cap = st.px(5.0) as f64 * x1 / pw.max(1) as f64;
    let dark = RGBColor(34, 78, 140);
    let pale = RGBColor(150, 170, 200);
    let bar =
        |c: RGBColor| ShapeStyle { color: c.to_rgba(), filled: false, stroke_width: st.upx(1.4) };
    for &(t, m, sem, ok) in &pts {
        if sem.is_finite() && sem > 0.0 {
            let c = if ok { dark } else { pale };
            chart.draw_series([
                PathElement::new(vec![(t, m - sem), (t, m + sem)], bar(c)),
                PathElement::new(vec![(t - cap, m - sem), (t + cap, m - sem)], bar(c)),
                PathElement::new(vec![(t - cap, m + sem), (t + cap, m + sem)], bar(c)),
            ])?;
        }
    }
    let r = st.px(4.5);
    chart
        .draw_series(
            pts.iter().filter(|p| p.3).map(|&(t, m, _, _)| Circle::new((t, m), r, dark.filled())),
        )?
        .label("MSD ± SEM")
        .legend(move |c| Circle::new(c, r, dark.filled()));
    if pts.iter().any(|p| !p.3) {
        chart
            .draw_series(
                pts.iter()
                    .filter(|p| !p.3)
                    .map(|&(t, m, _, _)| Circle::new((t, m), r, pale.filled())),
            )?
            .label("lags with fewer than half the pairs of the first lag")
            .legend(move |c| Circle::new(c, r, pale.filled()));
    }
    let mut fitted = false;
    if let (Some([a, b]), Some([fa, fb])) = (fit.lag_s, fit.lag_frames) {
        if fit.slope_um2_per_min.is_finite() && fit.intercept_um2.is_finite() {
            let (ta, tb) = (a / 60.0, b / 60.0);
            let line = |t: f64| (t, fit.slope_um2_per_min * t + fit.intercept_um2);
            let style =
                ShapeStyle { color: MEAN.to_rgba(), filled: false, stroke_width: st.upx(2.8) };
            chart
                .draw_series(LineSeries::new([line(ta), line(tb)], style))?
                .label(format!(
                    "linear fit, lags {fa}–{fb}: M = {} µm²/min, R² = {}",
                    num(fit.motility_coefficient_um2_per_min),
                    r2(fit.r_squared)
                ))
                .legend(move |(x, y)| PathElement::new(vec![(x - l, y), (x + l, y)], style));
            fitted = true;
        }
    }
    if !fitted {
        let why = match fit.lag_frames {
            Some([a, b]) if !fit.automatic => format!("fewer than 2 lags in {a}–{b}"),
            _ => "fewer than 2 lags averaging at least half the pairs of lag 1".to_string(),
        };
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(format!("no linear fit: {why}"));
    }
    if furth.persistence_time_min.is_finite() && furth.motility_coefficient_um2_per_min.is_finite()
    {
        if let (Some([_, fb]), Some(dt)) = (furth.lag_frames, summary.frame_interval_s) {
            let (p, m) = (furth.persistence_time_min, furth.motility_coefficient_um2_per_min);
            let t_end = fb as f64 * dt / 60.0;
            let curve: Vec<(f64, f64)> = (0..=120)
                .map(|k| {
                    let t = t_end * k as f64 / 120.0;
                    (t, 2.0 * d as f64 * m * (t - p * (1.0 - (-t / p).exp())))
                })
                .collect();
            let style =
                ShapeStyle { color: MEDIAN.to_rgba(), filled: false, stroke_width: st.upx(2.2) };
            chart
                .draw_series(DashedLineSeries::new(curve, st.px(8.0), st.px(5.0), style))?
                .label(format!(
                    "Fürth fit, lags 1–{fb}: P = {} min, M = {} µm²/min, R² = {}",
                    num(p),
                    num(m),
                    r2(furth.r_squared)
                ))
                .legend(move |(x, y)| PathElement::new(vec![(x - l, y), (x + l, y)], style));
        }
    }
    draw_legend(&mut chart, &st, SeriesLabelPosition::UpperLeft)
}

/// R² with three decimals.
fn r2(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}").replace('-', "−")
    } else {
        "—".into()
    }
}

// ---------------------------------------------------------------------------------------
// Histograms.

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

/// 1, 2 or 5 × a power of ten, the nearest at or above `v`.
fn nice_up(v: f64) -> f64 {
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

// ---------------------------------------------------------------------------------------
// PNG encoding and the SVG backend that embeds bitmaps.

fn encode_png(data: &[u8], w: u32, h: u32, colour: png::ColorType) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let fail = |e: png::EncodingError| Error::data(format!("encoding a PNG: {e}"));
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(colour);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(fail)?;
        writer.write_image_data(data).map_err(fail)?;
        writer.finish().map_err(fail)?;
    }
    Ok(out)
}

/// A bitmap blitted onto a [`Canvas`] that embeds them: where, and its pixels.
struct Embedded {
    pos: BackendCoord,
    size: (u32, u32),
    /// RGB pixels, row by row.
    rgb: Vec<u8>,
}

/// Fill colour of the placeholder rectangle of the i-th embedded bitmap (replaced by the
/// image in the final text; no plot element uses these colours).
fn marker(i: usize) -> (u8, u8, u8) {
    (1, 2, 3 + (i % 250) as u8)
}

/// A plotters backend with these changes to the one it wraps:
///
/// - `raster` (for bitmaps): text drawn here, glyph by glyph at sub-pixel positions from the
///   embedded font (plotters' own text rounds each glyph's position down, which spaces letters
///   unevenly and lifts full stops to mid-height); wide polylines drawn as segments with round
///   joins (plotters' mitred joins shoot long spikes where a track turns back);
/// - `images`: bitmaps kept aside (to embed as PNG `<image>`s, see [`embed_images`]) with a
///   placeholder rectangle drawn in their place, instead of one SVG rectangle per pixel.
struct Canvas<B> {
    inner: B,
    raster: bool,
    images: Option<Rc<RefCell<Vec<Embedded>>>>,
}

type BackendResult<T, B> =
    std::result::Result<T, DrawingErrorKind<<B as DrawingBackend>::ErrorType>>;

impl<B: DrawingBackend> DrawingBackend for Canvas<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }
    fn ensure_prepared(&mut self) -> BackendResult<(), B> {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> BackendResult<(), B> {
        self.inner.present()
    }
    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> BackendResult<(), B> {
        self.inner.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> BackendResult<(), B> {
        self.inner.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> BackendResult<(), B> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> BackendResult<(), B> {
        let width = style.stroke_width();
        if !self.raster || width <= 2 {
            return self.inner.draw_path(path, style);
        }
        let points: Vec<BackendCoord> = path.into_iter().collect();
        let colour = BackendColor { alpha: style.color().alpha, rgb: style.color().rgb };
        // Each segment a rectangle with rounded (not truncated) corners, half a pixel wider
        // to make up for the scanline fill leaving out its far edge: plotters' own wide lines
        // come out one to two pixels thin unless they are horizontal or vertical.
        let r = f64::from(width) / 2.0 + 0.5;
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (vx, vy) = (f64::from(b.0 - a.0), f64::from(b.1 - a.1));
            let len = vx.hypot(vy);
            if len == 0.0 {
                continue;
            }
            let (nx, ny) = (-vy / len * r, vx / len * r);
            let corner = |p: BackendCoord, side: f64| {
                (
                    (f64::from(p.0) + side * nx).round() as i32,
                    (f64::from(p.1) + side * ny).round() as i32,
                )
            };
            let quad = [corner(a, 1.0), corner(b, 1.0), corner(b, -1.0), corner(a, -1.0)];
            self.inner.fill_polygon(quad, &colour)?;
        }
        for &p in points.iter().skip(1).take(points.len().saturating_sub(2)) {
            self.inner.draw_circle(p, width / 2, &colour, true)?;
        }
        Ok(())
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> BackendResult<(), B> {
        self.inner.draw_circle(center, radius, style, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> BackendResult<(), B> {
        self.inner.fill_polygon(vert, style)
    }
    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> BackendResult<(), B> {
        match embedded_font() {
            Some(font) if self.raster => raster_text(&mut self.inner, font, text, style, pos),
            _ => self.inner.draw_text(text, style, pos),
        }
    }
    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> BackendResult<(u32, u32), B> {
        self.inner.estimate_text_size(text, style)
    }
    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (w, h): (u32, u32),
        src: &[u8],
    ) -> BackendResult<(), B> {
        let Some(images) = &self.images else {
            return self.inner.blit_bitmap(pos, (w, h), src);
        };
        let i = images.borrow().len();
        let (r, g, b) = marker(i);
        let colour = BackendColor { alpha: 1.0, rgb: (r, g, b) };
        self.inner.draw_rect(pos, (pos.0 + w as i32, pos.1 + h as i32), &colour, true)?;
        images.borrow_mut().push(Embedded { pos, size: (w, h), rgb: src.to_vec() });
        Ok(())
    }
}

/// The embedded font, parsed once (`None` only if the file were broken: text then falls back
/// to plotters' own drawing).
fn embedded_font() -> Option<&'static FontRef<'static>> {
    static PARSED: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    PARSED.get_or_init(|| FontRef::try_from_slice(FONT).ok()).as_ref()
}

/// Draws `text` on `backend` pixel by pixel (anti-aliased coverage as alpha), each glyph at
/// its exact advance and kerning; anchored and rotated as plotters anchors text: the anchor
/// is the top, centre (of the capitals) or bottom of the line, and the left, centre or right
/// end.
fn raster_text<B: DrawingBackend, S: BackendTextStyle>(
    backend: &mut B,
    font: &FontRef<'static>,
    text: &str,
    style: &S,
    pos: BackendCoord,
) -> BackendResult<(), B> {
    let colour = style.color();
    if colour.alpha == 0.0 || text.is_empty() {
        return Ok(());
    }
    let scale = PxScale::from(style.size() as f32);
    let scaled = font.as_scaled(scale);
    let mut caret = 0.0f32;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scale, ab_glyph::point(caret, 0.0)));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    let anchor = style.anchor();
    let dx = match anchor.h_pos {
        HPos::Left => 0.0,
        HPos::Center => -caret / 2.0,
        HPos::Right => -caret,
    };
    let cap_height = font
        .outline_glyph(font.glyph_id('H').with_scale(scale))
        .map_or(scaled.ascent() * 0.8, |g| g.px_bounds().height());
    let baseline = match anchor.v_pos {
        VPos::Top => scaled.ascent(),
        VPos::Center => cap_height / 2.0,
        VPos::Bottom => scaled.descent(),
    };
    let (dx, dy) = (dx.round() as i32, baseline.round() as i32);
    let transform = style.transform();
    let mut result = Ok(());
    for glyph in glyphs {
        let Some(outline) = font.outline_glyph(glyph) else { continue };
        let b = outline.px_bounds();
        let (x0, y0) = (b.min.x as i32 + dx, b.min.y as i32 + dy);
        outline.draw(|gx, gy, coverage| {
            if result.is_err() || coverage <= 0.0 {
                return;
            }
            let (tx, ty) = transform.transform(x0 + gx as i32, y0 + gy as i32);
            let c = BackendColor {
                alpha: colour.alpha * f64::from(coverage.min(1.0)),
                rgb: colour.rgb,
            };
            result = backend.draw_pixel((pos.0 + tx, pos.1 + ty), c);
        });
        result?;
        result = Ok(());
    }
    Ok(())
}

/// Averages `factor` × `factor` blocks of an RGB image of `w` × `h` pixels.
fn downsample(rgb: &[u8], w: u32, h: u32, factor: u32) -> Vec<u8> {
    let (ow, oh) = (w / factor, h / factor);
    let n = factor * factor;
    let mut out = Vec::with_capacity(ow as usize * oh as usize * 3);
    for oy in 0..oh {
        for ox in 0..ow {
            let mut sum = [0u32; 3];
            for y in oy * factor..(oy + 1) * factor {
                let row = (y * w) as usize * 3;
                for x in ox * factor..(ox + 1) * factor {
                    let i = row + x as usize * 3;
                    for k in 0..3 {
                        sum[k] += u32::from(rgb[i + k]);
                    }
                }
            }
            out.extend(sum.iter().map(|&s| ((s + n / 2) / n) as u8));
        }
    }
    out
}

/// Replaces each placeholder rectangle of `svg` by its image (a base64 PNG, grey when every
/// pixel is grey).
fn embed_images(mut svg: String, images: &[Embedded]) -> Result<String> {
    if images.is_empty() {
        return Ok(svg);
    }
    svg = svg.replacen(
        "xmlns=\"http://www.w3.org/2000/svg\"",
        "xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"",
        1,
    );
    for (i, img) in images.iter().enumerate() {
        let (r, g, b) = marker(i);
        let key = format!("fill=\"#{r:02X}{g:02X}{b:02X}\"");
        let (Some(at), (w, h)) = (svg.find(&key), img.size) else {
            return Err(Error::data("SVG plot: the placeholder of an image is missing"));
        };
        let start = svg[..at].rfind("<rect").unwrap_or(at);
        let end = svg[at..].find("/>").map_or(svg.len(), |e| at + e + 2);
        let grey = img.rgb.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]);
        let png = if grey {
            let g: Vec<u8> = img.rgb.chunks_exact(3).map(|p| p[0]).collect();
            encode_png(&g, w, h, png::ColorType::Grayscale)?
        } else {
            encode_png(&img.rgb, w, h, png::ColorType::Rgb)?
        };
        let mut tag = format!(
            "<image x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"none\" \
             style=\"image-rendering:pixelated\" xlink:href=\"data:image/png;base64,",
            img.pos.0, img.pos.1
        );
        base64(&png, &mut tag);
        tag.push_str("\"/>");
        svg.replace_range(start..end, &tag);
    }
    Ok(svg)
}

/// Appends the standard base64 encoding (with padding) of `data` to `out`.
fn base64(data: &[u8], out: &mut String) {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, want) in cases {
            let mut s = String::new();
            base64(plain.as_bytes(), &mut s);
            assert_eq!(s, want);
        }
    }

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
