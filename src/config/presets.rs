//! Device presets (`configs/devices/*.toml`, embedded) and field-by-field overrides.

use toml::{Table, Value};

use super::device::DeviceConfig;
use super::error::ConfigError;

const FEFET_ASYMMETRIC: &str = include_str!("../../configs/devices/fefet_asymmetric.toml");

/// Name and file text; `fefet` is the name the asymmetric FeFET had before the symmetric
/// variant existed, kept so that configs naming it keep their meaning.
const PRESETS: [(&str, &str); 6] = [
    ("ideal", include_str!("../../configs/devices/ideal.toml")),
    ("rram", include_str!("../../configs/devices/rram.toml")),
    ("fefet", FEFET_ASYMMETRIC),
    ("fefet_asymmetric", FEFET_ASYMMETRIC),
    (
        "fefet_symmetric",
        include_str!("../../configs/devices/fefet_symmetric.toml"),
    ),
    ("pcm", include_str!("../../configs/devices/pcm.toml")),
];

fn names() -> String {
    let n: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
    format!("one of {}", n.join(", "))
}

/// The named preset, validated.
pub fn preset(name: &str) -> Result<DeviceConfig, ConfigError> {
    let text = PRESETS
        .iter()
        .find(|p| p.0 == name)
        .map(|p| p.1)
        .ok_or_else(|| ConfigError::Invalid {
            field: "device.preset".into(),
            value: name.into(),
            allowed: names(),
        })?;
    let mut dev: DeviceConfig = toml::from_str(text).map_err(|e| ConfigError::File {
        path: format!("configs/devices/{name}.toml"),
        message: e.to_string(),
    })?;
    dev.preset = Some(name.into());
    dev.validate()?;
    Ok(dev)
}

/// A `[device]` table: the preset it names (`preset = "..."`, default `ideal`), then each field
/// given overriding the preset's; an unknown field is an error naming it.
pub fn resolve(table: &Table) -> Result<DeviceConfig, ConfigError> {
    let name = match table.get("preset") {
        None => "ideal",
        Some(Value::String(s)) => s.as_str(),
        Some(v) => {
            return Err(ConfigError::Invalid {
                field: "device.preset".into(),
                value: v.to_string(),
                allowed: names(),
            })
        }
    };
    let base = preset(name)?;
    let mut merged = match Value::try_from(&base) {
        Ok(Value::Table(t)) => t,
        _ => {
            return Err(ConfigError::Parse(
                "device preset does not serialise to a table".into(),
            ))
        }
    };
    let mut user = table.clone();
    user.remove("preset");
    merge(&mut merged, &user, "device")?;
    let dev: DeviceConfig = Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Parse(format!("[device]: {e}")))?;
    dev.validate()?;
    Ok(dev)
}

fn merge(dst: &mut Table, src: &Table, path: &str) -> Result<(), ConfigError> {
    for (k, v) in src {
        if !dst.contains_key(k) {
            let keys: Vec<&str> = dst.keys().map(String::as_str).collect();
            return Err(ConfigError::Invalid {
                field: format!("{path}.{k}"),
                value: v.to_string(),
                allowed: format!("a field of {path}: {}", keys.join(", ")),
            });
        }
        if let Some(slot) = dst.get_mut(k) {
            match (slot, v) {
                (Value::Table(d), Value::Table(s)) => merge(d, s, &format!("{path}.{k}"))?,
                (slot, _) => *slot = v.clone(),
            }
        }
    }
    Ok(())
}

/// Replaces the `[device]` table by its preset's fields with the table's overrides applied.
pub fn resolve_device(table: &mut toml::Table) -> Result<(), ConfigError> {
    let Some(dev) = table.get("device") else {
        return Ok(());
    };
    let Some(t) = dev.as_table() else {
        return Err(ConfigError::Invalid {
            field: "device".into(),
            value: dev.to_string(),
            allowed: "a table (e.g. [device] preset = \"fefet\")".into(),
        });
    };
    let resolved = resolve(t)?;
    let value = toml::Value::try_from(&resolved)
        .map_err(|e| ConfigError::Parse(format!("[device]: {e}")))?;
    table.insert("device".into(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads() {
        for (name, _) in PRESETS {
            let d = preset(name).unwrap();
            assert_eq!(d.preset.as_deref(), Some(name));
        }
        let f = preset("fefet").unwrap();
        assert_eq!((f.nl_ltp, f.nl_ltd, f.levels), (1.75, -1.46, 32));
        let a = preset("fefet_asymmetric").unwrap();
        assert_eq!((a.nl_ltp, a.nl_ltd), (f.nl_ltp, f.nl_ltd));
        let s = preset("fefet_symmetric").unwrap();
        assert_eq!((s.nl_ltp, s.nl_ltd, s.levels), (1.75, 1.46, 32));
        let e = preset("mram").unwrap_err().to_string();
        assert!(e.contains("ideal, rram, fefet, fefet_asymmetric"), "{e}");
    }

    #[test]
    fn overrides_and_unknown_fields() {
        let t: Table =
            toml::from_str("preset = \"rram\"\nc2c = 0.02\nlevels = 64\n[drift]\nnu = 0.1")
                .unwrap();
        let d = resolve(&t).unwrap();
        let r = preset("rram").unwrap();
        assert_eq!((d.c2c, d.levels, d.drift.nu), (0.02, 64, 0.1));
        assert_eq!(
            (d.nl_ltp, d.on_off, d.drift.t),
            (r.nl_ltp, r.on_off, r.drift.t)
        );
        assert_eq!(resolve(&Table::new()).unwrap(), preset("ideal").unwrap());
        let e = resolve(&toml::from_str("c2cc = 0.1").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("device.c2cc"), "{e}");
        let e = resolve(&toml::from_str("[drift]\nmu = 0.1").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("device.drift.mu"), "{e}");
        let e = resolve(&toml::from_str("levels = 1").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("device.levels"), "{e}");
    }
}
