//! Import of NeuroSim-style `NetWork.csv` layer lists. One row per weight layer, eight integer
//! columns: IFM height, IFM width, input channels, kernel height, kernel width, output channels,
//! pooling-follows flag (0/1, a 2x2 max pool), stride. Fully connected layers are rows with a
//! 1x1 input and a 1x1 kernel whose channel count is the flattened fan-in. Convolutions use "same"
//! padding (k / 2), as NeuroSim assumes.

use super::error::ChipError;
use crate::nn::arch::{LayerKind, LayerShape, PoolKind};

const COLUMNS: [&str; 8] = [
    "IFM_H", "IFM_W", "C_in", "K_h", "K_w", "C_out", "pool", "stride",
];

/// Reads and parses the file at `path`.
pub fn load(path: &str) -> Result<Vec<LayerShape>, ChipError> {
    let text = std::fs::read_to_string(path).map_err(|e| ChipError::Io {
        file: path.into(),
        message: e.to_string(),
    })?;
    parse(&text, path)
}

/// Parses NetWork.csv text; `file` names the source in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<LayerShape>, ChipError> {
    let mut layers = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let row = raw.trim();
        if row.is_empty() || row.starts_with('#') {
            continue;
        }
        let err = |column: usize, message: String| ChipError::Netlist {
            file: file.into(),
            line,
            column: column + 1,
            name: COLUMNS[column.min(7)],
            message,
        };
        let cells: Vec<&str> = row.split(',').map(str::trim).collect();
        let cells: Vec<&str> = match cells.iter().rposition(|c| !c.is_empty()) {
            Some(last) => cells[..=last].to_vec(),
            None => continue,
        };
        if cells.len() != 8 {
            return Err(err(
                cells.len().min(7),
                format!(
                    "expected 8 columns ({}), found {}",
                    COLUMNS.join(","),
                    cells.len()
                ),
            ));
        }
        let mut v = [0usize; 8];
        for (c, cell) in cells.iter().enumerate() {
            v[c] = cell
                .parse::<f64>()
                .ok()
                .filter(|x| x.fract() == 0.0 && *x >= 0.0)
                .map(|x| x as usize)
                .ok_or_else(|| err(c, format!("{cell:?} is not a non-negative integer")))?;
        }
        let [h, w, c_in, kh, kw, c_out, pool, stride] = v;
        for (c, val) in [
            (0, h),
            (1, w),
            (2, c_in),
            (3, kh),
            (4, kw),
            (5, c_out),
            (7, stride),
        ] {
            if val == 0 {
                return Err(err(c, "must be >= 1".into()));
            }
        }
        if pool > 1 {
            return Err(err(6, format!("{pool} is not 0 or 1")));
        }
        // Limits before any arithmetic, so a huge value is refused, not wrapped.
        use crate::limits::{MAX_KERNEL, MAX_SIDE, MAX_STRIDE, MAX_WIDTH};
        for (c, val, limit) in [
            (0, h, MAX_SIDE),
            (1, w, MAX_SIDE),
            (2, c_in, MAX_WIDTH),
            (3, kh, MAX_KERNEL),
            (4, kw, MAX_KERNEL),
            (5, c_out, MAX_WIDTH),
            (7, stride, MAX_STRIDE),
        ] {
            if val > limit {
                return Err(err(c, format!("{val} is above the limit of {limit}")));
            }
        }
        if kh != kw {
            return Err(err(4, format!("kernel {kh}x{kw} is not square")));
        }
        let k = kh;
        let fc = h == 1 && w == 1 && k == 1;
        let pad = if fc { 0 } else { k / 2 };
        if h + 2 * pad < k || w + 2 * pad < k {
            return Err(err(
                3,
                format!("kernel {k} is larger than the padded {h}x{w} input"),
            ));
        }
        let (oh, ow) = (
            (h + 2 * pad - k) / stride + 1,
            (w + 2 * pad - k) / stride + 1,
        );
        if pool == 1 && (oh < 2 || ow < 2) {
            return Err(err(6, format!("cannot pool a {oh}x{ow} output 2x2")));
        }
        let fan_in = k * k * c_in;
        let weights = fan_in as u128 * c_out as u128;
        if weights > crate::limits::MAX_LAYER_WEIGHTS as u128 {
            return Err(err(
                5,
                format!(
                    "{weights} weights in one layer is above the limit of {}",
                    crate::limits::MAX_LAYER_WEIGHTS
                ),
            ));
        }
        let index = layers.len() + 1;
        layers.push(LayerShape {
            name: if fc {
                format!("fc{index}")
            } else {
                format!("conv{index}")
            },
            kind: if fc { LayerKind::Fc } else { LayerKind::Conv },
            k,
            stride,
            padding: pad,
            c_in,
            c_out,
            in_h: h,
            in_w: w,
            out_h: oh,
            out_w: ow,
            fan_in,
            fan_out: c_out,
            positions: oh * ow,
            macs: oh * ow * fan_in * c_out,
            bn: false,
            residual: false,
            pool: (pool == 1).then_some(PoolKind::Max),
        });
    }
    if layers.is_empty() {
        return Err(ChipError::Netlist {
            file: file.into(),
            line: 1,
            column: 1,
            name: COLUMNS[0],
            message: "no layer rows".into(),
        });
    }
    Ok(layers)
}
