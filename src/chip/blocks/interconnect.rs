//! Chip-level interconnect between the global buffer and the tiles: an H-tree (every tile at the
//! same distance) or a shared bus (one horizontal bus per row of tiles plus a vertical spine).

use crate::chip::config::Interconnect;
use crate::chip::tech::Tech;

/// Repeaters and spacing add ~20% to the wire track area.
const REPEATER_AREA_FACTOR: f64 = 1.2;
/// Repeaters every 0.5 mm.
const REPEATER_SPACING: f64 = 0.5e-3;

/// Flight time over `len` metres of a repeated wire (repeaters every `REPEATER_SPACING`), s.
pub fn repeated_delay(t: &Tech, len: f64) -> f64 {
    let segments = (len / REPEATER_SPACING).ceil().max(1.0);
    let seg = len / segments;
    segments * (0.38 * t.wire_res() * t.wire_cap() * seg * seg + 2.0 * t.fo4())
}

#[derive(Debug, Clone, Copy)]
pub struct Network {
    pub kind: Interconnect,
    /// Leaves (tiles) reached.
    pub leaves: usize,
    /// Side of the square region spanned, m.
    pub side: f64,
    pub bus_bits: u32,
}

impl Network {
    /// H-tree levels; a single tile still hangs on one arm from the global buffer.
    fn levels(&self) -> u32 {
        ((self.leaves.max(1) as f64).log2().ceil() as u32).max(1)
    }

    /// H-tree segment of level `i` (from the root): the first H spans half the side, so its arms
    /// are side / 4; lengths halve every second level (alternating x and y).
    fn segment(&self, i: u32) -> f64 {
        self.side / 2f64.powi((i / 2 + 2) as i32)
    }

    /// Total wire length of one bit lane, m.
    pub fn wire_length(&self) -> f64 {
        match self.kind {
            Interconnect::Htree => (0..self.levels())
                .map(|i| 2f64.powi(i as i32) * self.segment(i))
                .sum(),
            Interconnect::Bus => {
                let rows = (self.leaves.max(1) as f64).sqrt().ceil();
                self.side * (rows + 1.0)
            }
        }
    }

    /// Distance a bit travels from the root to a tile, m.
    pub fn path_length(&self) -> f64 {
        match self.kind {
            Interconnect::Htree => (0..self.levels()).map(|i| self.segment(i)).sum(),
            Interconnect::Bus => self.side,
        }
    }

    pub fn area(&self, t: &Tech) -> f64 {
        self.wire_length() * self.bus_bits as f64 * t.wire_pitch() * REPEATER_AREA_FACTOR
    }

    /// Energy of moving one bit from the root to a tile (or back), J.
    pub fn energy_per_bit(&self, t: &Tech) -> f64 {
        self.path_length() * t.wire_energy_per_bit_m()
    }

    /// Flight time root to tile over repeated segments, s.
    pub fn delay(&self, t: &Tech) -> f64 {
        repeated_delay(t, self.path_length())
    }

    /// Time to move `bits` through the network, s.
    pub fn transfer_time(&self, t: &Tech, bits: f64, clock_hz: f64) -> f64 {
        bits / (self.bus_bits as f64 * clock_hz) + self.delay(t)
    }

    /// Repeaters leak like logic: one inverter pair (~1 gate) per lane per segment.
    pub fn leakage(&self, t: &Tech) -> f64 {
        (self.wire_length() / REPEATER_SPACING).ceil() * self.bus_bits as f64 * t.gate_leak()
    }
}
