//! What `insitu plot` is asked to draw.

use std::path::PathBuf;

use super::data::Band;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A metric against a swept key, one line per group, the spread as a band.
    Knob,
    /// Per-epoch training curves, one line per group.
    Curves,
    /// Stacked bars of a breakdown (e.g. chip area by block) per value of a swept key.
    Bars,
}

/// How the spread around each mean is drawn in line figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Spread {
    /// Error bars at every point.
    #[default]
    Bars,
    /// A shaded band between the points.
    Band,
}

pub struct Options {
    pub logs: Vec<PathBuf>,
    pub kind: Kind,
    pub x: Option<String>,
    pub y: Option<String>,
    pub group: Option<String>,
    pub wheres: Vec<String>,
    pub band: Band,
    pub spread: Spread,
    pub title: Option<String>,
    pub out: PathBuf,
}
