//! Any bytes as a TIFF file: `Recording::open` then reading volumes must return `Ok` or
//! `Err`, never panic, hang or allocate more than the file can justify.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = leukotrack_fuzz::write_input("input.tif", data);
    leukotrack_fuzz::open_and_read(&path);
});
