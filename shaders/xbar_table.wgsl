// Crossbar parameter tables: generated from src/xbar/param_table.rs (`wgsl_prelude`),
// checked by tests/gpu/shaders.rs. Joined in front of xbar_read.wgsl and
// xbar_program.wgsl, which declare the `inst` and `state` bindings used here.

// Words per instance.
const INST_STRIDE: u32 = 24u;
// Forward to transposed word.
const DIR_STRIDE: u32 = 2u;
// ReadNoise key (two words).
const INST_KEY_READ: u32 = 0u;
// OutputNoise key (two words).
const INST_KEY_OUT: u32 = 2u;
// Rounding key (two words).
const INST_KEY_ROUND: u32 = 4u;
// C2c key (two words).
const INST_KEY_C2C: u32 = 6u;
// relative read noise at the drift's read time (f32).
const INST_READ_NOISE: u32 = 8u;
// output noise in ADC LSBs (f32).
const INST_OUTPUT_NOISE: u32 = 9u;
// write noise per sqrt(pulse) (f32).
const INST_C2C: u32 = 10u;
// learning rate of programming (f32).
const INST_LR: u32 = 11u;
// weight change of one pulse (f32).
const INST_DW_1: u32 = 12u;
// pulses across the range (f32).
const INST_P_MAX: u32 = 13u;
// nominal G_min (f32).
const INST_G_MIN: u32 = 14u;
// ADC: 1 / (unit step) (f32, + DIR_STRIDE transposed).
const INST_INV_LSB: u32 = 16u;
// raw to output units, per unit of x_max: step s / (M (2^bits - 1)) (f32, + DIR_STRIDE transposed).
const INST_Y_SCALE: u32 = 17u;
// ADC floor as a current (f32, + DIR_STRIDE transposed).
const INST_ADC_FLOOR: u32 = 20u;
// Forward counter pairs.
const COUNTER_FWD: u32 = 0u;
// Transposed counter pairs.
const COUNTER_BWD: u32 = 3u;
// Write counter pairs.
const COUNTER_WRITE: u32 = 6u;
// Per-call counter ring.
const RING_BASE: u32 = 32u;
// Words per cell curve.
const CURVE_STRIDE: u32 = 5u;

fn inst_f32(p: u32, i: u32) -> f32 {
    return bitcast<f32>(inst[p * INST_STRIDE + i]);
}

// Per-direction word i of instance p (dir 0 forward, 1 transposed).
fn inst_dir(p: u32, i: u32, dir: u32) -> f32 {
    return inst_f32(p, i + DIR_STRIDE * dir);
}

fn inst_key(p: u32, i: u32) -> vec2<u32> {
    return vec2<u32>(inst[p * INST_STRIDE + i], inst[p * INST_STRIDE + i + 1u]);
}

// The per-call counter in ring slot `slot`.
fn ring_value(slot: u32) -> u32 {
    return atomicLoad(&state[RING_BASE + slot]);
}

// 64-bit counter add (lo, hi words): exact and order-independent.
fn add_counter(i: u32, v: u32) {
    if (v == 0u) {
        return;
    }
    let old = atomicAdd(&state[2u * i], v);
    if (old > 0xffffffffu - v) {
        atomicAdd(&state[2u * i + 1u], 1u);
    }
}
