//! The figures of a study ([`write_study_plots`]): a superplot per measure compared, the MSD
//! per group with mouse-level bands, the behaviour-class fractions per group and a forest
//! plot of the differences across measures.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rayon::prelude::*;

use super::chart::{
    build_chart, centre_note, draw_legend, draw_mesh, header, num, track_rgb, Drawn, Sty, INK,
    MUTED,
};
use super::{check_size, png_of, svg_of, Figure};
use crate::error::{Error, Result};
use crate::io::write::write_atomic;
use crate::study::stats::{self, Of};
use crate::study::{Class, Study};

/// One figure of a study.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudyPlot {
    /// Every track (faint), every mouse's value (large, coloured by mouse), each group's
    /// median of mouse values with its 95 % hierarchical-bootstrap interval.
    Superplot(String),
    /// The MSD of each group against lag, mean over mice with a bootstrap band.
    Msd,
    /// The behaviour classes' shares per group (mean over mice), stacked.
    Classes,
    /// The median difference of each measure (group against reference, % of the reference's
    /// median) with its interval.
    Forest,
}

impl StudyPlot {
    /// The file stem: `superplot_<measure>`, `msd_groups`, `classes`, `forest`.
    pub fn name(&self) -> String {
        match self {
            StudyPlot::Superplot(m) => format!("superplot_{m}"),
            StudyPlot::Msd => "msd_groups".into(),
            StudyPlot::Classes => "classes".into(),
            StudyPlot::Forest => "forest".into(),
        }
    }

    /// Every figure of `study`: a superplot per measure compared (class fractions not), then
    /// the MSD, the classes and the forest plot.
    pub fn all(study: &Study) -> Vec<StudyPlot> {
        let mut measures: Vec<String> = Vec::new();
        for c in study.comparisons.iter().filter(|c| c.mouse_value == "median") {
            if !measures.contains(&c.measure) {
                measures.push(c.measure.clone());
            }
        }
        if measures.is_empty() {
            measures = study
                .tracks
                .measures
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| n == "speed_um_per_min")
                .collect();
        }
        let mut v: Vec<StudyPlot> = measures.into_iter().map(StudyPlot::Superplot).collect();
        v.extend([StudyPlot::Msd, StudyPlot::Classes, StudyPlot::Forest]);
        v
    }
}

struct Fig<'a> {
    plot: StudyPlot,
    study: &'a Study,
    name: String,
}

impl Figure for Fig<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn size(&self) -> (u32, u32) {
        match self.plot {
            StudyPlot::Forest => (
                1100,
                (190 + 34
                    * self.study.comparisons.iter().filter(|c| c.mouse_value == "median").count())
                .clamp(420, 2400) as u32,
            ),
            _ => (1000, 700),
        }
    }
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        check_size(area)?;
        let drawn = match &self.plot {
            StudyPlot::Superplot(m) => superplot(area, self.study, m),
            StudyPlot::Msd => msd(area, self.study),
            StudyPlot::Classes => classes(area, self.study),
            StudyPlot::Forest => forest(area, self.study),
        };
        drawn.map_err(|e| Error::data(format!("{} plot: {}", self.name, e.0)))
    }
}

/// One study figure as SVG text (for the report).
pub fn study_svg(study: &Study, plot: &StudyPlot) -> Result<String> {
    svg_of(&Fig { plot: plot.clone(), study, name: plot.name() })
}

/// Writes every figure of [`StudyPlot::all`] into `dir` as PNG and SVG, each atomically;
/// returns the files.
pub fn write_study_plots(dir: &Path, study: &Study) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let jobs: Vec<(StudyPlot, bool)> =
        StudyPlot::all(study).into_iter().flat_map(|p| [(p.clone(), true), (p, false)]).collect();
    jobs.par_iter()
        .map(|(plot, png)| {
            let fig = Fig { plot: plot.clone(), study, name: plot.name() };
            let path = dir.join(format!("{}.{}", fig.name, if *png { "png" } else { "svg" }));
            let bytes = if *png { png_of(&fig)? } else { svg_of(&fig)?.into_bytes() };
            write_atomic(&path, |w| w.write_all(&bytes))?;
            Ok(path)
        })
        .collect()
}

/// A deterministic jitter in [−1, 1] for point `i`.
fn jitter(i: usize) -> f64 {
    let mut h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 32;
    (h % 20_001) as f64 / 10_000.0 - 1.0
}

fn group_colour(k: usize) -> RGBColor {
    track_rgb(k, false)
}

/// The axes of a chart with one column per group: a y grid and labels, no x labels (the
/// groups' names are drawn by [`group_labels`]).
fn category_mesh<DB: DrawingBackend>(
    chart: &mut super::chart::Chart<DB>,
    st: &Sty,
    y_desc: &str,
) -> Drawn {
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(y_desc)
        .label_style(st.text(15.0, INK))
        .axis_desc_style(st.text(17.0, INK))
        .y_label_formatter(&|v| num(*v))
        .bold_line_style(ShapeStyle { color: BLACK.mix(0.09), filled: false, stroke_width: 1 })
        .light_line_style(TRANSPARENT)
        .draw()?;
    Ok(())
}

/// Group names under the x axis at positions 0, 1, ….
fn group_labels<DB: DrawingBackend>(
    chart: &super::chart::Chart<DB>,
    area: &DrawingArea<DB, Shift>,
    st: &Sty,
    groups: &[String],
    y: f64,
) -> Drawn {
    let style = st.text(16.0, INK).pos(Pos::new(HPos::Center, VPos::Top));
    let (ox, oy) = area.get_base_pixel();
    for (k, g) in groups.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(k as f64, y));
        area.draw_text(g, &style, (px - ox, py - oy + st.px(8.0)))?;
    }
    Ok(())
}

fn superplot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    study: &Study,
    measure: &str,
) -> Drawn {
    let st = Sty::of(area);
    area.fill(&WHITE)?;
    let groups = study.table.groups();
    let values = study.tracks.measure(measure).unwrap_or(&[]);
    let mice = study.mice();
    let n_mice = mice.iter().filter(|m| m.3.iter().any(|&r| values[r].is_finite())).count();
    let body = header(
        area,
        &st,
        &format!("{measure} — per track and per mouse"),
        &format!("small: tracks · large: one mouse's median (colour = mouse) · bar: group median of mice, 95 % hierarchical bootstrap · {n_mice} mice"),
    )?;
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) =
        finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    let pad = (hi - lo) * 0.06;
    let (plot_area, _) = body.split_vertically(body.dim_in_pixel().1 as i32 - st.px(26.0));
    let mut chart =
        build_chart(&plot_area, &st, -0.5..groups.len() as f64 - 0.5, (lo - pad)..(hi + pad))?;
    category_mesh(&mut chart, &st, measure)?;
    group_labels(&chart, &plot_area, &st, &groups, lo - pad)?;
    if finite.is_empty() {
        return centre_note(&chart, &st, "no values");
    }
    let r_track = st.px(2.0);
    let r_mouse = st.px(7.5);
    for (gi, g) in groups.iter().enumerate() {
        let gm: Vec<&(String, String, Vec<usize>, Vec<usize>)> =
            mice.iter().filter(|m| &m.0 == g).collect();
        let mut mouse_tracks = Vec::new();
        for (mi, m) in gm.iter().enumerate() {
            let colour = track_rgb(mi, false);
            let v: Vec<f64> = m.3.iter().map(|&r| values[r]).filter(|v| v.is_finite()).collect();
            chart.draw_series(m.3.iter().filter(|&&r| values[r].is_finite()).map(|&r| {
                Circle::new(
                    (gi as f64 + 0.3 * jitter(r), values[r]),
                    r_track,
                    colour.mix(0.28).filled(),
                )
            }))?;
            if !v.is_empty() {
                let x = gi as f64 + 0.22 * ((mi as f64 + 0.5) / gm.len() as f64 * 2.0 - 1.0);
                let y = stats::median(&v);
                chart.draw_series([
                    Circle::new((x, y), r_mouse, colour.filled()),
                    Circle::new(
                        (x, y),
                        r_mouse,
                        ShapeStyle {
                            color: INK.to_rgba(),
                            filled: false,
                            stroke_width: st.upx(1.2),
                        },
                    ),
                ])?;
                mouse_tracks.push(v);
            }
        }
        let mouse_values: Vec<f64> = mouse_tracks.iter().map(|t| stats::median(t)).collect();
        let med = stats::median(&mouse_values);
        if med.is_finite() {
            let line =
                ShapeStyle { color: INK.to_rgba(), filled: false, stroke_width: st.upx(3.0) };
            chart.draw_series([PathElement::new(
                vec![(gi as f64 - 0.38, med), (gi as f64 + 0.38, med)],
                line,
            )])?;
            let ci = stats::group_interval(
                &mouse_tracks,
                Of::Median,
                Of::Median,
                study.config.study.bootstrap_samples.min(1000),
                study.config.study.seed ^ gi as u64,
            );
            if ci[0].is_finite() {
                let x = gi as f64 + 0.42;
                chart.draw_series([
                    PathElement::new(vec![(x, ci[0]), (x, ci[1])], line),
                    PathElement::new(vec![(x - 0.03, ci[0]), (x + 0.03, ci[0])], line),
                    PathElement::new(vec![(x - 0.03, ci[1]), (x + 0.03, ci[1])], line),
                ])?;
            }
        }
    }
    Ok(())
}

fn msd<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, study: &Study) -> Drawn {
    let st = Sty::of(area);
    area.fill(&WHITE)?;
    let groups = study.table.groups();
    let pts: Vec<&crate::study::Curve> = study.curves.iter().filter(|c| c.curve == "msd").collect();
    let body = header(
        area,
        &st,
        "MSD per group",
        "mean over mice of each mouse's MSD · band: 95 % bootstrap over mice",
    )?;
    let x1 = pts.iter().map(|c| c.x).fold(0.0, f64::max).max(1e-9) * 1.04;
    let y1 = pts
        .iter()
        .map(|c| if c.ci_high.is_finite() { c.ci_high } else { c.value })
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.08;
    let mut chart = build_chart(&body, &st, 0.0..x1, 0.0..y1)?;
    draw_mesh(&mut chart, &st, "lag time (min)", "MSD (µm²)", true, false)?;
    if pts.is_empty() {
        return centre_note(&chart, &st, "no lags");
    }
    for (gi, g) in groups.iter().enumerate() {
        let c: Vec<&&crate::study::Curve> = pts.iter().filter(|c| &c.group == g).collect();
        let colour = group_colour(gi);
        let band: Vec<(f64, f64)> = c
            .iter()
            .filter(|p| p.ci_low.is_finite())
            .map(|p| (p.x, p.ci_high))
            .chain(c.iter().rev().filter(|p| p.ci_low.is_finite()).map(|p| (p.x, p.ci_low)))
            .collect();
        if band.len() > 2 {
            chart.draw_series([Polygon::new(band, colour.mix(0.2).filled())])?;
        }
        chart
            .draw_series([PathElement::new(
                c.iter().map(|p| (p.x, p.value)).collect::<Vec<_>>(),
                ShapeStyle { color: colour.to_rgba(), filled: false, stroke_width: st.upx(2.5) },
            )])?
            .label(g.clone())
            .legend(move |(x, y)| {
                Rectangle::new([(x - 10, y - 4), (x + 10, y + 4)], colour.filled())
            });
    }
    draw_legend(&mut chart, &st, SeriesLabelPosition::UpperLeft)
}

fn classes<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, study: &Study) -> Drawn {
    let st = Sty::of(area);
    area.fill(&WHITE)?;
    let groups = study.table.groups();
    let mice = study.mice();
    let body = header(
        area,
        &st,
        "behaviour classes per group",
        "share of tracks in each class, mean over the group's mice (classes: study.classes)",
    )?;
    let (plot_area, _) = body.split_vertically(body.dim_in_pixel().1 as i32 - st.px(26.0));
    let mut chart = build_chart(&plot_area, &st, -0.5..groups.len() as f64 + 0.9, 0.0..1.0)?;
    category_mesh(&mut chart, &st, "share of tracks")?;
    group_labels(&chart, &plot_area, &st, &groups, 0.0)?;
    let colours = [
        RGBColor(120, 120, 120),
        RGBColor(76, 114, 176),
        RGBColor(232, 140, 20),
        RGBColor(196, 58, 49),
    ];
    for (ci, c) in Class::ALL.iter().enumerate() {
        let colour = colours[ci];
        let mut bars = Vec::new();
        for (gi, g) in groups.iter().enumerate() {
            let shares = |k: usize| -> f64 {
                let v: Vec<f64> = mice
                    .iter()
                    .filter(|m| &m.0 == g && !m.3.is_empty())
                    .map(|m| {
                        m.3.iter()
                            .filter(|&&r| Class::ALL[..k].contains(&study.tracks.class[r]))
                            .count() as f64
                            / m.3.len() as f64
                    })
                    .collect();
                stats::mean(&v)
            };
            let (y0, y1) = (shares(ci), shares(ci + 1));
            if y0.is_finite() && y1 > y0 {
                bars.push(Rectangle::new(
                    [(gi as f64 - 0.3, y0), (gi as f64 + 0.3, y1)],
                    colour.filled(),
                ));
            }
        }
        chart.draw_series(bars)?.label(c.name()).legend(move |(x, y)| {
            Rectangle::new([(x - 10, y - 6), (x + 10, y + 6)], colour.filled())
        });
    }
    draw_legend(&mut chart, &st, SeriesLabelPosition::UpperRight)
}

fn forest<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, study: &Study) -> Drawn {
    let st = Sty::of(area);
    area.fill(&WHITE)?;
    let rows: Vec<&crate::study::Comparison> =
        study.comparisons.iter().filter(|c| c.mouse_value == "median").collect();
    let body = header(
        area,
        &st,
        &format!("differences from {} (median of mice)", study.reference),
        "point: (group − reference) / |reference| in % · bar: 95 % hierarchical bootstrap · * p_holm < 0.05",
    )?;
    let rel = |v: f64, c: &crate::study::Comparison| 100.0 * v / c.median_reference.abs();
    let vals: Vec<(f64, f64, f64)> = rows
        .iter()
        .map(|c| (rel(c.median_difference, c), rel(c.ci_low, c), rel(c.ci_high, c)))
        .collect();
    let m = vals
        .iter()
        .flat_map(|v| [v.0, v.1, v.2])
        .filter(|v| v.is_finite())
        .fold(10.0f64, |a, v| a.max(v.abs()))
        .min(400.0)
        * 1.1;
    let n = rows.len().max(1) as f64;
    let left = st.upx(380.0);
    let mut chart = ChartBuilder::on(&body)
        .margin_top(st.px(12.0))
        .margin_right(st.px(24.0))
        .margin_left(st.px(16.0))
        .margin_bottom(st.px(8.0))
        .x_label_area_size(st.upx(58.0))
        .y_label_area_size(left)
        .build_cartesian_2d(-m..m, -0.5..n - 0.5)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("difference (% of the reference's median)")
        .label_style(st.text(15.0, INK))
        .axis_desc_style(st.text(17.0, INK))
        .x_label_formatter(&|v| num(*v))
        .bold_line_style(ShapeStyle { color: BLACK.mix(0.09), filled: false, stroke_width: 1 })
        .light_line_style(TRANSPARENT)
        .draw()?;
    if rows.is_empty() {
        return centre_note(&chart, &st, "no comparisons");
    }
    chart.draw_series([PathElement::new(
        vec![(0.0, -0.5), (0.0, n - 0.5)],
        ShapeStyle { color: MUTED.to_rgba(), filled: false, stroke_width: st.upx(1.5) },
    )])?;
    let (ox, oy) = body.get_base_pixel();
    let label = st.text(14.0, INK).pos(Pos::new(HPos::Right, VPos::Center));
    let groups = study.table.groups();
    for (k, (c, v)) in rows.iter().zip(&vals).enumerate() {
        let y = n - 1.0 - k as f64;
        let colour = group_colour(groups.iter().position(|g| g == &c.group).unwrap_or(0));
        let (px, py) = chart.backend_coord(&(-m, y));
        let star = if c.p_holm < 0.05 { " *" } else { "" };
        body.draw_text(
            &format!("{} · {}{star}", c.measure, c.group),
            &label,
            (px - ox - st.px(8.0), py - oy),
        )?;
        let clamp = |x: f64| x.clamp(-m, m);
        if v.1.is_finite() && v.2.is_finite() {
            chart.draw_series([PathElement::new(
                vec![(clamp(v.1), y), (clamp(v.2), y)],
                ShapeStyle { color: colour.to_rgba(), filled: false, stroke_width: st.upx(2.5) },
            )])?;
        }
        if v.0.is_finite() {
            chart.draw_series([Circle::new((clamp(v.0), y), st.px(5.5), colour.filled())])?;
        }
    }
    Ok(())
}
