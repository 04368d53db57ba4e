//! Column ADCs. Energy follows the Walden figure of merit, E = FOM * 2^bits, so every extra bit
//! doubles it (both a SAR's capacitive DAC and a multi-level sense amplifier's reference ladder
//! grow as 2^bits). Area and delay depend on the architecture.

use crate::chip::config::AdcType;
use crate::chip::tech::Tech;

/// NAND2 equivalents of one current-mode sense amplifier with its reference branch.
/// Calibrated (see docs/cost-model.md): NeuroSim's VGG-8 example spends 14.6 mm^2 on its 5-bit
/// MLSA ADCs at 22 nm; with our tile-granular allocation (~63k ADCs) that is ~7 um^2 per sense
/// amplifier, 24 gates -- the size of a StrongARM latch (~12 transistors, ~6 gates) with its
/// reference current mirror and offset trimming.
pub const SENSE_AMP_GATES: f64 = 24.0;
/// Unit capacitor of a SAR DAC with its routing: ~1 fF MOM capacitor at ~1 fF/um^2, m^2.
pub const SAR_UNIT_CAP_AREA: f64 = 1.0e-12;
/// NAND2 equivalents of SAR logic per bit (a flop and a few gates).
pub const SAR_LOGIC_GATES_PER_BIT: f64 = 8.0;
/// FO4 delays of one comparator decision.
pub const DECISION_FO4: f64 = 10.0;

#[derive(Debug, Clone, Copy)]
pub struct Adc {
    pub bits: u32,
    pub kind: AdcType,
}

impl Adc {
    fn levels(&self) -> f64 {
        2f64.powi(self.bits as i32)
    }

    /// Energy of one conversion, J.
    pub fn energy(&self, t: &Tech) -> f64 {
        t.adc_fom() * self.levels()
    }

    pub fn area(&self, t: &Tech) -> f64 {
        match self.kind {
            AdcType::Mlsa => {
                (self.levels() - 1.0) * SENSE_AMP_GATES * t.gate_area()
                    + self.levels() * t.gate_area()
            }
            AdcType::Sar => {
                self.levels() * SAR_UNIT_CAP_AREA
                    + (SENSE_AMP_GATES + SAR_LOGIC_GATES_PER_BIT * self.bits as f64) * t.gate_area()
            }
        }
    }

    /// Conversion time, s: one decision plus an encoder (MLSA) or one decision per bit (SAR).
    pub fn latency(&self, t: &Tech) -> f64 {
        match self.kind {
            AdcType::Mlsa => (DECISION_FO4 + 2.0 * self.bits as f64) * t.fo4(),
            AdcType::Sar => self.bits as f64 * (DECISION_FO4 + 2.0) * t.fo4(),
        }
    }

    /// Static power: comparators are clocked (no bias) but leak like logic, W.
    pub fn leakage(&self, t: &Tech) -> f64 {
        self.area(t) / t.gate_area() * t.gate_leak()
    }
}
