//! Fuzzed ImageJ metadata in a valid TIFF: the input's first byte picks the page count (1–8)
//! and sample type, the rest (after `ImageJ=`) is the ImageDescription. The pages are valid,
//! so the fuzzer spends its time in the ImageJ parser and the hyperstack layout.
#![no_main]

use leukotrack_fuzz::tiffgen::{tiff_bytes, Codec, Sample, Spec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    let pages = 1 + (head & 7) as usize;
    let sample = if head & 8 == 0 { Sample::U16 } else { Sample::U8 };
    let codec = if head & 16 == 0 { Codec::None } else { Codec::PackBits };
    let mut desc = String::from("ImageJ=");
    desc.push_str(&String::from_utf8_lossy(rest).replace('\0', " "));
    let spec = Spec {
        width: 4,
        height: 3,
        sample,
        codec,
        big_endian: head & 32 != 0,
        description: Some(desc),
        ..Spec::default()
    };
    let planes: Vec<Vec<f64>> = (0..pages).map(|k| vec![k as f64; 12]).collect();
    let path = leukotrack_fuzz::write_input("imagej.tif", &tiff_bytes(&spec, &planes));
    leukotrack_fuzz::open_and_read(&path);
});
