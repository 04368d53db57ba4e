// Fused quantized crossbar read (forward y = W x or transposed y = W^T x) of P instances in one
// dispatch, mirroring src/xbar/read.rs step by step (see docs/crossbar.md, "Read").
//
// Workgroup (column tile, block of BR input rows, instance). Each invocation owns one column
// of the tile: offset mapping 62 data columns + the two reference columns (lo, hi), differential
// 32 outputs x 2 sets. Per (sign, group, pass, slice, cycle) the input digits of the pass are
// staged in workgroup memory in chunks of CH lines; each invocation sums its column current in
// registers (f32, lines in increasing order, zero digits skipped), applies output noise and the
// ADC, and publishes its code in workgroup memory; the output invocations then shift-add
// 2 code - code_lo - code_hi (or code+ - code-) into a two-word integer accumulator.
// Nothing per slice, cycle or bit plane is written to global memory.
//
// Steps are numbered ((((sign * n_groups + group) * n_pass + pass) * slices + slice) * cycles +
// cycle); one dispatch runs steps [step_lo, step_hi) and hands its accumulators to the next
// through `carry`. The host keeps each dispatch short: llvmpipe ends every loop of an invocation
// once the invocation has taken 65,535 loop iterations in all (a silent early stop), and GPU
// drivers reset devices whose dispatches run for seconds.
//
// `eff` holds the effective conductances of this direction, [P][S][lines][ncol] (stuck cells,
// drift and frozen d2d applied; see xbar_eff.wgsl), so adjacent invocations load adjacent words.
// `inst` is the per-instance table (see src/gpu/xbar.rs), `state` the per-layer counters and the
// ring of per-call counters (read counter / program step).

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
@group(0) @binding(1) var<storage, read> inst: array<u32>;
@group(0) @binding(2) var<storage, read_write> state: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read> eff: array<f32>;
@group(0) @binding(4) var<storage, read> xin: array<f32>;
@group(0) @binding(5) var<storage, read_write> xmax: array<f32>;
@group(0) @binding(6) var<storage, read_write> yout: array<f32>;
// `minmax` ADC: per (instance, tensor) the observed (min, max) current, order-preserving
// encoded (`enc`) for u32 atomics.
@group(0) @binding(7) var<storage, read_write> mm: array<atomic<u32>>;
// Shift-add accumulators [P][batch][outs][2] carried from one dispatch of a read to the next.
@group(0) @binding(8) var<storage, read_write> carry: array<u32>;

const WG: u32 = 64u;
// Input rows per workgroup (register blocking: one conductance load serves BR rows).
const BR: u32 = 4u;
// Lines staged per chunk.
const CH: u32 = 256u;
const INST_STRIDE: u32 = 24u;
const RING_BASE: u32 = 32u;

var<workgroup> digits: array<f32, 1024>; // [BR][CH]
var<workgroup> codes: array<i32, 512>; // [2][BR][WG]
var<workgroup> wg_count: array<atomic<u32>, 3>;
var<workgroup> red: array<f32, 256>;

// Tag bit of output-referred read-noise draws (read::OUT_REF).
const OUT_REF: u32 = 0x40000u;

// (lo, step) of the `minmax` tensor whose (min, max) words start at `i` (xbar::minmax::Range).
fn mm_range(i: u32) -> vec2<f32> {
    let lo = dec(atomicLoad(&mm[i]));
    let hi = dec(atomicLoad(&mm[i + 1u]));
    if (hi > lo) {
        return vec2<f32>(lo, (hi - lo) / f32(prm.max_code + 1u));
    }
    if (hi == lo) {
        return vec2<f32>(lo, 0.0);
    }
    return vec2<f32>(0.0, 0.0);
}

fn inst_f32(p: u32, i: u32) -> f32 {
    return bitcast<f32>(inst[p * INST_STRIDE + i]);
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

// acc (lo, hi) += v << sh as two's-complement 64-bit integers; sh <= 30.
fn add_shifted(acc: vec2<u32>, v: i32, sh: u32) -> vec2<u32> {
    let lo = u32(v) << sh;
    var hi = select(0u, 0xffffffffu, v < 0);
    if (sh > 0u) {
        hi = u32(v >> (32u - sh));
    }
    let nlo = acc.x + lo;
    let carry = select(0u, 1u, nlo < lo);
    return vec2<u32>(nlo, acc.y + hi + carry);
}

// The two-word integer as f32: exact below 2^24, else within an ulp or so.
fn to_f32(acc: vec2<u32>) -> f32 {
    let neg = (acc.y & 0x80000000u) != 0u;
    var lo = acc.x;
    var hi = acc.y;
    if (neg) {
        lo = ~acc.x + 1u;
        hi = ~acc.y + select(0u, 1u, lo == 0u);
    }
    let mag = f32(hi) * 4294967296.0 + (f32(lo & 0xffff0000u) + f32(lo & 0xffffu));
    return select(mag, -mag, neg);
}

// f32 -> u32 with the same order (negative values reversed below the positive ones).
fn enc(f: f32) -> u32 {
    let u = bitcast<u32>(f);
    return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}

fn dec(e: u32) -> f32 {
    return bitcast<f32>(select(~e, e & 0x7fffffffu, (e & 0x80000000u) != 0u));
}

// Empties the `minmax` ranges before a read: min = +inf encoded high, max = lowest word.
@compute @workgroup_size(256)
fn mm_clear(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x + gid.y * 65535u * 256u;
    if (e < 2u * prm.n_inst * prm.mm_tensors) {
        atomicStore(&mm[e], select(0u, 0xffffffffu, e % 2u == 0u));
    }
}

// q = floor((2^bits - 1) clamp(x / x_max, 0, 1) + 0.5), as read::input_code.
fn input_code(x: f32, x_max: f32) -> u32 {
    let qmax = f32((1u << prm.in_bits) - 1u);
    return u32(floor(qmax * clamp(x / x_max, 0.0, 1.0) + 0.5));
}

// Per-instance input range, max |x| (signed) or max x over the instance's rows, 1 if zero, in
// two passes: `absmax_part` reduces part wid.x of instance wid.y's elements to
// xmax[P + p * PARTS + part]; `absmax` reduces the PARTS partial maxima to xmax[p]. Every
// invocation loops at most n / (PARTS * 256) times.
const PARTS: u32 = 64u;

// Tree maximum of `red` over the workgroup.
fn reduce_max(lid: u32) -> f32 {
    for (var s = 128u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lid < s) {
            red[lid] = max(red[lid], red[lid + s]);
        }
    }
    workgroupBarrier();
    return red[0];
}

@compute @workgroup_size(256)
fn absmax_part(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let p = wid.y;
    let n = prm.batch * prm.lines;
    let per = (n + PARTS - 1u) / PARTS;
    let end = min(n, (wid.x + 1u) * per);
    var m = 0.0;
    for (var e = wid.x * per + lid.x; e < end; e += 256u) {
        let r = e / prm.lines;
        let l = e % prm.lines;
        let v = xin[prm.x_off + p * prm.x_stride + r * prm.x_ld + l];
        m = max(m, select(v, abs(v), prm.signed_in != 0u));
    }
    red[lid.x] = m;
    let top = reduce_max(lid.x);
    if (lid.x == 0u) {
        xmax[prm.n_inst + p * PARTS + wid.x] = top;
    }
}

@compute @workgroup_size(256)
fn absmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let p = wid.x;
    var m = 0.0;
    if (lid.x < PARTS) {
        m = xmax[prm.n_inst + p * PARTS + lid.x];
    }
    red[lid.x] = m;
    let top = reduce_max(lid.x);
    if (lid.x == 0u) {
        xmax[p] = select(1.0, top, top > 0.0);
    }
}

@compute @workgroup_size(64)
fn read_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let p = wid.z;
    let b0 = wid.y * BR;
    let tile = wid.x;
    let slot = lid.x;
    let to = prm.tile_outs;
    let lines = prm.lines;
    let ncol = prm.ncol;
    let x_max = xmax[p];
    let read_counter = atomicLoad(&state[RING_BASE + prm.slot]);
    let key_read = vec2<u32>(inst[p * INST_STRIDE], inst[p * INST_STRIDE + 1u]);
    let key_out = vec2<u32>(inst[p * INST_STRIDE + 2u], inst[p * INST_STRIDE + 3u]);
    let read_noise = inst_f32(p, 8u);
    let output_noise = inst_f32(p, 9u);
    let inv_lsb = inst_f32(p, 16u + 2u * prm.transposed);
    let adc_floor = inst_f32(p, 20u + prm.transposed);
    let y_scale = inst_f32(p, 17u + 2u * prm.transposed);
    let max_code = f32(prm.max_code);
    let digit_mask = (1u << prm.dac_bits) - 1u;

    if (lid.x < 3u) {
        atomicStore(&wg_count[lid.x], 0u);
    }
    workgroupBarrier();

    // This invocation's column: output j (data) or reference h.
    var j = 0u;
    var c = 0u;
    var valid = false;
    var counted = false;
    if (prm.offset != 0u) {
        if (slot < to) {
            j = tile * to + slot;
            c = j;
            valid = j < prm.outs;
            counted = valid;
        } else {
            c = prm.n_data + slot - to;
            valid = true;
            counted = tile == 0u;
        }
    } else {
        let cset = slot / to;
        j = tile * to + slot % to;
        c = cset * prm.outs + j;
        valid = j < prm.outs;
        counted = valid;
    }
    // Cell index of line l, slice k: cell_base + k * cell_kstride + l * cell_lstride.
    let s = prm.slices;
    var cell_base = 0u;
    var cell_kstride = 1u;
    var cell_lstride = 0u;
    if (prm.transposed == 0u) {
        if (c < prm.n_data) {
            cell_base = c * prm.fan_in * s;
            cell_lstride = s;
        } else {
            cell_base = prm.r1 + (c - prm.n_data);
            cell_kstride = 2u;
            cell_lstride = 2u * s;
        }
    } else {
        if (c < prm.n_data) {
            cell_base = ((c / prm.fan_in) * prm.fan_out * prm.fan_in + c % prm.fan_in) * s;
            cell_lstride = prm.fan_in * s;
        } else {
            cell_base = prm.r2 + (c - prm.n_data);
            cell_kstride = 2u;
            cell_lstride = 2u * s;
        }
    }

    var acc: array<vec2<u32>, BR>;
    var accf: array<f32, BR>;
    for (var r = 0u; r < BR; r++) {
        acc[r] = vec2<u32>(0u, 0u);
        accf[r] = 0.0;
    }
    var n_active = 0u;
    var n_conv = 0u;
    var n_clip = 0u;
    var buf = 0u;
    let keeps = slot < to && j < prm.outs && prm.mm_phase != 1u;
    if (prm.step_lo > 0u && keeps) {
        for (var r = 0u; r < BR; r++) {
            let b = b0 + r;
            if (b < prm.batch) {
                let at = 2u * ((p * prm.batch + b) * prm.outs + j);
                acc[r] = vec2<u32>(carry[at], carry[at + 1u]);
                accf[r] = bitcast<f32>(carry[at]);
            }
        }
    }
    let cs = prm.cycles * s;
    for (var st = prm.step_lo; st < prm.step_hi; st++) {
        let t = st % prm.cycles;
        let k = (st / prm.cycles) % s;
        let pp = (st / cs) % prm.n_pass;
        let g = (st / (cs * prm.n_pass)) % prm.n_groups;
        let sign = st / (cs * prm.n_pass * prm.n_groups);
        let g_end = min((g + 1u) * prm.group, lines);
        let lo = g * prm.group + pp * prm.pass_len;
        let hi = min(lo + prm.pass_len, g_end);
        if (lo >= hi) {
            // This and the group's later passes have no lines: on to the next group.
            st = (st / (cs * prm.n_pass) + 1u) * cs * prm.n_pass - 1u;
            continue;
        }
        let eff_base = ((p * s + k) * lines) * ncol + c;
        let kcell = cell_base + k * cell_kstride;
        let tg = t | (sign << 16u) | (prm.transposed << 17u);
        var isum: array<f32, BR>;
        var s2: array<f32, BR>;
        for (var r = 0u; r < BR; r++) {
            isum[r] = 0.0;
            s2[r] = 0.0;
        }
        for (var c0 = lo; c0 < hi; c0 += CH) {
            let n = min(CH, hi - c0);
            workgroupBarrier();
            for (var e = lid.x; e < BR * CH; e += WG) {
                let r = e / CH;
                let li = e % CH;
                let b = b0 + r;
                var dig = 0u;
                if (li < n && b < prm.batch) {
                    var v = xin[prm.x_off + p * prm.x_stride + b * prm.x_ld + c0 + li];
                    if (sign == 1u) {
                        v = -v;
                    }
                    dig = (input_code(v, x_max) >> (prm.dac_bits * t)) & digit_mask;
                }
                digits[e] = f32(dig);
                if (k == 0u && tile == 0u && dig != 0u && prm.mm_phase != 1u) {
                    n_active += 1u;
                }
            }
            workgroupBarrier();
            if (valid) {
                if (read_noise > 0.0 && prm.noise_out != 0u) {
                    for (var li = 0u; li < n; li++) {
                        let gv = eff[eff_base + (c0 + li) * ncol];
                        for (var r = 0u; r < BR; r++) {
                            let v = digits[r * CH + li] * gv;
                            isum[r] += v;
                            s2[r] += v * v;
                        }
                    }
                } else if (read_noise > 0.0) {
                    for (var li = 0u; li < n; li++) {
                        let l = c0 + li;
                        let gv = eff[eff_base + l * ncol];
                        let cell = kcell + l * cell_lstride;
                        for (var r = 0u; r < BR; r++) {
                            let d = digits[r * CH + li];
                            if (d != 0.0) {
                                let w = philox4x32_10(vec4<u32>(cell, read_counter, tg, b0 + r), key_read);
                                let z = philox_normal(w.x, w.y);
                                isum[r] += d * gv * (1.0 + read_noise * z);
                            }
                        }
                    }
                } else {
                    for (var li = 0u; li < n; li++) {
                        let gv = eff[eff_base + (c0 + li) * ncol];
                        for (var r = 0u; r < BR; r++) {
                            let d = digits[r * CH + li];
                            if (d != 0.0) {
                                isum[r] += d * gv;
                            }
                        }
                    }
                }
            }
        }
        // ADC of this conversion, per input row.
        let conv = ((g * prm.n_pass + pp) * s + k) * ncol + c;
        let kind = select(0u, 1u, prm.offset != 0u && c >= prm.n_data);
        let t_base = (((sign * prm.n_groups + g) * prm.n_pass + pp) * s + k) * prm.cycles + t;
        let mm_base = 2u * (p * prm.mm_tensors + 2u * t_base);
        for (var r = 0u; r < BR; r++) {
            if (read_noise > 0.0 && prm.noise_out != 0u) {
                let w = philox4x32_10(vec4<u32>(conv, read_counter, tg | OUT_REF, b0 + r), key_read);
                isum[r] += read_noise * sqrt(s2[r]) * philox_normal(w.x, w.y);
            }
            var noise = 0.0;
            if (output_noise > 0.0) {
                let w = philox4x32_10(vec4<u32>(conv, read_counter, tg, b0 + r), key_out);
                noise = output_noise * philox_normal(w.x, w.y);
            }
            var rr: f32;
            var top = max_code;
            if (prm.mm_phase == 1u) {
                if (valid && b0 + r < prm.batch) {
                    atomicMin(&mm[mm_base + 2u * kind], enc(isum[r]));
                    atomicMax(&mm[mm_base + 2u * kind + 1u], enc(isum[r]));
                }
                rr = 0.0;
            } else if (prm.mm_phase == 2u) {
                let rg = mm_range(mm_base + 2u * kind);
                rr = 0.0;
                if (rg.y > 0.0) {
                    rr = floor((isum[r] - rg.x) / rg.y + noise);
                }
                top = max_code + 1.0;
            } else {
                // Subtract, then one multiply: nothing a compiler can fuse (see `xbar::adc`).
                rr = floor((isum[r] - adc_floor) * inv_lsb + noise + 0.5);
            }
            if (counted && b0 + r < prm.batch && prm.mm_phase != 1u) {
                n_conv += 1u;
                if (rr < 0.0 || rr > top) {
                    n_clip += 1u;
                }
            }
            codes[(buf * BR + r) * WG + slot] = i32(clamp(rr, 0.0, max_code));
        }
        workgroupBarrier();
        if (prm.mm_phase == 2u && slot < to && j < prm.outs) {
            // Values lo + index step of the data and reference tensors.
            let sc = f32(1u << (prm.cell_bits * k + prm.dac_bits * t));
            let rd = mm_range(mm_base);
            let rf = mm_range(mm_base + 2u);
            for (var r = 0u; r < BR; r++) {
                let cb = (buf * BR + r) * WG;
                var dv: f32;
                if (prm.offset != 0u) {
                    let vo = rd.x + f32(codes[cb + slot]) * rd.y;
                    let vr = (rf.x + f32(codes[cb + to]) * rf.y) + (rf.x + f32(codes[cb + to + 1u]) * rf.y);
                    dv = 2.0 * vo - vr;
                } else {
                    dv = f32(codes[cb + slot] - codes[cb + to + slot]) * rd.y;
                }
                if (sign == 1u) {
                    dv = -dv;
                }
                accf[r] += dv * sc;
            }
        } else if (prm.mm_phase == 0u && slot < to && j < prm.outs) {
            let sh = prm.cell_bits * k + prm.dac_bits * t;
            for (var r = 0u; r < BR; r++) {
                let cb = (buf * BR + r) * WG;
                var dv: i32;
                if (prm.offset != 0u) {
                    dv = 2 * codes[cb + slot] - codes[cb + to] - codes[cb + to + 1u];
                } else {
                    dv = codes[cb + slot] - codes[cb + to + slot];
                }
                if (sign == 1u) {
                    dv = -dv;
                }
                acc[r] = add_shifted(acc[r], dv, sh);
            }
        }
        buf ^= 1u;
    }

    if (keeps && prm.step_hi < prm.n_steps) {
        for (var r = 0u; r < BR; r++) {
            let b = b0 + r;
            if (b < prm.batch) {
                let at = 2u * ((p * prm.batch + b) * prm.outs + j);
                if (prm.mm_phase == 2u) {
                    carry[at] = bitcast<u32>(accf[r]);
                } else {
                    carry[at] = acc[r].x;
                    carry[at + 1u] = acc[r].y;
                }
            }
        }
    } else if (keeps) {
        for (var r = 0u; r < BR; r++) {
            let b = b0 + r;
            if (b < prm.batch) {
                var a = to_f32(acc[r]);
                if (prm.mm_phase == 2u) {
                    a = accf[r];
                }
                yout[prm.y_off + p * prm.y_stride + b * prm.y_ld + j] = a * y_scale * x_max;
            }
        }
    }
    atomicAdd(&wg_count[0], n_active);
    atomicAdd(&wg_count[1], n_conv);
    atomicAdd(&wg_count[2], n_clip);
    workgroupBarrier();
    if (lid.x < 3u) {
        add_counter(prm.counter_base + lid.x, atomicLoad(&wg_count[lid.x]));
    }
}
