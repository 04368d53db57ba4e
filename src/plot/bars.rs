//! Stacked bars: a breakdown object (chip area or energy by block) per value of a swept key,
//! averaged over the points sharing that value.

use anyhow::{anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;

use super::data::{key_value, label, metric, require_key};
use super::options::Options;
use super::style::{fit_size, COLORS, FAMILY, SIZE};
use crate::sweep::Record;

pub struct Bars {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub categories: Vec<String>,
    /// (component, value per category).
    pub parts: Vec<(String, Vec<f64>)>,
}

/// `--y` (default `cost.area_mm2.breakdown`) stacked per value of `--x`.
pub fn bars(records: &[Record], o: &Options) -> anyhow::Result<Bars> {
    let Some(x) = o.x.as_deref() else {
        bail!("plot: --kind bars needs --x KEY (a swept key, e.g. train.rule)");
    };
    require_key(records, x)?;
    let y =
        o.y.clone()
            .unwrap_or_else(|| "cost.area_mm2.breakdown".into());
    let mut categories: Vec<String> = Vec::new();
    let mut sums: Vec<Vec<(String, f64, usize)>> = Vec::new();
    for r in records {
        let Some(Value::Object(parts)) = metric(&r.metrics, &y) else {
            continue;
        };
        let cat = key_value(r, x).map(|v| label(&v)).unwrap_or_default();
        let c = match categories.iter().position(|c| *c == cat) {
            Some(c) => c,
            None => {
                categories.push(cat);
                sums.push(vec![]);
                categories.len() - 1
            }
        };
        for (name, v) in parts {
            let Some(v) = v.as_f64() else { continue };
            match sums[c].iter_mut().find(|(n, _, _)| n == name) {
                Some(s) => {
                    s.1 += v;
                    s.2 += 1;
                }
                None => sums[c].push((name.clone(), v, 1)),
            }
        }
    }
    if categories.is_empty() {
        bail!(
            "plot: no point has an object `{y}`; record it with metrics = [\"{y}\"] \
             (e.g. cost.area_mm2.breakdown, cost.inference.energy_breakdown)"
        );
    }
    let mut names: Vec<String> = Vec::new();
    for s in &sums {
        for (n, _, _) in s {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    let parts = names
        .iter()
        .map(|n| {
            let per: Vec<f64> = sums
                .iter()
                .map(|s| {
                    s.iter()
                        .find(|(m, _, _)| m == n)
                        .map(|(_, v, k)| v / *k as f64)
                        .unwrap_or(0.0)
                })
                .collect();
            (n.clone(), per)
        })
        .collect();
    Ok(Bars {
        title: o.title.clone().unwrap_or_else(|| format!("{y} by {x}")),
        x_desc: x.to_string(),
        y_desc: y.clone(),
        categories,
        parts,
    })
}

impl Bars {
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing: {e}");
        root.fill(&WHITE).map_err(e)?;
        let n = self.categories.len();
        let top = (0..n)
            .map(|c| self.parts.iter().map(|(_, v)| v[c].max(0.0)).sum::<f64>())
            .fold(0.0, f64::max);
        // Headroom for the legend in the upper right.
        let top = if top > 0.0 { top * 1.6 } else { 1.0 };
        let mut chart = ChartBuilder::on(root)
            .caption(
                &self.title,
                (FAMILY, fit_size(&self.title, (SIZE.0 - 30) as f64, 20.0)),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..top)
            .map_err(e)?;
        let cats = self.categories.clone();
        let fmt = move |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < cats.len() {
                cats[i as usize].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(&self.x_desc)
            .y_desc(&self.y_desc)
            .x_labels(n.max(2))
            .x_label_formatter(&fmt)
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .draw()
            .map_err(e)?;
        let mut base = vec![0.0; n];
        for (i, (name, vals)) in self.parts.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let rects: Vec<Rectangle<(f64, f64)>> = (0..n)
                .map(|c| {
                    let (lo, hi) = (base[c], base[c] + vals[c].max(0.0));
                    base[c] = hi;
                    Rectangle::new(
                        [(c as f64 - 0.35, lo), (c as f64 + 0.35, hi)],
                        color.filled(),
                    )
                })
                .collect();
            chart
                .draw_series(rects)
                .map_err(e)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(e)?;
        Ok(())
    }
}
