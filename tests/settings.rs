//! The parameter surface (issue 14), tested from the core's own table so that a new setting
//! is covered without a new test: every setting set through the configuration file, its flag
//! and its keyword gives the same effective configuration; a flag beats the file, which beats
//! the default; every range is enforced and named; `summary.json` is written last.

use std::path::Path;
use std::process::Command;

use leukotrack::pipeline::settings::{self, Setting};
use leukotrack::pipeline::{Config, Overrides};
use serde_json::{json, Value};

fn leukotrack(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leukotrack")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The effective configuration `leukotrack config --json` prints for `args`.
fn effective(args: &[&str]) -> Value {
    let mut all = vec!["config", "--json"];
    all.extend_from_slice(args);
    let (ok, out, err) = leukotrack(&all);
    assert!(ok, "{all:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

fn set_path(doc: &mut Value, key: &str, v: Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap();
    let mut cur = doc;
    for p in parts {
        if !cur.get(p).is_some_and(Value::is_object) {
            cur[p] = json!({});
        }
        cur = cur.get_mut(p).unwrap();
    }
    cur[last] = v;
}

fn get_path<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(doc, |v, k| v.get(k))
}

/// The configuration (as JSON) with `row` set to `v`: its table switched to the kind it
/// applies to (`when`) and, for a table of required keys, its siblings filled in.
fn with_value(row: &Setting, v: &Value) -> Value {
    let mut doc = serde_json::to_value(Config::default()).unwrap();
    if let Some(when) = &row.when {
        ensure_kind(&mut doc, when);
    }
    match row.key.rsplit_once('.') {
        Some(("read.shape", _)) if get_path(&doc, "read.shape").is_none_or(Value::is_null) => {
            set_path(&mut doc, "read.shape", json!({"t": 2, "c": 1, "z": 1}));
        }
        Some(("segment.channel_math", _)) => {
            set_path(
                &mut doc,
                "segment.channel_math",
                json!({"subtract_channel": 1, "scale": 0.5}),
            );
        }
        _ => {}
    }
    match v.as_str() {
        Some(kind) if is_tag(&row.key) => set_kind(&mut doc, &row.key, kind),
        _ => set_path(&mut doc, &row.key, v.clone()),
    }
    doc
}

/// Makes `when` (`segment.detector.method.kind = manual`) hold, and the kinds it depends on.
fn ensure_kind(doc: &mut Value, when: &str) {
    let (tag_key, kind) = when.split_once(" = ").unwrap();
    if let Some(outer) = settings::find(tag_key).and_then(|t| t.when) {
        ensure_kind(doc, &outer);
    }
    if get_path(doc, tag_key) != Some(&json!(kind)) {
        set_kind(doc, tag_key, kind);
    }
}

/// Whether `key` is the tag of a tagged table (`link.gate.kind`).
fn is_tag(key: &str) -> bool {
    let prefix = format!("{key} = ");
    settings::settings().iter().any(|r| r.when.as_deref().is_some_and(|w| w.starts_with(&prefix)))
}

/// Sets the tag `tag_key` to `kind` (the table replaced by one of that kind) and fills the
/// keys of that kind (e.g. the `um` of `link.gate.kind = max_distance`) with their defaults
/// or a plain value.
fn set_kind(doc: &mut Value, tag_key: &str, kind: &str) {
    let (table, tag) = tag_key.rsplit_once('.').unwrap_or(("", tag_key));
    if table.is_empty() {
        *doc.get_mut(tag).unwrap() = json!(kind);
    } else {
        set_path(doc, table, json!({ tag: kind }));
    }
    let when = format!("{tag_key} = {kind}");
    let rows: Vec<Setting> =
        settings::settings().into_iter().filter(|r| r.when.as_deref() == Some(&when)).collect();
    // The defaults first; plain values for keys without one only if the kind needs them.
    for fill_unset in [false, true] {
        if fill_unset && parses(doc).is_some() {
            break;
        }
        for r in &rows {
            let v = match (&r.default, r.kind.as_str()) {
                (d, _) if !d.is_null() => d.clone(),
                _ if !fill_unset => continue,
                (_, "integer") => json!(1),
                (_, "string") => json!("drift.csv"),
                (_, "array") => json!([1.0, 0.0, 0.0]),
                _ => json!(1.5),
            };
            match v.as_str() {
                Some(k) if is_tag(&r.key) => set_kind(doc, &r.key, k),
                _ => set_path(doc, &r.key, v),
            }
        }
    }
}

fn parses(doc: &Value) -> Option<Config> {
    Config::from_json_str(&doc.to_string()).ok()
}

/// A valid value other than the default for `row`, found from its type, default and range.
fn example(row: &Setting) -> Option<Value> {
    let d = &row.default;
    let mut candidates: Vec<Value> = match row.kind.as_str() {
        "boolean" => vec![json!(!d.as_bool().unwrap_or(false))],
        "integer" => {
            let base = d.as_u64().unwrap_or(1);
            vec![json!(base + 1), json!(2), json!(1)]
        }
        "number" => {
            let base = d.as_f64().unwrap_or(1.5);
            // Rounded, so a value's decimal text reads back as the same number.
            let r = |x: f64| (x * 1e6).round() / 1e6;
            vec![json!(r(base * 0.75)), json!(r(base * 1.25)), json!(2.5), json!(0.25)]
        }
        "choice" => row
            .choices
            .iter()
            .filter(|c| Some(c.as_str()) != d.as_str())
            .map(|c| json!(c))
            .collect(),
        "array" => vec![
            json!([0.5, 0.6, 2.0]),
            json!([1, 4]),
            json!([1.0, 0.0, 0.0]),
            // A list of tables (`[[interact.partner]]`).
            json!([{"kind": "mask", "name": "region", "path": "roi.tif"}]),
        ],
        "string" => vec![json!("zct"), json!("drift.csv")],
        "table" => vec![json!({"volume_um3": 1.0})],
        _ => Vec::new(),
    };
    // Integers with a default of 0 (channels): 1 exists in a two-channel recording.
    if row.kind == "integer" && d.as_u64() == Some(0) {
        candidates.insert(0, json!(1));
    }
    candidates.into_iter().find(|c| c != d && parses(&with_value(row, c)).is_some())
}

/// The flag's argument for `v` (`None`: the flag alone).
fn flag_text(v: &Value) -> Option<String> {
    match v {
        Value::Bool(_) => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")),
        Value::Object(o) if o.contains_key("t") => {
            Some(format!("{},{},{}", o["t"], o["c"], o["z"]))
        }
        other => Some(other.to_string()),
    }
}

/// The flag form of a row's example: a choice of `drift` is its `--drift` text, a tag of
/// the shape table is the whole `T,C,Z`.
fn flag_value(row: &Setting, v: &Value, doc: &Value) -> Option<String> {
    if row.key.starts_with("read.shape") {
        return flag_text(get_path(doc, "read.shape").unwrap());
    }
    if row.key == "drift.method" && v == "channel" {
        return Some(format!("channel:{}", doc["drift"]["channel"]));
    }
    flag_text(v)
}

/// The keyword form of a row's example, as Python passes it (JSON).
fn keyword_value(row: &Setting, v: &Value, doc: &Value) -> Value {
    let xyz = |a: &Value| {
        let a = a.as_array().unwrap();
        json!({"x": a[0], "y": a[1], "z": a[2]})
    };
    match row.keyword.as_deref() {
        Some("voxel_size" | "reference_direction" | "reference_point") => xyz(v),
        Some("shape") => get_path(doc, "read.shape").unwrap().clone(),
        Some("drift") => Value::from(flag_value(row, v, doc).unwrap()),
        _ => v.clone(),
    }
}

#[test]
fn the_table_covers_every_key_of_the_default_file() {
    let rows = settings::settings();
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let file: toml::Value = toml::from_str(Config::default_toml()).unwrap();
    fn leaves(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                match v {
                    toml::Value::Table(_) if k == "feature_penalties" => out.push(p),
                    toml::Value::Table(_) => leaves(v, &p, out), // (an empty one: all optional)
                    _ => out.push(p),
                }
            }
        }
    }
    let mut file_keys = Vec::new();
    leaves(&file, "", &mut file_keys);
    for k in &file_keys {
        // A tagged table's tag (`link.gate.kind`, `drift.method`) is a row of its own.
        assert!(keys.contains(&k.as_str()), "{k} of default.toml is not in the table");
    }
    for r in &rows {
        assert!(!r.help.is_empty(), "{} has no help", r.key);
        assert!(!r.stage.is_empty(), "{} has no stage", r.key);
    }
    // Every keyword of the overrides names a key of the table.
    for kw in Overrides::keywords() {
        if kw != "method" {
            assert!(rows.iter().any(|r| r.keyword.as_deref() == Some(&kw)), "{kw}");
        }
    }
}

#[test]
fn every_setting_is_the_same_through_the_file_the_flag_and_the_keyword() {
    let dir = tempfile::tempdir().unwrap();
    let mut flagged = 0;
    for (i, row) in settings::settings().iter().enumerate() {
        let Some(v) = example(row) else {
            panic!(
                "no valid example value for {} ({:?}, default {})",
                row.key, row.kind, row.default
            )
        };
        let doc = with_value(row, &v);
        let want = serde_json::to_value(parses(&doc).unwrap()).unwrap();
        assert_eq!(get_path(&want, &row.key), Some(&v), "{}", row.key);
        // Through the configuration file.
        let path = dir.path().join(format!("{i}.toml"));
        let cfg: Config = serde_json::from_value(doc.clone()).unwrap();
        std::fs::write(&path, cfg.to_toml().unwrap()).unwrap();
        let from_file = effective(&[path.to_str().unwrap()]);
        assert_eq!(from_file, want, "{} through the file", row.key);
        let (Some(flag), Some(kw)) = (&row.flag, &row.keyword) else { continue };
        // Through the flag (over the defaults; a flag of a kind's key switches to that kind).
        let mut args = vec![flag.clone()];
        args.extend(flag_value(row, &v, &doc));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(effective(&args), want, "{} through {flag}", row.key);
        // Through the keyword (what Python's keywords arrive as).
        let kw_json = json!({ kw.as_str(): keyword_value(row, &v, &doc) }).to_string();
        let from_kw = serde_json::to_value(Config::resolve_json(None, &kw_json).unwrap()).unwrap();
        assert_eq!(from_kw, want, "{} through {kw}=", row.key);
        flagged += 1;
    }
    assert_eq!(flagged, 30, "settings set through a flag");
}

#[test]
fn a_flag_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[link]\ngap_frames = 0\n\n[segment]\ncell_diameter_um = 12.0\n")
        .unwrap();
    let p = path.to_str().unwrap();
    let c = effective(&[p]);
    assert_eq!(c["link"]["gap_frames"], 0);
    assert_eq!(
        c["link"]["gate"],
        json!({"kind": "auto", "quantile": 0.995, "margin": 1.25, "fallback_um_per_min": 30.0})
    );
    // A flag on another key keeps the file's value (the bug: keyword defaults overwrote it).
    let c = effective(&[p, "--max-distance", "15"]);
    assert_eq!(c["link"]["gap_frames"], 0);
    assert_eq!(c["link"]["gate"], json!({"kind": "max_distance", "um": 15.0}));
    let c = effective(&[p, "--gap-frames", "2", "--cell-diameter", "8"]);
    assert_eq!(
        (c["link"]["gap_frames"].clone(), c["segment"]["cell_diameter_um"].clone()),
        (json!(2), json!(8.0))
    );
    // The same through keywords over a config= dict.
    let base = json!({"link": {"gap_frames": 0}}).to_string();
    let c = Config::resolve_json(Some(&base), r#"{"max_distance": 15}"#).unwrap();
    assert_eq!(c.link.gap_frames, 0);
    let c = Config::resolve_json(Some(&base), r#"{"gap_frames": 4}"#).unwrap();
    assert_eq!(c.link.gap_frames, 4);
}

#[test]
fn every_range_is_enforced_and_named_by_key_and_flag() {
    for row in settings::settings() {
        let int = row.kind == "integer" || row.key.ends_with("_frames");
        let step = if int { 1.0 } else { 0.5 };
        let outside = match (row.exclusive_minimum, row.minimum, row.exclusive_maximum, row.maximum)
        {
            (Some(m), ..) => m - step,
            (None, Some(m), ..) if m - step >= 0.0 || !int => m - step,
            (.., Some(m), _) | (.., Some(m)) => m + step,
            _ => continue,
        };
        let value = match row.kind.as_str() {
            "integer" if outside < 0.0 => continue, // a negative count does not parse at all
            "integer" => json!(outside as i64),
            "array" => {
                let Some(ex) = example(&row) else { continue };
                let n = ex.as_array().unwrap().len();
                if int && outside < 0.0 {
                    continue;
                }
                if int {
                    json!(vec![outside as i64; n])
                } else {
                    json!(vec![outside; n])
                }
            }
            _ => json!(outside),
        };
        let doc = with_value(&row, &value);
        let Ok(cfg) = serde_json::from_value::<Config>(doc.clone()) else { continue };
        let e = cfg.validate().expect_err(&format!("{} = {value} passed", row.key));
        match &e {
            leukotrack::Error::InvalidParameter { name, .. } => assert_eq!(name, &row.key),
            other => panic!("{}: {other}", row.key),
        }
        if let Some(flag) = &row.flag {
            // The command line names the flag with the key.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("c.toml");
            std::fs::write(&path, cfg.to_toml().unwrap()).unwrap();
            let (ok, _, err) = leukotrack(&["config", path.to_str().unwrap()]);
            assert!(!ok && err.contains(flag.as_str()) && err.contains(&row.key), "{err}");
        }
    }
}

#[test]
fn unknown_keys_name_the_nearest_valid_one() {
    let e = Config::from_toml_str("[link]\ngap_frame = 2\n").unwrap_err().to_string();
    assert!(e.contains("gap_frame") && e.contains("did you mean `gap_frames`"), "{e}");
    let e = Config::from_json_str(r#"{"segment": {"cell_diameter": 8}}"#).unwrap_err().to_string();
    assert!(e.contains("did you mean `cell_diameter_um`"), "{e}");
    let e = Overrides::from_json(r#"{"max_sped": 3}"#).unwrap_err().to_string();
    assert!(e.contains("did you mean `max_speed`"), "{e}");
}

#[test]
fn the_flags_of_track_and_batch_are_the_table_s() {
    let flags: Vec<String> = settings::settings().into_iter().filter_map(|r| r.flag).collect();
    for cmd in ["track", "batch", "config"] {
        let (ok, help, _) = leukotrack(&[cmd, "--help"]);
        assert!(ok);
        for f in &flags {
            assert!(
                help.contains(&format!("{f} ")) || help.contains(&format!("{f}\n")),
                "{cmd}: {f}"
            );
        }
        for f in [
            "--config",
            "--detector",
            "--linker",
            "--ctc",
            "--labels",
            "--no-plots",
            "--no-trackmate",
        ] {
            assert!(cmd == "config" || help.contains(f), "{cmd}: {f}");
        }
    }
    let (_, help, _) = leukotrack(&["track", "--help"]);
    assert!(help.contains("Default: 3 frames"), "{help}");
    // Settings of their own: eval's --gap-frames is not the linker's.
    let (_, help, _) = leukotrack(&["eval", "--help"]);
    assert!(!help.contains("Default: 3 frames"), "{help}");
    let (ok, _, err) = leukotrack(&["config", "--default", "--max-speed", "5"]);
    assert!(!ok && err.contains("--default"), "{err}");
}

#[test]
fn synth_config_round_trips_key_for_key() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let (ok, _, err) = leukotrack(&[
        "synth",
        "-o",
        a.to_str().unwrap(),
        "--seed",
        "7",
        "--frames",
        "3",
        "--size",
        "48,40,6",
        "--voxel-size",
        "0.5,0.5,2",
        "--frame-interval",
        "20",
        "--channels",
        "2",
        "--truth-only",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let cfg = a.join("synth.json");
    let (ok, _, err) = leukotrack(&[
        "synth",
        "-o",
        b.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--truth-only",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let read =
        |p: &Path| -> Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    assert_eq!(read(&a.join("synth.json")), read(&b.join("synth.json")));
    // A flag still wins over the file.
    let (ok, _, err) = leukotrack(&[
        "synth",
        "-o",
        b.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--frames",
        "5",
        "--truth-only",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let s = read(&b.join("synth.json"));
    assert_eq!(
        (s["frames"].clone(), s["seed"].clone(), s["channels"].clone()),
        (json!(5), json!(7), json!(2))
    );
}

#[test]
fn summary_json_is_written_last_by_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("sim");
    let (ok, _, err) = leukotrack(&[
        "synth",
        "-o",
        rec.to_str().unwrap(),
        "--frames",
        "3",
        "--size",
        "64,64,8",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let out = dir.path().join("out");
    let recording = rec.join("recording.tif");
    let (ok, _, err) = leukotrack(&[
        "track",
        recording.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--ctc",
        "--labels",
        "--quiet",
    ]);
    assert!(ok, "{err}");
    let summary_time = std::fs::metadata(out.join("summary.json")).unwrap().modified().unwrap();
    // summary.json's configuration is the effective one `config` prints for the same flags.
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["config"], effective(&["--ctc", "--labels"]));
    let mut n = 0;
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            n += 1;
            let t = std::fs::metadata(&p).unwrap().modified().unwrap();
            assert!(t <= summary_time, "{} was written after summary.json", p.display());
        }
    }
    for f in ["labels.tif", "res_track.txt", "mask000.tif", "tracks.xml", "plots/tracks.png"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert!(n > 15, "{n} files");
    // The export list itself: every optional output before summary.json, none of them it.
    let names: Vec<&str> = leukotrack::pipeline::EXPORTS.iter().map(|e| e.name).collect();
    assert!(!names.iter().any(|n| n.split(", ").any(|f| f == "summary.json")), "{names:?}");
    let pos = |s: &str| names.iter().position(|n| n.contains(s)).unwrap();
    assert!(pos("detections.csv") < pos("tracks.xml") && pos("tracks.xml") < pos("res_track.txt"));
}
