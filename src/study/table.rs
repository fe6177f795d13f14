//! The study table: one row per recording (or tracks file), its mouse, group, further
//! columns and per-row overrides.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The columns with a meaning; every other column is carried along.
pub const REQUIRED: [&str; 3] = ["recording", "mouse", "group"];
/// Per-row overrides, named as the configuration's keys.
pub const OVERRIDES: [&str; 3] = ["frame_interval_s", "voxel_size_um", "channel"];

/// One row of the study table.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The row's line in the file (1-based, the header is line 1), for messages.
    pub line: usize,
    /// The recording or tracks file (relative paths resolved against the table's folder).
    pub recording: PathBuf,
    /// The biological replicate.
    pub mouse: String,
    /// The genotype or treatment.
    pub group: String,
    /// Further columns, in the table's order (`name`, value).
    pub columns: Vec<(String, String)>,
    /// `frame_interval_s` override, s.
    pub frame_interval_s: Option<f64>,
    /// `voxel_size_um` override `[x, y, z]`, µm (written `X,Y,Z`).
    pub voxel_size_um: Option<[f64; 3]>,
    /// `channel` override (0-based).
    pub channel: Option<usize>,
    /// The row's results name: the path relative to the table's folder without its suffixes
    /// (`mouse1/rec1`; the file name for a file elsewhere), made unique.
    pub name: String,
}

impl Entry {
    /// True when the row names tracks (`.csv`: leukotrack's columns; `.xml`: TrackMate)
    /// rather than a recording.
    pub fn is_tracks(&self) -> bool {
        let n = self.recording.to_string_lossy().to_ascii_lowercase();
        n.ends_with(".csv") || n.ends_with(".xml")
    }
}

/// A study table read from CSV or TOML.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyTable {
    /// The file.
    pub path: PathBuf,
    /// Its rows.
    pub entries: Vec<Entry>,
    /// The further columns' names, in order.
    pub columns: Vec<String>,
}

impl StudyTable {
    /// The groups in order of first appearance.
    pub fn groups(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.entries
            .iter()
            .filter(|e| seen.insert(e.group.clone()))
            .map(|e| e.group.clone())
            .collect()
    }
}

fn bad(path: &Path, line: usize, reason: String) -> Error {
    Error::param("study", format!("{} line {line}: {reason}", path.display()))
}

/// Reads a study table: a CSV with a header (`recording,mouse,group[,…]`) or a TOML file of
/// `[[recording]]` tables with the same keys. Relative paths are relative to the table's
/// folder. Errors name the file, the line and the column.
pub fn read_table(path: impl AsRef<Path>) -> Result<StudyTable> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let (header, rows) = if is_toml { toml_rows(path, &text)? } else { csv_rows(path, &text)? };
    for c in REQUIRED {
        if !header.iter().any(|h| h == c) {
            return Err(bad(
                path,
                1,
                format!("no `{c}` column (the table needs recording, mouse, group)"),
            ));
        }
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let columns: Vec<String> = header
        .iter()
        .filter(|h| !REQUIRED.contains(&h.as_str()) && !OVERRIDES.contains(&h.as_str()))
        .cloned()
        .collect();
    let mut names = HashSet::new();
    let mut entries = Vec::new();
    for (line, row) in rows {
        let get = |c: &str| -> Option<String> {
            header
                .iter()
                .position(|h| h == c)
                .and_then(|i| row.get(i))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let need = |c: &str| get(c).ok_or_else(|| bad(path, line, format!("`{c}` is empty")));
        let rec = PathBuf::from(need("recording")?);
        let recording = if rec.is_absolute() { rec } else { dir.join(rec) };
        let frame_interval_s = match get("frame_interval_s") {
            Some(v) => Some(
                v.parse::<f64>().ok().filter(|f| f.is_finite() && *f > 0.0).ok_or_else(|| {
                    bad(path, line, format!("frame_interval_s `{v}`: give a number of seconds > 0"))
                })?,
            ),
            None => None,
        };
        let voxel_size_um = match get("voxel_size_um") {
            Some(v) => {
                let parts: Vec<f64> = v
                    .split([',', ' ', ';'])
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| s.parse().ok())
                    .collect();
                match parts[..] {
                    [x, y, z] if [x, y, z].iter().all(|v| v.is_finite() && *v > 0.0) => {
                        Some([x, y, z])
                    }
                    _ => {
                        return Err(bad(
                            path,
                            line,
                            format!("voxel_size_um `{v}`: give X,Y,Z in µm, each > 0"),
                        ))
                    }
                }
            }
            None => None,
        };
        let channel = match get("channel") {
            Some(v) => Some(v.parse::<usize>().map_err(|_| {
                bad(path, line, format!("channel `{v}`: give a 0-based channel number"))
            })?),
            None => None,
        };
        // The results name: the path relative to the table's folder (`/` kept, as batch
        // nests), without .tif/.ome.tif/.csv/.xml.
        let rel = recording
            .strip_prefix(dir)
            .unwrap_or(Path::new(recording.file_name().unwrap_or_default()));
        let stem = crate::pipeline::recording_name(rel);
        let stem = stem
            .strip_suffix(".csv")
            .or_else(|| stem.strip_suffix(".xml"))
            .unwrap_or(&stem)
            .to_string();
        let base = match rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => format!("{}/{stem}", parent.to_string_lossy()).replace('\\', "/"),
            None => stem,
        };
        let mut name = base.clone();
        let mut k = 2;
        while !names.insert(name.to_ascii_lowercase()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        entries.push(Entry {
            line,
            mouse: need("mouse")?,
            group: need("group")?,
            columns: columns.iter().map(|c| (c.clone(), get(c).unwrap_or_default())).collect(),
            recording,
            frame_interval_s,
            voxel_size_um,
            channel,
            name,
        });
    }
    if entries.is_empty() {
        return Err(bad(path, 1, "the table has no rows".into()));
    }
    Ok(StudyTable { path: path.to_path_buf(), entries, columns })
}

type Rows = (Vec<String>, Vec<(usize, Vec<String>)>);

fn csv_rows(path: &Path, text: &str) -> Result<Rows> {
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| bad(path, 1, e.to_string()))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
            bad(path, line, e.to_string())
        })?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        if rec.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        rows.push((line, rec.iter().map(str::to_string).collect()));
    }
    Ok((header, rows))
}

fn toml_rows(path: &Path, text: &str) -> Result<Rows> {
    let doc: toml::Table =
        toml::from_str(text).map_err(|e| bad(path, 1, e.message().to_string()))?;
    let list = doc
        .get("recording")
        .and_then(|v| v.as_array())
        .ok_or_else(|| bad(path, 1, "no [[recording]] tables".into()))?;
    let mut header: Vec<String> = Vec::new();
    for t in list.iter().filter_map(|v| v.as_table()) {
        for k in t.keys() {
            if !header.contains(k) {
                header.push(k.clone());
            }
        }
    }
    let text_of = |v: &toml::Value| match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(a) => a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    };
    // Each table's line: that of its `[[recording]]` header.
    let starts: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[recording]]"))
        .map(|(n, _)| n + 1)
        .collect();
    let rows = list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let t = v.as_table();
            let row = header
                .iter()
                .map(|h| t.and_then(|t| t.get(h)).map(text_of).unwrap_or_default())
                .collect();
            (starts.get(i).copied().unwrap_or(i + 1), row)
        })
        .collect();
    Ok((header, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("leukotrack-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn csv_and_toml_tables_read_the_same() {
        let csv = write(
            "s.csv",
            "recording,mouse,group,day,frame_interval_s,voxel_size_um\n\
             m1/rec.tif,m1,WT,1,20,\"0.5,0.5,2\"\nm1/rec2.ome.tif,m1,WT,2,,\nko.csv,m2,KO,1,,\n",
        );
        let t = read_table(&csv).unwrap();
        assert_eq!(t.groups(), ["WT", "KO"]);
        assert_eq!(t.columns, ["day"]);
        let names: Vec<&str> = t.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["m1/rec", "m1/rec2", "ko"]);
        assert_eq!(t.entries[0].frame_interval_s, Some(20.0));
        assert_eq!(t.entries[0].voxel_size_um, Some([0.5, 0.5, 2.0]));
        assert!(t.entries[2].is_tracks() && !t.entries[0].is_tracks());
        assert_eq!(t.entries[0].recording, csv.parent().unwrap().join("m1/rec.tif"));
        let toml = write(
            "s.toml",
            "[[recording]]\nrecording = \"m1/rec.tif\"\nmouse = \"m1\"\ngroup = \"WT\"\nday = 1\n\
             frame_interval_s = 20\nvoxel_size_um = [0.5, 0.5, 2.0]\n\n[[recording]]\n\
             recording = \"m1/rec2.ome.tif\"\nmouse = \"m1\"\ngroup = \"WT\"\nday = 2\n\n\
             [[recording]]\nrecording = \"ko.csv\"\nmouse = \"m2\"\ngroup = \"KO\"\nday = 1\n",
        );
        let u = read_table(&toml).unwrap();
        assert_eq!(u.entries.len(), 3);
        for (a, b) in t.entries.iter().zip(&u.entries) {
            assert_eq!(
                (&a.name, &a.mouse, &a.group, a.frame_interval_s, a.voxel_size_um),
                (&b.name, &b.mouse, &b.group, b.frame_interval_s, b.voxel_size_um)
            );
            assert_eq!(a.columns, b.columns);
        }
        // Errors name the file and the line.
        let bad = write("b.toml", "[[recording]]\nrecording = \"a.tif\"\nmouse = \"m\"\n\n[[recording]]\nrecording = \"b.tif\"\nmouse = \"n\"\ngroup = \"G\"\n");
        let e = read_table(&bad).unwrap_err().to_string();
        assert!(e.contains("b.toml line 1") && e.contains("`group` is empty"), "{e}");
        let bad = write("c.csv", "recording,mouse,group,channel\na.tif,m,G,one\n");
        let e = read_table(&bad).unwrap_err().to_string();
        assert!(e.contains("c.csv line 2") && e.contains("channel"), "{e}");
        let bad = write("d.csv", "recording,mouse,group,voxel_size_um\na.tif,m,G,\"1,2\"\n");
        assert!(read_table(&bad).unwrap_err().to_string().contains("X,Y,Z"));
        let empty = write("e.csv", "recording,mouse,group\n");
        assert!(read_table(&empty).unwrap_err().to_string().contains("no rows"));
    }
}
