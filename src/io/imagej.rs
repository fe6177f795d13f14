//! ImageJ hyperstack metadata: the `ImageDescription` of page 0 (`ImageJ=…` key=value lines).

use std::collections::HashMap;

/// Parsed ImageJ description: `key → value` with `\uXXXX` escapes decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageJMeta {
    /// All keys as written (values unescaped, trimmed).
    pub entries: HashMap<String, String>,
}

impl ImageJMeta {
    /// Parses a description if it is an ImageJ one (starts with `ImageJ=` or `SCIFIO=`).
    pub fn parse(desc: &str) -> Option<Self> {
        let desc = desc.trim_end_matches('\0');
        if !(desc.starts_with("ImageJ=") || desc.starts_with("SCIFIO=")) {
            return None;
        }
        let mut entries = HashMap::new();
        for line in desc.lines() {
            if let Some((k, v)) = line.split_once('=') {
                entries.insert(k.trim().to_string(), unescape(v.trim()));
            }
        }
        Some(ImageJMeta { entries })
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }
    /// An integer key (e.g. `images`, `channels`), if present and valid.
    pub fn int(&self, key: &str) -> Option<u64> {
        self.get(key)?.parse().ok()
    }
    /// A float key (e.g. `spacing`, `finterval`), if present, finite and valid.
    pub fn float(&self, key: &str) -> Option<f64> {
        self.get(key)?.parse::<f64>().ok().filter(|v| v.is_finite())
    }
    /// Number of channels, slices and frames (absent keys = 1).
    pub fn czt(&self) -> (u64, u64, u64) {
        let g = |k| self.int(k).unwrap_or(1).max(1);
        (g("channels"), g("slices"), g("frames"))
    }
    /// Total planes (`images`), when written.
    pub fn images(&self) -> Option<u64> {
        self.int("images")
    }
    /// Length unit (`unit`) as µm per unit, or `None` when missing/unknown/pixel.
    pub fn unit_um(&self) -> Option<f64> {
        unit_to_um(self.get("unit")?)
    }
    /// Z unit (`zunit`, falling back to `unit`) as µm per unit.
    pub fn zunit_um(&self) -> Option<f64> {
        match self.get("zunit") {
            Some(u) => unit_to_um(u),
            None => self.unit_um(),
        }
    }
    /// Frame interval in seconds (`finterval` in `tunit`, default seconds), if > 0.
    pub fn frame_interval_s(&self) -> Option<f64> {
        let f = self.float("finterval").filter(|f| *f > 0.0)?;
        let scale = match self.get("tunit") {
            None => 1.0,
            Some(u) => time_unit_to_s(u)?,
        };
        Some(f * scale)
    }
    /// Plane order from the non-ImageJ `order` key (fastest first), default `czt`.
    pub fn order(&self) -> Option<&str> {
        self.get("order")
    }
}

/// Decodes Java-properties style `\uXXXX` escapes (ImageJ writes `\u00B5m` for µm).
pub fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 5 < chars.len() && chars[i + 1] == 'u' {
            let hex: String = chars[i + 2..i + 6].iter().collect();
            if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                out.push(c);
                i += 6;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// µm per unit for a length unit as microscopy files spell it, `None` if unknown or `pixel`.
pub fn unit_to_um(unit: &str) -> Option<f64> {
    let u = unescape(unit.trim()).to_lowercase().replace(['µ', 'μ'], "u");
    Some(match u.as_str() {
        "nm" | "nanometer" | "nanometers" | "nanometre" | "nanometres" => 1e-3,
        "um" | "micron" | "microns" | "micrometer" | "micrometers" | "micrometre"
        | "micrometres" => 1.0,
        "mm" | "millimeter" | "millimeters" | "millimetre" | "millimetres" => 1e3,
        "cm" | "centimeter" | "centimeters" => 1e4,
        "m" | "meter" | "meters" | "metre" | "metres" => 1e6,
        "inch" | "in" => 25_400.0,
        _ => return None,
    })
}

/// Seconds per unit for a time unit (`s`, `sec`, `ms`, `min`, `h`, …), `None` if unknown.
pub fn time_unit_to_s(unit: &str) -> Option<f64> {
    let u = unescape(unit.trim()).to_lowercase().replace(['µ', 'μ'], "u");
    Some(match u.as_str() {
        "s" | "sec" | "second" | "seconds" => 1.0,
        "ms" | "msec" | "millisecond" | "milliseconds" => 1e-3,
        "us" | "usec" | "microsecond" | "microseconds" => 1e-6,
        "min" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hour" | "hours" => 3600.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hyperstack_description() {
        let d = "ImageJ=1.54f\nimages=24\nchannels=2\nslices=4\nframes=3\nhyperstack=true\nunit=\\u00B5m\nspacing=2.5\nfinterval=30\n\0\0";
        let m = ImageJMeta::parse(d).unwrap();
        assert_eq!(m.czt(), (2, 4, 3));
        assert_eq!(m.images(), Some(24));
        assert_eq!(m.unit_um(), Some(1.0));
        assert_eq!(m.float("spacing"), Some(2.5));
        assert_eq!(m.frame_interval_s(), Some(30.0));
        assert!(ImageJMeta::parse("<OME/>").is_none());
    }

    #[test]
    fn units() {
        for (u, v) in [
            ("micron", 1.0),
            ("µm", 1.0),
            ("μm", 1.0),
            ("um", 1.0),
            ("nm", 1e-3),
            ("\\u00B5m", 1.0),
            ("mm", 1e3),
        ] {
            assert_eq!(unit_to_um(u), Some(v), "{u}");
        }
        assert_eq!(unit_to_um("pixel"), None);
        assert_eq!(time_unit_to_s("min"), Some(60.0));
        assert_eq!(unescape("a\\u00B5b\\x"), "aµb\\x");
    }
}
