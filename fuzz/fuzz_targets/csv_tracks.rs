//! Any bytes as a tracks CSV (with and without a frame interval): `Tracks::from_reader`
//! returns a table that validates and writes back, or an error — never a panic.
#![no_main]

use std::path::Path;

use leukotrack::Tracks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for interval in [None, Some(30.0)] {
        if let Ok(t) = Tracks::from_reader(data, Path::new("fuzz.csv"), interval) {
            t.validate().expect("a table read is valid");
            let _ = t.rows_by_track();
            let mut out = Vec::new();
            t.write_to(&mut out).expect("write to memory");
        }
    }
});
