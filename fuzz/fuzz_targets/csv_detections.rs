//! Any bytes as a detections CSV: `Detections::from_reader` returns a table that validates
//! and writes back, or an error — never a panic.
#![no_main]

use std::path::Path;

use leukotrack::Detections;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Detections::from_reader(data, Path::new("fuzz.csv")) {
        d.validate().expect("a table read is valid");
        let _ = d.rows_by_frame();
        let mut out = Vec::new();
        d.write_to(&mut out).expect("write to memory");
    }
});
