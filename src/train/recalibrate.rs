//! Recalibrating the `calibrated` ADC ranges during training (every
//! `array.adc_recalibrate_steps` steps or every epoch): each instance's cells are read back
//! and run through its twin (`net::twin`) on the fixed calibration batch.

use super::trainer::Trainer;
use crate::net::attach;
use crate::net::cells::{collect, Cells};
use crate::net::twin::Twin;
use crate::net::Weights;
use crate::nn::model::Layer;
use crate::xbar::direction::Direction;

impl Trainer<'_> {
    /// Recalibrates the `calibrated` ADC ranges on the arrays as they are now: every
    /// instance's cells are read back and its twin (biases left out, as at the start of
    /// training) run on the calibration batch; the new ranges are set on the backend.
    pub(super) fn recalibrate(&mut self) {
        let Some(r) = &self.recal else {
            return;
        };
        let cfg = &r.cfg;
        let xb = cfg.xbar(cfg.array.as_ref().expect("recalibration needs [array]"));
        let insts = cfg.instances();
        let net = &self.net;
        // Per weight layer (and the feedback array last), every instance's new ranges.
        let mut ranges: Vec<Vec<_>> = vec![Vec::new(); net.layers.len() + 1];
        // Every instance's cells, read back once per layer.
        let all_cells = collect(self.be, net);
        let fx = attach::feedback_xbar(cfg, net).expect("checked in attach");
        let fa = net.dfa.as_ref().and_then(|d| d.array.as_ref());
        let mut all_fb = fa.map(|fa| self.be.xbar_cells(fa.id).into_iter());
        for (i, cells) in all_cells.into_iter().enumerate() {
            let k = crate::net::mapping::knobs(cfg, &insts[i], self.seeds[i]);
            let mut model = net.to_model_at(self.be, i);
            for layer in &mut model.layers {
                match layer {
                    Layer::Fc(f) => f.bias.fill(0.0),
                    Layer::Conv(c) => c.bias.fill(0.0),
                }
            }
            let fb = fx.as_ref().zip(all_fb.as_mut().and_then(Iterator::next));
            let t = Twin {
                xb: &xb,
                knobs: &k,
                seed: Some(self.seeds[i]),
            };
            let (cells, fb) = t
                .calibrate(self.be, &model, net.hyper, cfg, cells, fb, &r.calib)
                .expect("the twin was built when the arrays were attached");
            let pair = |c: &crate::xbar::LayerCells| {
                [
                    c.adc_range(Direction::Forward),
                    c.adc_range(Direction::Transposed),
                ]
            };
            for (l, c) in cells.iter().enumerate() {
                if let Cells::Dense(c) = c {
                    ranges[l].push(pair(c));
                }
            }
            if let Some((_, c)) = fb {
                ranges[net.layers.len()].push(pair(&c));
            }
        }
        for (lb, r) in net.layers.iter().zip(&ranges) {
            if let Weights::Xbar { id, .. } = &lb.weights {
                self.be.xbar_set_adc(*id, r);
            }
        }
        if let Some(fa) = net.dfa.as_ref().and_then(|d| d.array.as_ref()) {
            if !ranges[net.layers.len()].is_empty() {
                self.be.xbar_set_adc(fa.id, &ranges[net.layers.len()]);
            }
        }
    }
}
