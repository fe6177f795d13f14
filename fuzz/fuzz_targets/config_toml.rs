//! Any text as a pipeline configuration: `Config::from_toml_str` gives a configuration that
//! validates and survives a TOML round trip, or an error naming the key — never a panic.
#![no_main]

use leukotrack::pipeline::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cfg) = Config::from_toml_str(text) {
        cfg.validate().expect("a parsed configuration is valid");
        let _ = cfg.read.options();
        let back = cfg.to_toml().expect("a valid configuration serialises");
        let again = Config::from_toml_str(&back).expect("its own TOML parses");
        assert_eq!(again.to_toml().unwrap(), back, "TOML round trip is stable");
    }
});
