//! The embedded font: registered for plotters' text, and drawn glyph by glyph on bitmaps.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle};

use super::canvas::BackendResult;

/// The embedded font (see `assets/fonts/README.md`).
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-subset.ttf");

/// The family every text uses (the name SVGs carry).
pub(super) const FAMILY: &str = "sans-serif";

/// Registers the embedded font under [`FAMILY`], once.
pub(super) fn ensure_font() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The font is a valid TrueType file checked by the tests: this cannot fail.
            let _ = plotters::style::register_font(FAMILY, style, FONT);
        }
    });
}

/// The embedded font, parsed once (`None` only if the file were broken: text then falls back
/// to plotters' own drawing).
pub(super) fn embedded_font() -> Option<&'static FontRef<'static>> {
    static PARSED: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    PARSED.get_or_init(|| FontRef::try_from_slice(FONT).ok()).as_ref()
}

/// Draws `text` on `backend` pixel by pixel (anti-aliased coverage as alpha), each glyph at
/// its exact advance and kerning; anchored and rotated as plotters anchors text: the anchor
/// is the top, centre (of the capitals) or bottom of the line, and the left, centre or right
/// end.
pub(super) fn raster_text<B: DrawingBackend, S: BackendTextStyle>(
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
