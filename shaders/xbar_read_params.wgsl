// The parameters and the input bindings of a crossbar read, shared by the read
// (xbar_read.wgsl) and its input-range step (xbar_absmax.wgsl), which run on the same bind
// group; the layout is `ReadParams` in src/gpu/xbar/params.rs.

struct Params {
    lines: u32, outs: u32, ncol: u32, group: u32,
    n_groups: u32, n_pass: u32, pass_len: u32, slices: u32,
    cycles: u32, dac_bits: u32, in_bits: u32, max_code: u32,
    cell_bits: u32, offset: u32, signed_in: u32, transposed: u32,
    batch: u32, slot: u32, x_off: u32, x_ld: u32,
    x_stride: u32, y_off: u32, y_ld: u32, y_stride: u32,
    n_inst: u32, n_data: u32, tile_outs: u32, fan_in: u32,
    fan_out: u32, r1: u32, r2: u32, counter_base: u32,
    sets: u32, noise_out: u32, mm_phase: u32, mm_tensors: u32,
    step_lo: u32, step_hi: u32, n_steps: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(4) var<storage, read> xin: array<f32>;
@group(0) @binding(5) var<storage, read_write> xmax: array<f32>;
