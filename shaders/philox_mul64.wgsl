// 32x32 -> 64-bit product (hi, lo) with one native 64-bit multiply (SHADER_INT64).

fn philox_mulhilo(a: u32, b: u32) -> vec2<u32> {
    let p = u64(a) * u64(b);
    return vec2<u32>(u32(p >> 32u), u32(p & 0xfffffffflu));
}
