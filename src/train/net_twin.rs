//! Calibrating ADC ranges on a one-instance CPU twin of the network, run on the first images
//! of a calibration set.

use super::net::{Hyper, Net};
use super::net_cells::{collect, install, install_feedback, Cells};
use super::net_dfa;
use super::net_xbar::calibration_rows;
use crate::backend::*;
use crate::config::{ExperimentConfig, Rule};
use crate::cpu::CpuBackend;
use crate::data::Dataset;
use crate::nn::model::{Layer, Model};
use crate::xbar::{Knobs, LayerCells, Xbar};

/// DFA's quantized feedback array: its settings and cells.
pub(super) type FeedbackCells<'f> = Option<(&'f Xbar, LayerCells)>;

/// The CPU twin that calibrates ADC ranges: the network on the host, every read of which
/// first calibrates its range (`net_xbar::calibrating_read`).
pub struct Twin<'a> {
    pub xb: &'a Xbar,
    pub knobs: &'a Knobs,
    /// Training: the seed of DFA's feedback (forward, loss and the learning rule's error
    /// pass, training mode); None: inference (forward in evaluation mode).
    pub seed: Option<u64>,
}

impl Twin<'_> {
    /// `cells` (and DFA's feedback array `feedback`) with ADC ranges calibrated on the first
    /// images of `calib` (`net_xbar::calibration_rows`), run through a twin of `model`.
    pub fn calibrate<'f>(
        &self,
        model: &Model,
        hyper: Hyper,
        cfg: &ExperimentConfig,
        cells: Vec<Cells>,
        feedback: FeedbackCells<'f>,
        calib: &Dataset,
    ) -> anyhow::Result<(Vec<Cells>, FeedbackCells<'f>)> {
        let conv = model.layers.iter().any(|l| matches!(l, Layer::Conv(_)));
        let rows = calibration_rows(hyper.batch, calib.len(), conv);
        let mut cpu = CpuBackend::new();
        let hyper = Hyper {
            batch: rows,
            ..hyper
        };
        let mut twin = Net::new(&mut cpu, model, hyper)?;
        let training = self.seed.is_some();
        twin.training = training;
        if let (Some(seed), Rule::Dfa) = (self.seed, cfg.train.rule) {
            let t = &cfg.train;
            net_dfa::attach(&mut cpu, &mut twin, t.dfa_scope, t.feedback, &[seed]);
        }
        let knobs = std::slice::from_ref(self.knobs);
        install(
            &mut cpu,
            &mut twin,
            cfg,
            self.xb,
            knobs,
            vec![cells],
            training,
            true,
        )?;
        let fx = feedback.as_ref().map(|(fx, _)| *fx);
        if let Some((fx, c)) = feedback {
            install_feedback(&mut cpu, &mut twin, cfg, fx, vec![c], knobs)?;
        }
        cpu.write(twin.x, &calib.images[..rows * calib.features()]);
        twin.forward(&mut cpu, rows);
        if training {
            cpu.write_u32(twin.y, &calib.labels[..rows]);
            twin.loss(&mut cpu, rows);
            twin.backward(&mut cpu, rows);
        }
        let fb = twin
            .dfa
            .as_ref()
            .and_then(|d| d.array.as_ref())
            .map(|fa| cpu.xbar_cells(fa.id).remove(0));
        Ok((collect(&mut cpu, &twin).swap_remove(0), fx.zip(fb)))
    }
}
