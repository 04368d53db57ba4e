//! The robustness study's figure (`insitu robustness`): accuracy per chip with error bars.

use super::data::{Series, Stat};
use super::lines::Lines;
use crate::study::robustness::Summary;

/// The figure: mean accuracy per condition, one line per rule, ±1 standard deviation as error
/// bars (rules slightly offset so their bars do not overlap).
pub fn figure(summaries: &[Summary], title: &str) -> Lines {
    let mut conds: Vec<String> = Vec::new();
    let mut rules: Vec<String> = Vec::new();
    for s in summaries {
        if !conds.contains(&s.condition) {
            conds.push(s.condition.clone());
        }
        if !rules.contains(&s.rule) {
            rules.push(s.rule.clone());
        }
    }
    let k = rules.len() as f64;
    let series = rules
        .iter()
        .enumerate()
        .map(|(ri, r)| Series {
            name: r.clone(),
            stats: conds
                .iter()
                .enumerate()
                .filter_map(|(ci, c)| {
                    let s = summaries
                        .iter()
                        .find(|s| &s.rule == r && &s.condition == c)?;
                    Some(Stat {
                        x: ci as f64 + 0.08 * (ri as f64 - (k - 1.0) / 2.0),
                        mean: 100.0 * s.mean,
                        lo: 100.0 * (s.mean - s.std),
                        hi: 100.0 * (s.mean + s.std),
                        n: s.seeds,
                    })
                })
                .collect(),
        })
        .collect();
    Lines {
        title: title.into(),
        x_desc: "chip".into(),
        y_desc: "test accuracy (%), mean ± std over seeds".into(),
        series,
        x_labels: Some(conds),
        log_x: false,
        error_bars: true,
    }
}
