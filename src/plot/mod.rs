//! Figures from sweep logs: a metric against a swept knob with the seed spread as a band,
//! training curves, and stacked chip cost breakdowns; SVG or PNG by the file extension.

pub mod bars;
pub mod data;
pub mod knob;
pub mod lines;
pub mod sources;
pub mod study;
pub mod text;

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::{anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;

pub use data::Band;

/// Embedded so that PNGs render text on machines without any fonts installed.
static FONT: &[u8] = include_bytes!("DejaVuSansMono.ttf");
pub const FAMILY: &str = "sans-serif";

/// Registers the embedded font under [`FAMILY`] (once).
pub fn register_font() -> anyhow::Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| anyhow!("the embedded font does not parse"));
    });
    result
}

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

/// A figure that can be drawn on any plotters backend.
pub enum Figure {
    Lines(lines::Lines),
    Bars(bars::Bars),
}

impl Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        match self {
            Figure::Lines(l) => l.draw(root),
            Figure::Bars(b) => b.draw(root),
        }
    }
}

pub const SIZE: (u32, u32) = (900, 560);

/// The font size (at most `size`, at least 9 px) at which `text` fits in `width` pixels.
pub fn fit_size(text: &str, width: f64, size: f64) -> f64 {
    let Ok(font) = ab_glyph::FontRef::try_from_slice(FONT) else {
        return size;
    };
    let mut s = size;
    while s > 9.0 && text::text_width(&font, s, text) > width {
        s -= 1.0;
    }
    s
}

/// Width in pixels of `text` at `size` in the embedded font.
pub fn text_width(text: &str, size: f64) -> f64 {
    ab_glyph::FontRef::try_from_slice(FONT)
        .map(|f| text::text_width(&f, size, text))
        .unwrap_or(0.6 * size * text.chars().count() as f64)
}

/// A tick or legend number, short: at most four decimals, trailing zeros dropped; scientific
/// below 0.001 and from 100,000 on.
pub fn number_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        // 2.50e-9 -> 2.5e-9
        return match s.split_once('e') {
            Some((m, e)) => {
                let m = m.trim_end_matches('0').trim_end_matches('.');
                format!("{m}e{e}")
            }
            None => s,
        };
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Writes the figure as SVG or PNG, by `path`'s extension.
pub fn save(fig: &Figure, path: &Path) -> anyhow::Result<()> {
    register_font()?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("svg") => {
            let root = SVGBackend::new(path, SIZE).into_drawing_area();
            fig.draw(&root)?;
            root.present().map_err(|e| anyhow!("{e}"))?;
        }
        Some("png") => {
            let font = ab_glyph::FontRef::try_from_slice(FONT)
                .map_err(|_| anyhow!("the embedded font does not parse"))?;
            let root =
                text::GlyphText::new(BitMapBackend::new(path, SIZE), font).into_drawing_area();
            fig.draw(&root)?;
            root.present().map_err(|e| anyhow!("{e}"))?;
        }
        _ => bail!(
            "plot: --out {}: the file must end in .svg or .png",
            path.display()
        ),
    }
    Ok(())
}

/// Builds the figure the options ask for and writes it.
pub fn plot(opts: &Options) -> anyhow::Result<()> {
    let (records, failed) = data::load(&opts.logs)?;
    if failed > 0 {
        eprintln!("note: {failed} failed points left out");
    }
    let records = data::filter(records, &opts.wheres)?;
    let fig = match opts.kind {
        Kind::Knob => Figure::Lines(knob::knob(&records, opts)?),
        Kind::Curves => Figure::Lines(knob::curves(&records, opts)?),
        Kind::Bars => Figure::Bars(bars::bars(&records, opts)?),
    };
    save(&fig, &opts.out)
}

pub(crate) const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];
