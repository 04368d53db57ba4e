//! Shape inference of a parsed layer list ([`super::arch`]): every weight layer's geometry,
//! fan-in and fan-out, positions and MACs per image, within the size limits.

use serde::{Deserialize, Serialize};

use super::arch::{bad, parse, LayerSpec, PoolKind, FIELD};
use super::error::ConfigError;
use crate::limits;

/// The two kinds of weight layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    Conv,
    Fc,
}

/// Shape of one weight layer (conv or FC) for one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerShape {
    /// `conv<i>` or `fc<i>`, `i` counting weight layers from 1.
    pub name: String,
    pub kind: LayerKind,
    /// Kernel size (1 for FC).
    pub k: usize,
    pub stride: usize,
    pub padding: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_h: usize,
    pub out_w: usize,
    /// Rows of the unrolled weight matrix: k * k * c_in.
    pub fan_in: usize,
    /// Columns of the unrolled weight matrix: c_out.
    pub fan_out: usize,
    /// Output pixels per image (one crossbar read each); 1 for FC.
    pub positions: usize,
    /// Multiply-accumulates per image.
    pub macs: usize,
    /// Pooling applied to this layer's output, if any.
    pub pool: Option<PoolKind>,
    /// Batch normalisation before the activation (digital, not a crossbar operation).
    #[serde(default)]
    pub bn: bool,
    /// The layer closes a residual block (its shortcut is added before the activation).
    #[serde(default)]
    pub residual: bool,
}

impl LayerShape {
    /// Weights held by the layer.
    pub fn weights(&self) -> usize {
        self.fan_in * self.fan_out
    }

    /// Output values per image before pooling.
    pub fn outputs(&self) -> usize {
        self.positions * self.c_out
    }

    /// Input values per image (the feature map, not unrolled).
    pub fn inputs(&self) -> usize {
        self.in_h * self.in_w * self.c_in
    }
}

/// Shapes of every weight layer for an input of `[channels, height, width]`.
pub fn shapes(specs: &[LayerSpec], input_chw: [usize; 3]) -> Result<Vec<LayerShape>, ConfigError> {
    let [c0, h0, w0] = input_chw;
    crate::config::check(
        "network.input",
        format!("{input_chw:?}").as_str(),
        c0 > 0 && h0 > 0 && w0 > 0,
        "[channels, height, width], all >= 1",
    )?;
    crate::config::check(
        "network.input",
        format!("{input_chw:?}").as_str(),
        c0 <= limits::MAX_WIDTH && h0 <= limits::MAX_SIDE && w0 <= limits::MAX_SIDE,
        &format!(
            "at most {} channels and {} pixels a side",
            limits::MAX_WIDTH,
            limits::MAX_SIDE
        ),
    )?;
    let (mut c, mut h, mut w) = (c0, h0, w0);
    let mut flat = false;
    let mut out: Vec<LayerShape> = Vec::new();
    // Index in `out` of the last main-path layer (pooling attaches to it, not to a projection).
    let mut last_main = 0;
    let mut checked = 0;
    for spec in specs {
        // Sizes grow layer by layer: check each before the next builds on it.
        for l in &out[checked..] {
            sized(l)?;
        }
        checked = out.len();
        match *spec {
            LayerSpec::Conv {
                out: n,
                k,
                stride,
                pad,
                bn,
            } => {
                let token = format!("C{n}k{k}s{stride}p{pad}");
                let mut s = conv_shape(&token, flat, [c, h, w], n, k, stride, pad)?;
                s.name = format!("conv{}", out.len() + 1);
                s.bn = bn;
                (c, h, w) = (n, s.out_h, s.out_w);
                last_main = out.len();
                out.push(s);
            }
            LayerSpec::Res { out: n, stride } => {
                let token = format!("R{n}s{stride}");
                if out.is_empty() {
                    return Err(bad(&token, " needs a layer (a stem conv) before it"));
                }
                let mut a = conv_shape(&token, flat, [c, h, w], n, 3, stride, 1)?;
                a.name = format!("conv{}", out.len() + 1);
                a.bn = true;
                let mut b = conv_shape(&token, false, [n, a.out_h, a.out_w], n, 3, 1, 1)?;
                b.bn = true;
                b.residual = true;
                let proj = (stride != 1 || c != n)
                    .then(|| conv_shape(&token, false, [c, h, w], n, 1, stride, 0))
                    .transpose()?;
                out.push(a);
                if let Some(mut p) = proj {
                    p.name = format!("conv{}.proj", out.len() + 1);
                    p.bn = true;
                    out.push(p);
                }
                b.name = format!("conv{}", out.len() + 1);
                (c, h, w) = (n, b.out_h, b.out_w);
                last_main = out.len();
                out.push(b);
            }
            LayerSpec::Fc { out: n } => {
                let fan_in = c.saturating_mul(h).saturating_mul(w);
                out.push(LayerShape {
                    name: format!("fc{}", out.len() + 1),
                    kind: LayerKind::Fc,
                    k: 1,
                    stride: 1,
                    padding: 0,
                    c_in: fan_in,
                    c_out: n,
                    in_h: 1,
                    in_w: 1,
                    out_h: 1,
                    out_w: 1,
                    fan_in,
                    fan_out: n,
                    positions: 1,
                    macs: fan_in.saturating_mul(n),
                    pool: None,
                    bn: false,
                    residual: false,
                });
                (c, h, w) = (n, 1, 1);
                flat = true;
                last_main = out.len() - 1;
            }
            LayerSpec::Pool(kind) => {
                let token = match kind {
                    PoolKind::Max => "M",
                    PoolKind::Avg => "A",
                    PoolKind::Global => "G",
                };
                let last = match out.get_mut(last_main) {
                    Some(l) if !flat => l,
                    Some(_) => return Err(bad(token, " follows a fully connected layer")),
                    None => return Err(bad(token, " comes before any weight layer")),
                };
                if last.pool.is_some() {
                    return Err(bad(
                        token,
                        &format!(" is a second pooling after {}", last.name),
                    ));
                }
                (h, w) = match kind {
                    PoolKind::Global => (1, 1),
                    _ if h < 2 || w < 2 => {
                        return Err(bad(
                            token,
                            &format!(" cannot pool a {h}x{w} feature map 2x2"),
                        ))
                    }
                    _ => (h / 2, w / 2),
                };
                last.pool = Some(kind);
            }
        }
    }
    for l in &out[checked..] {
        sized(l)?;
    }
    if out.is_empty() {
        return Err(bad(
            &specs
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join("-"),
            " has no weight layer",
        ));
    }
    Ok(out)
}

/// A layer's weights, feature maps and MACs against the limits (exact, in u128).
fn sized(l: &LayerShape) -> Result<(), ConfigError> {
    let field = format!("{FIELD} ({})", l.name);
    limits::at_most(
        &field,
        "weights",
        limits::product(&[l.fan_in, l.fan_out]),
        limits::MAX_LAYER_WEIGHTS as u128,
    )?;
    limits::at_most(
        &field,
        "input values per image",
        limits::product(&[l.c_in, l.in_h, l.in_w]),
        limits::MAX_FEATURES as u128,
    )?;
    limits::at_most(
        &field,
        "output values per image",
        limits::product(&[l.c_out, l.out_h, l.out_w]),
        limits::MAX_FEATURES as u128,
    )?;
    limits::at_most(
        &field,
        "MACs per image",
        limits::product(&[l.positions, l.fan_in, l.fan_out]),
        limits::MAX_MACS,
    )
}

/// Shape of a conv with `n` outputs on a `[c, h, w]` input.
fn conv_shape(
    token: &str,
    flat: bool,
    [c, h, w]: [usize; 3],
    n: usize,
    k: usize,
    stride: usize,
    pad: usize,
) -> Result<LayerShape, ConfigError> {
    if flat {
        return Err(bad(
            token,
            " follows a fully connected layer (convolutions need a feature map)",
        ));
    }
    if h + 2 * pad < k || w + 2 * pad < k {
        return Err(bad(
            token,
            &format!(" has a kernel larger than its padded {h}x{w} input"),
        ));
    }
    let oh = (h + 2 * pad - k) / stride + 1;
    let ow = (w + 2 * pad - k) / stride + 1;
    let fan_in = k * k * c;
    let macs = (oh * ow).saturating_mul(fan_in).saturating_mul(n);
    Ok(LayerShape {
        name: String::new(),
        kind: LayerKind::Conv,
        k,
        stride,
        padding: pad,
        c_in: c,
        c_out: n,
        in_h: h,
        in_w: w,
        out_h: oh,
        out_w: ow,
        fan_in,
        fan_out: n,
        positions: oh * ow,
        macs,
        pool: None,
        bn: false,
        residual: false,
    })
}

/// Parses `arch` and infers its shapes in one call.
pub fn parse_shapes(arch: &str, input_chw: [usize; 3]) -> Result<Vec<LayerShape>, ConfigError> {
    shapes(&parse(arch)?, input_chw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgg8_shapes() {
        let s = parse_shapes(
            "C128-C128-M-C256-C256-M-C512-C512-M-FC1024-FC10",
            [3, 32, 32],
        )
        .unwrap();
        assert_eq!(s.len(), 8);
        assert_eq!(s[0].fan_in, 27);
        assert_eq!(s[1].pool, Some(PoolKind::Max));
        assert_eq!((s[2].in_h, s[2].c_in), (16, 128));
        assert_eq!(s[6].fan_in, 8192);
        assert_eq!(s[7].fan_out, 10);
        let macs: usize = s.iter().map(|l| l.macs).sum();
        assert_eq!(macs, 615_917_568);
    }

    #[test]
    fn mlp_and_kernel_options() {
        let s = parse_shapes("FC256-FC256-FC10", [1, 28, 28]).unwrap();
        assert_eq!(s[0].fan_in, 784);
        assert_eq!(s.iter().map(|l| l.positions).sum::<usize>(), 3);
        let s = parse_shapes("C16k5s2p0-G-FC10", [3, 11, 11]).unwrap();
        assert_eq!((s[0].out_h, s[0].fan_in), (4, 75));
        assert_eq!(s[1].fan_in, 16);
    }

    #[test]
    fn errors_name_field_and_token() {
        for bad in [
            "C128-X-FC10",
            "",
            "C0",
            "FC",
            "M-FC10",
            "FC10-C3",
            "C3k9p0",
            "C8-M-M",
            "C8k3q",
        ] {
            let e = parse_shapes(bad, [1, 4, 4]).unwrap_err().to_string();
            assert!(e.contains("network.arch"), "{bad}: {e}");
        }
        let e = parse("C128-X-FC10").unwrap_err().to_string();
        assert!(e.contains("\"X\"") && e.contains("FC<n>"), "{e}");
    }
}
