//! A network's crossbar layers at work: reads (in the calibration pass first calibrating the
//! ADC range on the host twin), the programming step after each update, and the arrays'
//! activity.

use super::net::{Net, Weights};
use crate::backend::xbar::{MatView, XbarActivity, XbarId, XbarRead};
use crate::backend::*;
use crate::xbar::read::{calibrate_read_with, Direction, ReadInput};

/// Images the ADC calibration reads: one batch, for a conv net at most `CALIBRATION_IMAGES`.
/// Every conv read of an image is P input vectors, so a few images already sample each
/// column's partial sums thousands of times; the calibration runs on the CPU reference, whose
/// time would otherwise grow with the batch (minutes for VGG-8 at batch 64). An FC read of an
/// image is one vector, so FC-only nets take the whole batch.
pub(super) fn calibration_rows(batch: usize, available: usize, conv: bool) -> usize {
    let cap = if conv { CALIBRATION_IMAGES } else { batch };
    batch.min(cap).min(available).max(1)
}

const CALIBRATION_IMAGES: usize = 16;

/// The read of the calibration pass on the host twin: `dir`'s ADC range is calibrated on the
/// read's inputs, then they are read through it (`calibrate_read_with`, with read counter 0 as
/// the ranges are calibrated). False, leaving the read to the backend, for inputs out of range
/// (a diverged twin: the read gives NaN).
#[allow(clippy::too_many_arguments)]
fn calibrating_read(
    be: &mut dyn Backend,
    id: XbarId,
    dir: Direction,
    signed: bool,
    (x, x_ld): (Buf, usize),
    (y, y_ld): (Buf, usize),
    rows: usize,
) -> bool {
    let v = be.read(x);
    let v = &v[..rows * x_ld];
    let range = input_range(v, signed);
    if !range.is_finite() {
        return false;
    }
    let inp = ReadInput {
        x: v,
        batch: rows,
        x_max: range,
        signed,
        read_counter: 0,
    };
    let hx = &mut be.host_xbars()[id.0];
    hx.cache.resize_with(hx.layers.len(), Default::default);
    let eff = hx.cache[0].get(&hx.layers[0], dir, &hx.cfg, &hx.knobs[0]);
    let (out, _) = calibrate_read_with(&mut hx.layers[0], dir, &inp, &hx.cfg, &hx.knobs[0], eff);
    debug_assert_eq!(out.len(), rows * y_ld);
    be.write(y, &out);
    true
}

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
        if xs.calibrating {
            // The calibration pass runs on a one-instance twin.
            debug_assert_eq!(self.instances, 1);
            let (x, y) = ((x.buf, x.ld as usize), (y.buf, y.ld as usize));
            if calibrating_read(be, id, dir, signed, x, y, rows) {
                return;
            }
        }
        let op = XbarRead {
            dir,
            signed,
            rows: rows as u32,
            read_counter: r,
        };
        be.xbar_read(id, x, y, &op);
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
