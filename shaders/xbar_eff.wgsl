// Effective conductances of a crossbar layer, laid out per read direction so that the fused
// read kernel loads adjacent columns from adjacent words:
//   forward    [P][S][K][ncol_f], columns set * N + j, then (offset) the references N + h;
//   transposed [P][S][N][ncol_b], columns set * K + i, then (offset) K + h.
// G_eff = (g * drift) * d2d factor, or a stuck cell's constant (src/xbar/read.rs `effective`);
// drift is the global t^(-nu), or per cell (src/xbar/drift.rs `factor`)
// exp(-max(0, nu + nu_state (1/2 - y) + nu_d2d z) ln t) with the cell's frozen deviate z.
// `frozen` holds per cell the d2d factor as f32 bits, or, with the sign bit set, the whole
// effective value of a stuck cell (computed on the host with the reference draws).
// Run after creation and after every programming step.

struct Params {
    fan_in: u32, fan_out: u32, slices: u32, sets: u32,
    ncol_f: u32, ncol_b: u32, r1: u32, r2: u32,
    total: u32, n_inst: u32, nf: u32, nb: u32,
    drift: f32, nu: f32, nu_state: f32, nu_d2d: f32,
    ln_t: f32, g_min: f32, per_cell_drift: u32, _pad0: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> cells: array<f32>;
@group(0) @binding(2) var<storage, read> frozen: array<u32>;
@group(0) @binding(3) var<storage, read_write> eff_f: array<f32>;
@group(0) @binding(4) var<storage, read_write> eff_b: array<f32>;
@group(0) @binding(5) var<storage, read> drift_z: array<f32>;

// Drift factor of one cell (src/xbar/drift.rs `factor`).
fn drift_factor(e: u32, g: f32) -> f32 {
    if (prm.per_cell_drift == 0u) {
        return prm.drift;
    }
    let y = (g - prm.g_min) / (1.0 - prm.g_min);
    let nu = max(prm.nu + prm.nu_state * (0.5 - y) + prm.nu_d2d * drift_z[e], 0.0);
    return exp(-nu * prm.ln_t);
}

fn effective(p: u32, idx: u32) -> f32 {
    let e = p * prm.total + idx;
    let fr = frozen[e];
    if ((fr & 0x80000000u) != 0u) {
        return bitcast<f32>(fr & 0x7fffffffu);
    }
    let g = cells[e];
    return (g * drift_factor(e, g)) * bitcast<f32>(fr);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x + gid.y * 65535u * 256u;
    let s = prm.slices;
    let kk = prm.fan_in;
    let n = prm.fan_out;
    if (e < prm.nf) {
        let c = e % prm.ncol_f;
        var rest = e / prm.ncol_f;
        let l = rest % kk;
        rest = rest / kk;
        let k = rest % s;
        let p = rest / s;
        var idx: u32;
        if (c < prm.sets * n) {
            idx = (c * kk + l) * s + k;
        } else {
            idx = prm.r1 + (l * s + k) * 2u + (c - prm.sets * n);
        }
        eff_f[e] = effective(p, idx);
    } else if (e < prm.nf + prm.nb) {
        let e2 = e - prm.nf;
        let c = e2 % prm.ncol_b;
        var rest = e2 / prm.ncol_b;
        let l = rest % n;
        rest = rest / n;
        let k = rest % s;
        let p = rest / s;
        var idx: u32;
        if (c < prm.sets * kk) {
            idx = (((c / kk) * n + l) * kk + c % kk) * s + k;
        } else {
            idx = prm.r2 + (l * s + k) * 2u + (c - prm.sets * kk);
        }
        eff_b[e2] = effective(p, idx);
    }
}
