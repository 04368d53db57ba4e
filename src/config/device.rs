//! The `[device]` section: how the memory cells behave (conductance range, update curve,
//! noise, drift). Read by the crossbar simulation and by the chip cost model alike.

use serde::{Deserialize, Serialize};

use super::error::{check, ConfigError};

/// How cycle-to-cycle write noise scales with the pulses of one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum C2cLaw {
    /// Independent noise per pulse: sigma = c2c (G_max - G_min) sqrt(|n|) (aihwkit-like).
    PerPulse,
    /// Once per update that moves the cell: sigma = c2c (G_max - G_min) (NeuroSim V2).
    PerUpdate,
}

/// Where per-read noise enters the column current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadNoiseModel {
    /// Every active cell's current carries its own noise: I = sum q g (1 + read_noise z_cell).
    PerCell,
    /// One noise source per conversion, referred to the column output, with the variance of the
    /// per-cell model: I = sum q g + read_noise sqrt(sum (q g)^2) z_conversion.
    OutputReferred,
}

/// Rounding of pulse counts when programming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    Stochastic,
    Nearest,
}
/// Drift of conductance with time since programming: G(t) = G0 (t / 1 s)^(-nu_i), with a
/// per-device exponent nu_i = max(0, nu + nu_state (1/2 - y) + nu_d2d z_i) (`xbar::drift`).
///
/// `t` in the file is one time or a list (`t = [1, 3600, 86400]`): `insitu eval` reads at every
/// listed time; training and every other read use the first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "DriftFile", into = "DriftFile")]
pub struct Drift {
    /// Mean drift exponent of a mid-range cell.
    pub nu: f64,
    /// Seconds since programming at which reads happen (the first listed time); 1 means no
    /// drift.
    pub t: f64,
    /// Every listed read time, `t` first.
    pub times: Vec<f64>,
    /// How much larger the exponent is at G_min than at G_max (state dependence).
    pub nu_state: f64,
    /// Device-to-device standard deviation of the exponent (frozen per cell).
    pub nu_d2d: f64,
    /// Read noise grows as read_noise sqrt(1 + read_noise_growth ln t) (1/f noise: the variance
    /// grows by read_noise_growth read_noise^2 per e-fold of time).
    pub read_noise_growth: f64,
    /// Global drift compensation: a calibration read rescales the ADC gain by
    /// sum G(t0) / sum G(t) of the layer.
    pub compensate: bool,
}

impl Default for Drift {
    fn default() -> Self {
        Self {
            nu: 0.0,
            t: 1.0,
            times: vec![1.0],
            nu_state: 0.0,
            nu_d2d: 0.0,
            read_noise_growth: 0.0,
            compensate: false,
        }
    }
}

impl Drift {
    /// The same drift read at `t` seconds only.
    pub fn at(&self, t: f64) -> Drift {
        Drift {
            t,
            times: vec![t],
            ..self.clone()
        }
    }
}

/// One read time or a list of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Times {
    One(f64),
    Many(Vec<f64>),
}

/// `[device.drift]` as written in a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DriftFile {
    nu: f64,
    t: Times,
    nu_state: f64,
    nu_d2d: f64,
    read_noise_growth: f64,
    compensate: bool,
}

impl Default for DriftFile {
    fn default() -> Self {
        Drift::default().into()
    }
}

impl From<DriftFile> for Drift {
    fn from(f: DriftFile) -> Drift {
        let times = match f.t {
            Times::One(t) => vec![t],
            Times::Many(v) => v,
        };
        Drift {
            nu: f.nu,
            // An empty list is refused by `validate`.
            t: times.first().copied().unwrap_or(0.0),
            times,
            nu_state: f.nu_state,
            nu_d2d: f.nu_d2d,
            read_noise_growth: f.read_noise_growth,
            compensate: f.compensate,
        }
    }
}

impl From<Drift> for DriftFile {
    fn from(d: Drift) -> DriftFile {
        let t = match d.times.as_slice() {
            [_, _, ..] => Times::Many(d.times),
            _ => Times::One(d.t),
        };
        DriftFile {
            nu: d.nu,
            t,
            nu_state: d.nu_state,
            nu_d2d: d.nu_d2d,
            read_noise_growth: d.read_noise_growth,
            compensate: d.compensate,
        }
    }
}

/// Memory-cell behaviour. Presets live in `configs/devices/`; fields given in the experiment
/// override the preset one by one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceConfig {
    /// Name of the preset this device started from (informational after resolution).
    pub preset: Option<String>,
    /// Memory technology for the cost model: rram, fefet, pcm, sram.
    pub technology: String,
    /// Maximum conductance in siemens.
    pub g_max: f64,
    /// G_max / G_min.
    pub on_off: f64,
    /// Pulse-addressable states end to end (training).
    pub levels: u32,
    /// Nonlinearity label of potentiation (0 = linear), |NL| <= 9; negative = convex curve.
    pub nl_ltp: f64,
    /// Nonlinearity label of depression, NeuroSim V2.1's sign convention: positive = depression
    /// retraces a curve of the potentiation shape (near-symmetric device), negative = the
    /// point-mirrored curve (asymmetric device).
    pub nl_ltd: f64,
    /// Device-to-device relative conductance spread (frozen per cell).
    pub d2d: f64,
    /// Device-to-device spread of the NL shape parameter A (relative).
    pub nl_d2d: f64,
    /// Device-to-device spread (standard deviation) of the up/down asymmetry: a cell's SET pulse
    /// moves its pulse coordinate by 1 + u_i, a RESET pulse by 1 - u_i, u_i = up_down_d2d z
    /// (aihwkit's `up_down_dtod`).
    pub up_down_d2d: f64,
    /// Device-to-device relative spread of a cell's conductance bounds: G_max,i = G_max (1 +
    /// bounds_d2d z1), G_min,i = G_min (1 + bounds_d2d z2) (aihwkit's `w_max_dtod`/`w_min_dtod`).
    pub bounds_d2d: f64,
    /// Cycle-to-cycle write noise, in units of (G_max - G_min) per sqrt(pulse) (`per_pulse`) or
    /// per update (`per_update`).
    pub c2c: f64,
    pub c2c_law: C2cLaw,
    /// Per-read relative conductance noise.
    pub read_noise: f64,
    /// Where the read noise enters: `per_cell` (default) or `output_referred`.
    pub read_noise_model: ReadNoiseModel,
    /// Per-conversion output noise in ADC LSBs.
    pub output_noise: f64,
    /// Fraction of cells stuck at G_max.
    pub stuck_on: f64,
    /// Fraction of cells stuck at G_min.
    pub stuck_off: f64,
    pub drift: Drift,
    /// Only SET (potentiation) pulses update a differential pair: each cell of the pair takes
    /// one sign of the updates; a pair with a saturated cell is refreshed (PCM).
    pub set_only: bool,
    /// Largest |pulse count| applied to one cell in one update.
    pub max_pulses_per_update: u32,
    pub rounding: Rounding,
    /// Read voltage in volts.
    pub v_read: f64,
    /// Read pulse width in seconds.
    pub t_read: f64,
    /// Write (programming) voltage in volts.
    pub v_write: f64,
    /// Write pulse width in seconds.
    pub t_write: f64,
}

impl Default for DeviceConfig {
    /// The ideal device: linear, noiseless, effectively infinite on/off ratio.
    fn default() -> Self {
        Self {
            preset: None,
            technology: "rram".into(),
            g_max: 1e-5,
            on_off: 1e9,
            levels: 256,
            nl_ltp: 0.0,
            nl_ltd: 0.0,
            d2d: 0.0,
            nl_d2d: 0.0,
            up_down_d2d: 0.0,
            bounds_d2d: 0.0,
            c2c: 0.0,
            c2c_law: C2cLaw::PerPulse,
            read_noise: 0.0,
            read_noise_model: ReadNoiseModel::PerCell,
            output_noise: 0.0,
            stuck_on: 0.0,
            stuck_off: 0.0,
            drift: Drift::default(),
            set_only: false,
            max_pulses_per_update: 256,
            rounding: Rounding::Nearest,
            v_read: 0.5,
            t_read: 10e-9,
            v_write: 2.0,
            t_write: 10e-9,
        }
    }
}

impl DeviceConfig {
    /// Lowest conductance, from the on/off ratio.
    pub fn g_min(&self) -> f64 {
        self.g_max / self.on_off
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        const TECHS: [&str; 4] = ["rram", "fefet", "pcm", "sram"];
        check(
            "device.technology",
            &self.technology,
            TECHS.contains(&self.technology.as_str()),
            "one of rram, fefet, pcm, sram",
        )?;
        check(
            "device.g_max",
            self.g_max,
            self.g_max > 0.0 && self.g_max < 1.0,
            "(0, 1) siemens",
        )?;
        check("device.on_off", self.on_off, self.on_off > 1.0, "> 1")?;
        check(
            "device.levels",
            self.levels,
            (2..=65536).contains(&self.levels),
            "2..=65536",
        )?;
        for (name, v) in [
            ("device.nl_ltp", self.nl_ltp),
            ("device.nl_ltd", self.nl_ltd),
        ] {
            check(name, v, v.abs() <= 9.0, "|NL| <= 9 (0 = linear)")?;
        }
        for (name, v, hi) in [
            ("device.d2d", self.d2d, 1.0),
            ("device.nl_d2d", self.nl_d2d, 1.0),
            ("device.up_down_d2d", self.up_down_d2d, 0.5),
            ("device.bounds_d2d", self.bounds_d2d, 0.3),
            ("device.c2c", self.c2c, 1.0),
            ("device.read_noise", self.read_noise, 1.0),
            ("device.output_noise", self.output_noise, 64.0),
            ("device.stuck_on", self.stuck_on, 1.0),
            ("device.stuck_off", self.stuck_off, 1.0),
            ("device.drift.nu", self.drift.nu, 1.0),
            ("device.drift.nu_d2d", self.drift.nu_d2d, 1.0),
            (
                "device.drift.read_noise_growth",
                self.drift.read_noise_growth,
                10.0,
            ),
        ] {
            check(name, v, (0.0..=hi).contains(&v), &format!("0..={hi}"))?;
        }
        check(
            "device.stuck_on + device.stuck_off",
            self.stuck_on + self.stuck_off,
            self.stuck_on + self.stuck_off <= 1.0,
            "<= 1",
        )?;
        let times = &self.drift.times;
        check(
            "device.drift.nu_state",
            self.drift.nu_state,
            self.drift.nu_state.abs() <= 1.0,
            "-1..=1",
        )?;
        check(
            "device.drift.t",
            format!("{times:?}"),
            !times.is_empty() && times.len() <= 64 && times.iter().all(|t| *t >= 1.0),
            "a time >= 1 second, or a list of 1 to 64 such times",
        )?;
        check(
            "device.max_pulses_per_update",
            self.max_pulses_per_update,
            self.max_pulses_per_update >= 1,
            ">= 1",
        )?;
        for (name, v) in [
            ("device.v_read", self.v_read),
            ("device.t_read", self.t_read),
            ("device.v_write", self.v_write),
            ("device.t_write", self.t_write),
        ] {
            check(name, v, v > 0.0 && v.is_finite(), "> 0")?;
        }
        Ok(())
    }
}
