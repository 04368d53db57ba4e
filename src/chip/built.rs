//! The chip built for an estimate request: the request validated, its layers mapped onto
//! subarrays and tiles, the inference chip floorplanned, and the layers' forward read cost that
//! the inference and training tallies share.

use super::activity::{self, LayerActivity};
use super::blocks::{adc::Adc, interconnect, neurosim_fit};
use super::config::{ChipConfig, FloorplanMode, NeurosimVersion};
use super::dfa_reach;
use super::error::ChipError;
use super::floorplan::{self, FloorplanInput};
use super::mapping::{map_matrix, replication_plan, MatrixMap};
use super::neurosim_cycles::{self, Datapath};
use super::neurosim_plan::{self, NsPlan, PlanInput};
use super::schedule::Rule;
use super::sizing;
use super::tally::{Cost, Ctx, ReadOp};
use super::tech::{ReadMode, Tech};
use crate::config::{ArrayConfig, DeviceConfig, DfaScope};
use crate::nn::arch::LayerShape;

/// The training run whose per-step and per-epoch cost is wanted.
#[derive(Debug, Clone, Copy)]
pub struct TrainingWorkload {
    pub batch: usize,
    pub samples_per_epoch: usize,
    pub rule: Rule,
    /// Output classes: the width of DFA's output error.
    pub classes: usize,
    /// The layers DFA reaches through feedback arrays (`train.dfa_scope`); the DFA figures of
    /// a BP run use it too.
    pub dfa_scope: DfaScope,
}

pub struct EstimateRequest<'a> {
    pub chip: &'a ChipConfig,
    pub array: &'a ArrayConfig,
    pub device: &'a DeviceConfig,
    pub layers: &'a [LayerShape],
    /// Measured activity per layer; `None` uses the typical estimate (`activity::typical`).
    pub activity: Option<&'a [LayerActivity]>,
    pub training: Option<TrainingWorkload>,
}

/// Everything derived from the request that the tallies share.
pub(crate) struct Built<'a> {
    pub tech: Tech,
    pub req: &'a EstimateRequest<'a>,
    pub maps: Vec<MatrixMap>,
    /// DFA feedback arrays of the hidden layers in scope, per layer (training only).
    pub feedback: Vec<Option<MatrixMap>>,
    /// DFA: arrays `1..=dfa_chain_top` are read transposed (`dfa_reach::chain_top`).
    pub dfa_chain_top: usize,
    pub plan: floorplan::Floorplan,
    pub activity: Vec<LayerActivity>,
    /// Output positions each layer reads per image (`sizing::read_positions`).
    pub reads: Vec<f64>,
    /// NeuroSim's floorplan (the `neurosim` mode).
    pub ns: Option<NsPlan>,
}

impl Built<'_> {
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx {
            tech: &self.tech,
            array: self.req.array,
            device: self.req.device,
            chip: self.req.chip,
            plan: &self.plan,
        }
    }

    /// Forward read of layer `l` for one image.
    pub fn forward(&self, l: usize) -> Cost {
        let s = &self.req.layers[l];
        let a = self.req.array;
        let act = &self.activity[l];
        let cost = self.ctx().read(&ReadOp {
            map: &self.maps[l],
            transposed: false,
            reads: self.reads[l],
            in_bits: a.input_bits,
            signed: false,
            density: act.input_density,
            adc_bits: a.adc_bits,
            in_values: s.inputs() as f64,
            out_values: s.outputs() as f64,
            out_bits: a.input_bits,
            level: activity::TYPICAL_WEIGHT_LEVEL,
            conversions_measured: Some(act.adc_conversions),
            pool: s.pool,
            activation: true,
        });
        match &self.ns {
            Some(ns) => self.synchronous_latency(ns, l, cost),
            None => cost,
        }
    }

    /// NeuroSim's latency: the layer's clock cycles (`neurosim_cycles`) times the clock of the
    /// sensing path (V1.4), or the fitted time of a buffer line (V2.1); leakage over that time.
    fn synchronous_latency(&self, ns: &NsPlan, l: usize, mut cost: Cost) -> Cost {
        // Novel mapping reads every kernel tap's PE on its own: ceil(C_in / rows) row blocks per
        // tap instead of ceil(k^2 C_in / rows) for the unrolled matrix.
        let a = self.req.array;
        let s = &self.req.layers[l];
        if ns.layers[l].novel && s.k > 1 {
            let r = a.rows as usize;
            let per_tap = s.k * s.k * s.c_in.div_ceil(r);
            let unrolled = s.fan_in.div_ceil(r);
            let f = per_tap as f64 / unrolled.max(1) as f64;
            cost.energy.adc *= f;
            cost.conversions *= f;
        }
        self.with_cycle_latency(ns, l, a.adc_bits, cost)
    }

    /// `cost` with the latency of layer `l`'s NeuroSim cycles at `adc_bits` (and leakage over
    /// it). BP's transposed read takes the same cycles as the forward read: NeuroSim mirrors the
    /// forward data path (same tiles, positions and bit-serial inputs) for the error read.
    pub(crate) fn with_cycle_latency(
        &self,
        ns: &NsPlan,
        l: usize,
        adc_bits: u32,
        mut cost: Cost,
    ) -> Cost {
        let (a, chip) = (self.req.array, self.req.chip);
        let dp = Datapath {
            sub_rows: a.rows as usize,
            input_bits: a.input_bits,
            adc_bits,
            cell_bits: a.cell_bits,
            parallel_rows: a.parallel_rows as usize,
            mux: a.mux as usize,
            pipelined: chip.pipelined,
        };
        let bus = neurosim_cycles::chip_bus(ns, self.req.layers, &dp);
        let clk = neurosim_fit::clock_period(self.tech.node.f_nm, &self.tech.memory, a.adc_bits)
            * match chip.neurosim_version {
                NeurosimVersion::V1_4 => 1.0,
                NeurosimVersion::V2_1 => neurosim_fit::V2_1_LINE_FACTOR,
            };
        // A chip-bus transfer crosses half the tile grid horizontally (inputs) or vertically
        // (outputs): whole cycles of its repeated-wire delay.
        let side = self.plan.tile.total().sqrt();
        let hop = |tiles: f64| {
            let len = side * tiles.max(0.0);
            if len > 0.0 {
                (interconnect::repeated_delay(&self.tech, len) / clk).ceil()
            } else {
                0.0
            }
        };
        let h = bus.grid_cols.div_ceil(2) as f64;
        let v = bus.grid_rows as f64 - bus.grid_rows.div_ceil(2) as f64 - 1.0;
        let cycles = neurosim_cycles::layer_cycles(
            ns,
            &bus,
            &dp,
            &self.req.layers[l],
            l,
            self.reads[l],
            (hop(h), hop(v)),
        );
        cost.latency = cycles.total() * clk;
        cost.energy.leakage = cost.latency
            * (self.maps[l].tiles as f64 * self.plan.tile_leakage + self.plan.global_leakage);
        cost
    }
}

fn request_error(msg: String) -> ChipError {
    ChipError::Request(msg)
}

pub(crate) fn build<'a>(req: &'a EstimateRequest<'a>) -> Result<Built<'a>, ChipError> {
    req.chip.validate()?;
    req.array.validate()?;
    req.device.validate()?;
    if req.layers.is_empty() {
        return Err(request_error(
            "the network has no weight layer to map".into(),
        ));
    }
    for s in req.layers {
        if s.fan_in == 0 || s.fan_out == 0 || s.positions == 0 {
            return Err(request_error(format!(
                "layer {}: fan_in {}, fan_out {}, positions {} must all be >= 1",
                s.name, s.fan_in, s.fan_out, s.positions
            )));
        }
    }
    let tech = Tech::resolve(req.chip, req.device)?;
    if tech.cell.read == ReadMode::Capacitive && req.array.cell_bits != 1 {
        return Err(ChipError::Config(crate::config::ConfigError::Invalid {
            field: "array.cell_bits".into(),
            value: req.array.cell_bits.to_string(),
            allowed: format!("1 for memory {} (a bitcell holds one bit)", tech.memory),
        }));
    }
    if let Some(w) = req.training {
        if w.batch == 0 || w.samples_per_epoch == 0 || w.classes == 0 {
            return Err(request_error(format!(
                "training workload: batch {}, samples_per_epoch {}, classes {} must all be >= 1",
                w.batch, w.samples_per_epoch, w.classes
            )));
        }
    }
    let neurosim = req.chip.floorplan == FloorplanMode::Neurosim;
    let positions: Vec<usize> = req.layers.iter().map(|s| s.positions).collect();
    let a = req.array;
    let ns = neurosim.then(|| {
        neurosim_plan::plan(&PlanInput {
            layers: req.layers,
            sub_rows: a.rows as usize,
            sub_cols: a.cols as usize,
            weight_bits: a.weight_bits,
            cell_bits: a.cell_bits,
            novel: req.chip.novel_mapping,
            pipelined: req.chip.pipelined,
            degree: if req.chip.speedup {
                req.chip.replication as usize
            } else {
                1
            },
        })
    });
    let repl = if neurosim {
        vec![1; req.layers.len()]
    } else {
        replication_plan(&positions, req.chip)
    };
    let reads: Vec<f64> = req
        .layers
        .iter()
        .map(|s| sizing::read_positions(s, neurosim) as f64)
        .collect();
    let mut maps: Vec<MatrixMap> = req
        .layers
        .iter()
        .zip(&repl)
        .map(|(s, &r)| map_matrix(s.fan_in, s.fan_out, a.weight_bits, a, req.chip, r))
        .collect();
    if let Some(ns) = &ns {
        // NeuroSim's placement: its tiles, and the copies of small layers in their idle PEs
        // and subarrays.
        for (m, lp) in maps.iter_mut().zip(&ns.layers) {
            let (pe, pes) = if lp.novel {
                (ns.pe_novel, ns.pes_novel.max(1))
            } else {
                (ns.pe_conv, (ns.tile_conv / ns.pe_conv.max(1)).pow(2))
            };
            let subs_per_tile = (pe / a.rows as usize).max(1).pow(2) * pes;
            m.replication = lp.speedup;
            m.subarrays_used *= lp.speedup;
            m.cells_used *= lp.speedup;
            m.tiles = lp.tiles();
            m.subarrays_allocated = m.tiles * subs_per_tile;
            m.utilisation = (m.cells_used as f64
                / (m.subarrays_allocated * (a.rows * a.cols) as usize) as f64)
                .min(1.0);
        }
    }
    let n = req.layers.len();
    let dfa_chain_top = req
        .training
        .map_or(0, |w| dfa_reach::chain_top(req.layers, w.dfa_scope));
    let feedback: Vec<Option<MatrixMap>> = match req.training {
        Some(w) => {
            let bits = if a.feedback_bits == 0 {
                a.weight_bits
            } else {
                a.feedback_bits
            };
            let cell_bits = a.cell_bits.min(bits);
            let fb_array = ArrayConfig {
                cell_bits,
                ..a.clone()
            };
            req.layers[..n - 1]
                .iter()
                .enumerate()
                .map(|(l, s)| {
                    dfa_reach::has_feedback(l, n, dfa_chain_top)
                        .then(|| map_matrix(w.classes, s.outputs(), bits, &fb_array, req.chip, 1))
                })
                .collect()
        }
        None => Vec::new(),
    };
    // The inference chip; the training chip adds to it (`training_chip`).
    let plan = floorplan::build(&FloorplanInput {
        tech: &tech,
        array: a,
        chip: req.chip,
        maps: &maps,
        feedback: &[],
        wg: None,
        adc: Adc {
            bits: a.adc_bits,
            kind: req.chip.adc_type,
        },
        layers: req.layers,
        ns: ns.as_ref(),
    });
    let activity = match req.activity {
        Some(acts) => {
            if acts.len() != req.layers.len() {
                return Err(request_error(format!(
                    "activity has {} layers, the network {}",
                    acts.len(),
                    req.layers.len()
                )));
            }
            for (act, s) in acts.iter().zip(req.layers) {
                act.validate(&s.name).map_err(request_error)?;
            }
            acts.to_vec()
        }
        None => {
            let cells: Vec<f64> = maps.iter().map(|m| (m.rows * m.data_cols) as f64).collect();
            activity::typical(req.layers, req.device, &cells)
        }
    };
    Ok(Built {
        tech,
        req,
        maps,
        feedback,
        dfa_chain_top,
        plan,
        activity,
        reads,
        ns,
    })
}
