//! A recording beside its simulated twin ([`write_comparison`]): the z projections of one
//! timepoint side by side, at the same contrast (the recording's).

use std::path::Path;

use plotters::prelude::*;

use super::canvas::Canvas;
use super::chart::{Sty, INK};
use super::encode::encode_png;
use super::Projection;
use crate::error::{Error, Result};
use crate::io::write::write_atomic;
use crate::io::Volume;

/// Writes a PNG of `real` (left) and `twin` (right), each a (z, y, x) volume shown as its
/// maximum over z, grey levels from the 0.5th to the 99.8th percentile of `real` on both.
pub fn write_comparison(path: &Path, real: &Volume, twin: &Volume, title: &str) -> Result<()> {
    let project = |v: &Volume| -> Result<ndarray::Array2<f32>> {
        let (_, ny, nx) = v.dim();
        let mut p = Projection::empty(ny, nx, [1.0, 1.0]);
        p.include(v)?;
        Ok(p.image)
    };
    let (a, b) = (project(real)?, project(twin)?);
    if a.dim() != b.dim() {
        return Err(Error::data("comparison: the twin's size differs from the recording's"));
    }
    let mut sorted: Vec<f32> = a.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f32::total_cmp);
    let q = |f: f64| {
        sorted.get(((sorted.len().max(1) - 1) as f64 * f) as usize).copied().unwrap_or(0.0)
    };
    let (lo, hi) = (q(0.005), q(0.998).max(q(0.005) + 1.0));
    let (ny, nx) = a.dim();
    // Each image at least 400 pixels wide (nearest-neighbour enlargement).
    let k = (400usize.div_ceil(nx.max(1))).clamp(1, 8);
    let (w, h) = (nx * k, ny * k);
    let (gap, top) = (24usize, 64usize);
    let (cw, ch) = (2 * w + 3 * gap, h + top + gap);
    let mut rgb = vec![255u8; cw * ch * 3];
    for (img, x0) in [(&a, gap), (&b, 2 * gap + w)] {
        for y in 0..h {
            for x in 0..w {
                let v = img[[y / k, x / k]];
                let g = (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0) as u8;
                let o = ((top + y) * cw + x0 + x) * 3;
                rgb[o..o + 3].copy_from_slice(&[g, g, g]);
            }
        }
    }
    {
        let inner = BitMapBackend::with_buffer(&mut rgb, (cw as u32, ch as u32));
        let root = Canvas { inner, raster: true, images: None }.into_drawing_area();
        super::font::ensure_font();
        let st = Sty::of(&root);
        let text = |s: &str, x: usize, y: usize, size: f64| {
            root.draw_text(s, &st.text(size, INK), (x as i32, y as i32))
                .map_err(|e| Error::data(format!("comparison: {e}")))
        };
        text(title, gap, 6, 18.0)?;
        text("recording", gap, 36, 15.0)?;
        text("simulated twin (same contrast)", 2 * gap + w, 36, 15.0)?;
        root.present().map_err(|e| Error::data(format!("comparison: {e}")))?;
    }
    let bytes = encode_png(&rgb, cw as u32, ch as u32, png::ColorType::Rgb)?;
    write_atomic(path, |w| w.write_all(&bytes))
}
