//! `report.html`: one self-contained page (figures as inline SVG, no external reference) with
//! the study table, the settings, the warnings, the comparisons and every figure.

use super::{Study, COMPARISON_COLUMNS};
use crate::error::Result;
use crate::export::plots::study::{study_svg, StudyPlot};
use crate::table::fmt_f64;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn table(header: &[String], rows: &[Vec<String>], class: &str) -> String {
    let mut h = format!("<table class=\"{class}\"><thead><tr>");
    for c in header {
        h.push_str(&format!("<th>{}</th>", esc(c)));
    }
    h.push_str("</tr></thead><tbody>\n");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            h.push_str(&format!("<td>{}</td>", esc(c)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    h
}

/// Rounds a number for display (4 significant digits; p-values below 10⁻⁴ in exponent
/// form).
fn short(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    if v != 0.0 && v.abs() < 1e-4 {
        return format!("{v:.2e}");
    }
    let digits = (4 - v.abs().log10().ceil().max(0.0) as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

pub(super) fn html(study: &Study) -> Result<String> {
    let groups = study.table.groups();
    let mut h = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>leukotrack study</title>\n<style>\n\
         body{font-family:sans-serif;margin:2em auto;max-width:1200px;color:#1e1e1e;line-height:1.4}\n\
         table{border-collapse:collapse;margin:0.6em 0 1.4em;font-size:13px}\n\
         th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f2f2f2}\n\
         .warn{background:#fff4e0;border-left:4px solid #e88c14;padding:0.4em 1em}\n\
         .fig svg{max-width:100%;height:auto;border:1px solid #eee;margin:0.5em 0}\n\
         .note{color:#555}.wide{overflow-x:auto}.comparisons td{white-space:nowrap}\n</style></head><body>\n",
    );
    h.push_str("<h1>leukotrack study</h1>\n");
    h.push_str(&format!(
        "<p>Table <code>{}</code> · {} rows · {} mice · {} tracks · groups: {} · reference: <b>{}</b></p>\n",
        esc(&study.table.path.display().to_string()),
        study.table.entries.len(),
        study.mice().len(),
        study.tracks.len(),
        groups.iter().map(|g| format!("<b>{}</b>", esc(g))).collect::<Vec<_>>().join(", "),
        esc(&study.reference)
    ));
    h.push_str(
        "<p class=\"note\">The unit of every test and interval is the mouse: a mouse's value is the median over its \
         tracks, groups are compared by the difference of the medians of their mice, with a hierarchical bootstrap \
         (mice within group, then tracks within mouse) and a permutation test of the mouse labels. The columns \
         <code>p_tracks_*</code> treat tracks as independent (pseudo-replication) and are shown only for comparison.</p>\n",
    );
    h.push_str("<h2>Warnings</h2>\n");
    if study.warnings.is_empty() {
        h.push_str("<p>None.</p>\n");
    } else {
        h.push_str("<div class=\"warn\"><ul>\n");
        for w in &study.warnings {
            h.push_str(&format!("<li>{}</li>\n", esc(w)));
        }
        h.push_str("</ul></div>\n");
    }
    h.push_str("<h2>Study table</h2>\n");
    let mut header: Vec<String> = ["recording", "mouse", "group"].map(String::from).to_vec();
    header.extend(study.table.columns.iter().cloned());
    header.extend(["status", "tracks", "frame interval (s)", "error"].map(String::from));
    let rows: Vec<Vec<String>> = study
        .table
        .entries
        .iter()
        .zip(&study.recordings)
        .map(|(e, s)| {
            let mut v = vec![e.recording.display().to_string(), e.mouse.clone(), e.group.clone()];
            v.extend(e.columns.iter().map(|(_, x)| x.clone()));
            v.extend([
                s.status.clone(),
                s.tracks.to_string(),
                s.frame_interval_s.map(short).unwrap_or_default(),
                s.error.clone().unwrap_or_default(),
            ]);
            v
        })
        .collect();
    h.push_str(&table(&header, &rows, "study"));
    h.push_str("<h2>Comparisons</h2>\n<p class=\"note\">One row per measure and group against the reference; p_holm and p_bh adjust p_permutation across the whole table.</p>\n");
    let rows: Vec<Vec<String>> = study
        .comparisons
        .iter()
        .map(|c| {
            let mut r = c.record();
            for (k, cell) in r.iter_mut().enumerate().skip(7) {
                if let Ok(v) = cell.parse::<f64>() {
                    if COMPARISON_COLUMNS[k] != "permutation_exact" {
                        *cell = short(v);
                    }
                } else if cell == "NaN" {
                    *cell = "—".into();
                }
            }
            r.truncate(COMPARISON_COLUMNS.len() - 1); // test_unit: said in the note above
            r
        })
        .collect();
    let header: Vec<String> =
        COMPARISON_COLUMNS[..COMPARISON_COLUMNS.len() - 1].iter().map(|c| c.to_string()).collect();
    h.push_str("<div class=\"wide\">");
    h.push_str(&table(&header, &rows, "comparisons"));
    h.push_str("</div>\n");
    h.push_str("<h2>Figures</h2>\n");
    for plot in StudyPlot::all(study) {
        let svg = study_svg(study, &plot)?;
        let svg = match svg.find("<svg") {
            Some(i) => &svg[i..],
            None => svg.as_str(),
        };
        h.push_str(&format!("<div class=\"fig\" id=\"{}\">\n{}\n</div>\n", esc(&plot.name()), svg));
    }
    h.push_str("<h2>Settings</h2>\n<pre>");
    let settings = toml::to_string(&study.config.study).unwrap_or_default();
    h.push_str(&esc(&format!("[study]\n{settings}")));
    h.push_str(&format!("</pre>\n<p class=\"note\">Made by leukotrack {} · every value in comparisons.csv, per_mouse.csv and tracks_all.csv beside this file{}.</p>\n", env!("CARGO_PKG_VERSION"), fmt_f64(f64::NAN).replace("NaN", "")));
    h.push_str("</body></html>\n");
    Ok(h)
}
