//! A network's crossbar layers at work: reads (in the calibration pass first calibrating the ADC
//! range, `Backend::xbar_calibrate_read`), the programming step after each update, and the arrays'
//! activity.

use super::network::{Net, Weights};
use crate::backend::xbar::{MatView, XbarActivity, XbarId, XbarRead};
use crate::backend::*;
use crate::xbar::direction::Direction;

/// Images the ADC calibration reads: one batch, for a conv net at most `CALIBRATION_IMAGES`.
/// Every conv read of an image is P input vectors, so a few images already sample each
/// column's partial sums thousands of times; the calibration runs on the reference read, whose
/// time would otherwise grow with the batch (minutes for VGG-8 at batch 64). An FC read of an
/// image is one vector, so FC-only nets take the whole batch.
pub(super) fn calibration_rows(batch: usize, available: usize, conv: bool) -> usize {
    let cap = if conv { CALIBRATION_IMAGES } else { batch };
    batch.min(cap).min(available).max(1)
}

const CALIBRATION_IMAGES: usize = 16;

impl Net {
    /// The loss gradient's scale: 1 / rows, or 1 in the calibration pass (every read rescales
    /// its inputs, so the scale only has to be the same as the calibration's own).
    pub(super) fn loss_scale(&self, rows: usize) -> f32 {
        if self.xbar.as_ref().is_some_and(|x| x.calibrating) {
            1.0
        } else {
            1.0 / rows as f32
        }
    }

    /// `y[P][rows][out] = x[P][rows][in]` through crossbar `id` (`x` and `y` as `[P][rows][ld]`
    /// views), with the next read counter.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn xbar_read(
        &self,
        be: &mut dyn Backend,
        id: XbarId,
        dir: Direction,
        signed: bool,
        x: MatView,
        y: MatView,
        rows: usize,
    ) {
        let xs = self.xbar.as_ref().expect("crossbar layers have counters");
        let r = xs.next_read();
        let op = XbarRead {
            dir,
            signed,
            rows: rows as u32,
            read_counter: r,
        };
        if xs.calibrating {
            // The calibration pass: ranges and reads with read counter 0.
            let op = XbarRead {
                read_counter: 0,
                ..op
            };
            be.xbar_calibrate_read(id, x, y, &op);
        } else {
            be.xbar_read(id, x, y, &op);
        }
    }

    /// Programs the crossbar layers after `update`: momentum of the digital gradient (zero
    /// weights and learning rate leave no digital weights), then pulses from the step.
    pub fn program(&self, be: &mut dyn Backend) {
        let Some(xs) = &self.xbar else {
            return;
        };
        let step = xs.next_step();
        for lb in &self.layers[self.trained_from..] {
            let Weights::Xbar { id, grad, .. } = &lb.weights else {
                continue;
            };
            let sp = SgdParams {
                n: (grad.len / self.instances) as u32,
                count: grad.len as u32,
                off: 0,
                nesterov: self.hyper.nesterov as u32,
                momentum: self.hyper.momentum,
                weight_decay: self.hyper.weight_decay,
                _pad1: [0.0; 2],
            };
            // `grad.w` stays zero between steps.
            xs.program(be, *id, grad.w, grad.v, grad.g, &sp, step);
        }
    }

    /// Crossbar activity of every weight layer so far, summed over the instances (empty for
    /// float nets). A crossbar layer counts one update per programming step of all its
    /// instances; every instance's programming counts here, as if each were its own chip.
    pub fn activity(&self, be: &mut dyn Backend) -> Vec<XbarActivity> {
        let p = self.instances as u64;
        self.layers
            .iter()
            .flat_map(|lb| match &lb.weights {
                Weights::Xbar { id, .. } => {
                    let mut a = be.xbar_activity(*id);
                    a.updates *= p;
                    vec![a]
                }
                Weights::PenniXbar(px) => {
                    let mut a = vec![be.xbar_activity(px.basis)];
                    a.extend(px.coef.as_ref().map(|c| be.xbar_activity(c.id)));
                    a
                }
                _ => vec![],
            })
            .collect()
    }
}
