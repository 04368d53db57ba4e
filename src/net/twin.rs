//! Calibrating ADC ranges on a one-instance twin of the network, run on the first images of a
//! calibration set.

use super::cells::{collect, install, install_feedback, Cells};
use super::dfa;
use super::instances::Hyper;
use super::network::Net;
use super::xbar::calibration_rows;
use crate::backend::*;
use crate::config::{ExperimentConfig, Rule};
use crate::cpu::CpuBackend;
use crate::data::Dataset;
use crate::nn::model::{Layer, Model};
use crate::xbar::{Knobs, LayerCells, Xbar};

/// DFA's quantized feedback array: its settings and cells.
pub(super) type FeedbackCells<'f> = Option<(&'f Xbar, LayerCells)>;

/// The twin that calibrates ADC ranges: a copy of the network every read of which first
/// calibrates its range (`Backend::xbar_calibrate_read`). It runs on the backend itself where
/// that calibrates on the device and the reads carry no read noise (so the ranges are the
/// host's), freed afterwards; else on a host `CpuBackend`.
pub struct Twin<'a> {
    pub xb: &'a Xbar,
    pub knobs: &'a Knobs,
    /// Training: the seed of DFA's feedback (forward, loss and the learning rule's error
    /// pass, training mode); None: inference (forward in evaluation mode).
    pub seed: Option<u64>,
}

impl Twin<'_> {
    /// `cells` (and DFA's feedback array `feedback`) with ADC ranges calibrated on the first
    /// images of `calib` (`xbar::calibration_rows`), run through a twin of `model`.
    #[allow(clippy::too_many_arguments)]
    pub fn calibrate<'f>(
        &self,
        be: &mut dyn Backend,
        model: &Model,
        hyper: Hyper,
        cfg: &ExperimentConfig,
        cells: Vec<Cells>,
        feedback: FeedbackCells<'f>,
        calib: &Dataset,
    ) -> anyhow::Result<(Vec<Cells>, FeedbackCells<'f>)> {
        let conv = model.layers.iter().any(|l| matches!(l, Layer::Conv(_)));
        let rows = calibration_rows(hyper.batch, calib.len(), conv);
        let mut host = CpuBackend::new();
        let on_device = be.calibrates_on_device() && self.knobs.read_noise == 0.0;
        let cpu: &mut dyn Backend = if on_device { be } else { &mut host };
        let mark = cpu.mark();
        let hyper = Hyper {
            batch: rows,
            ..hyper
        };
        let mut twin = Net::new(cpu, model, hyper)?;
        let training = self.seed.is_some();
        twin.training = training;
        if let (Some(seed), Rule::Dfa) = (self.seed, cfg.train.rule) {
            let t = &cfg.train;
            dfa::attach(cpu, &mut twin, t.dfa_scope, t.feedback, &[seed]);
        }
        let knobs = std::slice::from_ref(self.knobs);
        install(
            cpu,
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
            install_feedback(cpu, &mut twin, cfg, fx, vec![c], knobs)?;
        }
        cpu.write(twin.x, &calib.images[..rows * calib.features()]);
        twin.forward(cpu, rows);
        if training {
            cpu.write_u32(twin.y, &calib.labels[..rows]);
            twin.loss(cpu, rows);
            twin.backward(cpu, rows);
        }
        let fb = twin
            .dfa
            .as_ref()
            .and_then(|d| d.array.as_ref())
            .map(|fa| cpu.xbar_cells(fa.id).remove(0));
        let cells = collect(cpu, &twin).swap_remove(0);
        cpu.release(mark);
        Ok((cells, fx.zip(fb)))
    }
}
