//! Figures from sweep logs: a metric against a swept knob with the seed spread as a band,
//! training curves, and stacked chip cost breakdowns; SVG or PNG by the file extension.

pub mod bars;
pub mod data;
pub mod knob;
pub mod lines;
mod options;
pub mod sources;
pub mod study;
mod style;
pub mod text;

use std::path::Path;

use anyhow::{anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;

pub use data::Band;
pub use options::{Kind, Options, Spread};
use style::FONT;
pub use style::{fit_size, number_label, register_font, text_width, FAMILY, SIZE};

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
