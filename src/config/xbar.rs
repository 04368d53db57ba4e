//! The `[array]` and `[device]` sections together: what every crossbar operation needs, and the
//! checks across the two.

use super::array::{ArrayConfig, Mapping};
use super::device::DeviceConfig;
use super::error::{check, ConfigError};

/// The two config sections every crossbar operation needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Xbar {
    pub array: ArrayConfig,
    pub device: DeviceConfig,
}

impl Xbar {
    /// See [`validate_pair`].
    pub fn validate(&self, training: bool) -> Result<(), ConfigError> {
        validate_pair(&self.array, &self.device, training)
    }
}

/// Validates both sections and their combination. `training`: the array is programmed in situ,
/// one analog cell per weight (NeuroSim V2 convention: cell precision = weight precision).
pub fn validate_pair(
    array: &ArrayConfig,
    device: &DeviceConfig,
    training: bool,
) -> Result<(), ConfigError> {
    array.validate()?;
    device.validate()?;
    if training {
        check(
            "device.set_only",
            device.set_only,
            !device.set_only || array.mapping == Mapping::Differential,
            "false with array.mapping = \"offset\" (SET-only pairs need the differential mapping)",
        )?;
        check(
            "array.cell_bits",
            array.cell_bits,
            array.cell_bits == array.weight_bits,
            &format!(
                "= array.weight_bits ({}): in-situ training holds one cell per weight",
                array.weight_bits
            ),
        )?;
    } else {
        let need = 1u64 << array.cell_bits;
        check(
            "device.levels",
            device.levels,
            device.levels as u64 >= need,
            &format!(">= 2^array.cell_bits = {need} (states a cell must hold)"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs() {
        let (a, d) = (ArrayConfig::default(), DeviceConfig::default());
        validate_pair(&a, &d, false).unwrap();
        let e = validate_pair(&a, &d, true).unwrap_err().to_string();
        assert!(e.contains("array.cell_bits"), "{e}");
        let t = ArrayConfig {
            weight_bits: 5,
            cell_bits: 5,
            ..a.clone()
        };
        validate_pair(&t, &d, true).unwrap();
        let few = DeviceConfig { levels: 3, ..d };
        let e = validate_pair(&a, &few, false).unwrap_err().to_string();
        assert!(e.contains("device.levels"), "{e}");
    }
}
