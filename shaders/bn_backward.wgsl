// Batch normalisation backward over x[C][N], one workgroup per channel, from the statistics the
// training forward saved ([mean][1/sqrt(var + eps)]). With xh = (x - mean) istd:
//   dbeta = sum dy, dgamma = sum dy xh,
//   dx = gamma istd (dy - dbeta / N - xh dgamma / N).
// Params come from bn_common.wgsl, `Lane` and `wg_sum` from reduce.wgsl.

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> save: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> dbeta: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let lid = lane.lid;
    let ch = wid.x;
    let base = ch * prm.n;
    let mean = save[ch];
    let istd = save[prm.c + ch];
    var s = 0.0;
    var t = 0.0;
    for (var j = lid; j < prm.n; j += WG) {
        let g = dy[base + j];
        s += g;
        t += g * (x[base + j] - mean) * istd;
    }
    let db = wg_sum(s, lane);
    let dg = wg_sum(t, lane);
    let inv_n = 1.0 / f32(prm.n);
    let k = gamma[ch] * istd;
    for (var j = lid; j < prm.n; j += WG) {
        let xh = (x[base + j] - mean) * istd;
        dx[base + j] = k * (dy[base + j] - db * inv_n - xh * dg * inv_n);
    }
    if (lid == 0u) {
        dbeta[ch] = db;
        dgamma[ch] = dg;
    }
}
