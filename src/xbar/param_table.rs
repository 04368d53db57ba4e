//! The layout of a crossbar layer's parameter tables on the GPU, defined once for the host
//! (`gpu::xbar`) and the crossbar shaders: `shaders/xbar_table.wgsl` is [`wgsl_prelude`]'s
//! text (a test compares the two), joined in front of `xbar_read.wgsl` and `xbar_program.wgsl`.
//!
//! - `inst` `[P][INST_STRIDE]` u32 words per instance: Philox keys as two words, scalars as f32
//!   bits, per-direction words at `word + DIR_STRIDE * dir` (dir 0 forward, 1 transposed).
//! - `state`: 64-bit activity counters as (lo, hi) word pairs from word 0, then from
//!   [`RING_BASE`] a ring of [`RING`] per-call counters (read counter or programming step).
//! - `curves` `[P][data cells][CURVE_STRIDE]`: each cell's update curve.

/// One named word (or word pair) of the `inst` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// WGSL constant name (`INST_` prefixed in the prelude).
    pub name: &'static str,
    pub word: usize,
    /// Words: 2 for a Philox key, 1 for a scalar.
    pub words: usize,
    /// Per-direction fields: the forward word; the transposed one is `DIR_STRIDE` further.
    pub per_dir: bool,
    pub doc: &'static str,
}

const fn key(name: &'static str, word: usize, doc: &'static str) -> Field {
    Field {
        name,
        word,
        words: 2,
        per_dir: false,
        doc,
    }
}

const fn scalar(name: &'static str, word: usize, doc: &'static str) -> Field {
    Field {
        name,
        word,
        words: 1,
        per_dir: false,
        doc,
    }
}

const fn dir(name: &'static str, word: usize, doc: &'static str) -> Field {
    Field {
        name,
        word,
        words: 1,
        per_dir: true,
        doc,
    }
}

pub const KEY_READ: Field = key("KEY_READ", 0, "ReadNoise key");
pub const KEY_OUT: Field = key("KEY_OUT", 2, "OutputNoise key");
pub const KEY_ROUND: Field = key("KEY_ROUND", 4, "Rounding key");
pub const KEY_C2C: Field = key("KEY_C2C", 6, "C2c key");
pub const READ_NOISE: Field = scalar(
    "READ_NOISE",
    8,
    "relative read noise at the drift's read time",
);
pub const OUTPUT_NOISE: Field = scalar("OUTPUT_NOISE", 9, "output noise in ADC LSBs");
pub const C2C: Field = scalar("C2C", 10, "write noise per sqrt(pulse)");
pub const LR: Field = scalar("LR", 11, "learning rate of programming");
pub const DW_1: Field = scalar("DW_1", 12, "weight change of one pulse");
pub const P_MAX: Field = scalar("P_MAX", 13, "pulses across the range");
pub const G_MIN: Field = scalar("G_MIN", 14, "nominal G_min");
pub const INV_LSB: Field = dir("INV_LSB", 16, "ADC: 1 / (unit step)");
pub const Y_SCALE: Field = dir(
    "Y_SCALE",
    17,
    "raw to output units, per unit of x_max: step s / (M (2^bits - 1))",
);
pub const ADC_FLOOR: Field = dir("ADC_FLOOR", 20, "ADC floor as a current");

/// Distance between a per-direction field's forward and transposed words.
pub const DIR_STRIDE: usize = 2;
/// Words per instance.
pub const INST_STRIDE: usize = 24;

/// Every field, in word order.
pub const FIELDS: &[Field] = &[
    KEY_READ,
    KEY_OUT,
    KEY_ROUND,
    KEY_C2C,
    READ_NOISE,
    OUTPUT_NOISE,
    C2C,
    LR,
    DW_1,
    P_MAX,
    G_MIN,
    INV_LSB,
    Y_SCALE,
    ADC_FLOOR,
];

/// Counter pairs: forward (active rows, conversions, clipped), transposed (same), write
/// (pulses, cells written, row-max sum).
pub const COUNTERS: usize = 9;
pub const COUNTER_FWD: usize = 0;
pub const COUNTER_BWD: usize = 3;
pub const COUNTER_WRITE: usize = 6;
/// First word of the per-call counter ring in `state`.
pub const RING_BASE: usize = 32;
/// Slots of the ring.
pub const RING: usize = 64;
/// Words per cell in `curves`: a_ltp, a_ltd, up_down, g_min, g_max.
pub const CURVE_STRIDE: usize = 5;

const _: () = assert!(2 * COUNTERS <= RING_BASE);
const _: () = assert!(ADC_FLOOR.word + DIR_STRIDE <= INST_STRIDE);

/// Word `f` (the transposed one with `transposed`) of instance `p`.
pub fn at(p: usize, f: Field, transposed: bool) -> usize {
    p * INST_STRIDE
        + f.word
        + if f.per_dir && transposed {
            DIR_STRIDE
        } else {
            0
        }
}

/// The WGSL prelude (`shaders/xbar_table.wgsl`): the constants above and accessors of the
/// `inst` and `state` bindings each crossbar shader declares.
pub fn wgsl_prelude() -> String {
    let mut s = String::from(
        "// Crossbar parameter tables: generated from src/xbar/param_table.rs (`wgsl_prelude`),\n\
         // checked by tests/gpu/shaders.rs. Joined in front of xbar_read.wgsl and\n\
         // xbar_program.wgsl, which declare the `inst` and `state` bindings used here.\n\n",
    );
    let c = |s: &mut String, name: &str, v: usize, doc: &str| {
        s.push_str(&format!("// {doc}\nconst {name}: u32 = {v}u;\n"));
    };
    c(&mut s, "INST_STRIDE", INST_STRIDE, "Words per instance.");
    c(
        &mut s,
        "DIR_STRIDE",
        DIR_STRIDE,
        "Forward to transposed word.",
    );
    for f in FIELDS {
        let what = match (f.words, f.per_dir) {
            (2, _) => "two words",
            (_, true) => "f32, + DIR_STRIDE transposed",
            _ => "f32",
        };
        c(
            &mut s,
            &format!("INST_{}", f.name),
            f.word,
            &format!("{} ({what}).", f.doc),
        );
    }
    c(&mut s, "COUNTER_FWD", COUNTER_FWD, "Forward counter pairs.");
    c(
        &mut s,
        "COUNTER_BWD",
        COUNTER_BWD,
        "Transposed counter pairs.",
    );
    c(
        &mut s,
        "COUNTER_WRITE",
        COUNTER_WRITE,
        "Write counter pairs.",
    );
    c(&mut s, "RING_BASE", RING_BASE, "Per-call counter ring.");
    c(
        &mut s,
        "CURVE_STRIDE",
        CURVE_STRIDE,
        "Words per cell curve.",
    );
    s.push_str(
        "
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
",
    );
    s
}
