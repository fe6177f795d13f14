//! The MSD plot ([`draw_msd`]): mean square displacement against lag time, with its fits.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{
    build_chart, centre_note, draw_legend, draw_mesh, header, num, Drawn, Sty, MEAN, MEDIAN,
};
use super::{check_size, Plot, PlotInput};
use crate::error::Result;

/// Mean square displacement against lag time (min) with SEM error bars, the linear fit over
/// its lag range (legend: motility coefficient in µm²/min and R²) and, when it converged,
/// Fürth's persistent-random-walk fit.
pub fn draw_msd<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    input: &PlotInput,
) -> Result<()> {
    check_size(area)?;
    msd_plot(area, input).map_err(|e| e.into_error(Plot::Msd))
}

fn msd_plot<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, input: &PlotInput) -> Drawn {
    let st = Sty::of(area);
    let l = st.px(12.0); // half the length of a legend's line sample
    area.fill(&WHITE)?;
    let msd = &input.metrics.msd;
    let summary = &input.metrics.summary;
    let fit = &summary.msd_fit;
    let furth = &summary.furth_fit;
    let d = summary.dimensions;
    let n1 = msd.n.first().copied().unwrap_or(0) as f64;
    // (lag time min, MSD, SEM, reliable) of the finite rows.
    let pts: Vec<(f64, f64, f64, bool)> = (0..msd.len())
        .filter(|&i| msd.lag_s[i].is_finite() && msd.msd_um2[i].is_finite())
        .map(|i| (msd.lag_s[i] / 60.0, msd.msd_um2[i], msd.sem_um2[i], msd.n[i] as f64 >= n1 / 2.0))
        .collect();
    let n_tracks = input.metrics.track_metrics.track_id.len();
    let subtitle = format!(
        "{n_tracks} tracks, {}D · mean ± SEM over all pairs of points a lag apart · M = slope / (2·{d})",
        d
    );
    let body =
        header(area, &st, &format!("{} — mean square displacement", input.title), &subtitle)?;
    let t_max = pts.iter().map(|p| p.0).fold(0.0, f64::max);
    let y_max =
        pts.iter().map(|p| p.1 + if p.2.is_finite() { p.2 } else { 0.0 }).fold(0.0, f64::max);
    let x1 = if t_max > 0.0 { t_max * 1.04 } else { 1.0 };
    let y1 = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    let mut chart = build_chart(&body, &st, 0.0..x1, 0.0..y1)?;
    draw_mesh(&mut chart, &st, "lag time (min)", "MSD (µm²)", true, false)?;
    if pts.is_empty() {
        let note = if n_tracks == 0 { "no tracks" } else { "no lags (tracks of one point)" };
        return centre_note(&chart, &st, note);
    }
    let (pw, _) = chart.plotting_area().dim_in_pixel();
    let cap = st.px(5.0) as f64 * x1 / pw.max(1) as f64;
    let dark = RGBColor(34, 78, 140);
    let pale = RGBColor(150, 170, 200);
    let bar =
        |c: RGBColor| ShapeStyle { color: c.to_rgba(), filled: false, stroke_width: st.upx(1.4) };
    for &(t, m, sem, ok) in &pts {
        if sem.is_finite() && sem > 0.0 {
            let c = if ok { dark } else { pale };
            chart.draw_series([
                PathElement::new(vec![(t, m - sem), (t, m + sem)], bar(c)),
                PathElement::new(vec![(t - cap, m - sem), (t + cap, m - sem)], bar(c)),
                PathElement::new(vec![(t - cap, m + sem), (t + cap, m + sem)], bar(c)),
            ])?;
        }
    }
    let r = st.px(4.5);
    chart
        .draw_series(
            pts.iter().filter(|p| p.3).map(|&(t, m, _, _)| Circle::new((t, m), r, dark.filled())),
        )?
        .label("MSD ± SEM")
        .legend(move |c| Circle::new(c, r, dark.filled()));
    if pts.iter().any(|p| !p.3) {
        chart
            .draw_series(
                pts.iter()
                    .filter(|p| !p.3)
                    .map(|&(t, m, _, _)| Circle::new((t, m), r, pale.filled())),
            )?
            .label("lags with fewer than half the pairs of the first lag")
            .legend(move |c| Circle::new(c, r, pale.filled()));
    }
    let mut fitted = false;
    if let (Some([a, b]), Some([fa, fb])) = (fit.lag_s, fit.lag_frames) {
        if fit.slope_um2_per_min.is_finite() && fit.intercept_um2.is_finite() {
            let (ta, tb) = (a / 60.0, b / 60.0);
            let line = |t: f64| (t, fit.slope_um2_per_min * t + fit.intercept_um2);
            let style =
                ShapeStyle { color: MEAN.to_rgba(), filled: false, stroke_width: st.upx(2.8) };
            chart
                .draw_series(LineSeries::new([line(ta), line(tb)], style))?
                .label(format!(
                    "linear fit, lags {fa}–{fb}: M = {} µm²/min, R² = {}",
                    num(fit.motility_coefficient_um2_per_min),
                    r2(fit.r_squared)
                ))
                .legend(move |(x, y)| PathElement::new(vec![(x - l, y), (x + l, y)], style));
            fitted = true;
        }
    }
    if !fitted {
        let why = match fit.lag_frames {
            Some([a, b]) if !fit.automatic => format!("fewer than 2 lags in {a}–{b}"),
            _ => "fewer than 2 lags averaging at least half the pairs of lag 1".to_string(),
        };
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(format!("no linear fit: {why}"));
    }
    if furth.persistence_time_min.is_finite() && furth.motility_coefficient_um2_per_min.is_finite()
    {
        if let (Some([_, fb]), Some(dt)) = (furth.lag_frames, summary.frame_interval_s) {
            let (p, m) = (furth.persistence_time_min, furth.motility_coefficient_um2_per_min);
            let t_end = fb as f64 * dt / 60.0;
            let curve: Vec<(f64, f64)> = (0..=120)
                .map(|k| {
                    let t = t_end * k as f64 / 120.0;
                    (t, 2.0 * d as f64 * m * (t - p * (1.0 - (-t / p).exp())))
                })
                .collect();
            let style =
                ShapeStyle { color: MEDIAN.to_rgba(), filled: false, stroke_width: st.upx(2.2) };
            chart
                .draw_series(DashedLineSeries::new(curve, st.px(8.0), st.px(5.0), style))?
                .label(format!(
                    "Fürth fit, lags 1–{fb}: P = {} min, M = {} µm²/min, R² = {}",
                    num(p),
                    num(m),
                    r2(furth.r_squared)
                ))
                .legend(move |(x, y)| PathElement::new(vec![(x - l, y), (x + l, y)], style));
        }
    }
    draw_legend(&mut chart, &st, SeriesLabelPosition::UpperLeft)
}

/// R² with three decimals.
fn r2(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}").replace('-', "−")
    } else {
        "—".into()
    }
}
