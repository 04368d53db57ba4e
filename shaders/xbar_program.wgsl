// In-situ programming of P instances of a crossbar layer (one cell per weight), mirroring
// src/xbar/program.rs and src/xbar/device.rs: pulse count from -lr grad / dw_1 (stochastic or
// nearest rounding), the nonlinear update on the cell's own curve, c2c noise, clipping; write
// counters (pulses, cells written, per-row maximum) reduced with u32 atomics.
//
// `curves` holds the per-cell curves (a_ltp, a_ltd, up_down, g_min, g_max), computed on the host
// with the reference draws; `inst` the per-instance table (shaders/xbar_table.wgsl); `state` the per-layer
// counters (two words each) and the ring of per-call counters; `rowmax` [P][K] the per-row
// maximum of the current update, summed and cleared by `row_max_sum`.

struct Params {
    fan_in: u32, fan_out: u32, sets: u32, n_inst: u32,
    total: u32, slot: u32, stochastic: u32, max_pulses: u32,
    counter_base: u32, c2c_per_update: u32, set_only: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> inst: array<u32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> curves: array<f32>;
@group(0) @binding(4) var<storage, read_write> cells: array<f32>;
@group(0) @binding(5) var<storage, read_write> state: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> rowmax: array<atomic<u32>>;

const SNAP: f32 = 0.01;

var<workgroup> wsum: array<atomic<u32>, 4>; // pulses lo, hi; cells written; row-max sum

fn expm1f(z: f32) -> f32 {
    if (abs(z) < 0.1) {
        return z * (1.0 + z * (0.5 + z * (1.0 / 6.0 + z * (1.0 / 24.0 + z * (1.0 / 120.0 + z * (1.0 / 720.0))))));
    }
    return exp(z) - 1.0;
}

fn rise(x: f32, a: f32) -> f32 {
    if (a == 0.0) {
        return x;
    }
    return clamp(expm1f(-x / a) / expm1f(-1.0 / a), 0.0, 1.0);
}

// Inverse of `rise`; ln(1 + z) as device::ln1pf, an infinite log meaning x = 1.
fn rise_inv(y: f32, a: f32) -> f32 {
    if (a == 0.0) {
        return y;
    }
    let den = -expm1f(-1.0 / a);
    let z = -y * den;
    var l: f32;
    if (abs(z) < 0.01) {
        l = z * (1.0 - z * (0.5 - z * (1.0 / 3.0 - z * 0.25)));
    } else if (1.0 + z <= 0.0) {
        return 1.0;
    } else {
        l = log(1.0 + z);
    }
    return clamp(-a * l, 0.0, 1.0);
}

fn snap(p: f32) -> f32 {
    let r = floor(p + 0.5);
    return select(p, r, abs(p - r) < SNAP);
}

// Position on the signed curve of shape `a` after n pulses (device::step_on_curve): a > 0
// concave, a < 0 the point-mirrored curve (pulses counted from G_max), a = 0 linear.
fn step_on_curve(y: f32, n: i32, a: f32, p_max: f32, up_down: f32) -> f32 {
    let nf = f32(n) * select(1.0 - up_down, 1.0 + up_down, n > 0);
    if (a == 0.0) {
        let p = snap(y * p_max);
        return clamp(p + nf, 0.0, p_max) / p_max;
    }
    if (a > 0.0) {
        let p = snap(rise_inv(y, a) * p_max);
        return rise(clamp(p + nf, 0.0, p_max) / p_max, a);
    }
    let q = snap(rise_inv(1.0 - y, -a) * p_max);
    return 1.0 - rise(clamp(q - nf, 0.0, p_max) / p_max, -a);
}

// One cell's update curve (device::CellCurve): shapes, up/down asymmetry, bounds.
struct Curve { a_ltp: f32, a_ltd: f32, up_down: f32, g_min: f32, g_max: f32, }

fn cell_curve(cv: u32) -> Curve {
    let b = CURVE_STRIDE * cv;
    return Curve(curves[b], curves[b + 1u], curves[b + 2u], curves[b + 3u], curves[b + 4u]);
}

// device::apply_update: c2c noise per pulse (sqrt |n|) or once per update.
fn apply_pulses(g: f32, n: i32, c: Curve, p_max: f32, c2c: f32, z: f32) -> f32 {
    let range = c.g_max - c.g_min;
    let y = clamp((g - c.g_min) / range, 0.0, 1.0);
    let y_new = step_on_curve(y, n, select(c.a_ltd, c.a_ltp, n > 0), p_max, c.up_down);
    let pulses = select(sqrt(f32(abs(n))), 1.0, prm.c2c_per_update != 0u);
    let noisy = c.g_min + y_new * range + c2c * range * pulses * z;
    return clamp(noisy, c.g_min, c.g_max);
}

// Signed curve y(x) and its inverse (device::curve, curve_inv).
fn curve(x: f32, a: f32) -> f32 {
    if (a < 0.0) {
        return 1.0 - rise(1.0 - x, -a);
    }
    return rise(x, a);
}

fn curve_inv(y: f32, a: f32) -> f32 {
    if (a < 0.0) {
        return 1.0 - rise_inv(1.0 - y, -a);
    }
    return rise_inv(y, a);
}

fn ltp_pulses_at(g: f32, c: Curve, p_max: f32) -> f32 {
    let y = clamp((g - c.g_min) / (c.g_max - c.g_min), 0.0, 1.0);
    return curve_inv(y, c.a_ltp) * p_max;
}

fn g_after_ltp(p: f32, c: Curve, p_max: f32) -> f32 {
    return c.g_min + curve(clamp(p / p_max, 0.0, 1.0), c.a_ltp) * (c.g_max - c.g_min);
}

// Two-word add into workgroup counter pair (i, i + 1).
fn wg_add(i: u32, v: u32) {
    if (v == 0u) {
        return;
    }
    let old = atomicAdd(&wsum[i], v);
    if (old > 0xffffffffu - v) {
        atomicAdd(&wsum[i + 1u], 1u);
    }
}

@compute @workgroup_size(256)
fn program(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    if (lid.x < 4u) {
        atomicStore(&wsum[lid.x], 0u);
    }
    workgroupBarrier();
    let e = gid.x + gid.y * 65535u * 256u;
    let kn = prm.fan_in * prm.fan_out;
    if (e < prm.n_inst * kn) {
        let p = e / kn;
        let widx = e % kn;
        let j = widx / prm.fan_in;
        let i = widx % prm.fan_in;
        let step = ring_value(prm.slot);
        let lr = inst_f32(p, INST_LR);
        let dw_1 = inst_f32(p, INST_DW_1);
        let m = f32(prm.max_pulses);
        let v = (-lr * grad[e]) / dw_1;
        var nf: f32;
        if (prm.stochastic != 0u) {
            let key_round = inst_key(p, INST_KEY_ROUND);
            let u = philox_uniform(philox4x32_10(vec4<u32>(widx, step, 0u, 0u), key_round).x);
            nf = floor(v + u);
        } else {
            nf = floor(v + 0.5);
        }
        let n = i32(clamp(nf, -m, m));
        if (n != 0) {
            let key_c2c = inst_key(p, INST_KEY_C2C);
            let c2c = inst_f32(p, INST_C2C);
            let p_max = inst_f32(p, INST_P_MAX);
            let an = u32(abs(n));
            for (var cs = 0u; cs < prm.sets; cs++) {
                if (prm.set_only != 0u && (cs == 0u) != (n > 0)) {
                    continue; // SET-only: each cell of the pair takes one sign
                }
                let idx = ((cs * prm.fan_out + j) * prm.fan_in + i);
                var z = 0.0;
                if (c2c > 0.0) {
                    let w = philox4x32_10(vec4<u32>(idx, step, 0u, 0u), key_c2c);
                    z = philox_normal(w.x, w.y);
                }
                let n_cell = select(-n, n, cs == 0u);
                let cv = p * (prm.fan_out * prm.fan_in * prm.sets) + idx;
                let e_cell = p * prm.total + idx;
                cells[e_cell] = apply_pulses(cells[e_cell], n_cell, cell_curve(cv), p_max, c2c, z);
            }
            var written = prm.sets;
            var row = an;
            if (prm.set_only != 0u) {
                written = 1u;
                // Refresh of a pair with a saturated cell (program::refresh).
                let ip = j * prm.fan_in + i;
                let im = (prm.fan_out + j) * prm.fan_in + i;
                let cvp = p * (prm.fan_out * prm.fan_in * prm.sets) + ip;
                let cvm = p * (prm.fan_out * prm.fan_in * prm.sets) + im;
                let cp = cell_curve(cvp);
                let cm = cell_curve(cvm);
                let ep = p * prm.total + ip;
                let em = p * prm.total + im;
                let gp = cells[ep];
                let gm = cells[em];
                if (ltp_pulses_at(gp, cp, p_max) >= p_max - 0.5 || ltp_pulses_at(gm, cm, p_max) >= p_max - 0.5) {
                    var c = cm;
                    if (gp >= gm) {
                        c = cp;
                    }
                    let goal = c.g_min + abs(gp - gm);
                    let pr = clamp(floor(ltp_pulses_at(goal, c, p_max) + 0.5), 0.0, p_max);
                    let g = g_after_ltp(pr, c, p_max);
                    if (gp >= gm) {
                        cells[ep] = g;
                        cells[em] = cm.g_min;
                    } else {
                        cells[ep] = cp.g_min;
                        cells[em] = g;
                    }
                    wg_add(0u, u32(pr) + 2u);
                    written += 2u;
                    row = max(row, u32(pr));
                }
                wg_add(0u, an);
            } else {
                wg_add(0u, an * prm.sets);
            }
            atomicAdd(&wsum[2], written);
            atomicMax(&rowmax[p * prm.fan_in + i], row);
        }
    }
    workgroupBarrier();
    if (lid.x == 0u) {
        let lo = atomicLoad(&wsum[0]);
        let hi = atomicLoad(&wsum[1]);
        add_counter(prm.counter_base, lo);
        if (hi != 0u) {
            atomicAdd(&state[2u * prm.counter_base + 1u], hi);
        }
        add_counter(prm.counter_base + 1u, atomicLoad(&wsum[2]));
    }
}

// Sums the per-row maxima of the last update into the row-max counter and clears them.
@compute @workgroup_size(256)
fn row_max_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    if (lid.x < 4u) {
        atomicStore(&wsum[lid.x], 0u);
    }
    workgroupBarrier();
    let e = gid.x + gid.y * 65535u * 256u;
    if (e < prm.n_inst * prm.fan_in) {
        wg_add(0u, atomicExchange(&rowmax[e], 0u));
    }
    workgroupBarrier();
    if (lid.x == 0u) {
        let lo = atomicLoad(&wsum[0]);
        let hi = atomicLoad(&wsum[1]);
        add_counter(prm.counter_base + 2u, lo);
        if (hi != 0u) {
            atomicAdd(&state[2u * (prm.counter_base + 2u) + 1u], hi);
        }
    }
}
