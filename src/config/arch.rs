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

use super::error::ConfigError;
use crate::limits;

pub(super) const FIELD: &str = "network.arch";
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

pub(super) fn bad(token: &str, why: &str) -> ConfigError {
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
