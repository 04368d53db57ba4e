//! What identifies a result: the code (version and git commit), the command line, when and
//! where it ran, on which backend and adapter, and a hash of the resolved configuration. Every
//! report carries one of these.

mod time;

use serde::{Deserialize, Serialize};

use crate::backend::AdapterSummary;

pub use time::rfc3339_utc;

/// The git commit the binary was built from ("unknown" outside a git checkout; "-dirty" when
/// tracked files had uncommitted changes).
pub const COMMIT: &str = env!("INSITU_GIT_COMMIT");

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Provenance {
    /// Crate version.
    pub version: String,
    pub commit: String,
    /// The full command line (program and arguments).
    pub command: Vec<String>,
    /// When the report was started, UTC, RFC 3339.
    pub timestamp: String,
    pub host: String,
    /// `cpu` or the wgpu backend (`vulkan`, `metal`, `dx12`); empty for reports that ran none.
    pub backend: String,
    pub adapter: String,
    pub driver: String,
    /// Stable hash of the resolved configuration (its JSON), 16 hex digits; empty when none.
    pub config_hash: String,
}

impl Provenance {
    /// Provenance of a report made now by this process, on `adapter` (None: no backend ran),
    /// from the resolved configuration `config` (None: no configuration).
    pub fn capture(adapter: Option<&AdapterSummary>, config: Option<&impl Serialize>) -> Self {
        Provenance {
            version: env!("CARGO_PKG_VERSION").into(),
            commit: COMMIT.into(),
            command: std::env::args().collect(),
            timestamp: rfc3339_utc(std::time::SystemTime::now()),
            host: host_name(),
            backend: adapter.map(|a| a.backend.clone()).unwrap_or_default(),
            adapter: adapter.map(|a| a.name.clone()).unwrap_or_default(),
            driver: adapter.map(|a| a.driver.clone()).unwrap_or_default(),
            config_hash: config.map(config_hash).unwrap_or_default(),
        }
    }
}

/// FNV-1a of the configuration's JSON: struct fields serialize in declaration order, so equal
/// configurations hash equally across runs and machines.
pub fn config_hash(config: &impl Serialize) -> String {
    let json = serde_json::to_vec(config).unwrap_or_default();
    format!("{:016x}", fnv1a64(&json))
}

/// FNV-1a, 64 bits: fixed by its definition, unlike `std`'s hashers.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// This machine's name: the kernel's (Linux), the usual environment variables, else the
/// `hostname` program (macOS, BSD); "unknown" when none answers.
pub fn host_name() -> String {
    let clean = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .and_then(clean)
        .or_else(|| std::env::var("HOSTNAME").ok().and_then(clean))
        .or_else(|| std::env::var("COMPUTERNAME").ok().and_then(clean))
        .or_else(|| {
            std::process::Command::new("hostname")
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(clean)
        })
        .unwrap_or_else(|| "unknown".into())
}
