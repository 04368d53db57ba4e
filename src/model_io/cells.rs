//! Programmed crossbar cells in a model file: the conductances an in-situ run ended with, so a
//! trained chip can be inspected or compared with the nominal weights it decodes to.

use std::collections::BTreeMap;

use super::container::{metadata, parse, tensor, Tensors};
use crate::config::Mapping;
use crate::xbar::LayerCells;

fn range(r: Option<f32>) -> String {
    r.map_or("none".into(), |v| v.to_string())
}

/// Adds layer `l`'s cells (and reference lines) and their description.
pub(super) fn tensors<'a>(
    l: usize,
    c: &'a LayerCells,
    out: &mut Tensors<'a>,
    meta: &mut BTreeMap<String, String>,
) {
    let name = format!("layers.{l}.cells");
    out.push((
        name.clone(),
        vec![c.sets(), c.fan_out, c.fan_in, c.slices],
        &c.cells,
    ));
    if !c.ref_fwd.is_empty() {
        out.push((
            format!("{name}.ref_fwd"),
            vec![c.fan_in, c.slices, 2],
            &c.ref_fwd,
        ));
        out.push((
            format!("{name}.ref_bwd"),
            vec![c.fan_out, c.slices, 2],
            &c.ref_bwd,
        ));
    }
    let mapping = match c.mapping {
        Mapping::Offset => "offset",
        Mapping::Differential => "differential",
    };
    meta.insert(
        name,
        format!(
            "weight_bits={} cell_bits={} mapping={mapping} scale={} g_min={} adc_range_fwd={} \
             adc_range_bwd={} adc_lo_fwd={} adc_lo_bwd={}",
            c.weight_bits,
            c.cell_bits,
            c.scale,
            c.g_min,
            range(c.adc_range_fwd),
            range(c.adc_range_bwd),
            c.adc_lo_fwd,
            c.adc_lo_bwd
        ),
    );
}

/// The programmed cells stored in safetensors `bytes`, by weight layer (empty for a float
/// model).
pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Vec<(usize, LayerCells)>> {
    let (header, data) = parse(bytes)?;
    let meta = metadata(&header)?;
    let mut out = Vec::new();
    for (key, desc) in meta {
        let Some(l) = key
            .strip_prefix("layers.")
            .and_then(|k| k.strip_suffix(".cells"))
        else {
            continue;
        };
        let l: usize = l.parse()?;
        let desc = desc
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("{key}: description is not a string"))?;
        let kv: BTreeMap<&str, &str> = desc
            .split_whitespace()
            .filter_map(|p| p.split_once('='))
            .collect();
        let field = |k: &str| {
            kv.get(k)
                .copied()
                .ok_or_else(|| anyhow::anyhow!("{key}: no {k}= in {desc:?}"))
        };
        let number = |k: &str| -> anyhow::Result<f32> {
            field(k)?
                .parse()
                .map_err(|e| anyhow::anyhow!("{key}: {k}: {e}"))
        };
        let adc = |k: &str| -> anyhow::Result<Option<f32>> {
            match field(k)? {
                "none" => Ok(None),
                _ => number(k).map(Some),
            }
        };
        // Range bottoms are absent from files written before ranges had one: 0.
        let lo = |k: &str| -> anyhow::Result<f32> {
            match kv.get(k) {
                None => Ok(0.0),
                Some(_) => number(k),
            }
        };
        let mapping = match field("mapping")? {
            "offset" => Mapping::Offset,
            "differential" => Mapping::Differential,
            other => anyhow::bail!("{key}: mapping {other:?} (allowed: offset, differential)"),
        };
        let (shape, cells) = tensor(&header, data, key)?;
        anyhow::ensure!(
            shape.len() == 4,
            "{key}: shape {shape:?} is not [sets, out, in, slices]"
        );
        let (ref_fwd, ref_bwd) = match mapping {
            Mapping::Offset => (
                tensor(&header, data, &format!("{key}.ref_fwd"))?.1,
                tensor(&header, data, &format!("{key}.ref_bwd"))?.1,
            ),
            Mapping::Differential => (Vec::new(), Vec::new()),
        };
        out.push((
            l,
            LayerCells {
                fan_in: shape[2],
                fan_out: shape[1],
                weight_bits: number("weight_bits")? as u32,
                cell_bits: number("cell_bits")? as u32,
                slices: shape[3],
                mapping,
                scale: number("scale")?,
                g_min: number("g_min")?,
                instance: 0,
                layer: l as u32,
                cells,
                ref_fwd,
                ref_bwd,
                adc_range_fwd: adc("adc_range_fwd")?,
                adc_range_bwd: adc("adc_range_bwd")?,
                adc_lo_fwd: lo("adc_lo_fwd")?,
                adc_lo_bwd: lo("adc_lo_bwd")?,
                // Measured again when the layer is put on a backend.
                drift_gain: 1.0,
            },
        ));
    }
    out.sort_by_key(|(l, _)| *l);
    Ok(out)
}
