//! PNG encoding, supersampled bitmaps shrunk, and the bitmaps of an SVG embedded as base64
//! PNG images.

use plotters_backend::BackendCoord;

use crate::error::{Error, Result};

pub(super) fn encode_png(data: &[u8], w: u32, h: u32, colour: png::ColorType) -> Result<Vec<u8>> {
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

/// A bitmap blitted onto a [`Canvas`](super::canvas::Canvas) that embeds them: where, and its
/// pixels.
pub(super) struct Embedded {
    pub(super) pos: BackendCoord,
    pub(super) size: (u32, u32),
    /// RGB pixels, row by row.
    pub(super) rgb: Vec<u8>,
}

/// Fill colour of the placeholder rectangle of the i-th embedded bitmap (replaced by the
/// image in the final text; no plot element uses these colours).
pub(super) fn marker(i: usize) -> (u8, u8, u8) {
    (1, 2, 3 + (i % 250) as u8)
}

/// Averages `factor` × `factor` blocks of an RGB image of `w` × `h` pixels.
pub(super) fn downsample(rgb: &[u8], w: u32, h: u32, factor: u32) -> Vec<u8> {
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
pub(super) fn embed_images(mut svg: String, images: &[Embedded]) -> Result<String> {
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
}
