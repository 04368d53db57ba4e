//! The layer-list grammar (NeuroSim-style strings) and shape inference.
//!
//! Grammar, tokens joined by `-`:
//! - `C<n>`: 3x3 convolution, stride 1, padding 1, `n` output channels;
//!   `C<n>k<k>` and `C<n>k<k>s<s>p<p>` (each of `k`, `s`, `p` optional, in that order) for others;
//!   the default padding is `k / 2` ("same" for odd kernels at stride 1).
//! - `M`: 2x2 max pool, stride 2; `A`: 2x2 average pool, stride 2; `G`: global average pool.
//! - `FC<n>`: fully connected with `n` outputs (the input is flattened).
//! - A trailing `b` on a conv token (`C64b`, `C64k1s2b`) adds batch normalisation before the
//!   activation.
//! - `R<n>[s<s>]`: a basic residual block: 3x3 conv (stride `s`, default 1) + BN + activation,
//!   3x3 conv + BN, plus the shortcut (identity when shapes agree, else a 1x1 stride-`s`
//!   projection conv with BN), then the activation. It needs a layer before it (a stem).
//! - A named network instead of a list: see [`NAMED`].
//!
//! Example: `C128-C128-M-C256-C256-M-C512-C512-M-FC1024-FC10` (VGG-8 on CIFAR-10), or
//! `FC256-FC256-FC10` for an MLP.

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::limits;

const FIELD: &str = "network.arch";
const GRAMMAR: &str =
    "tokens joined by '-': C<n>[k<k>][s<s>][p<p>][b] (conv, b = batch norm), R<n>[s<s>] \
(residual block), FC<n> (fully connected), M (2x2 max pool), A (2x2 avg pool), \
G (global avg pool); e.g. C128-C128-M-FC10; or a named network: \
vgg8, vgg16, resnet18, resnet20, cnn_mnist";

/// Named networks and their layer lists (CIFAR forms: 32x32 inputs, 10 classes; `cnn_mnist`
/// for 28x28 MNIST).
pub const NAMED: &[(&str, &str)] = &[
    ("vgg8", "C128-C128-M-C256-C256-M-C512-C512-M-FC1024-FC10"),
    (
        "vgg16",
        "C64b-C64b-M-C128b-C128b-M-C256b-C256b-C256b-M-C512b-C512b-C512b-M-C512b-C512b-C512b-M-FC10",
    ),
    ("resnet18", "C64b-R64-R64-R128s2-R128-R256s2-R256-R512s2-R512-G-FC10"),
    (
        "resnet20",
        "C16b-R16-R16-R16-R32s2-R32-R32-R64s2-R64-R64-G-FC10",
    ),
    ("cnn_mnist", "C16-C16-M-C32-C32-M-FC64-FC10"),
];

/// The layer list of a named network (case-insensitive), or `arch` itself.
pub fn expand(arch: &str) -> &str {
    let t = arch.trim();
    NAMED
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(t))
        .map_or(t, |(_, list)| list)
}

/// Pooling that may follow a weight layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// 2x2 max pool, stride 2.
    Max,
    /// 2x2 average pool, stride 2.
    Avg,
    /// Global average pool down to 1x1.
    Global,
}

/// One token of the layer list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerSpec {
    Conv {
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        bn: bool,
    },
    /// A basic residual block (two 3x3 convs with BN, shortcut, activation after the add).
    Res {
        out: usize,
        stride: usize,
    },
    Fc {
        out: usize,
    },
    Pool(PoolKind),
}

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

fn bad(token: &str, why: &str) -> ConfigError {
    ConfigError::Invalid {
        field: FIELD.into(),
        value: format!("token {token:?}{why}"),
        allowed: GRAMMAR.into(),
    }
}

/// Splits `s` into the leading decimal number and the rest.
fn number(s: &str) -> (Option<usize>, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (s[..end].parse().ok(), &s[end..])
}

fn parse_conv(token: &str, body: &str) -> Result<LayerSpec, ConfigError> {
    let (out, mut rest) = number(body);
    let out = out
        .filter(|&n| n > 0)
        .ok_or_else(|| bad(token, " needs a positive channel count"))?;
    let mut k = 3;
    let mut stride = 1;
    let mut pad = None;
    for (letter, slot) in [('k', 0), ('s', 1), ('p', 2)] {
        if let Some(r) = rest.strip_prefix(letter) {
            let (v, r) = number(r);
            let v = v.ok_or_else(|| bad(token, &format!(" needs a number after '{letter}'")))?;
            match slot {
                0 => k = v,
                1 => stride = v,
                _ => pad = Some(v),
            }
            rest = r;
        }
    }
    let bn = match rest.strip_prefix('b') {
        Some(r) => {
            rest = r;
            true
        }
        None => false,
    };
    if !rest.is_empty() {
        return Err(bad(token, &format!(" has unexpected text {rest:?}")));
    }
    if k == 0 || stride == 0 {
        return Err(bad(token, " needs kernel and stride >= 1"));
    }
    let pad = pad.unwrap_or(k / 2);
    within(token, "channels", out, limits::MAX_WIDTH)?;
    within(token, "kernel", k, limits::MAX_KERNEL)?;
    within(token, "stride", stride, limits::MAX_STRIDE)?;
    within(token, "padding", pad, limits::MAX_PAD)?;
    Ok(LayerSpec::Conv {
        out,
        k,
        stride,
        pad,
        bn,
    })
}

fn parse_res(token: &str, body: &str) -> Result<LayerSpec, ConfigError> {
    let (out, rest) = number(body);
    let out = out
        .filter(|&n| n > 0)
        .ok_or_else(|| bad(token, " needs a positive channel count, e.g. R64"))?;
    let stride = match rest {
        "" => 1,
        r => match r.strip_prefix('s').map(number) {
            Some((Some(v), "")) if v > 0 => v,
            _ => return Err(bad(token, &format!(" has unexpected text {r:?}"))),
        },
    };
    within(token, "channels", out, limits::MAX_WIDTH)?;
    within(token, "stride", stride, limits::MAX_STRIDE)?;
    Ok(LayerSpec::Res { out, stride })
}

/// A size in a token against its limit.
fn within(token: &str, what: &str, v: usize, limit: usize) -> Result<(), ConfigError> {
    if v <= limit {
        Ok(())
    } else {
        Err(bad(
            token,
            &format!(" has {what} {v}, above the limit of {limit}"),
        ))
    }
}

/// Parses a layer list such as `C128-C128-M-FC10`, or a named network.
pub fn parse(arch: &str) -> Result<Vec<LayerSpec>, ConfigError> {
    let arch = expand(arch);
    if arch.is_empty() {
        return Err(bad("", " (empty layer list)"));
    }
    arch.split('-')
        .map(|raw| {
            let token = raw.trim();
            let upper = token.to_ascii_uppercase();
            match upper.as_str() {
                "M" => Ok(LayerSpec::Pool(PoolKind::Max)),
                "A" => Ok(LayerSpec::Pool(PoolKind::Avg)),
                "G" => Ok(LayerSpec::Pool(PoolKind::Global)),
                _ => {
                    if let Some(body) = upper.strip_prefix("FC") {
                        match number(body) {
                            (Some(out), "") if out > 0 => {
                                within(token, "outputs", out, limits::MAX_WIDTH)?;
                                Ok(LayerSpec::Fc { out })
                            }
                            _ => Err(bad(token, " needs a positive output count, e.g. FC10")),
                        }
                    } else if let Some(body) = upper.strip_prefix('C') {
                        parse_conv(token, &body.to_ascii_lowercase())
                    } else if let Some(body) = upper.strip_prefix('R') {
                        parse_res(token, &body.to_ascii_lowercase())
                    } else {
                        Err(bad(token, " is not a known layer"))
                    }
                }
            }
        })
        .collect()
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
