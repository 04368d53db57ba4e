//! Stable point ids: a hash of the resolved overrides that does not change between runs,
//! machines or compiler versions (so resume and merge can match points by id).

pub use crate::provenance::fnv1a64;

/// The id of a point: its overrides sorted by key, and its seed.
pub fn point_id(overrides: &[(String, toml::Value)], seed: Option<u64>) -> String {
    let mut parts: Vec<String> = overrides.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.sort();
    if let Some(s) = seed {
        parts.push(format!("seed={s}"));
    }
    format!("{:016x}", fnv1a64(parts.join(";").as_bytes()))
}
