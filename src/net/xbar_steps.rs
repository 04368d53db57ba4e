//! The programming step of in-situ training, written once for every weight layer on crossbars:
//! the digital gradient goes through SGD's momentum (on zero weights, so no digital weights
//! are kept) and the resulting step is programmed into the cells as pulses. Also the read and
//! step counters the crossbar random streams key on, and whether reads calibrate.

use std::cell::Cell;

use crate::backend::xbar::XbarId;
use crate::backend::*;

/// Per-instance constant learning rates and the counters of a network's crossbar layers.
pub struct XbarSteps {
    /// Every read first calibrates its ADC range on the host (the calibration pass).
    pub calibrating: bool,
    /// Learning rate 0 per instance: SGD then leaves its weights untouched and the velocity
    /// holds the step.
    zero_lr: Buf,
    /// Learning rate -1 per instance: SGD on zero weights leaves the Nesterov step itself in
    /// them.
    minus_one_lr: Buf,
    reads: Cell<u32>,
    steps: Cell<u32>,
}

impl XbarSteps {
    /// Fresh counters for `instances` chips; with `calibrating`, every read first calibrates
    /// its ADC range.
    pub fn new(be: &mut dyn Backend, instances: usize, calibrating: bool) -> XbarSteps {
        let zero_lr = be.alloc(instances);
        let minus_one_lr = be.alloc(instances);
        be.write(minus_one_lr, &vec![-1.0; instances]);
        XbarSteps {
            calibrating,
            zero_lr,
            minus_one_lr,
            reads: Cell::new(0),
            steps: Cell::new(0),
        }
    }

    /// The counter of the next read (every read draws fresh noise).
    pub fn next_read(&self) -> u32 {
        self.reads.replace(self.reads.get().wrapping_add(1))
    }

    /// The counter of the next programming step, shared by every layer of that step.
    pub fn next_step(&self) -> u32 {
        self.steps.replace(self.steps.get().wrapping_add(1))
    }

    /// Momentum then programming of crossbar layer `id`: velocity `v` from gradient `g`
    /// (`sp` gives sizes, momentum and weight decay), then the step programmed as pulses.
    /// `zeros` (at least `sp.count` values) is zero before and after.
    #[allow(clippy::too_many_arguments)]
    pub fn program(
        &self,
        be: &mut dyn Backend,
        id: XbarId,
        zeros: Buf,
        v: Buf,
        g: Buf,
        sp: &SgdParams,
        step: u32,
    ) {
        if sp.nesterov != 0 {
            // Zero weights under learning rate -1 receive the Nesterov step itself, which is
            // what the cells are programmed with; then they are zeroed again.
            be.sgd(zeros, v, g, self.minus_one_lr, sp);
            be.xbar_program(id, zeros, step);
            be.fill(zeros, &FillParams::zeros(sp.count));
        } else {
            // Momentum only: zero weights and learning rates leave `zeros` untouched; the
            // velocity is the step.
            be.sgd(zeros, v, g, self.zero_lr, sp);
            be.xbar_program(id, v, step);
        }
    }
}
