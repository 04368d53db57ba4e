//! The uniform parameters of the crossbar kernels (`shaders/xbar_*.wgsl`, field for field).

use bytemuck::{Pod, Zeroable};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct ReadParams {
    pub(super) lines: u32,
    pub(super) outs: u32,
    pub(super) ncol: u32,
    pub(super) group: u32,
    pub(super) n_groups: u32,
    pub(super) n_pass: u32,
    pub(super) pass_len: u32,
    pub(super) slices: u32,
    pub(super) cycles: u32,
    pub(super) dac_bits: u32,
    pub(super) in_bits: u32,
    pub(super) max_code: u32,
    pub(super) cell_bits: u32,
    pub(super) offset: u32,
    pub(super) signed_in: u32,
    pub(super) transposed: u32,
    pub(super) batch: u32,
    pub(super) slot: u32,
    pub(super) x_off: u32,
    pub(super) x_ld: u32,
    pub(super) x_stride: u32,
    pub(super) y_off: u32,
    pub(super) y_ld: u32,
    pub(super) y_stride: u32,
    pub(super) n_inst: u32,
    pub(super) n_data: u32,
    pub(super) tile_outs: u32,
    pub(super) fan_in: u32,
    pub(super) fan_out: u32,
    pub(super) r1: u32,
    pub(super) r2: u32,
    pub(super) counter_base: u32,
    pub(super) sets: u32,
    /// Output-referred read noise (`read_noise::output_referred`).
    pub(super) noise_out: u32,
    /// 0: the ADC of `xbar::adc`; `minmax`: 1 observes every tensor's range, 2 converts.
    pub(super) mm_phase: u32,
    /// `minmax` tensors per instance in the `mm` buffer.
    pub(super) mm_tensors: u32,
    /// This dispatch's steps [step_lo, step_hi) of n_steps (see the shader).
    pub(super) step_lo: u32,
    pub(super) step_hi: u32,
    pub(super) n_steps: u32,
    pub(super) _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct EffParams {
    pub(super) fan_in: u32,
    pub(super) fan_out: u32,
    pub(super) slices: u32,
    pub(super) sets: u32,
    pub(super) ncol_f: u32,
    pub(super) ncol_b: u32,
    pub(super) r1: u32,
    pub(super) r2: u32,
    pub(super) total: u32,
    pub(super) n_inst: u32,
    pub(super) nf: u32,
    pub(super) nb: u32,
    pub(super) drift: f32,
    pub(super) nu: f32,
    pub(super) nu_state: f32,
    pub(super) nu_d2d: f32,
    pub(super) ln_t: f32,
    pub(super) g_min: f32,
    pub(super) per_cell_drift: u32,
    pub(super) _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct ProgramParams {
    pub(super) fan_in: u32,
    pub(super) fan_out: u32,
    pub(super) sets: u32,
    pub(super) n_inst: u32,
    pub(super) total: u32,
    pub(super) slot: u32,
    pub(super) stochastic: u32,
    pub(super) max_pulses: u32,
    pub(super) counter_base: u32,
    pub(super) c2c_per_update: u32,
    pub(super) set_only: u32,
    pub(super) _pad: u32,
}

/// Workgroups for `count` items of a 256-wide 1-D kernel, folded into y beyond the x limit.
pub(super) fn groups_1d(count: usize) -> [u32; 3] {
    let g = count.div_ceil(256).max(1) as u32;
    [g.min(65535), g.div_ceil(65535), 1]
}

pub(super) fn u32_of(v: usize, what: &str) -> u32 {
    u32::try_from(v).unwrap_or_else(|_| panic!("{what} ({v}) exceeds u32"))
}
