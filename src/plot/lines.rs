//! Line figures: mean per x with the spread as a shaded band, one colour per series.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::Series;
use super::style::{fit_size, number_label, text_width, COLORS, FAMILY, SIZE};

/// Margin around the chart, px.
const MARGIN: u32 = 15;

pub struct Lines {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub series: Vec<Series>,
    /// Categorical x: the label of position i.
    pub x_labels: Option<Vec<String>>,
    /// x is log10 of the value (labels show the value).
    pub log_x: bool,
    /// The spread as error bars at the points (else a shaded band).
    pub error_bars: bool,
}

fn span(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
}

impl Lines {
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing: {e}");
        root.fill(&WHITE).map_err(e)?;
        let all = self.series.iter().flat_map(|s| &s.stats);
        let (x0, x1) = all
            .clone()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), s| {
                (a.min(s.x), b.max(s.x))
            });
        let (y0, y1) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), s| {
            (a.min(s.lo), b.max(s.hi))
        });
        let (x0, x1) = match &self.x_labels {
            Some(l) => (-0.5, l.len() as f64 - 0.5),
            None => span(x0, x1),
        };
        let (y0, y1) = span(y0, y1);
        // Room for the widest y tick label and the rotated y description.
        let y_ticks = (0..=10)
            .map(|i| text_width(&number_label(y0 + (y1 - y0) * i as f64 / 10.0), 14.0))
            .fold(0.0, f64::max);
        let y_area = (y_ticks + 32.0).ceil() as u32;
        let plot_w = (SIZE.0 - 2 * MARGIN - y_area) as f64;
        let plot_h = (SIZE.1 - 2 * MARGIN - 45 - 30) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(
                &self.title,
                (
                    FAMILY,
                    fit_size(&self.title, (SIZE.0 - 2 * MARGIN) as f64, 20.0),
                ),
            )
            .margin(MARGIN)
            .x_label_area_size(45)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        let labels = self.x_labels.clone();
        let log_x = self.log_x;
        let fmt_x = move |v: &f64| match &labels {
            Some(l) => {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < l.len() {
                    l[i as usize].clone()
                } else {
                    String::new()
                }
            }
            None if log_x => number_label(10f64.powf(*v)),
            None => number_label(*v),
        };
        let fmt_y = |v: &f64| number_label(*v);
        let n_labels = self.x_labels.as_ref().map(|l| l.len()).unwrap_or(8);
        // Category names share the width; long ones get a smaller font.
        let widest = self
            .x_labels
            .iter()
            .flatten()
            .max_by_key(|l| l.chars().count())
            .cloned()
            .unwrap_or_default();
        let x_tick_size = fit_size(&widest, plot_w / n_labels.max(1) as f64 - 6.0, 14.0);
        chart
            .configure_mesh()
            .x_desc(&self.x_desc)
            .y_desc(&self.y_desc)
            .x_labels(n_labels.max(2))
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&fmt_y)
            .label_style((FAMILY, 14))
            .x_label_style((FAMILY, x_tick_size))
            .axis_desc_style((
                FAMILY,
                fit_size(&self.x_desc, plot_w, 16.0).min(fit_size(&self.y_desc, plot_h, 16.0)),
            ))
            .draw()
            .map_err(e)?;
        for (i, s) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let band: Vec<(f64, f64)> = s
                .stats
                .iter()
                .map(|p| (p.x, p.hi))
                .chain(s.stats.iter().rev().map(|p| (p.x, p.lo)))
                .collect();
            if self.error_bars {
                // A vertical bar from lo to hi with caps, at every point with a spread.
                let cap = 0.008 * (x1 - x0);
                let bars = s.stats.iter().filter(|p| p.hi > p.lo).flat_map(|p| {
                    [
                        vec![(p.x, p.lo), (p.x, p.hi)],
                        vec![(p.x - cap, p.lo), (p.x + cap, p.lo)],
                        vec![(p.x - cap, p.hi), (p.x + cap, p.hi)],
                    ]
                });
                chart
                    .draw_series(bars.map(|v| PathElement::new(v, color.stroke_width(2))))
                    .map_err(e)?;
            } else if s.stats.iter().any(|p| p.hi > p.lo) {
                chart
                    .draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled())))
                    .map_err(e)?;
            }
            let mean: Vec<(f64, f64)> = s.stats.iter().map(|p| (p.x, p.mean)).collect();
            let name = if s.name.is_empty() {
                self.y_desc.clone()
            } else {
                s.name.clone()
            };
            chart
                .draw_series(LineSeries::new(mean.clone(), color.stroke_width(2)))
                .map_err(e)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(mean.iter().map(|p| Circle::new(*p, 3, color.filled())))
                .map_err(e)?;
        }
        let longest = self
            .series
            .iter()
            .map(|s| s.name.clone())
            .max_by_key(|n| n.chars().count())
            .unwrap_or_default();
        chart
            .configure_series_labels()
            .label_font((FAMILY, fit_size(&longest, plot_w / 2.0, 14.0)))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .map_err(e)?;
        Ok(())
    }
}
