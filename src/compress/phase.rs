//! PENNI's training stages (retrain, fine-tune) on the shared epoch loop
//! ([`crate::train::epochs::run_epochs`]): the trainer's steps, with each epoch's learning rate
//! from `[compress]` and which PENNI tensors train set per phase (`Trainer::epoch_start`).

use super::config::CompressConfig;
use crate::backend::Backend;
use crate::config::ExperimentConfig;
use crate::data::Split;
use crate::net::Weights;
use crate::nn::model::Model;
use crate::report::{EpochRecord, RunReport};
use crate::train::epochs;
use crate::train::trainer::{self, Trainer};
use crate::train::RunOptions;

/// Which PENNI tensors train during an epoch.
#[derive(Clone, Copy)]
pub enum Phase {
    /// L1 on coefficients; bases and coefficients alternate.
    Retrain,
    /// Masks hold pruned coefficients (and dead channels' bias, gamma, beta) at zero.
    FineTune,
}

/// Trains `model` through `phase` (`masks`: per layer, the fine-tune masks of coefficients and
/// of channels); returns the trained model, the training seconds and the per-epoch records.
#[allow(clippy::too_many_arguments)]
pub fn train_phase(
    be: &mut dyn Backend,
    cfg: &ExperimentConfig,
    cc: &CompressConfig,
    model: &Model,
    split: &Split,
    phase: Phase,
    masks: &[Option<(Vec<f32>, Vec<f32>)>],
    label: &str,
) -> anyhow::Result<(Model, f64, Vec<EpochRecord>)> {
    let (epochs, lr0) = match phase {
        Phase::Retrain => (cc.retrain_epochs, cc.lr),
        Phase::FineTune => (cc.finetune_epochs, cc.finetune_lr),
    };
    let adapter = be.describe();
    let hyper = trainer::hyper(cfg, split.train.len());
    let mut t = Trainer::new(be, model, hyper, split, cfg.seed)?;
    t.set_augment(&cfg.data)?;
    for (lb, m) in t.net.layers.iter_mut().zip(masks) {
        let (Some((cm, bm)), Weights::Penni { coef, .. }) = (m, &mut lb.weights) else {
            continue;
        };
        let cbuf = t.be.alloc(cm.len());
        t.be.write(cbuf, cm);
        coef.mask = Some(cbuf);
        let bbuf = t.be.alloc(bm.len());
        t.be.write(bbuf, bm);
        lb.bias.mask = Some(bbuf);
        if let Some(bn) = &mut lb.bn {
            bn.gamma.mask = Some(bbuf);
            bn.beta.mask = Some(bbuf);
        }
    }
    let mut phase_cfg = cfg.clone();
    phase_cfg.train.epochs = epochs;
    phase_cfg.population.clear();
    let mut report = RunReport::start(adapter, &phase_cfg, &[(cfg.seed, lr0)]);
    let opts = RunOptions {
        progress: true,
        label: label.into(),
        ..Default::default()
    };
    let cc = cc.clone();
    t.epoch_start = Some(Box::new(move |be, net, epoch| {
        net.set_lr(be, cc.lr_at(lr0, epoch, epochs) as f32);
        let coef_turn = (epoch / cc.alternate).is_multiple_of(2);
        let retrain = matches!(phase, Phase::Retrain);
        for lb in &mut net.layers {
            if let Weights::Penni { basis, coef, .. } = &mut lb.weights {
                coef.trainable = !retrain || coef_turn;
                basis.trainable = !retrain || !coef_turn;
                coef.l1 = if retrain { cc.lambda as f32 } else { 0.0 };
            }
        }
    }));
    epochs::run_epochs(&mut t, &phase_cfg, split.train.len(), &opts, &mut report)?;
    let inst = report.instances.swap_remove(0);
    if let Some(d) = inst.diverged {
        anyhow::bail!("{label}: {d}");
    }
    for e in inst.epochs.iter().filter(|_| !crate::progress::quiet()) {
        eprintln!(
            "  {label} epoch {}/{epochs}: loss {:.4}, train accuracy {:.2}%, test accuracy {:.2}%",
            e.epoch,
            e.train_loss,
            100.0 * e.train_accuracy,
            100.0 * e.test_accuracy
        );
    }
    let secs = inst.epochs.iter().map(|e| e.seconds).sum();
    Ok((t.model(), secs, inst.epochs))
}
