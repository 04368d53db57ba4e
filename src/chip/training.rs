//! Training cost per step and per epoch: forward reads (FW), error reads (AG: BP's transposed
//! reads or DFA's feedback reads), weight gradients (WG) on the training chip's units with their
//! DRAM traffic, and programming (WU); or, with the outer-product update, each image's update
//! applied in the arrays.
//!
//! DRAM traffic per image: the inputs of every layer are stored during FW and loaded for WG, the
//! errors likewise; a layer whose gradients (weights x gradient word) do not fit its unit's
//! gradient buffer accumulates them in DRAM (read-modify-write per image) and WU reads them once
//! per step.

use super::activity;
use super::blocks::{cell_array, dram, drivers, write_path};
use super::built::{Built, TrainingWorkload};
use super::report::{Phase, Schedule, Training};
use super::schedule::{self, Arch, Durations, Rule};
use super::tally::{Cost, EnergyParts, ReadOp};
use super::training_chip::{self, cim_work, GradientHw, TrainingChipReport, Unit};
use super::training_config::{SignedRead, UpdateScheme, WgPlacement};

/// Cost of one layer's weight gradient for one image, and the DRAM bits it moves.
struct Wg {
    cost: Cost,
    dram_bits: f64,
    dram_energy: f64,
}

fn weight_gradient(b: &Built, hw: &GradientHw, l: usize, batch: usize) -> Wg {
    let (t, a, chip) = (&b.tech, b.req.array, b.req.chip);
    let s = &b.req.layers[l];
    let weights = s.weights() as f64;
    let grad_bits = weights * hw.gradient_bits(l);
    let spill = grad_bits > hw.buffer_of(l);
    let batch = batch as f64;
    let dram_bits = 2.0 * s.inputs() as f64 * a.input_bits as f64
        + 2.0 * s.outputs() as f64 * a.error_bits as f64
        + if spill {
            2.0 * grad_bits + grad_bits / batch
        } else {
            0.0
        };
    let dram_energy = dram::energy(t, dram_bits);
    let (compute_e, compute_t) = match hw.units[hw.unit_of_layer[l]] {
        Unit::Digital(u) => {
            let macs = s.macs as f64;
            (macs * u.mac_energy(t), u.time(macs, chip.clock_hz))
        }
        Unit::Cim { cim, acc } => {
            let w = cim_work(s, b.reads[l] as usize);
            let (acc_e, acc_t) = acc.add(t, weights, chip.clock_hz);
            (
                cim.energy(t, &w) + acc_e,
                cim.time(t, &w, chip.clock_hz) + acc_t,
            )
        }
    };
    let latency = compute_t.max(dram::time(t, dram_bits));
    let energy = EnergyParts {
        other: compute_e + dram_energy,
        leakage: latency * (hw.leakage(b, l) + b.plan.global_leakage),
        ..Default::default()
    };
    Wg {
        cost: Cost {
            energy,
            latency,
            conversions: 0.0,
        },
        dram_bits,
        dram_energy,
    }
}

/// The outer-product update of layer `l` for one image: two sign windows of `update_pulses`
/// pulse slots, every cell of the layer at once. A cell receives a pulse when its row and its
/// column pulse together: the error's and the input's pulse probabilities.
fn outer_product_update(b: &Built, l: usize) -> Cost {
    let (t, a, d) = (&b.tech, b.req.array, b.req.device);
    let m = &b.maps[l];
    let act = &b.activity[l];
    let slots = 2.0 * b.req.chip.training.update_pulses as f64;
    let latency = slots * d.t_write;
    let cells = (m.rows * m.data_cols * m.replication) as f64;
    let half = slots / 2.0;
    let cell_pulses = cells * act.input_density * act.error_density * half;
    // Row lines carry error pulses, column lines input pulses, in every block that holds them.
    let row_lines = (m.rows * m.col_blocks * m.replication) as f64 * act.error_density * half;
    let col_lines = (m.data_cols * m.row_blocks * m.replication) as f64 * act.input_density * half;
    let v = d.v_write.max(t.vdd());
    let energy = EnergyParts {
        arrays: cell_pulses * cell_array::write_pulse_energy(t, d),
        other: row_lines * drivers::line_energy(t, a.cols as usize, t.wl_cap_per_cell(), v)
            + col_lines * drivers::line_energy(t, a.rows as usize, t.bl_cap_per_cell(), v),
        leakage: latency * m.tiles as f64 * b.plan.tile_leakage,
        ..Default::default()
    };
    Cost {
        energy,
        latency,
        conversions: 0.0,
    }
}

/// BP: the transposed read of layer `l` giving the error of layer `l - 1`.
fn bp_error(b: &Built, l: usize) -> Cost {
    let s = &b.req.layers[l];
    let a = b.req.array;
    let cost = b.ctx().read(&ReadOp {
        map: &b.maps[l],
        transposed: true,
        reads: b.reads[l],
        in_bits: a.error_bits,
        signed: b.req.chip.training.signed_error == SignedRead::TwoPasses,
        density: b.activity[l].error_density,
        adc_bits: a.adc_bits_backward,
        in_values: s.outputs() as f64,
        out_values: s.inputs() as f64,
        out_bits: a.error_bits,
        level: activity::TYPICAL_WEIGHT_LEVEL,
        conversions_measured: None,
        pool: None,
        activation: true,
    });
    match &b.ns {
        Some(ns) => b.with_cycle_latency(ns, l, a.adc_bits_backward, cost),
        None => cost,
    }
}

/// DFA: the feedback read B_l e giving the error of hidden layer `l` (none where the layer's
/// error comes by transposed reads, `dfa_reach`).
fn dfa_error(b: &Built, l: usize, classes: usize) -> Cost {
    let Some(map) = b.feedback.get(l).and_then(Option::as_ref) else {
        return Cost::default();
    };
    let s = &b.req.layers[l];
    let a = b.req.array;
    b.ctx().read(&ReadOp {
        map,
        transposed: false,
        reads: 1.0,
        in_bits: a.error_bits,
        signed: b.req.chip.training.signed_error == SignedRead::TwoPasses,
        density: b.activity[l].error_density,
        adc_bits: a.adc_bits_backward,
        in_values: classes as f64,
        out_values: s.outputs() as f64,
        out_bits: a.error_bits,
        level: activity::TYPICAL_WEIGHT_LEVEL,
        conversions_measured: None,
        pool: None,
        activation: true,
    })
}

/// Programming of layer `l` once per step: rows are written one at a time, each in a
/// potentiation and a depression window of `max_pulses_per_row` pulses, in `parallel` subarrays
/// at once (as many as the gradient buffer feeds with pulse counts). Every copy of the matrix
/// (replication) is programmed with the same pulses. The pulse counts (one bit per cell of the
/// matrix: does it change in this window) are written into the tile buffer, read out, and carried
/// over the tile's H-tree to its PEs; the copies share them.
fn weight_update(b: &Built, l: usize, parallel: usize) -> Cost {
    let (t, a, d) = (&b.tech, b.req.array, b.req.device);
    let m = &b.maps[l];
    let act = &b.activity[l];
    let copies = m.replication as f64;
    let rows_per_block = m.rows.min(a.rows as usize) as f64;
    let windows = 2.0 * act.max_pulses_per_row;
    let rounds = m.subarrays_used.div_ceil(parallel.max(1)) as f64;
    let latency = rounds * rows_per_block * windows * d.t_write;
    let pulses = act.write_pulses * copies;
    let v = d.v_write.max(t.vdd());
    // Each pulse drives the selected word line of every column block holding the row and, on
    // resistive cells, holds the layer's other columns at V_write; the column lines (one block
    // of rows long) of the cells that change carry V_write; each row phase sets the switches of
    // the row's columns.
    let col_len = m.rows.min(a.rows as usize);
    let cols = m.data_cols + m.ref_cols * m.col_blocks;
    let per_row_pulse = m.col_blocks as f64
        * drivers::line_energy(t, a.cols as usize, t.wl_cap_per_cell(), v)
        + write_path::inhibit_energy(t, d, col_len, cols);
    let rows_copies = m.rows as f64 * copies;
    let delta_bits = (m.rows * m.data_cols) as f64;
    let novel = b.ns.as_ref().is_some_and(|ns| ns.layers[l].novel);
    let energy = EnergyParts {
        arrays: pulses * cell_array::write_pulse_energy(t, d),
        other: rows_copies * windows * per_row_pulse
            + pulses * write_path::column_pulse_energy(t, d, col_len)
            + rows_copies * write_path::PHASES_PER_ROW * write_path::switch_energy(t, d, cols),
        buffers: b.plan.buffer_energy(t, 2.0 * delta_bits),
        interconnect: delta_bits * b.plan.tile_net(novel).energy_per_bit(t),
        leakage: latency * m.tiles as f64 * b.plan.tile_leakage,
        ..Default::default()
    };
    Cost {
        energy,
        latency,
        conversions: 0.0,
    }
}

fn phase(per_step_latency: f64, per_step_energy: f64, steps: f64) -> Phase {
    Phase {
        latency_s_per_step: per_step_latency,
        energy_j_per_step: per_step_energy,
        latency_s_per_epoch: per_step_latency * steps,
        energy_j_per_epoch: per_step_energy * steps,
    }
}

pub(crate) fn tally(
    b: &Built,
    fw: &[Cost],
    w: TrainingWorkload,
) -> (Training, Schedule, TrainingChipReport) {
    let n = b.req.layers.len();
    let cfg = &b.req.chip.training;
    let batch = w.batch as f64;
    let steps = w.samples_per_epoch.div_ceil(w.batch);
    let st = steps as f64;
    let ag: Vec<Cost> = (0..n)
        .map(|l| {
            if l == 0 {
                Cost::default()
            } else {
                bp_error(b, l)
            }
        })
        .collect();
    let fb: Vec<Cost> = (0..n).map(|l| dfa_error(b, l, w.classes)).collect();
    // DFA's transposed reads (`fc_head`): from the first FC layer down to layer 1.
    let top = b.dfa_chain_top;
    let chain = &ag[1..=top];
    let outer = cfg.update == UpdateScheme::OuterProduct;
    let hw = GradientHw::build(b, w.batch);
    let wg: Vec<Wg> = (0..n)
        .map(|l| match &hw {
            Some(hw) => weight_gradient(b, hw, l, w.batch),
            None => Wg {
                cost: Cost::default(),
                dram_bits: 0.0,
                dram_energy: 0.0,
            },
        })
        .collect();
    let none = || vec![Cost::default(); n];
    let wu: Vec<Cost> = match &hw {
        Some(hw) => (0..n)
            .map(|l| weight_update(b, l, hw.program_parallel(b, l)))
            .collect(),
        None => none(),
    };
    let upd: Vec<Cost> = if outer {
        (0..n).map(|l| outer_product_update(b, l)).collect()
    } else {
        none()
    };

    let sum_lat = |c: &[Cost]| c.iter().map(|c| c.latency).sum::<f64>();
    let sum_e = |c: &[Cost]| c.iter().map(|c| c.energy.total()).sum::<f64>();
    let max_lat = |c: &[Cost]| c.iter().map(|c| c.latency).fold(0.0, f64::max);
    let forward = phase(batch * sum_lat(fw), batch * sum_e(fw), st);
    let error = match w.rule {
        Rule::Bp => phase(batch * sum_lat(&ag), batch * sum_e(&ag), st),
        Rule::Dfa => {
            // The feedback reads run at once; the chain follows the first FC layer's.
            let lat = if top > 0 {
                max_lat(&fb).max(fb[top].latency + sum_lat(chain))
            } else {
                max_lat(&fb)
            };
            phase(batch * lat, batch * (sum_e(&fb) + sum_e(chain)), st)
        }
    };
    let wg_costs: Vec<Cost> = wg.iter().map(|g| g.cost).collect();
    let weight_gradient = phase(batch * sum_lat(&wg_costs), batch * sum_e(&wg_costs), st);
    // Outer product: all layers update their own arrays at once. Batched: the layers a unit
    // serves are programmed one after another from its gradient buffer.
    let weight_update = if outer {
        phase(batch * max_lat(&upd), batch * sum_e(&upd), st)
    } else {
        phase(sum_lat(&wu), sum_e(&wu), st)
    };
    let dram_e_step = batch * wg.iter().map(|g| g.dram_energy).sum::<f64>();
    let dram_bits_step = batch * wg.iter().map(|g| g.dram_bits).sum::<f64>();

    let lat = |c: &[Cost]| c.iter().map(|c| c.latency).collect::<Vec<f64>>();
    let durations = Durations {
        fw: lat(fw),
        ag: lat(&ag),
        fb: lat(&fb),
        wg: lat(&wg_costs),
        wu: lat(&wu),
        upd: lat(&upd),
        dfa_chain_top: top,
    };
    let arch = Arch {
        wg_unit: match (&hw, cfg.wg_placement) {
            (Some(hw), _) => hw.unit_of_layer.clone(),
            (None, WgPlacement::Shared) => vec![0; n],
            (None, WgPlacement::PerLayer) => (0..n).collect(),
        },
        outer_product: outer,
        pipeline: b.req.chip.pipelined || cfg.pipeline,
    };
    let bp_step = schedule::step_latency(&durations, Rule::Bp, w.batch, &arch);
    let dfa_step = schedule::step_latency(&durations, Rule::Dfa, w.batch, &arch);
    let bp_back = schedule::backward_latency(&durations, Rule::Bp);
    let dfa_back = schedule::backward_latency(&durations, Rule::Dfa);
    let bp_chip = training_chip::report(b, Rule::Bp, hw.as_ref());
    let dfa_chip = training_chip::report(b, Rule::Dfa, hw.as_ref());
    let sched = Schedule {
        architecture: cfg.clone(),
        bp_step_latency_s: bp_step,
        dfa_step_latency_s: dfa_step,
        ratio: dfa_step / bp_step,
        speedup: bp_step / dfa_step,
        bp_backward_latency_s: bp_back,
        dfa_backward_latency_s: dfa_back,
        // A single-layer network has no error phase under either rule.
        backward_ratio: if bp_back > 0.0 {
            dfa_back / bp_back
        } else {
            1.0
        },
        backward_speedup: if dfa_back > 0.0 {
            bp_back / dfa_back
        } else {
            1.0
        },
        bp_chip_area_mm2: bp_chip.area_mm2.total,
        dfa_chip_area_mm2: dfa_chip.area_mm2.total,
        dfa_scope: w.dfa_scope,
    };

    let energy_epoch = forward.energy_j_per_epoch
        + error.energy_j_per_epoch
        + weight_gradient.energy_j_per_epoch
        + weight_update.energy_j_per_epoch;
    let macs = |l: usize| b.req.layers[l].macs as f64;
    let ops_image: f64 = (0..n)
        .map(|l| 2.0 * (2.0 * macs(l) + if l > 0 { macs(l) } else { 0.0 }))
        .sum();
    let ops_epoch = ops_image * batch * st;
    let serial = forward.latency_s_per_epoch
        + error.latency_s_per_epoch
        + weight_gradient.latency_s_per_epoch
        + weight_update.latency_s_per_epoch;
    let scheduled = st
        * if w.rule == Rule::Bp {
            bp_step
        } else {
            dfa_step
        };
    let training = Training {
        rule: w.rule,
        batch: w.batch,
        steps_per_epoch: steps,
        forward,
        error,
        weight_gradient,
        weight_update,
        dram_energy_j_per_epoch: dram_e_step * st,
        dram_share: dram_e_step * st / energy_epoch,
        dram_bits_per_step: dram_bits_step,
        serial_latency_s_per_epoch: serial,
        scheduled_latency_s_per_epoch: scheduled,
        energy_j_per_epoch: energy_epoch,
        ops_per_epoch: ops_epoch,
        tops_per_w: ops_epoch / energy_epoch / 1e12,
    };
    let chip = match w.rule {
        Rule::Bp => bp_chip,
        Rule::Dfa => dfa_chip,
    };
    (training, sched, chip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chip::built::{build, EstimateRequest};
    use crate::chip::{ChipConfig, FloorplanMode};
    use crate::config::{ArrayConfig, DeviceConfig};
    use crate::nn::arch::parse_shapes;

    /// The pulse counts (one bit per weight cell) cross the H-tree of the layer's own tile kind
    /// once, whatever the number of copies: bits x root-to-PE path x wire energy per bit.
    #[test]
    fn pulse_counts_cross_their_tiles_h_tree_once() {
        let layers = parse_shapes("C128-C128-M-FC10", [3, 32, 32]).unwrap();
        let array = ArrayConfig::default();
        let device = DeviceConfig::default();
        for floorplan in [FloorplanMode::Fixed, FloorplanMode::Neurosim] {
            let chip = ChipConfig {
                floorplan,
                ..ChipConfig::default()
            };
            let req = EstimateRequest {
                chip: &chip,
                array: &array,
                device: &device,
                layers: &layers,
                activity: None,
                training: Some(TrainingWorkload {
                    batch: 8,
                    samples_per_epoch: 64,
                    rule: Rule::Bp,
                    classes: 10,
                    dfa_scope: crate::config::DfaScope::All,
                }),
            };
            let b = build(&req).unwrap();
            let cols_per_weight = array.weight_bits.div_ceil(array.cell_bits) as f64;
            for (l, s) in layers.iter().enumerate() {
                let novel = b.ns.as_ref().is_some_and(|ns| ns.layers[l].novel);
                let net = b.plan.tile_net(novel);
                let bits = (s.fan_in * s.fan_out) as f64 * cols_per_weight;
                let want = bits * net.path_length() * b.tech.wire_energy_per_bit_m();
                let got = weight_update(&b, l, 1).energy.interconnect;
                assert!(
                    want > 0.0 && (got - want).abs() <= 1e-9 * want,
                    "{floorplan:?} layer {l}: {got:e} J, want {want:e} J"
                );
            }
            if let Some(ns) = &b.ns {
                // The novel tile (a PE per kernel tap) is not the FC layer's conventional tile.
                assert!(ns.layers[1].novel && !ns.layers[2].novel);
            }
        }
    }
}
