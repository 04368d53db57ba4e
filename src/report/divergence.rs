//! Where a run's training loss diverged, how often it is checked, and the exit status it gives.

use serde::Serialize;

/// Where a run's training loss diverged: the first check that saw it, the loss being the mean
/// over the epoch's steps so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    /// 1-based epoch and step within it.
    pub epoch: u32,
    pub step: usize,
    pub loss: f64,
    pub reason: String,
}

/// Steps between two reads of the loss accumulators (a read waits for the backend).
pub const CHECK_EVERY: usize = 16;

impl Divergence {
    /// The divergence that `loss` (mean so far) shows at `step` of `epoch` (0-based), if any.
    pub fn check(loss: f64, max_loss: f64, epoch: u32, step: usize) -> Option<Divergence> {
        let reason = if !loss.is_finite() {
            "training loss is not finite".to_string()
        } else if loss > max_loss {
            format!("training loss passed train.max_loss = {max_loss}")
        } else {
            return None;
        };
        Some(Divergence {
            epoch: epoch + 1,
            step,
            loss,
            reason,
        })
    }
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) at epoch {} step {}",
            self.reason, self.loss, self.epoch, self.step
        )
    }
}

/// Exit status of a run whose training diverged (1 is any other error).
pub const EXIT_DIVERGED: i32 = 3;
