//! The table of every setting, read from the configuration types themselves: their doc
//! comments (help), types, `#[schemars(range(…))]` ranges and `Default` values, with the flag
//! and the keyword of the fronts ([`super::overrides`]). `leukotrack config --schema` prints
//! it as JSON, `lt.settings()` as a DataFrame, and the napari widget builds its controls
//! from it. [`check`] enforces its ranges, so a range is written once, on its field.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use super::overrides::flag_of;
use super::Config;
use crate::error::{Error, Result};

/// One setting: a leaf key of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// Its key path, e.g. `link.gap_frames` (the TOML table and key; `channel` at the top).
    pub key: String,
    /// The stage it belongs to (`read`, `segment`, `drift`, `link`, `metrics`, `export`).
    pub stage: String,
    /// The command-line flag of `track` and `batch` that sets it, if any.
    pub flag: Option<String>,
    /// The Python keyword of `lt.track` (and of the stage's function) that sets it, if any.
    pub keyword: Option<String>,
    /// `integer`, `number`, `boolean`, `string`, `array`, `table`, or one of `choices`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it may be left unset (`None`: derived or off).
    pub optional: bool,
    /// Its unit (`µm`, `s`, `µm/min`, …), if it has one.
    pub unit: Option<String>,
    /// The default value (`null`: unset).
    pub default: Value,
    /// Smallest value allowed (inclusive).
    pub minimum: Option<f64>,
    /// Largest value allowed (inclusive).
    pub maximum: Option<f64>,
    /// Values must be larger than this.
    pub exclusive_minimum: Option<f64>,
    /// Values must be smaller than this.
    pub exclusive_maximum: Option<f64>,
    /// The range as text (`> 0`, `≥ 1`, `≥ 0 and ≤ 1`; empty for none).
    pub range: String,
    /// The allowed values of a choice (a detector kind, a filter, a tagged table's kind).
    pub choices: Vec<String>,
    /// When the key applies: the choice of its table, e.g. `segment.detector.kind = threshold`.
    pub when: Option<String>,
    /// What it does (the field's documentation).
    pub help: String,
}

impl Setting {
    /// The default as a user reads it, with its unit (`3 frames`, `30.0 µm/min`, `blob`);
    /// `None` for switches and for settings unset by default.
    pub fn default_text(&self) -> Option<String> {
        let value = match &self.default {
            Value::Null | Value::Bool(_) => return None,
            Value::String(v) => v.clone(),
            v => v.to_string(),
        };
        Some(match &self.unit {
            Some(u) => format!("{value} {u}"),
            None => value,
        })
    }

    /// The range as text, e.g. `> 0`, `≥ 1`, `[0, 1]`, or empty.
    pub fn range_text(&self) -> String {
        let lo = match (self.exclusive_minimum, self.minimum) {
            (Some(v), _) => Some(format!("> {v}")),
            (None, Some(v)) => Some(format!("≥ {v}")),
            _ => None,
        };
        let hi = match (self.exclusive_maximum, self.maximum) {
            (Some(v), _) => Some(format!("< {v}")),
            (None, Some(v)) => Some(format!("≤ {v}")),
            _ => None,
        };
        match (lo, hi) {
            (Some(l), Some(h)) => format!("{l} and {h}"),
            (Some(l), None) => l,
            (None, Some(h)) => h,
            (None, None) => String::new(),
        }
    }
}

/// Every setting of the pipeline's configuration, sorted by key path.
pub fn settings() -> Vec<Setting> {
    let mut out = Vec::new();
    walk_root::<Config>("", &mut out);
    let defaults = serde_json::to_value(Config::default()).unwrap_or(Value::Null);
    for s in &mut out {
        if s.default.is_null() {
            if let Some(v) = lookup(&defaults, &s.key) {
                s.default = v.clone();
            }
        }
        s.stage =
            s.key.split('.').next().filter(|_| s.key.contains('.')).unwrap_or("segment").into();
        s.keyword = super::overrides::keyword_of(&s.key).map(str::to_string);
        s.range = s.range_text();
        s.flag = s.keyword.as_deref().map(flag_of);
    }
    out
}

/// The settings of one type (a stage's configuration) under the key prefix `prefix`.
pub fn settings_of<T: JsonSchema>(prefix: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    walk_root::<T>(prefix, &mut out);
    out
}

/// [`settings_of`] `T` at the top, made once per type (validation runs per timepoint).
fn cached<T: JsonSchema + 'static>() -> std::sync::Arc<Vec<Setting>> {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Arc<Vec<Setting>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry(TypeId::of::<T>()).or_insert_with(|| Arc::new(settings_of::<T>(""))).clone()
}

fn walk_root<T: JsonSchema>(prefix: &str, out: &mut Vec<Setting>) {
    let schema = schemars::schema_for!(T);
    let root = schema.as_value().clone();
    let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
    let w = Walker { defs: &defs };
    if root.get("oneOf").is_some() {
        w.field(&root, prefix, &Ctx::default(), out);
    } else {
        w.object(&root, prefix, &Ctx::default(), out);
    }
}

struct Walker<'a> {
    defs: &'a Value,
}

/// What a table passes down to its keys.
#[derive(Default, Clone)]
struct Ctx {
    /// The choice the keys depend on (`segment.detector.kind = blob`).
    when: Option<String>,
    /// The table is optional (its keys are then unset by default).
    optional: bool,
    /// The table's default value, for keys whose schema has none.
    default: Option<Value>,
}

impl Walker<'_> {
    /// `s` with its `$ref` resolved (and its own keys kept over the target's).
    fn resolve(&self, s: &Value) -> Value {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else { return s.clone() };
        let name = r.trim_start_matches("#/$defs/");
        let mut target = self.resolve(self.defs.get(name).unwrap_or(&Value::Null));
        if let (Value::Object(t), Value::Object(own)) = (&mut target, s) {
            for (k, v) in own {
                if k != "$ref" {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        target
    }

    /// The non-null alternative of an optional schema (`anyOf: [X, null]`), if it is one.
    fn unwrap_optional(&self, s: &Value) -> Option<Value> {
        let alts = s.get("anyOf")?.as_array()?;
        let non_null: Vec<&Value> =
            alts.iter().filter(|a| a.get("type") != Some(&Value::from("null"))).collect();
        (non_null.len() == 1 && alts.len() == 2).then(|| {
            let mut inner = self.resolve(non_null[0]);
            if let (Value::Object(i), Some(d)) = (&mut inner, s.get("description")) {
                i.insert("description".into(), d.clone());
            }
            inner
        })
    }

    /// The properties of an object schema (its own and those of its `allOf` parts).
    fn properties(&self, s: &Value) -> Map<String, Value> {
        let mut props = Map::new();
        if let Some(Value::Object(p)) = s.get("properties") {
            props.extend(p.clone());
        }
        for part in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            props.extend(self.properties(&self.resolve(part)));
        }
        props
    }

    fn object(&self, s: &Value, prefix: &str, ctx: &Ctx, out: &mut Vec<Setting>) {
        let s = self.resolve(s);
        for (name, prop) in self.properties(&s) {
            let key = join(prefix, &name);
            let mut prop = prop.clone();
            if let (Some(d), Value::Object(p)) =
                (ctx.default.as_ref().and_then(|d| d.get(&name)), &mut prop)
            {
                p.entry("default").or_insert_with(|| d.clone());
            }
            self.field(&prop, &key, ctx, out);
        }
    }

    fn field(&self, prop: &Value, key: &str, ctx: &Ctx, out: &mut Vec<Setting>) {
        let (mut s, optional) = match self.unwrap_optional(prop) {
            Some(inner) => (inner, true),
            None => (self.resolve(prop), false),
        };
        if let (Value::Object(o), Some(d)) = (&mut s, prop.get("default")) {
            o.insert("default".into(), d.clone());
        }
        let optional = optional || ctx.optional;
        let inner = Ctx {
            when: ctx.when.clone(),
            optional,
            default: s.get("default").filter(|d| d.is_object()).cloned(),
        };
        if let Some(variants) = s.get("oneOf").and_then(Value::as_array) {
            if self.tagged(&s, variants, key, &inner, out) {
                return;
            }
        }
        let is_table = s.get("type") == Some(&Value::from("object"))
            && s.get("properties").is_some()
            && !s.get("additionalProperties").is_some_and(Value::is_object);
        if is_table || (s.get("allOf").is_some() && s.get("type").is_none()) {
            self.object(&s, key, &inner, out);
            return;
        }
        out.push(self.leaf(&s, key, optional, ctx.when.as_deref()));
    }

    /// A tagged enum (`kind = …` / `method = …`): a row for its tag, then each variant's keys.
    fn tagged(
        &self,
        s: &Value,
        variants: &[Value],
        key: &str,
        ctx: &Ctx,
        out: &mut Vec<Setting>,
    ) -> bool {
        let (optional, when) = (ctx.optional, ctx.when.as_deref());
        let variants: Vec<Value> = variants.iter().map(|v| self.resolve(v)).collect();
        let tag = variants.first().and_then(|v| {
            self.properties(v).iter().find_map(|(k, p)| p.get("const").map(|_| k.clone()))
        });
        let Some(tag) = tag else {
            // A plain enum of names.
            let choices: Vec<String> = variants
                .iter()
                .filter_map(|v| v.get("const").or_else(|| v.get("enum").and_then(|e| e.get(0))))
                .filter_map(|c| c.as_str().map(String::from))
                .collect();
            if choices.len() != variants.len() {
                return false;
            }
            let mut row = self.leaf(s, key, optional, when);
            row.kind = "choice".into();
            row.choices = choices;
            row.help = describe(s, &variants);
            out.push(row);
            return true;
        };
        let names: Vec<String> = variants
            .iter()
            .filter_map(|v| self.properties(v).get(&tag)?.get("const")?.as_str().map(String::from))
            .collect();
        let tag_key = join(key, &tag);
        let mut row = self.leaf(s, &tag_key, optional, when);
        row.kind = "choice".into();
        row.choices = names.clone();
        row.help = describe(s, &variants);
        row.default =
            ctx.default.as_ref().and_then(|d| d.get(&tag)).cloned().unwrap_or(Value::Null);
        out.push(row);
        for (v, name) in variants.iter().zip(&names) {
            let chosen =
                ctx.default.as_ref().filter(|d| d.get(&tag) == Some(&Value::from(name.as_str())));
            let inner = Ctx {
                when: Some(format!("{tag_key} = {name}")),
                optional,
                default: chosen.cloned(),
            };
            for (pname, mut prop) in self.properties(v) {
                if pname != tag {
                    if let (Some(d), Value::Object(p)) =
                        (chosen.and_then(|d| d.get(&pname)), &mut prop)
                    {
                        p.entry("default").or_insert_with(|| d.clone());
                    }
                    self.field(&prop, &join(key, &pname), &inner, out);
                }
            }
        }
        true
    }

    fn leaf(&self, s: &Value, key: &str, optional: bool, when: Option<&str>) -> Setting {
        let types: Vec<&str> = match s.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let nullable = types.contains(&"null");
        let kind = types.iter().find(|t| **t != "null").copied().unwrap_or("table");
        let kind = match kind {
            "object" => "table",
            other => other,
        };
        let choices: Vec<String> = s
            .get("enum")
            .and_then(Value::as_array)
            .map(|e| e.iter().filter_map(|c| c.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let num = |k: &str| s.get(k).and_then(Value::as_f64);
        let items = s.get("items").map(|i| self.resolve(i));
        let item_num = |k: &str| items.as_ref().and_then(|i| i.get(k)).and_then(Value::as_f64);
        Setting {
            key: key.to_string(),
            stage: String::new(),
            flag: None,
            keyword: None,
            kind: if choices.is_empty() { kind.to_string() } else { "choice".to_string() },
            optional: optional || nullable,
            unit: s
                .get("unit")
                .and_then(Value::as_str)
                .map(String::from)
                .or_else(|| unit_of(key).map(String::from)),
            default: s.get("default").cloned().unwrap_or(Value::Null),
            minimum: num("minimum").or_else(|| item_num("minimum")),
            maximum: num("maximum").or_else(|| item_num("maximum")),
            exclusive_minimum: num("exclusiveMinimum").or_else(|| item_num("exclusiveMinimum")),
            exclusive_maximum: num("exclusiveMaximum").or_else(|| item_num("exclusiveMaximum")),
            range: String::new(),
            choices,
            when: when.map(String::from),
            help: s.get("description").and_then(Value::as_str).unwrap_or("").to_string(),
        }
    }
}

/// `prefix.name` (`name` at the top).
fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The description of a choice: the enum's own and each variant's.
fn describe(s: &Value, variants: &[Value]) -> String {
    let mut text = s.get("description").and_then(Value::as_str).unwrap_or("").to_string();
    for v in variants {
        let name = v
            .get("const")
            .or_else(|| v.get("properties")?.as_object()?.values().find_map(|p| p.get("const")))
            .and_then(Value::as_str);
        if let (Some(n), Some(d)) = (name, v.get("description").and_then(Value::as_str)) {
            text.push_str(&format!(" `{n}`: {d}"));
        }
    }
    text.trim().to_string()
}

/// The unit a key's name carries (the field's naming convention: `_um`, `_s`, `_um_per_min`…).
fn unit_of(key: &str) -> Option<&'static str> {
    let name = key.rsplit('.').next().unwrap_or(key);
    const SUFFIXES: [(&str, &str); 9] = [
        ("_um2_per_min", "µm²/min"),
        ("_um_per_min", "µm/min"),
        ("_um3", "µm³"),
        ("_um2", "µm²"),
        ("_um", "µm"),
        ("_frames", "frames"),
        ("_min", "min"),
        ("_s", "s"),
        ("_deg", "°"),
    ];
    SUFFIXES.iter().find(|(s, _)| name.ends_with(s) || name == &s[1..]).map(|(_, u)| *u)
}

/// The value at a key path of a configuration as JSON.
pub fn lookup<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(v, |v, k| v.get(k))
}

/// Checks every value of `value` (a configuration, or one stage's under `prefix`) against
/// the ranges of its settings, and that every number is finite; the error names the key path.
pub fn check<T: JsonSchema + Serialize + 'static>(value: &T, prefix: &str) -> Result<()> {
    // TOML keeps NaN and infinities (JSON turns them into null), but not integers beyond
    // i64: for those (never NaN) the JSON form is checked.
    let doc = match toml::Value::try_from(value) {
        Ok(doc) => doc,
        Err(_) => {
            let json = serde_json::to_value(value)
                .map_err(|e| Error::internal(format!("settings to JSON: {e}")))?;
            toml_of_json(&json)
        }
    };
    let full =
        |key: &str| if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
    for s in cached::<T>().iter() {
        let Some(v) = key_path(&doc, &s.key) else { continue };
        let values: Vec<f64> = match v {
            toml::Value::Float(f) => vec![*f],
            toml::Value::Integer(i) => vec![*i as f64],
            toml::Value::Array(a) => a
                .iter()
                .filter_map(|x| match x {
                    toml::Value::Float(f) => Some(*f),
                    toml::Value::Integer(i) => Some(*i as f64),
                    _ => None,
                })
                .collect(),
            _ => continue,
        };
        for x in values {
            if !x.is_finite() {
                return Err(Error::param(
                    full(&s.key),
                    format!("must be a finite number, got {x}"),
                ));
            }
            let ok = s.minimum.is_none_or(|m| x >= m)
                && s.maximum.is_none_or(|m| x <= m)
                && s.exclusive_minimum.is_none_or(|m| x > m)
                && s.exclusive_maximum.is_none_or(|m| x < m);
            if !ok {
                let unit = s.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
                return Err(Error::param(
                    full(&s.key),
                    format!("must be {}{unit}, got {x}", s.range_text()),
                ));
            }
        }
    }
    Ok(())
}

/// The numbers, arrays and tables of a JSON value as TOML (nulls dropped; integers beyond
/// i64 as floats, which the ranges compare the same).
fn toml_of_json(v: &Value) -> toml::Value {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::INFINITY)),
        },
        Value::Array(a) => toml::Value::Array(a.iter().map(toml_of_json).collect()),
        Value::Object(o) => toml::Value::Table(
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), toml_of_json(v)))
                .collect(),
        ),
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Null => toml::Value::String(String::new()),
    }
}

fn key_path<'a>(v: &'a toml::Value, key: &str) -> Option<&'a toml::Value> {
    key.split('.').try_fold(v, |v, k| v.get(k))
}

/// The setting with key path `key`.
pub fn find(key: &str) -> Option<Setting> {
    settings().into_iter().find(|s| s.key == key)
}
