// Philox4x32-10 (Salmon et al., SC'11), bit-identical to src/rng/philox.rs. `philox_mulhilo`
// (the 32x32 -> 64-bit product as (hi, lo)) comes from philox_mul32.wgsl (16-bit halves) or
// philox_mul64.wgsl (native u64, where the adapter has SHADER_INT64).

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        if (round > 0u) {
            k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        }
        let p0 = philox_mulhilo(0xD2511F53u, c.x);
        let p1 = philox_mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

// Uniform in (0, 1), as src/rng/philox.rs `uniform`.
fn philox_uniform(word: u32) -> f32 {
    return (f32(word >> 8u) + 0.5) * (1.0 / 16777216.0);
}

// Standard normal by Box-Muller, as src/rng/philox.rs `normal`.
fn philox_normal(w0: u32, w1: u32) -> f32 {
    let u1 = philox_uniform(w0);
    let u2 = philox_uniform(w1);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
