//! Recomputes a layer's effective conductances (`shaders/xbar_eff.wgsl`) after creation and
//! every programming step.

use super::host::Host;
use super::params::{groups_1d, u32_of, EffParams};
use super::words::per_cell_drift;
use crate::backend::XbarId;
use crate::config::Mapping;
use crate::gpu::shaders;
use crate::xbar::drift;

/// Records the recomputation of the effective conductances.
pub(super) fn update_eff(be: &mut impl Host, id: XbarId) {
    let x = &be.xbars()[id.0];
    let l = &x.meta[0];
    let (kk, n, s, sets) = (l.fan_in, l.fan_out, l.slices, l.sets());
    let refs = if l.mapping == Mapping::Offset { 2 } else { 0 };
    let (ncol_f, ncol_b) = (sets * n + refs, sets * kk + refs);
    let p = x.n_inst();
    let d = &x.cfg.device.drift;
    let nf = p * s * kk * ncol_f;
    let nb = p * s * n * ncol_b;
    let prm = EffParams {
        fan_in: kk as u32,
        fan_out: n as u32,
        slices: s as u32,
        sets: sets as u32,
        ncol_f: ncol_f as u32,
        ncol_b: ncol_b as u32,
        r1: (sets * n * kk * s) as u32,
        r2: (sets * n * kk * s + refs * kk * s) as u32,
        total: x.total as u32,
        n_inst: p as u32,
        nf: u32_of(nf, "forward effective conductances"),
        nb: u32_of(nb, "transposed effective conductances"),
        drift: drift::global_factor(d),
        nu: d.nu as f32,
        nu_state: d.nu_state as f32,
        nu_d2d: d.nu_d2d as f32,
        ln_t: drift::ln_t(d),
        g_min: l.g_min,
        per_cell_drift: per_cell_drift(&x.cfg) as u32,
        _pad: 0,
    };
    u32_of(nf + nb, "effective conductances");
    let bufs = [x.cells, x.frozen, x.eff_f, x.eff_b, x.drift_z];
    be.dispatch(&shaders::XBAR_EFF, &[], &prm, &bufs, groups_1d(nf + nb));
}
