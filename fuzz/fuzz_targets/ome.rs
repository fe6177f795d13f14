//! Fuzzed OME-XML in a valid TIFF: the first byte picks the page count (1–8), the rest is the
//! ImageDescription (an OME document when it holds `<OME`). The pages are valid, so the
//! fuzzer spends its time in the OME parser and the plane table it builds.
#![no_main]

use leukotrack_fuzz::tiffgen::{tiff_bytes, Spec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    let pages = 1 + (head & 7) as usize;
    let desc = String::from_utf8_lossy(rest).replace('\0', " ");
    let spec = Spec {
        width: 4,
        height: 3,
        bigtiff: head & 8 != 0,
        description: Some(desc),
        ..Spec::default()
    };
    let planes: Vec<Vec<f64>> = (0..pages).map(|k| vec![k as f64; 12]).collect();
    let path = leukotrack_fuzz::write_input("input.ome.tif", &tiff_bytes(&spec, &planes));
    leukotrack_fuzz::open_and_read(&path);
});
