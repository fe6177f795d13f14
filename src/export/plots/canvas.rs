//! [`Canvas`], the plotters backend every plot is rendered on: raster text and round joins on
//! bitmaps, bitmaps kept aside for SVG.

use std::cell::RefCell;
use std::rc::Rc;

use plotters::prelude::*;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

use super::encode::{marker, Embedded};
use super::font::{embedded_font, raster_text};

/// A plotters backend with these changes to the one it wraps:
///
/// - `raster` (for bitmaps): text drawn here, glyph by glyph at sub-pixel positions from the
///   embedded font (plotters' own text rounds each glyph's position down, which spaces letters
///   unevenly and lifts full stops to mid-height); wide polylines drawn as segments with round
///   joins (plotters' mitred joins shoot long spikes where a track turns back);
/// - `images`: bitmaps kept aside (to embed as PNG `<image>`s, see
///   [`embed_images`](super::encode::embed_images)) with a placeholder rectangle drawn in their
///   place, instead of one SVG rectangle per pixel.
pub(super) struct Canvas<B> {
    pub(super) inner: B,
    pub(super) raster: bool,
    pub(super) images: Option<Rc<RefCell<Vec<Embedded>>>>,
}

pub(super) type BackendResult<T, B> =
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
