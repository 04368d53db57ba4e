//! The look every figure shares: the embedded font, the figure size, the colours and short
//! number labels.

use std::sync::Once;

use anyhow::anyhow;
use plotters::prelude::*;

use super::text;

/// Embedded so that PNGs render text on machines without any fonts installed.
pub(super) static FONT: &[u8] = include_bytes!("DejaVuSansMono.ttf");
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

/// Width and height of every figure, in pixels.
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
