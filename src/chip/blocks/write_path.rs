//! Programming periphery of a subarray: the column write switches and the column lines that
//! carry the write voltage.
//!
//! Every memory here has an access device (1T1R, FeFET, SRAM port), which isolates the cells of
//! unselected rows; each row is written in two phases (potentiation, then depression).
//! - Capacitive (FeFET) cells are programmed through their gate: the selected word line and only
//!   the columns whose cells change swing to V_w; the other columns stay at 0 V.
//! - Resistive 1T1R cells share the selected row's line, which carries V_w to every cell of the
//!   row whose access transistor is on: the columns that must not change are held at V_w too
//!   (inhibit), so each pulse swings about every column line of the subarray.
//!
//! Column write switch: a transmission gate per column, sized like a cell's access transistor
//! because it carries one cell's programming current at a time (rows are written one by one):
//! NMOS of the access width W_a, PMOS twice as wide for the same resistance, so its gate load is
//! C_tg = 3 C_g(W_a), and its output node carries the drain junctions, about half the gate load
//! (as in `Tech::bl_cap_per_cell`), C_j = C_tg / 2. Per row phase every column's switch is set:
//!
//! ```text
//! E_switch = cols x (C_tg VDD^2 + C_j V_w^2)
//! ```
//!
//! Column line: each programming pulse on a cell swings its column line of `rows` cells to V_w,
//! and on resistive cells each pulse also holds the other `cols` column lines at V_w:
//!
//! ```text
//! E_line = rows x C_bl,cell x V_w^2,   E_inhibit = cols x E_line
//! ```

use crate::chip::tech::{Tech, WriteMode};
use crate::config::DeviceConfig;

/// Write phases per row (potentiation and depression).
pub const PHASES_PER_ROW: f64 = 2.0;

/// Gate load of one column write switch, F.
fn switch_gate_cap(t: &Tech) -> f64 {
    3.0 * t.access_gate_cap()
}

/// Energy of setting the column switches of a `cols`-wide subarray for one row phase, J.
pub fn switch_energy(t: &Tech, d: &DeviceConfig, cols: usize) -> f64 {
    let c = switch_gate_cap(t);
    let v = d.v_write.max(t.vdd());
    cols as f64 * (c * t.vdd() * t.vdd() + 0.5 * c * v * v)
}

/// Energy of one programming pulse's column line along `rows` cells, J.
pub fn column_pulse_energy(t: &Tech, d: &DeviceConfig, rows: usize) -> f64 {
    let v = d.v_write.max(t.vdd());
    rows as f64 * t.bl_cap_per_cell() * v * v
}

/// Energy of holding the columns of a `rows` x `cols` subarray at V_w during one pulse, J: every
/// column on resistive 1T1R cells, none on gate-programmed cells.
pub fn inhibit_energy(t: &Tech, d: &DeviceConfig, rows: usize, cols: usize) -> f64 {
    match t.cell.write {
        WriteMode::Resistive => cols as f64 * column_pulse_energy(t, d, rows),
        WriteMode::Capacitive | WriteMode::Sram => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chip::ChipConfig;

    fn tech(memory: &str) -> (Tech, DeviceConfig) {
        let chip = ChipConfig {
            node_nm: 32,
            ..ChipConfig::default()
        };
        let device = DeviceConfig {
            technology: memory.into(),
            v_write: 4.0,
            ..DeviceConfig::default()
        };
        (Tech::resolve(&chip, &device).unwrap(), device)
    }

    #[test]
    fn switch_energy_is_the_closed_form() {
        let (t, d) = tech("fefet");
        let c = 3.0 * t.access_gate_cap();
        let want = 128.0 * (c * t.vdd() * t.vdd() + 0.5 * c * 16.0);
        assert!((switch_energy(&t, &d, 128) - want).abs() <= 1e-12 * want);
        // Linear in the columns switched.
        assert!((switch_energy(&t, &d, 256) - 2.0 * want).abs() <= 1e-12 * want);
    }

    #[test]
    fn column_pulse_scales_with_rows_and_the_square_of_the_write_voltage() {
        let (t, mut d) = tech("rram");
        let e = column_pulse_energy(&t, &d, 128);
        assert!((column_pulse_energy(&t, &d, 64) - e / 2.0).abs() <= 1e-12 * e);
        d.v_write = 2.0;
        assert!((column_pulse_energy(&t, &d, 128) - e / 4.0).abs() <= 1e-12 * e);
    }

    #[test]
    fn only_resistive_cells_hold_the_other_columns() {
        let (t, d) = tech("rram");
        let e = inhibit_energy(&t, &d, 128, 64);
        assert!((e - 64.0 * column_pulse_energy(&t, &d, 128)).abs() <= 1e-12 * e);
        let (t, d) = tech("fefet");
        assert_eq!(inhibit_energy(&t, &d, 128, 64), 0.0);
    }
}
