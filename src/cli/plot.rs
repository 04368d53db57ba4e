//! `insitu plot`.

use std::path::PathBuf;

use crate::plot::{self, Band, Kind, Options, Spread};

#[derive(clap::Args)]
pub struct PlotArgs {
    /// Results: sweep directories or their points.jsonl / points.csv, or the directory,
    /// robustness.json or robustness.csv that `insitu robustness --out DIR` writes.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "knob")]
    pub kind: Kind,
    /// Swept key on the x axis (knob, bars).
    #[arg(long)]
    pub x: Option<String>,
    /// Metric: test_accuracy (default), train_loss, cost.<path>; for bars a breakdown object.
    #[arg(long)]
    pub y: Option<String>,
    /// Swept key whose values become separate lines, e.g. train.rule.
    #[arg(long)]
    pub group: Option<String>,
    /// Keep only points with this key=value (repeatable).
    #[arg(long = "where", value_name = "KEY=VALUE")]
    pub wheres: Vec<String>,
    /// Spread drawn around the mean (over seeds and other folded points).
    #[arg(long, value_enum, default_value = "std")]
    pub band: Band,
    /// Draw the spread as error bars or as a shaded band.
    #[arg(long, value_enum, default_value = "bars")]
    pub spread: Spread,
    #[arg(long)]
    pub title: Option<String>,
    /// Output file, .svg or .png.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: PlotArgs) -> anyhow::Result<()> {
    let opts = Options {
        logs: a.logs,
        kind: a.kind,
        x: a.x,
        y: a.y,
        group: a.group,
        wheres: a.wheres,
        band: a.band,
        spread: a.spread,
        title: a.title,
        out: a.out,
    };
    plot::plot(&opts)?;
    println!("wrote {}", opts.out.display());
    Ok(())
}
