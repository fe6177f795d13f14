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
use std::path::{Path, PathBuf};
use std::rc::Rc;

use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;

mod canvas;
mod chart;
mod compare;
mod encode;
mod font;
mod histograms;
mod msd;
mod qc;
mod rose;
pub mod study;
mod tracks;

pub use chart::track_colour;
pub use compare::write_comparison;
pub use histograms::{draw_arrest, draw_speed, draw_straightness};
pub use msd::draw_msd;
pub use qc::{draw_qc, write_qc};
pub use rose::draw_rose;
pub use tracks::draw_tracks;

use canvas::Canvas;
use encode::{downsample, embed_images, encode_png};
use font::ensure_font;
use tracks::{field_extent, track_lines};

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
    png_of(&(plot, input))
}

/// One plot as SVG text, at [`canvas_size`]. The projection (tracks plot) is embedded as a
/// PNG image; text names the `sans-serif` family.
pub fn render_svg(plot: Plot, input: &PlotInput) -> Result<String> {
    svg_of(&(plot, input))
}

/// A figure [`png_of`] and [`svg_of`] render: its name (for errors), size and drawing.
trait Figure {
    fn name(&self) -> &str;
    fn size(&self) -> (u32, u32);
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>;
}

impl Figure for (Plot, &PlotInput<'_>) {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn size(&self) -> (u32, u32) {
        canvas_size(self.0, self.1)
    }
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        draw(self.0, area, self.1)
    }
}

fn png_of<F: Figure>(figure: &F) -> Result<Vec<u8>> {
    const SUPERSAMPLE: u32 = 2;
    let (w, h) = figure.size();
    let (bw, bh) = (w * SUPERSAMPLE, h * SUPERSAMPLE);
    let mut rgb = vec![255u8; bw as usize * bh as usize * 3];
    {
        let inner = BitMapBackend::with_buffer(&mut rgb, (bw, bh));
        let root = Canvas { inner, raster: true, images: None }.into_drawing_area();
        figure.draw_on(&root)?;
        root.present().map_err(|e| Error::data(format!("{} plot: {e}", figure.name())))?;
    }
    encode_png(&downsample(&rgb, bw, bh, SUPERSAMPLE), w, h, png::ColorType::Rgb)
}

fn svg_of<F: Figure>(figure: &F) -> Result<String> {
    let size = figure.size();
    let mut svg = String::new();
    let images = Rc::new(RefCell::new(Vec::new()));
    {
        let inner = SVGBackend::with_string(&mut svg, size);
        let backend = Canvas { inner, raster: false, images: Some(images.clone()) };
        let root = backend.into_drawing_area();
        figure.draw_on(&root)?;
        root.present().map_err(|e| Error::data(format!("{} plot: {e}", figure.name())))?;
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
