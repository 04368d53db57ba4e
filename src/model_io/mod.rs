//! Conv models on disk as safetensors (a u64 little-endian header length, a JSON header of
//! tensor names, dtypes, shapes and byte ranges, then the raw little-endian data).
//!
//! Tensor names, layer `l` counting weight layers from 0:
//! - `layers.<l>.weight`: dense conv `[C_out, C_in, k, k]` or fully connected `[out, in]`
//!   (a flattened conv input is ordered channel, y, x, as PyTorch's `flatten`);
//! - `layers.<l>.bias`: `[C_out]` / `[out]`;
//! - PENNI conv: `layers.<l>.basis` `[d, k, k]` and `layers.<l>.coef` `[C_out, C_in, d]`
//!   (the kernel is `W[o, i] = sum_b coef[o, i, b] basis[b]`).
//!
//! - batch norm of conv `l`: `layers.<l>.bn.gamma`, `.bn.beta`, `.bn.running_mean`,
//!   `.bn.running_var` (each `[C_out]`; PyTorch's names, unbiased running variance);
//! - a residual shortcut's projection conv on layer `l`: the same names under
//!   `layers.<l>.shortcut.` (`weight` `[C_out, C_in, 1, 1]`, `bias`, `bn.*`).
//!
//! - programmed crossbar cells of weight layer `l` (in-situ runs, `insitu train --save`):
//!   `layers.<l>.cells` `[sets, out, in, slices]` (normalised conductance G / G_max; sets = 2 for
//!   the differential mapping), and for the offset mapping the reference lines
//!   `layers.<l>.cells.ref_fwd` `[in, slices, 2]` and `.ref_bwd` `[out, slices, 2]`; metadata
//!   `layers.<l>.cells = "weight_bits=5 cell_bits=5 mapping=offset scale=.. g_min=..
//!   adc_range_fwd=.. adc_range_bwd=.."` (`none` for an uncalibrated range).
//!
//! `__metadata__` holds `format = "insitu-cnn"`, `input = "C,H,W"` and per layer
//! `layers.<l> = "conv k=3 stride=1 pad=1 pool=max"` (pool `max`, `avg`, `global` or `none`)
//! or `"fc"`; a layer closing a residual block adds `shortcut_from=<m>` (the block input is
//! layer `m`'s output) and, with a projection, `layers.<l>.shortcut = "conv k=1 stride=2
//! pad=0"`. All tensors are F32.

use std::collections::BTreeMap;
use std::path::Path;

use crate::nn::arch::PoolKind;
use crate::nn::model::{BatchNorm, Conv, ConvWeights, Fc, Layer, Model, Penni, Shortcut};
use crate::xbar::LayerCells;
use container::{metadata, parse, tensor, Tensors};

pub mod cells;
mod container;

fn pool_name(p: Option<PoolKind>) -> &'static str {
    match p {
        Some(PoolKind::Max) => "max",
        Some(PoolKind::Avg) => "avg",
        Some(PoolKind::Global) => "global",
        None => "none",
    }
}

/// A conv's tensors under `prefix` (`layers.<l>` or `layers.<l>.shortcut`).
fn conv_tensors<'a>(prefix: &str, v: &'a Conv, tensors: &mut Tensors<'a>) {
    match &v.weights {
        ConvWeights::Dense(x) => tensors.push((
            format!("{prefix}.weight"),
            vec![v.c_out, v.c_in, v.k, v.k],
            x,
        )),
        ConvWeights::Penni(p) => {
            tensors.push((format!("{prefix}.basis"), vec![p.d, v.k, v.k], &p.basis));
            tensors.push((
                format!("{prefix}.coef"),
                vec![v.c_out, v.c_in, p.d],
                &p.coef,
            ));
        }
    }
    tensors.push((format!("{prefix}.bias"), vec![v.c_out], &v.bias));
    if let Some(bn) = &v.bn {
        for (name, t) in [
            ("gamma", &bn.gamma),
            ("beta", &bn.beta),
            ("running_mean", &bn.mean),
            ("running_var", &bn.var),
        ] {
            tensors.push((format!("{prefix}.bn.{name}"), vec![v.c_out], t));
        }
    }
}

fn conv_desc(v: &Conv) -> String {
    format!(
        "conv k={} stride={} pad={} pool={}",
        v.k,
        v.stride,
        v.pad,
        pool_name(v.pool)
    )
}

/// Serialises `model` to safetensors bytes.
pub fn to_bytes(model: &Model) -> Vec<u8> {
    to_bytes_with_cells(model, &[])
}

/// [`to_bytes`] plus the programmed crossbar cells of weight layers (`(layer, cells)`).
pub fn to_bytes_with_cells(model: &Model, programmed: &[(usize, LayerCells)]) -> Vec<u8> {
    let mut tensors: Tensors = Vec::new();
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "insitu-cnn".to_string());
    let [c, h, w] = model.input;
    meta.insert("input".into(), format!("{c},{h},{w}"));
    for (l, layer) in model.layers.iter().enumerate() {
        match layer {
            Layer::Conv(v) => {
                let mut desc = conv_desc(v);
                if let Some(sc) = &v.shortcut {
                    desc += &format!(" shortcut_from={}", sc.from);
                    if let Some(p) = &sc.proj {
                        meta.insert(format!("layers.{l}.shortcut"), conv_desc(p));
                        conv_tensors(&format!("layers.{l}.shortcut"), p, &mut tensors);
                    }
                }
                meta.insert(format!("layers.{l}"), desc);
                conv_tensors(&format!("layers.{l}"), v, &mut tensors);
            }
            Layer::Fc(f) => {
                meta.insert(format!("layers.{l}"), "fc".into());
                tensors.push((
                    format!("layers.{l}.weight"),
                    vec![f.fan_out, f.fan_in],
                    &f.weight,
                ));
                tensors.push((format!("layers.{l}.bias"), vec![f.fan_out], &f.bias));
            }
        }
    }
    for (l, c) in programmed {
        cells::tensors(*l, c, &mut tensors, &mut meta);
    }
    container::encode(&tensors, &meta)
}

/// Parses safetensors bytes written by [`to_bytes`] (or by any tool using the same names).
pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Model> {
    let (header, data) = parse(bytes)?;
    let meta = metadata(&header)?;
    let get = |k: &str| meta.get(k).and_then(|v| v.as_str());
    anyhow::ensure!(
        get("format") == Some("insitu-cnn"),
        "metadata format is not insitu-cnn"
    );
    let input: Vec<usize> = get("input")
        .ok_or_else(|| anyhow::anyhow!("metadata has no input shape"))?
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(input.len() == 3, "input shape must be C,H,W");
    let tensor = |name: &str| tensor(&header, data, name);
    // A conv from its description and the tensors under `prefix`.
    let read_conv = |prefix: &str, desc: &str| -> anyhow::Result<Conv> {
        let mut kv = BTreeMap::new();
        for part in desc.split_whitespace().skip(1) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("{prefix}: bad description {desc:?}"))?;
            kv.insert(k, v);
        }
        let num = |k: &str| -> anyhow::Result<usize> {
            Ok(kv
                .get(k)
                .ok_or_else(|| anyhow::anyhow!("{prefix}: no {k}"))?
                .parse()?)
        };
        let pool = match kv.get("pool").copied() {
            Some("max") => Some(PoolKind::Max),
            Some("avg") => Some(PoolKind::Avg),
            Some("global") => Some(PoolKind::Global),
            _ => None,
        };
        let (_, bias) = tensor(&format!("{prefix}.bias"))?;
        let (c_out, c_in, weights) = if header.contains_key(&format!("{prefix}.coef")) {
            let (sb, basis) = tensor(&format!("{prefix}.basis"))?;
            let (sc, coef) = tensor(&format!("{prefix}.coef"))?;
            anyhow::ensure!(
                sc.len() == 3 && sb.len() == 3 && sb[0] == sc[2],
                "{prefix}: basis/coef shapes"
            );
            (
                sc[0],
                sc[1],
                ConvWeights::Penni(Penni {
                    d: sb[0],
                    basis,
                    coef,
                }),
            )
        } else {
            let (s, w) = tensor(&format!("{prefix}.weight"))?;
            anyhow::ensure!(s.len() == 4, "{prefix}.weight must be [C_out, C_in, k, k]");
            (s[0], s[1], ConvWeights::Dense(w))
        };
        let bn = if header.contains_key(&format!("{prefix}.bn.gamma")) {
            let t = |n: &str| tensor(&format!("{prefix}.bn.{n}")).map(|x| x.1);
            Some(BatchNorm {
                gamma: t("gamma")?,
                beta: t("beta")?,
                mean: t("running_mean")?,
                var: t("running_var")?,
            })
        } else {
            None
        };
        Ok(Conv {
            c_in,
            c_out,
            k: num("k")?,
            stride: num("stride")?,
            pad: num("pad")?,
            weights,
            bias,
            pool,
            bn,
            shortcut: None,
        })
    };
    let mut layers = Vec::new();
    for l in 0.. {
        let Some(desc) = get(&format!("layers.{l}")) else {
            break;
        };
        if desc == "fc" {
            let (_, bias) = tensor(&format!("layers.{l}.bias"))?;
            let (s, w) = tensor(&format!("layers.{l}.weight"))?;
            anyhow::ensure!(s.len() == 2, "layers.{l}.weight must be [out, in]");
            layers.push(Layer::Fc(Fc {
                fan_in: s[1],
                fan_out: s[0],
                weight: w,
                bias,
            }));
            continue;
        }
        let mut conv = read_conv(&format!("layers.{l}"), desc)?;
        if let Some(from) = desc
            .split_whitespace()
            .find_map(|p| p.strip_prefix("shortcut_from="))
        {
            let key = format!("layers.{l}.shortcut");
            let proj = match get(&key) {
                Some(d) => Some(Box::new(read_conv(&key, d)?)),
                None => None,
            };
            conv.shortcut = Some(Shortcut {
                from: from.parse()?,
                proj,
            });
        }
        layers.push(Layer::Conv(conv));
    }
    let model = Model {
        input: [input[0], input[1], input[2]],
        layers,
    };
    model.validate()?;
    Ok(model)
}

pub fn save(model: &Model, path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, to_bytes(model)).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// [`save`] with the programmed cells of crossbar layers, written atomically (a temporary file
/// renamed over `path`), so an interrupted run keeps the last complete model.
pub fn save_with_cells(
    model: &Model,
    programmed: &[(usize, LayerCells)],
    path: &Path,
) -> anyhow::Result<()> {
    let tmp = path.with_extension("safetensors.tmp");
    std::fs::write(&tmp, to_bytes_with_cells(model, programmed))
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

pub fn load(path: &Path) -> anyhow::Result<Model> {
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
