// Fused quantized crossbar read (forward y = W x or transposed y = W^T x) of P instances in one
// dispatch, mirroring src/xbar/read.rs step by step (see docs/crossbar.md, "Read"), as a
// register-blocked GEMM with the ADC as its epilogue.
//
// Per (group, pass, slice) the partial sums of every (sign, cycle, input row) and column are one
// product C = D G: D the input digits, G the pass's effective conductances. A workgroup of
// 16 x 4 invocations owns a tile of TN = 64 columns and TM = 4 BR input rows of one instance
// (BR = 1, 2 or 4, chosen by the host from the batch: `gpu::tiles::ReadTile`); each invocation
// a contiguous block of BR rows x BC = 4 columns, summed in registers
// (f32, lines in increasing order, as the reference). The pass's conductances are staged in
// workgroup memory once, with the packed input codes of both signs, and reused for every sign
// and input cycle (passes longer than CH lines are staged CH lines at a time, per cycle). After
// each product the ADC (noise, quantization, clipping) runs on the block in registers, the codes
// go through workgroup memory, and the invocations that own data columns shift-add
// 2 code - code_lo - code_hi (offset) or code+ - code- (differential) into two-word integers.
// Nothing per slice, cycle or bit plane is written to global memory. `read_histogram` runs the
// same steps and counts the data columns' partial sums into a calibration histogram instead of
// converting them (`hist_slot`).
//
// Tile columns: offset mapping 62 data columns + the two reference columns (lo, hi);
// differential 32 outputs x 2 sets (set 1 at tile column 32 + o).
//
// Steps are numbered ((((group * n_pass + pass) * slices + slice) * signs + sign) * cycles +
// cycle); one dispatch runs steps [step_lo, step_hi) and hands its accumulators to the next
// through `carry`. The host keeps each dispatch short: llvmpipe ends every loop of an invocation
// once the invocation has taken 65,535 loop iterations in all (a silent early stop), and GPU
// drivers reset devices whose dispatches run for seconds.
//
// `eff` holds the effective conductances of this direction, [P][S][lines][ncol] (stuck cells,
// drift and frozen d2d applied; see xbar_eff.wgsl), so adjacent invocations load adjacent words.
// `inst` is the per-instance table and `state` the per-layer counters and the ring of per-call
// counters (read counter / program step), both laid out in xbar_table.wgsl.

@group(0) @binding(1) var<storage, read> inst: array<u32>;
@group(0) @binding(2) var<storage, read_write> state: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read> eff: array<f32>;
@group(0) @binding(6) var<storage, read_write> yout: array<f32>;
// `minmax` ADC: per (instance, tensor) the observed (min, max) current, order-preserving
// encoded (`enc`) for u32 atomics. The calibration histogram (`read_histogram`) binds its
// counts here instead (`hist_slot`).
@group(0) @binding(7) var<storage, read_write> mm: array<atomic<u32>>;
// Shift-add accumulators [P][batch][outs][2] carried from one dispatch of a read to the next.
@group(0) @binding(8) var<storage, read_write> carry: array<u32>;

// Lines staged per chunk, chosen by the host from the pass length and the adapter's workgroup
// memory (at most 80 CH + 1027 words).
override CH: u32 = 64u;
// Input rows of an invocation's block; the tile has TM = 4 BR rows.
override BR: u32 = 4u;
const WG: u32 = 64u;
// Columns of a workgroup's tile, and of an invocation's block (a vec4).
const TN: u32 = 64u;
const BC: u32 = 4u;

// The staged conductances [CH][TN / BC] and input codes [CH][4] (the BR rows of invocation row
// ty in the first BR components of vec4 ty, so that each invocation reads its rows at constant
// components; positive code in the low 16 bits, the negated input's in the high ones), and the
// codes of one conversion [TM][TN].
var<workgroup> gt: array<vec4<f32>, CH * 16u>;
var<workgroup> qs: array<vec4<u32>, CH * 4u>;
var<workgroup> codes: array<i32, 1024>;
// Active rows, conversions, clipped conversions; exact zeros seen by `read_histogram`.
var<workgroup> wg_count: array<atomic<u32>, 4>;

// Tag bit of output-referred read-noise draws (read_noise::OUT_REF).
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

// q = floor((2^bits - 1) clamp(x / x_max, 0, 1) + 0.5), as read_input::input_code.
fn input_code(x: f32, x_max: f32) -> u32 {
    let qmax = f32((1u << prm.in_bits) - 1u);
    return u32(floor(qmax * clamp(x / x_max, 0.0, 1.0) + 0.5));
}

// Tile column u of column tile `tile`: the array column c it converts, the output j it belongs
// to, whether it exists, whether its conversions are counted (reference columns in tile 0
// only), and whether this column's invocation owns output j (its shift-add accumulator).
struct Col { c: u32, j: u32, valid: bool, counted: bool, owner: bool, }

fn tile_column(tile: u32, u: u32) -> Col {
    let to = prm.tile_outs;
    if (prm.offset != 0u) {
        if (u < to) {
            let j = tile * to + u;
            let ok = j < prm.outs;
            return Col(j, j, ok, ok, ok);
        }
        return Col(prm.n_data + u - to, 0u, true, tile == 0u, false);
    }
    let j = tile * to + u % to;
    let ok = j < prm.outs;
    return Col((u / to) * prm.outs + j, j, ok, ok, ok && u < to);
}

// Cell index of column c, slice k, line l (geometry::cell_id).
fn cell_index(c: u32, k: u32, l: u32) -> u32 {
    let s = prm.slices;
    if (prm.transposed == 0u) {
        if (c < prm.n_data) {
            return (c * prm.fan_in + l) * s + k;
        }
        return prm.r1 + (l * s + k) * 2u + (c - prm.n_data);
    }
    if (c < prm.n_data) {
        return (((c / prm.fan_in) * prm.fan_out + l) * prm.fan_in + c % prm.fan_in) * s + k;
    }
    return prm.r2 + (l * s + k) * 2u + (c - prm.n_data);
}

// The calibration histogram of `read_histogram` (`backend::calibration`): per instance a header
// [level, target 0, target 1, 1 / unit as f32 bits], then two halves of HIST_BINS counts of the
// data columns' levels |I| / unit by their f32 bits (`xbar::percentile` bins): level 1 counts
// every level by bits >> 20 (coarse bin); level 2 those whose coarse bin is target h by
// (bits >> 10) & 1023 (fine bin) into half h; level 3 those whose bin (bits >> 10) is target h
// by bits & 1023, which makes the value exact.
const HIST_HEAD: u32 = 4u;
const HIST_BINS: u32 = 2048u;
const HIST_STRIDE: u32 = 4100u;
const HIST_NONE: u32 = 0xffffffffu;

// Index among an instance's counts of a level with f32 bits `bits` (infinity and NaN clamped to
// infinity's bits), or HIST_NONE; `head` is the instance's header.
fn hist_slot(head: vec4<u32>, bits: u32) -> u32 {
    let b = min(bits, 0x7f800000u);
    if (head.x == 1u) {
        return b >> 20u;
    }
    var key = b >> 20u;
    var sub = (b >> 10u) & 1023u;
    if (head.x == 3u) {
        key = b >> 10u;
        sub = b & 1023u;
    }
    if (key == head.y) {
        return sub;
    }
    if (key == head.z) {
        return HIST_BINS + sub;
    }
    return HIST_NONE;
}

// Counts one level into instance p's histogram; exact zeros (most of a ReLU network's sums)
// go to the workgroup's count, added once.
fn hist_count(p: u32, head: vec4<u32>, level: f32) {
    let bits = bitcast<u32>(level);
    if (bits == 0u) {
        atomicAdd(&wg_count[3], 1u);
        return;
    }
    let at = hist_slot(head, bits);
    if (at != HIST_NONE) {
        atomicAdd(&mm[p * HIST_STRIDE + HIST_HEAD + at], 1u);
    }
}

@compute @workgroup_size(64)
fn read_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    read_body(wid, lid, false);
}

// The read's partial sums counted into the calibration histogram instead of converted (no
// output, no activity counted).
@compute @workgroup_size(64)
fn read_histogram(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    read_body(wid, lid, true);
}

fn read_body(wid: vec3<u32>, lid: vec3<u32>, hist: bool) {
    let p = wid.z;
    let tile = wid.x;
    let tm = 4u * BR;
    let m0 = wid.y * tm;
    let tx = lid.x % 16u;
    let ty = lid.x / 16u;
    let lines = prm.lines;
    let ncol = prm.ncol;
    let s = prm.slices;
    let signs = 1u + prm.signed_in;
    let x_max = xmax[p];
    let read_counter = ring_value(prm.slot);
    let key_read = inst_key(p, INST_KEY_READ);
    let key_out = inst_key(p, INST_KEY_OUT);
    let read_noise = inst_f32(p, INST_READ_NOISE);
    let output_noise = inst_f32(p, INST_OUTPUT_NOISE);
    let inv_lsb = inst_dir(p, INST_INV_LSB, prm.transposed);
    let adc_floor = inst_dir(p, INST_ADC_FLOOR, prm.transposed);
    let y_scale = inst_dir(p, INST_Y_SCALE, prm.transposed);
    let max_code = f32(prm.max_code);
    let digit_mask = (1u << prm.dac_bits) - 1u;
    let cell_noise = read_noise > 0.0 && prm.noise_out == 0u;
    let out_noise = read_noise > 0.0 && prm.noise_out != 0u;
    // Only the sums are observed: `minmax` ranges (phase 1) or the calibration histogram.
    let observe = prm.mm_phase == 1u || hist;
    var head = vec4<u32>(0u);
    var inv_unit = 0.0;
    if (hist) {
        let h = p * HIST_STRIDE;
        head = vec4<u32>(atomicLoad(&mm[h]), atomicLoad(&mm[h + 1u]), atomicLoad(&mm[h + 2u]), 0u);
        inv_unit = bitcast<f32>(atomicLoad(&mm[h + 3u]));
    }

    if (lid.x < 4u) {
        atomicStore(&wg_count[lid.x], 0u);
    }
    workgroupBarrier();
    // The column this invocation stages, and the four of its register block.
    let mine = tile_column(tile, lid.x);
    var cols: array<Col, 4>;
    for (var i = 0u; i < BC; i++) {
        cols[i] = tile_column(tile, BC * tx + i);
    }

    // Shift-add accumulators of the block's (row r, column i) at r * BC + i, where the column
    // owns an output: two-word integers, or (`minmax`) the f32 sum's bits in .x.
    var acc: array<vec2<u32>, 16>;
    for (var e = 0u; e < BR * BC; e++) {
        acc[e] = vec2<u32>(0u, 0u);
    }
    if (prm.step_lo > 0u && !observe) {
        for (var e = 0u; e < BR * BC; e++) {
            let b = m0 + BR * ty + e / BC;
            let cl = cols[e % BC];
            if (cl.owner && b < prm.batch) {
                let at = 2u * ((p * prm.batch + b) * prm.outs + cl.j);
                acc[e] = vec2<u32>(carry[at], carry[at + 1u]);
            }
        }
    }
    var n_active = 0u;
    var n_conv = 0u;
    var n_clip = 0u;
    // (group, pass, slice) whose conductances are staged, when the pass fits in one chunk.
    var loaded = 0xffffffffu;
    let per_gpk = signs * prm.cycles;
    let per_group = prm.n_pass * s * per_gpk;
    for (var st = prm.step_lo; st < prm.step_hi; st++) {
        let t = st % prm.cycles;
        let sign = (st / prm.cycles) % signs;
        let gpk = st / per_gpk;
        let k = gpk % s;
        let pp = (gpk / s) % prm.n_pass;
        let g = st / per_group;
        let g_end = min((g + 1u) * prm.group, lines);
        let lo = g * prm.group + pp * prm.pass_len;
        let hi = min(lo + prm.pass_len, g_end);
        if (lo >= hi) {
            // This and the group's later passes have no lines: on to the next group.
            st = (g + 1u) * per_group - 1u;
            continue;
        }
        let one_chunk = hi - lo <= CH;
        let tg = t | (sign << 16u) | (prm.transposed << 17u);
        // Digit t of the sign's code: the positive code is the low half of the packed word.
        let sh = vec4<u32>(16u * sign + prm.dac_bits * t);
        let keep = vec4<u32>(select(0xffffffffu, 0xffffu, sign == 0u));
        let mask = vec4<u32>(digit_mask);
        var sum: array<vec4<f32>, 4>;
        var sq: array<vec4<f32>, 4>;
        for (var r = 0u; r < BR; r++) {
            sum[r] = vec4<f32>(0.0);
            sq[r] = vec4<f32>(0.0);
        }
        for (var c0 = lo; c0 < hi; c0 += CH) {
            let n = min(CH, hi - c0);
            if (!one_chunk || gpk != loaded) {
                workgroupBarrier();
                // Conductances: invocation u stages tile column u of every line.
                let eff_base = ((p * s + k) * lines + c0) * ncol + mine.c;
                for (var li = 0u; li < n; li++) {
                    var gv = 0.0;
                    if (mine.valid) {
                        gv = eff[eff_base + li * ncol];
                    }
                    gt[li * 16u + lid.x / BC][lid.x % BC] = gv;
                }
                // Packed input codes of the tile's rows, adjacent invocations on adjacent lines.
                for (var e = lid.x; e < tm * n; e += WG) {
                    let row = e / n;
                    let li = e % n;
                    let b = m0 + row;
                    var q = 0u;
                    if (b < prm.batch) {
                        let v = xin[prm.x_off + p * prm.x_stride + b * prm.x_ld + c0 + li];
                        q = input_code(v, x_max);
                        if (prm.signed_in != 0u) {
                            q |= input_code(-v, x_max) << 16u;
                        }
                    }
                    qs[li * 4u + row / BR][row % BR] = q;
                }
                loaded = gpk;
                workgroupBarrier();
            }
            if (k == 0u && tile == 0u && !observe) {
                for (var e = lid.x; e < tm * n; e += WG) {
                    let row = e % tm;
                    let dq = ((qs[(e / tm) * 4u + row / BR][row % BR] & keep.x) >> sh.x) & digit_mask;
                    n_active += select(0u, 1u, dq != 0u);
                }
            }
            if (cell_noise) {
                // Every term carries its own read-noise draw (zero digits draw nothing).
                for (var li = 0u; li < n; li++) {
                    let gv = gt[li * 16u + tx];
                    let dv = vec4<f32>(((qs[li * 4u + ty] & keep) >> sh) & mask);
                    let l = c0 + li;
                    for (var r = 0u; r < BR; r++) {
                        let d = dv[r];
                        if (d == 0.0) {
                            continue;
                        }
                        for (var i = 0u; i < BC; i++) {
                            if (cols[i].valid) {
                                let cell = cell_index(cols[i].c, k, l);
                                let w = philox4x32_10(vec4<u32>(cell, read_counter, tg, m0 + BR * ty + r), key_read);
                                sum[r][i] += d * gv[i] * (1.0 + read_noise * philox_normal(w.x, w.y));
                            }
                        }
                    }
                }
            } else if (out_noise) {
                for (var li = 0u; li < n; li++) {
                    let gv = gt[li * 16u + tx];
                    let dv = vec4<f32>(((qs[li * 4u + ty] & keep) >> sh) & mask);
                    for (var r = 0u; r < BR; r++) {
                        let v = dv[r] * gv;
                        sum[r] += v;
                        sq[r] += v * v;
                    }
                }
            } else {
                for (var li = 0u; li < n; li++) {
                    let gv = gt[li * 16u + tx];
                    let dv = vec4<f32>(((qs[li * 4u + ty] & keep) >> sh) & mask);
                    for (var r = 0u; r < BR; r++) {
                        sum[r] += dv[r] * gv;
                    }
                }
            }
        }

        // ADC of this conversion for the block, codes to workgroup memory.
        let conv0 = ((g * prm.n_pass + pp) * s + k) * ncol;
        let t_base = (((sign * prm.n_groups + g) * prm.n_pass + pp) * s + k) * prm.cycles + t;
        let mm_base = 2u * (p * prm.mm_tensors + 2u * t_base);
        workgroupBarrier();
        for (var e = 0u; e < BR * BC; e++) {
            let r = e / BC;
            let i = e % BC;
            let cl = cols[i];
            let b = m0 + BR * ty + r;
            var isum = sum[r][i];
            let conv = conv0 + cl.c;
            if (out_noise) {
                let w = philox4x32_10(vec4<u32>(conv, read_counter, tg | OUT_REF, b), key_read);
                isum += read_noise * sqrt(sq[r][i]) * philox_normal(w.x, w.y);
            }
            var noise = 0.0;
            if (output_noise > 0.0) {
                let w = philox4x32_10(vec4<u32>(conv, read_counter, tg, b), key_out);
                noise = output_noise * philox_normal(w.x, w.y);
            }
            if (hist) {
                if (cl.valid && cl.c < prm.n_data && b < prm.batch) {
                    hist_count(p, head, abs(isum * inv_unit));
                }
                continue;
            }
            let kind = select(0u, 1u, prm.offset != 0u && cl.c >= prm.n_data);
            var rr: f32;
            var top = max_code;
            if (prm.mm_phase == 1u) {
                if (cl.valid && b < prm.batch) {
                    atomicMin(&mm[mm_base + 2u * kind], enc(isum));
                    atomicMax(&mm[mm_base + 2u * kind + 1u], enc(isum));
                }
                rr = 0.0;
            } else if (prm.mm_phase == 2u) {
                let rg = mm_range(mm_base + 2u * kind);
                rr = 0.0;
                if (rg.y > 0.0) {
                    rr = floor((isum - rg.x) / rg.y + noise);
                }
                top = max_code + 1.0;
            } else {
                // Subtract, then one multiply: nothing a compiler can fuse (see `xbar::adc`).
                rr = floor((isum - adc_floor) * inv_lsb + noise + 0.5);
            }
            if (cl.counted && b < prm.batch && !observe) {
                n_conv += 1u;
                if (rr < 0.0 || rr > top) {
                    n_clip += 1u;
                }
            }
            codes[(BR * ty + r) * TN + BC * tx + i] = i32(clamp(rr, 0.0, max_code));
        }
        workgroupBarrier();
        if (observe) {
            continue;
        }
        // Shift-add into the accumulators of the outputs this invocation owns.
        let to = prm.tile_outs;
        let shift = prm.cell_bits * k + prm.dac_bits * t;
        var rd = vec2<f32>(0.0);
        var rf = vec2<f32>(0.0);
        if (prm.mm_phase == 2u) {
            rd = mm_range(mm_base);
            rf = mm_range(mm_base + 2u);
        }
        for (var e = 0u; e < BR * BC; e++) {
            let r = e / BC;
            let u = BC * tx + e % BC;
            if (!cols[e % BC].owner) {
                continue;
            }
            let cb = (BR * ty + r) * TN;
            if (prm.mm_phase == 2u) {
                // Values lo + index step of the data and reference tensors.
                var dv: f32;
                if (prm.offset != 0u) {
                    let vo = rd.x + f32(codes[cb + u]) * rd.y;
                    let vr = (rf.x + f32(codes[cb + to]) * rf.y) + (rf.x + f32(codes[cb + to + 1u]) * rf.y);
                    dv = 2.0 * vo - vr;
                } else {
                    dv = f32(codes[cb + u] - codes[cb + to + u]) * rd.y;
                }
                if (sign == 1u) {
                    dv = -dv;
                }
                let a = bitcast<f32>(acc[e].x) + dv * f32(1u << shift);
                acc[e].x = bitcast<u32>(a);
            } else {
                var dv: i32;
                if (prm.offset != 0u) {
                    dv = 2 * codes[cb + u] - codes[cb + to] - codes[cb + to + 1u];
                } else {
                    dv = codes[cb + u] - codes[cb + to + u];
                }
                if (sign == 1u) {
                    dv = -dv;
                }
                acc[e] = add_shifted(acc[e], dv, shift);
            }
        }
    }

    if (!observe) {
        for (var e = 0u; e < BR * BC; e++) {
            let b = m0 + BR * ty + e / BC;
            let cl = cols[e % BC];
            if (!cl.owner || b >= prm.batch) {
                continue;
            }
            let at = 2u * ((p * prm.batch + b) * prm.outs + cl.j);
            if (prm.step_hi < prm.n_steps) {
                carry[at] = acc[e].x;
                carry[at + 1u] = acc[e].y;
            } else {
                var a = to_f32(acc[e]);
                if (prm.mm_phase == 2u) {
                    a = bitcast<f32>(acc[e].x);
                }
                yout[prm.y_off + p * prm.y_stride + b * prm.y_ld + cl.j] = a * y_scale * x_max;
            }
        }
    }
    atomicAdd(&wg_count[0], n_active);
    atomicAdd(&wg_count[1], n_conv);
    atomicAdd(&wg_count[2], n_clip);
    workgroupBarrier();
    if (hist) {
        let zeros = atomicLoad(&wg_count[3]);
        let at = hist_slot(head, 0u);
        if (lid.x == 0u && zeros > 0u && at != HIST_NONE) {
            atomicAdd(&mm[p * HIST_STRIDE + HIST_HEAD + at], zeros);
        }
        return;
    }
    if (lid.x < 3u) {
        add_counter(prm.counter_base + lid.x, atomicLoad(&wg_count[lid.x]));
    }
}
