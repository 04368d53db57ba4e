//! Calibrated ADC ranges for in-situ training: one batch is run through the freshly programmed
//! arrays on the host (forward, then the error path of the learning rule), and every read sets
//! its ADC range from a percentile of the partial sums it sees (`array.adc_percentile`).
//! Inputs of every read are scaled by their own range, so a range set at the start stays
//! appropriate as activations and errors change in magnitude; the spread of partial sums still
//! changes as the weights train, which recalibration (`array.adc_recalibrate_steps`,
//! `adc_recalibrate_epoch`) follows by repeating the same pass on the arrays as they are.

use crate::backend::{input_range, Activation};
use crate::config::Rule;
use crate::cpu::act::{activate, derivative};
use crate::xbar::adc::AdcRange;
use crate::xbar::read::{calibrate, calibrate_read_with, packed, Direction, ReadInput};
use crate::xbar::{Knobs, LayerCells, Xbar};

/// Calibrates `dir` of `layer` on `x` ([rows][inputs], scaled by its own range) and returns the
/// calibrated read (one pass over the products where they fit).
fn calibrated_read(
    layer: &mut LayerCells,
    dir: Direction,
    x: &[f32],
    rows: usize,
    signed: bool,
    cfg: &Xbar,
    knobs: &Knobs,
) -> Vec<f32> {
    let inp = ReadInput {
        x,
        batch: rows,
        x_max: input_range(x, signed),
        signed,
        read_counter: 0,
    };
    let eff = packed(layer, dir, cfg, knobs);
    calibrate_read_with(layer, dir, &inp, cfg, knobs, &eff).0
}

/// One instance's layers (and DFA feedback array), calibrated in place on `x` ([rows][in])
/// with `labels`. Biases are zero at the start of training, so they are left out.
#[allow(clippy::too_many_arguments)]
pub fn calibrate_instance(
    layers: &mut [LayerCells],
    feedback: Option<(&mut LayerCells, &Xbar)>,
    cfg: &Xbar,
    knobs: &Knobs,
    act: Activation,
    signed_inputs: &[bool],
    rule: Rule,
    x: &[f32],
    labels: &[u32],
) {
    let rows = labels.len();
    let last = layers.len() - 1;
    let mut acts = vec![x.to_vec()];
    for (l, layer) in layers.iter_mut().enumerate() {
        let y = calibrated_read(
            layer,
            Direction::Forward,
            &acts[l],
            rows,
            signed_inputs[l],
            cfg,
            knobs,
        );
        let a = if l == last { Activation::Identity } else { act };
        acts.push(y.into_iter().map(|z| activate(a as u32, z)).collect());
    }
    // Output error of softmax cross-entropy (its scale does not matter: inputs are rescaled).
    let classes = layers[last].fan_out;
    let mut e = acts[last + 1].clone();
    for r in 0..rows {
        let row = &mut e[r * classes..(r + 1) * classes];
        let top = row.iter().copied().fold(f32::MIN, f32::max);
        let sum: f32 = row.iter().map(|v| (v - top).exp()).sum();
        for (c, v) in row.iter_mut().enumerate() {
            *v = (*v - top).exp() / sum - if c as u32 == labels[r] { 1.0 } else { 0.0 };
        }
    }
    match rule {
        Rule::Bp => {
            let mut d = e;
            for l in (1..=last).rev() {
                let back = calibrated_read(
                    &mut layers[l],
                    Direction::Transposed,
                    &d,
                    rows,
                    true,
                    cfg,
                    knobs,
                );
                d = back
                    .iter()
                    .zip(&acts[l])
                    .map(|(v, h)| v * derivative(act as u32, *h))
                    .collect();
            }
        }
        Rule::Dfa => {
            if let Some((fb, fcfg)) = feedback {
                let range = input_range(&e, true);
                let inp = ReadInput::new(&e, rows, range).signed(true);
                calibrate(fb, Direction::Forward, &inp, fcfg, knobs);
            }
        }
    }
}

/// What recalibrating the ADC ranges during training needs: the settings, the instances'
/// knobs and one fixed calibration batch (host copies).
pub struct Recalibration {
    pub xb: Xbar,
    /// The DFA feedback arrays' settings, when they are quantized arrays.
    pub fx: Option<Xbar>,
    pub knobs: Vec<Knobs>,
    pub act: Activation,
    pub rule: Rule,
    pub x: Vec<f32>,
    pub labels: Vec<u32>,
}

impl Recalibration {
    /// Recalibrates every instance of `layers` (and `feedback`) on the arrays as they are now:
    /// the cells are read back, calibrated on the host and the new ranges set on the backend.
    pub fn run(
        &self,
        be: &mut dyn crate::backend::Backend,
        layers: &[crate::backend::XbarId],
        feedback: Option<crate::backend::XbarId>,
        signed_inputs: &[bool],
    ) {
        let mut cells: Vec<Vec<LayerCells>> = layers.iter().map(|id| be.xbar_cells(*id)).collect();
        let mut fb: Option<Vec<LayerCells>> = feedback.map(|id| be.xbar_cells(id));
        for (p, k) in self.knobs.iter().enumerate() {
            let mut mine: Vec<LayerCells> = cells.iter().map(|c| c[p].clone()).collect();
            let f = fb.as_mut().map(|f| &mut f[p]).zip(self.fx.as_ref());
            calibrate_instance(
                &mut mine,
                f,
                &self.xb,
                k,
                self.act,
                signed_inputs,
                self.rule,
                &self.x,
                &self.labels,
            );
            for (l, c) in mine.into_iter().enumerate() {
                cells[l][p] = c;
            }
        }
        let ranges = |c: &[LayerCells]| -> Vec<[Option<AdcRange>; 2]> {
            c.iter()
                .map(|l| {
                    [
                        l.adc_range(Direction::Forward),
                        l.adc_range(Direction::Transposed),
                    ]
                })
                .collect()
        };
        for (id, c) in layers.iter().zip(&cells) {
            be.xbar_set_adc(*id, &ranges(c));
        }
        if let (Some(id), Some(f)) = (feedback, fb) {
            be.xbar_set_adc(id, &ranges(&f));
        }
    }
}
