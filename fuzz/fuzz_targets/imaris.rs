//! Any bytes as an Imaris "Position" export: `read_imaris` gives tracks that validate and
//! write back, or an error — never a panic.
#![no_main]

use leukotrack::import::read_imaris;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = leukotrack_fuzz::write_input("position.csv", data);
    for interval in [None, Some(30.0)] {
        if let Ok(t) = read_imaris(&path, interval) {
            t.validate().expect("tracks read are valid");
            let mut out = Vec::new();
            t.write_to(&mut out).expect("write to memory");
        }
    }
});
