//! A tiny TIFF writer for test files no data set provides: either byte order, classic or
//! BigTIFF, strips or tiles, none/Deflate/LZW/PackBits, horizontal predictor, uint8, uint16,
//! int16, float32, extra samples (planar RGB), descriptions, Software tag and ScanImage's
//! header block. It is written from the TIFF 6 specification independently of the reader.
#![allow(dead_code)]

use std::io::Write;

/// Sample type of generated pages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sample {
    U8,
    U16,
    I16,
    F32,
}

impl Sample {
    fn bytes(self) -> usize {
        match self {
            Sample::U8 => 1,
            Sample::U16 | Sample::I16 => 2,
            Sample::F32 => 4,
        }
    }
    fn format(self) -> u16 {
        match self {
            Sample::U8 | Sample::U16 => 1,
            Sample::I16 => 2,
            Sample::F32 => 3,
        }
    }
}

/// Compression of generated pages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Codec {
    None,
    Deflate,
    Lzw,
    PackBits,
}

/// How to write a file.
#[derive(Clone, Debug)]
pub struct Spec {
    pub big_endian: bool,
    pub bigtiff: bool,
    pub codec: Codec,
    pub sample: Sample,
    pub predictor: bool,
    /// Tile size; `None` writes strips of `rows_per_strip` rows.
    pub tile: Option<(u32, u32)>,
    pub rows_per_strip: u32,
    pub width: u32,
    pub height: u32,
    /// Samples per pixel (> 1 with `planar` for planar-separate RGB pages).
    pub samples: u16,
    pub planar: bool,
    pub description: Option<String>,
    pub software: Option<String>,
    /// ScanImage 2016+ header block text (needs a little-endian BigTIFF).
    pub scanimage_header: Option<String>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            big_endian: false,
            bigtiff: false,
            codec: Codec::None,
            sample: Sample::U16,
            predictor: false,
            tile: None,
            rows_per_strip: u32::MAX,
            width: 8,
            height: 6,
            samples: 1,
            planar: false,
            description: None,
            software: None,
            scanimage_header: None,
        }
    }
}

struct Out {
    buf: Vec<u8>,
    be: bool,
    big: bool,
}

impl Out {
    fn u16(&mut self, v: u16) {
        let b = if self.be { v.to_be_bytes() } else { v.to_le_bytes() };
        self.buf.extend_from_slice(&b);
    }
    fn u32(&mut self, v: u32) {
        let b = if self.be { v.to_be_bytes() } else { v.to_le_bytes() };
        self.buf.extend_from_slice(&b);
    }
    fn u64(&mut self, v: u64) {
        let b = if self.be { v.to_be_bytes() } else { v.to_le_bytes() };
        self.buf.extend_from_slice(&b);
    }
    fn off(&mut self, v: u64) {
        if self.big {
            self.u64(v)
        } else {
            self.u32(v as u32)
        }
    }
    fn align(&mut self) {
        while !self.buf.len().is_multiple_of(8) {
            self.buf.push(0);
        }
    }
}

enum Val {
    Short(Vec<u16>),
    Long(Vec<u64>),
    Ascii(String),
    Rational(u32, u32),
}

fn encode_sample(v: f64, s: Sample, be: bool, out: &mut Vec<u8>) {
    match s {
        Sample::U8 => out.push(v as u8),
        Sample::U16 => out.extend_from_slice(&if be {
            (v as u16).to_be_bytes()
        } else {
            (v as u16).to_le_bytes()
        }),
        Sample::I16 => out.extend_from_slice(&if be {
            (v as i16).to_be_bytes()
        } else {
            (v as i16).to_le_bytes()
        }),
        Sample::F32 => out.extend_from_slice(&if be {
            (v as f32).to_be_bytes()
        } else {
            (v as f32).to_le_bytes()
        }),
    }
}

/// Encodes a block of `w`×`h` samples (row-major values), with the horizontal predictor.
fn encode_block(vals: &[f64], w: usize, spec: &Spec) -> Vec<u8> {
    let mut out = Vec::new();
    for row in vals.chunks(w) {
        for (i, &v) in row.iter().enumerate() {
            let v = if spec.predictor && i > 0 {
                // Differences wrap in the sample type.
                match spec.sample {
                    Sample::U8 => (v as u8).wrapping_sub(row[i - 1] as u8) as f64,
                    Sample::U16 => (v as u16).wrapping_sub(row[i - 1] as u16) as f64,
                    Sample::I16 => (v as i16).wrapping_sub(row[i - 1] as i16) as f64,
                    Sample::F32 => panic!("no integer predictor for floats"),
                }
            } else {
                v
            };
            encode_sample(v, spec.sample, spec.big_endian, &mut out);
        }
    }
    compress(&out, spec.codec)
}

pub fn compress(data: &[u8], codec: Codec) -> Vec<u8> {
    match codec {
        Codec::None => data.to_vec(),
        Codec::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Codec::Lzw => weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(data)
            .unwrap(),
        Codec::PackBits => packbits(data),
    }
}

/// PackBits: runs of ≥ 3 equal bytes as repeats, the rest as literals (≤ 128 each).
pub fn packbits(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut lit: Vec<u8> = Vec::new();
    let flush = |lit: &mut Vec<u8>, out: &mut Vec<u8>| {
        for chunk in lit.chunks(128) {
            out.push((chunk.len() - 1) as u8);
            out.extend_from_slice(chunk);
        }
        lit.clear();
    };
    while i < data.len() {
        let mut run = 1;
        while i + run < data.len() && data[i + run] == data[i] && run < 128 {
            run += 1;
        }
        if run >= 3 {
            flush(&mut lit, &mut out);
            out.push((1i16 - run as i16) as i8 as u8);
            out.push(data[i]);
            i += run;
        } else {
            lit.push(data[i]);
            i += 1;
        }
    }
    flush(&mut lit, &mut out);
    out
}

/// Writes pages (each `height × width × samples` values, row-major, planes consecutive for
/// planar pages) as a TIFF file's bytes.
pub fn tiff_bytes(spec: &Spec, pages: &[Vec<f64>]) -> Vec<u8> {
    let mut o = Out { buf: Vec::new(), be: spec.big_endian, big: spec.bigtiff };
    o.buf.extend_from_slice(if spec.big_endian { b"MM" } else { b"II" });
    let mut first_ptr_pos;
    if spec.bigtiff {
        o.u16(43);
        o.u16(8);
        o.u16(0);
        first_ptr_pos = o.buf.len();
        o.u64(0);
    } else {
        o.u16(42);
        first_ptr_pos = o.buf.len();
        o.u32(0);
    }
    if let Some(text) = &spec.scanimage_header {
        assert!(spec.bigtiff && !spec.big_endian);
        o.u32(0x0703_0301);
        o.u32(3);
        o.u32(text.len() as u32 + 1);
        o.u32(0);
        o.buf.extend_from_slice(text.as_bytes());
        o.buf.push(0);
    }
    let (w, h) = (spec.width as usize, spec.height as usize);
    let planes = if spec.planar { spec.samples as usize } else { 1 };
    // All pages' data first (so uncompressed planes of aligned sizes lie end to end, as in
    // ImageJ's layout), then the IFDs.
    let mut chunk_lists = Vec::new();
    for page in pages {
        assert_eq!(page.len(), w * h * spec.samples as usize);
        let mut offsets = Vec::new();
        let mut counts = Vec::new();
        for plane in 0..planes {
            let vals = &page[plane * w * h..(plane + 1) * w * h];
            let blocks: Vec<Vec<f64>> = match spec.tile {
                None => {
                    let rps = (spec.rows_per_strip as usize).min(h);
                    vals.chunks(rps * w).map(|c| c.to_vec()).collect()
                }
                Some((tw, th)) => {
                    let (tw, th) = (tw as usize, th as usize);
                    let mut v = Vec::new();
                    for ty in 0..h.div_ceil(th) {
                        for tx in 0..w.div_ceil(tw) {
                            let mut t = vec![0.0; tw * th];
                            for r in 0..th {
                                for c in 0..tw {
                                    let (y, x) = (ty * th + r, tx * tw + c);
                                    if y < h && x < w {
                                        t[r * tw + c] = vals[y * w + x];
                                    }
                                }
                            }
                            v.push(t);
                        }
                    }
                    v
                }
            };
            let bw = spec.tile.map_or(w, |t| t.0 as usize);
            for b in blocks {
                let data = encode_block(&b, bw, spec);
                o.align();
                offsets.push(o.buf.len() as u64);
                counts.push(data.len() as u64);
                o.buf.extend_from_slice(&data);
            }
        }
        chunk_lists.push((offsets, counts));
    }
    for (k, (offsets, counts)) in chunk_lists.into_iter().enumerate() {
        let bits = (spec.sample.bytes() * 8) as u16;
        let mut tags: Vec<(u16, Val)> = vec![
            (256, Val::Long(vec![spec.width as u64])),
            (257, Val::Long(vec![spec.height as u64])),
            (258, Val::Short(vec![bits; spec.samples as usize])),
            (
                259,
                Val::Short(vec![match spec.codec {
                    Codec::None => 1,
                    Codec::Lzw => 5,
                    Codec::Deflate => 8,
                    Codec::PackBits => 32773,
                }]),
            ),
            (262, Val::Short(vec![if spec.samples == 3 { 2 } else { 1 }])),
            (277, Val::Short(vec![spec.samples])),
            (282, Val::Rational(1, 1)),
            (283, Val::Rational(1, 1)),
            (296, Val::Short(vec![1])),
            (339, Val::Short(vec![spec.sample.format(); spec.samples as usize])),
        ];
        if spec.planar {
            tags.push((284, Val::Short(vec![2])));
        }
        if spec.predictor {
            tags.push((317, Val::Short(vec![2])));
        }
        match spec.tile {
            None => {
                tags.push((273, Val::Long(offsets)));
                tags.push((278, Val::Long(vec![spec.rows_per_strip.min(spec.height) as u64])));
                tags.push((279, Val::Long(counts)));
            }
            Some((tw, th)) => {
                tags.push((322, Val::Long(vec![tw as u64])));
                tags.push((323, Val::Long(vec![th as u64])));
                tags.push((324, Val::Long(offsets)));
                tags.push((325, Val::Long(counts)));
            }
        }
        if k == 0 {
            if let Some(d) = &spec.description {
                tags.push((270, Val::Ascii(d.clone())));
            }
            if let Some(s) = &spec.software {
                tags.push((305, Val::Ascii(s.clone())));
            }
        }
        tags.sort_by_key(|t| t.0);
        // Out-of-line values first, then the IFD.
        let inline = if spec.bigtiff { 8 } else { 4 };
        let mut encoded: Vec<(u16, u16, u64, Vec<u8>)> = Vec::new();
        for (tag, v) in &tags {
            let mut b = Out { buf: Vec::new(), be: spec.big_endian, big: spec.bigtiff };
            let (typ, n) = match v {
                Val::Short(s) => {
                    s.iter().for_each(|&x| b.u16(x));
                    (3, s.len())
                }
                Val::Long(l) => {
                    if spec.bigtiff {
                        l.iter().for_each(|&x| b.u64(x));
                        (16, l.len())
                    } else {
                        l.iter().for_each(|&x| b.u32(x as u32));
                        (4, l.len())
                    }
                }
                Val::Ascii(s) => {
                    b.buf.extend_from_slice(s.as_bytes());
                    b.buf.push(0);
                    (2, s.len() + 1)
                }
                Val::Rational(n, d) => {
                    b.u32(*n);
                    b.u32(*d);
                    (5, 1)
                }
            };
            encoded.push((*tag, typ, n as u64, b.buf));
        }
        let mut value_offsets = Vec::new();
        for e in &encoded {
            if e.3.len() > inline {
                o.align();
                value_offsets.push(o.buf.len() as u64);
                o.buf.extend_from_slice(&e.3);
            } else {
                value_offsets.push(0);
            }
        }
        o.align();
        let ifd = o.buf.len() as u64;
        // Patch the previous pointer.
        let mut p = Out { buf: Vec::new(), be: spec.big_endian, big: spec.bigtiff };
        p.off(ifd);
        o.buf[first_ptr_pos..first_ptr_pos + p.buf.len()].copy_from_slice(&p.buf);
        if spec.bigtiff {
            o.u64(encoded.len() as u64);
        } else {
            o.u16(encoded.len() as u16);
        }
        for (e, vo) in encoded.iter().zip(&value_offsets) {
            o.u16(e.0);
            o.u16(e.1);
            if spec.bigtiff {
                o.u64(e.2);
            } else {
                o.u32(e.2 as u32);
            }
            if e.3.len() > inline {
                o.off(*vo);
            } else {
                let mut v = e.3.clone();
                v.resize(inline, 0);
                o.buf.extend_from_slice(&v);
            }
        }
        first_ptr_pos = o.buf.len();
        o.off(0);
    }
    o.buf
}

/// The data sets' pixel formula: 1000 t + 100 c + 10 z + (y + x) % 10.
pub fn formula(t: usize, c: usize, z: usize, y: usize, x: usize) -> f64 {
    (1000 * t + 100 * c + 10 * z + (y + x) % 10) as f64
}

/// A plane of the formula for (t, c, z).
pub fn formula_plane(t: usize, c: usize, z: usize, h: usize, w: usize) -> Vec<f64> {
    (0..h * w).map(|i| formula(t, c, z, i / w, i % w)).collect()
}
