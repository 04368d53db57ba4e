//! Training cost per step and per epoch: forward reads (FW), error reads (AG: BP's transposed
//! reads or DFA's feedback reads), weight gradients on the digital unit with their DRAM traffic
//! (WG), and programming (WU).
//!
//! DRAM traffic per image: the inputs of every layer are stored during FW and loaded for WG, the
//! errors likewise; a layer whose gradients (weights x gradient_bits) do not fit the gradient
//! buffer accumulates them in DRAM (read-modify-write per image) and WU reads them once per step.

use super::activity;
use super::blocks::{buffer, cell_array, dram, drivers};
use super::estimate::{Built, TrainingWorkload};
use super::report::{Phase, Schedule, Training};
use super::schedule::{self, Durations, Rule};
use super::tally::{Cost, EnergyParts, ReadOp};

/// Cost of one layer's weight gradient for one image, and the DRAM bits it moves.
struct Wg {
    cost: Cost,
    dram_bits: f64,
    dram_energy: f64,
}

fn weight_gradient(b: &Built, l: usize) -> Wg {
    let (t, a, chip) = (&b.tech, b.req.array, b.req.chip);
    let s = &b.req.layers[l];
    let wg = b.wg.expect("training builds the weight-gradient unit");
    let macs = s.macs as f64;
    let grad_bits = s.weights() as f64 * chip.gradient_bits as f64;
    let spill = grad_bits > buffer::bits(chip.wg_buffer_kb);
    let batch = b.req.training.map(|w| w.batch).unwrap_or(1) as f64;
    let dram_bits = 2.0 * s.inputs() as f64 * a.input_bits as f64
        + 2.0 * s.outputs() as f64 * a.error_bits as f64
        + if spill {
            2.0 * grad_bits + grad_bits / batch
        } else {
            0.0
        };
    let dram_energy = dram::energy(t, dram_bits);
    let latency = wg.time(macs, chip.clock_hz).max(dram::time(t, dram_bits));
    let energy = EnergyParts {
        other: macs * wg.mac_energy(t) + dram_energy,
        leakage: latency * (b.plan.wg_leakage + b.plan.global_leakage),
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

/// BP: the transposed read of layer `l` giving the error of layer `l - 1`.
fn bp_error(b: &Built, l: usize) -> Cost {
    let s = &b.req.layers[l];
    let a = b.req.array;
    b.ctx().read(&ReadOp {
        map: &b.maps[l],
        transposed: true,
        reads: b.reads[l],
        in_bits: a.error_bits,
        signed: true,
        density: b.activity[l].error_density,
        adc_bits: a.adc_bits_backward,
        in_values: s.outputs() as f64,
        out_values: s.inputs() as f64,
        out_bits: a.error_bits,
        level: activity::TYPICAL_WEIGHT_LEVEL,
        conversions_measured: None,
        pool: None,
        activation: true,
    })
}

/// DFA: the feedback read B_l e giving the error of hidden layer `l`.
fn dfa_error(b: &Built, l: usize, classes: usize) -> Cost {
    let s = &b.req.layers[l];
    let a = b.req.array;
    b.ctx().read(&ReadOp {
        map: &b.feedback[l],
        transposed: false,
        reads: 1.0,
        in_bits: a.error_bits,
        signed: true,
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

/// Programming of layer `l` once per step: rows are written one at a time in every subarray at
/// once, each row in a potentiation and a depression window of `max_pulses_per_row` pulses.
fn weight_update(b: &Built, l: usize) -> Cost {
    let (t, a, d) = (&b.tech, b.req.array, b.req.device);
    let m = &b.maps[l];
    let act = &b.activity[l];
    let rows_per_block = m.rows.min(a.rows as usize) as f64;
    let windows = 2.0 * act.max_pulses_per_row;
    let latency = rows_per_block * windows * d.t_write;
    let row_pulses = (m.rows * m.col_blocks * m.replication) as f64 * windows;
    let line = drivers::line_energy(
        t,
        a.cols as usize,
        t.wl_cap_per_cell(),
        d.v_write.max(t.vdd()),
    );
    let energy = EnergyParts {
        arrays: act.write_pulses * cell_array::write_pulse_energy(t, d),
        other: row_pulses * line,
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

pub(crate) fn tally(b: &Built, fw: &[Cost], w: TrainingWorkload) -> (Training, Schedule) {
    let n = b.req.layers.len();
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
    let fb: Vec<Cost> = (0..n)
        .map(|l| {
            if l + 1 == n {
                Cost::default()
            } else {
                dfa_error(b, l, w.classes)
            }
        })
        .collect();
    let wg: Vec<Wg> = (0..n).map(|l| weight_gradient(b, l)).collect();
    let wu: Vec<Cost> = (0..n).map(|l| weight_update(b, l)).collect();

    let sum_lat = |c: &[Cost]| c.iter().map(|c| c.latency).sum::<f64>();
    let sum_e = |c: &[Cost]| c.iter().map(|c| c.energy.total()).sum::<f64>();
    let max_lat = |c: &[Cost]| c.iter().map(|c| c.latency).fold(0.0, f64::max);
    let forward = phase(batch * sum_lat(fw), batch * sum_e(fw), st);
    let error = match w.rule {
        Rule::Bp => phase(batch * sum_lat(&ag), batch * sum_e(&ag), st),
        Rule::Dfa => phase(batch * max_lat(&fb), batch * sum_e(&fb), st),
    };
    let wg_costs: Vec<Cost> = wg.iter().map(|g| g.cost).collect();
    let weight_gradient = phase(batch * sum_lat(&wg_costs), batch * sum_e(&wg_costs), st);
    // All layers program their own arrays at once.
    let weight_update = phase(max_lat(&wu), sum_e(&wu), st);
    let dram_e_step = batch * wg.iter().map(|g| g.dram_energy).sum::<f64>();
    let dram_bits_step = batch * wg.iter().map(|g| g.dram_bits).sum::<f64>();

    let durations = Durations {
        fw: fw.iter().map(|c| c.latency).collect(),
        ag: ag.iter().map(|c| c.latency).collect(),
        fb: fb.iter().map(|c| c.latency).collect(),
        wg: wg_costs.iter().map(|c| c.latency).collect(),
        wu: wu.iter().map(|c| c.latency).collect(),
    };
    let pipelined = b.req.chip.pipelined;
    let bp_step = schedule::step_latency(&durations, Rule::Bp, w.batch, pipelined);
    let dfa_step = schedule::step_latency(&durations, Rule::Dfa, w.batch, pipelined);
    let bp_back = schedule::backward_latency(&durations, Rule::Bp);
    let dfa_back = schedule::backward_latency(&durations, Rule::Dfa);
    let sched = Schedule {
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
    (training, sched)
}
