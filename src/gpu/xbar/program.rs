//! In-situ programming on the GPU (`shaders/xbar_program.wgsl`), then the per-row maxima and
//! the effective conductances.

use super::eff::update_eff;
use super::host::Host;
use super::params::{groups_1d, ProgramParams};
use super::ring::ring_slot;
use crate::backend::{Buf, XbarId};
use crate::config::{C2cLaw, Rounding};
use crate::gpu::shaders;
use crate::xbar::param_table as table;

pub(in crate::gpu) fn program(be: &mut impl Host, id: XbarId, grad: Buf, step: u32) {
    let xb = &be.xbars()[id.0];
    xb.cfg
        .validate(true)
        .expect("crossbar settings were validated when the layer was created");
    assert_eq!(
        xb.meta[0].slices, 1,
        "programming needs one cell per weight"
    );
    let slot = ring_slot(be, id, step);
    let xb = &be.xbars()[id.0];
    let l = &xb.meta[0];
    let p = xb.n_inst();
    let prm = ProgramParams {
        fan_in: l.fan_in as u32,
        fan_out: l.fan_out as u32,
        sets: xb.sets() as u32,
        n_inst: p as u32,
        total: xb.total as u32,
        slot,
        stochastic: (xb.cfg.device.rounding == Rounding::Stochastic) as u32,
        max_pulses: xb.cfg.device.max_pulses_per_update,
        counter_base: table::COUNTER_WRITE as u32,
        c2c_per_update: (xb.cfg.device.c2c_law == C2cLaw::PerUpdate) as u32,
        set_only: xb.cfg.device.set_only as u32,
        _pad: 0,
    };
    let bufs = [xb.inst, grad, xb.curves, xb.cells, xb.state, xb.rowmax];
    let weights = p * l.fan_in * l.fan_out;
    let rows = p * l.fan_in;
    be.dispatch(&shaders::XBAR_PROGRAM, &[], &prm, &bufs, groups_1d(weights));
    be.dispatch(&shaders::XBAR_ROW_MAX, &[], &prm, &bufs, groups_1d(rows));
    update_eff(be, id);
    be.xbars()[id.0].updates += 1;
}
