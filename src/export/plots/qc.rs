//! The quality-control plot ([`draw_qc`], [`write_qc`]): per frame the detection count, the
//! background and noise, the signal-to-noise ratio, the cells' size, the fraction linked and
//! the tracks starting and ending inside the field; tissue jumps as vertical lines; the
//! warnings and, when a tuner ran, the accuracy expected on the recording's twin.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{
    build_chart, draw_legend, draw_mesh, header, num, Drawn, Sty, BAR, INK, MEAN, MEDIAN,
};
use super::{check_size, png_of, svg_of, Figure};
use crate::error::{Error, Result};
use crate::io::write::write_atomic;
use crate::qc::Qc;

/// The size [`write_qc`] gives the plot, pixels.
pub const QC_SIZE: (u32, u32) = (1400, 1000);

struct QcFigure<'a> {
    qc: &'a Qc,
    title: &'a str,
}

impl Figure for QcFigure<'_> {
    fn name(&self) -> &str {
        "qc"
    }
    fn size(&self) -> (u32, u32) {
        QC_SIZE
    }
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        draw_qc(area, self.qc, self.title)
    }
}

/// Writes `dir/qc.png` and `dir/qc.svg` (creating `dir`), each atomically; returns them.
pub fn write_qc(dir: &Path, qc: &Qc, title: &str) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let fig = QcFigure { qc, title };
    let (png, svg) = (dir.join("qc.png"), dir.join("qc.svg"));
    let bytes = png_of(&fig)?;
    write_atomic(&png, |w| w.write_all(&bytes))?;
    let text = svg_of(&fig)?;
    write_atomic(&svg, |w| w.write_all(text.as_bytes()))?;
    Ok(vec![png, svg])
}

/// Draws the QC plot of `qc` on `area` (at least 640 × 480 pixels).
pub fn draw_qc<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    qc: &Qc,
    title: &str,
) -> Result<()> {
    check_size(area)?;
    qc_plot(area, qc, title).map_err(|e| Error::data(format!("drawing the qc plot: {}", e.0)))
}

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.0} %", 100.0 * v)
    } else {
        "—".into()
    }
}

fn qc_plot<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, qc: &Qc, title: &str) -> Drawn {
    let st = Sty::of(area);
    area.fill(&WHITE)?;
    let subtitle = format!(
        "{} frames · {} tracks, median {} points, {} of 1–2 points · gap rate {} · artefacts {} · \
         linked {}",
        qc.frames.len(),
        qc.tracks,
        num(qc.median_track_points),
        pct(qc.short_track_fraction),
        pct(qc.gap_rate),
        pct(qc.artefact_fraction),
        pct(qc.linked_fraction)
    );
    let body = header(area, &st, &format!("{title} — quality control"), &subtitle)?;
    // The notes below the panels: the expected accuracy, then the warnings.
    let mut notes: Vec<(String, RGBColor)> = Vec::new();
    if let Some(e) = &qc.expected {
        notes.push((
            format!(
                "expected on a twin of this recording: detection F1 {:.3}, link F1 {:.3}, TRA {:.3}{}",
                e.detection_f1,
                e.link_f1,
                e.tra,
                e.more.get("settings").map(|v| format!(" · settings {v}")).unwrap_or_default()
            ),
            RGBColor(30, 110, 50),
        ));
    }
    if qc.warnings.is_empty() {
        notes.push(("no warnings".into(), RGBColor(30, 110, 50)));
    }
    for w in qc.warnings.iter().take(6) {
        notes.push((format!("⚠ {w}"), MEAN));
    }
    if qc.warnings.len() > 6 {
        notes.push((format!("… and {} more in qc.json", qc.warnings.len() - 6), INK));
    }
    let line = st.px(24.0);
    let (panels, foot) = body
        .split_vertically(body.dim_in_pixel().1 as i32 - line * notes.len() as i32 - st.px(12.0));
    for (k, (text, colour)) in notes.iter().enumerate() {
        let mut t = text.clone();
        let width = foot.dim_in_pixel().0 as i32 - st.px(40.0);
        while t.chars().count() > 10
            && foot.estimate_text_size(&t, &st.text(14.0, INK))?.0 as i32 > width
        {
            t = t.chars().take(t.chars().count() - 4).collect::<String>() + "…";
        }
        foot.draw_text(&t, &st.text(14.0, *colour), (st.px(20.0), st.px(4.0) + line * k as i32))?;
    }

    let f = &qc.frames;
    let x: Vec<f64> = f.iter().map(|r| r.frame as f64).collect();
    type Series = (&'static str, Vec<f64>, RGBColor);
    let panels_spec: Vec<(&str, &str, Vec<Series>)> = vec![
        (
            "detections per frame",
            "detections",
            vec![
                ("all", f.iter().map(|r| r.detections as f64).collect(), BAR),
                ("artefacts", f.iter().map(|r| r.artefacts as f64).collect(), MEAN),
            ],
        ),
        (
            "background and noise",
            "grey levels",
            vec![
                ("background", f.iter().map(|r| r.background).collect(), BAR),
                ("noise (sd)", f.iter().map(|r| r.noise).collect(), MEDIAN),
                ("cell signal", f.iter().map(|r| r.signal).collect(), MEAN),
            ],
        ),
        (
            "signal-to-noise ratio",
            "SNR",
            vec![("median cell", f.iter().map(|r| r.snr).collect(), BAR)],
        ),
        (
            "cell size",
            "equivalent diameter (µm)",
            vec![("median", f.iter().map(|r| r.cell_diameter_um).collect(), BAR)],
        ),
        (
            "cells in a track of ≥ 2 points",
            "fraction",
            vec![("linked", f.iter().map(|r| r.linked_fraction).collect(), BAR)],
        ),
        (
            "tracks starting / ending inside the field",
            "tracks",
            vec![
                ("starts", f.iter().map(|r| r.track_starts as f64).collect(), BAR),
                ("ends", f.iter().map(|r| r.track_ends as f64).collect(), MEDIAN),
            ],
        ),
    ];
    let cells = panels.split_evenly((2, 3));
    let x1 = x.last().copied().unwrap_or(0.0).max(1.0);
    for (cell, (name, y_desc, series)) in cells.iter().zip(panels_spec) {
        let (head, plot) = cell.split_vertically(st.px(26.0));
        head.draw_text(name, &st.text(16.0, INK), (st.px(20.0), st.px(6.0)))?;
        let y_max = series
            .iter()
            .flat_map(|s| s.1.iter().copied())
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let y1 = if y_max > 0.0 { y_max * 1.4 } else { 1.0 };
        let mut chart = build_chart(&plot, &st, -0.5..x1 + 0.5, 0.0..y1)?;
        let counts = name.starts_with("detections") || name.starts_with("tracks");
        draw_mesh(&mut chart, &st, "frame", y_desc, true, counts)?;
        for &j in &qc.jumps {
            let style =
                ShapeStyle { color: BLACK.mix(0.35), filled: false, stroke_width: st.upx(1.5) };
            chart.draw_series(DashedLineSeries::new(
                [(j as f64 - 0.5, 0.0), (j as f64 - 0.5, y1)],
                st.px(6.0),
                st.px(4.0),
                style,
            ))?;
        }
        let l = st.px(10.0);
        for (label, ys, colour) in series {
            let style =
                ShapeStyle { color: colour.to_rgba(), filled: false, stroke_width: st.upx(2.0) };
            let pts: Vec<(f64, f64)> =
                x.iter().zip(&ys).filter(|(_, y)| y.is_finite()).map(|(&a, &b)| (a, b)).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), style))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x - l, y), (x + l, y)], style));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, st.px(2.5), colour.filled())))?;
        }
        draw_legend(&mut chart, &st, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}
