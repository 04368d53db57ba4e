//! `estimate`: builds the chip for the request (`built`) and tallies inference and
//! (optionally) training.

use super::built::{build, Built, EstimateRequest};
use super::error::ChipError;
use super::report::{Area, AreaBreakdown, ChipReport, Inference, LayerReport};
use super::tally::{Cost, EnergyParts};
use super::training;

/// Area, energy and latency of the chip for the request.
pub fn estimate(req: &EstimateRequest) -> Result<ChipReport, ChipError> {
    let b = build(req)?;
    let n = req.layers.len();
    let costs: Vec<Cost> = (0..n).map(|l| b.forward(l)).collect();
    let inference = inference_report(&b, &costs);
    let (training, schedule, training_chip) = match req.training {
        Some(w) => {
            let (t, s, c) = training::tally(&b, &costs, w);
            (Some(t), Some(s), Some(c))
        }
        None => (None, None, None),
    };
    // The inference chip only: training hardware lives in `training_chip`.
    let area = &b.plan.area;
    let mm2 = 1e6;
    let report = ChipReport {
        area_mm2: Area {
            total: area.total() * mm2,
            breakdown: AreaBreakdown {
                arrays: area.arrays * mm2,
                adc: area.adc * mm2,
                shift_add_accumulation: area.shift_add_accumulation * mm2,
                buffers: area.buffers * mm2,
                interconnect: area.interconnect * mm2,
                other: area.other * mm2,
            },
            tiles: b.plan.tiles,
            subarrays: b.maps.iter().map(|m| m.subarrays_used).sum(),
        },
        training_chip,
        inference,
        training,
        schedule,
        activity: if req.activity.is_some() {
            "measured"
        } else {
            "typical"
        }
        .into(),
        node_nm: b.tech.node.f_nm,
        memory: b.tech.memory.clone(),
    };
    Ok(report)
}

fn inference_report(b: &Built, costs: &[Cost]) -> Inference {
    let req = b.req;
    let latency: f64 = costs.iter().map(|c| c.latency).sum();
    let energy: EnergyParts = costs.iter().map(|c| c.energy).sum();
    let ops: f64 = req.layers.iter().map(|s| 2.0 * s.macs as f64).sum();
    let slowest = costs.iter().map(|c| c.latency).fold(0.0, f64::max);
    let images_per_s = if req.chip.pipelined {
        1.0 / slowest
    } else {
        1.0 / latency
    };
    let tops = ops * images_per_s / 1e12;
    let area_mm2 = b.plan.area.total() * 1e6;
    let layers = req
        .layers
        .iter()
        .zip(&b.maps)
        .zip(costs)
        .zip(&b.activity)
        .map(|(((s, m), c), act)| LayerReport {
            name: s.name.clone(),
            latency_s: c.latency,
            energy_j: c.energy.total(),
            subarrays: m.subarrays_used,
            subarrays_allocated: m.subarrays_allocated,
            tiles: m.tiles,
            replication: m.replication,
            utilisation: m.utilisation,
            adc_conversions: c.conversions,
            clipped_fraction: if act.adc_conversions > 0.0 {
                act.clipped_conversions / act.adc_conversions
            } else {
                0.0
            },
        })
        .collect();
    Inference {
        latency_s: latency,
        energy_j: energy.total(),
        dynamic_energy_j: energy.dynamic(),
        leakage_energy_j: energy.leakage,
        energy_breakdown: energy,
        ops_per_image: ops,
        tops,
        tops_per_w: ops / energy.total() / 1e12,
        tops_per_mm2: tops / area_mm2,
        images_per_s,
        pipelined: req.chip.pipelined,
        layers,
    }
}
