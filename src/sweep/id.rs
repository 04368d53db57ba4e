//! Stable point ids: a hash of the resolved overrides that does not change between runs,
//! machines or compiler versions (so resume and merge can match points by id).

/// FNV-1a, 64 bits: fixed by its definition, unlike `std`'s hashers.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The id of a point: its overrides sorted by key, and its seed.
pub fn point_id(overrides: &[(String, toml::Value)], seed: Option<u64>) -> String {
    let mut parts: Vec<String> = overrides.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.sort();
    if let Some(s) = seed {
        parts.push(format!("seed={s}"));
    }
    format!("{:016x}", fnv1a64(parts.join(";").as_bytes()))
}
