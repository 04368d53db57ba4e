//! The training step as a task graph: per layer FW (forward read), AG (error), WG (weight
//! gradient) and WU (programming). BP's AG is a chain of transposed reads from the top layer down;
//! DFA's AG fans out from the output error through fixed feedback arrays (under `dfa_scope =
//! "fc_head"` to the hidden FC layers, and BP's chain carries the first FC layer's error down the
//! conv stack). The step latency is the
//! critical path of the graph under shared resources: a layer's arrays do one thing at a time (FW,
//! AG, an in-array update or WU), each feedback array serves its layer, and each weight-gradient
//! unit (with its DRAM channel) serves the layers assigned to it: all of them when shared.
//!
//! With the outer-product update, every image's update (UPD) is applied in the arrays right after
//! its error is known, and the next image must see the updated weights. BP keeps that order
//! strictly: its transposed read of a layer must use the weights its own forward pass used, and
//! an analog array cannot keep an old copy. DFA's error does not read the forward weights, so with
//! pipelining a layer may take the next image before this image's update has reached it (the
//! update lands a few images late), and the layers work on different images at once.

use serde::{Deserialize, Serialize};

/// Learning rule, as far as the chip is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Bp,
    Dfa,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rule::Bp => "BP",
            Rule::Dfa => "DFA",
        })
    }
}

/// Duration of every node kind, per image (FW, AG, FB, WG) or per step (WU), seconds.
#[derive(Debug, Clone)]
pub struct Durations {
    /// Forward read of layer l.
    pub fw: Vec<f64>,
    /// BP: transposed read of layer l producing the error of layer l - 1 (entry 0 unused).
    pub ag: Vec<f64>,
    /// DFA: feedback read producing the error of hidden layer l (used from `dfa_chain_top` up,
    /// last entry unused).
    pub fb: Vec<f64>,
    /// Weight gradient of layer l (WG unit and DRAM).
    pub wg: Vec<f64>,
    /// Programming of layer l once per step (on its weight-gradient unit's buffer).
    pub wu: Vec<f64>,
    /// In-array outer-product update of layer l for one image (outer-product update only).
    pub upd: Vec<f64>,
    /// DFA (`dfa_reach::chain_top`): the layer whose error the transposed reads of arrays
    /// `dfa_chain_top` down to 1 carry into the layers below it, as BP's chain; 0: none.
    pub dfa_chain_top: usize,
}

/// The training-step architecture: which resources exist and which orders are enforced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arch {
    /// The weight-gradient unit serving each layer (all 0: one shared unit). Ignored with the
    /// outer-product update.
    pub wg_unit: Vec<usize>,
    /// Updates are applied per image in the arrays (UPD nodes) instead of WG + WU.
    pub outer_product: bool,
    /// Images overlap across layers.
    pub pipeline: bool,
}

impl Arch {
    /// One shared unit, batched updates, one image in the arrays at a time.
    pub fn shared(layers: usize) -> Self {
        Self {
            wg_unit: vec![0; layers],
            outer_product: false,
            pipeline: false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Res {
    Array(usize),
    Feedback(usize),
    Wg(usize),
}

struct Graph {
    layers: usize,
    finish: Vec<f64>,
    /// Busy intervals of every resource, sorted and disjoint.
    busy: Vec<Vec<(f64, f64)>>,
}

impl Graph {
    fn new(layers: usize) -> Self {
        Self {
            layers,
            finish: Vec::new(),
            // Arrays, feedback arrays, and up to one weight-gradient unit per layer.
            busy: vec![Vec::new(); 3 * layers],
        }
    }

    /// Adds a node after `deps` on `res`, at the earliest time its resource is free for its
    /// whole duration (a later node may fill an earlier gap: a pipelined layer reads the next
    /// image while it waits for this image's error). Returns its id.
    fn node(&mut self, dur: f64, res: Res, deps: &[usize]) -> usize {
        let slot = match res {
            Res::Array(l) => l,
            Res::Feedback(l) => self.layers + l,
            Res::Wg(u) => 2 * self.layers + u.min(self.layers - 1),
        };
        let ready = deps.iter().map(|&d| self.finish[d]).fold(0.0, f64::max);
        let busy = &mut self.busy[slot];
        let mut start = ready;
        // The first interval that ends after `ready`, then the first gap that fits.
        let mut i = busy.partition_point(|&(_, end)| end <= ready);
        while i < busy.len() && start + dur > busy[i].0 {
            start = start.max(busy[i].1);
            i += 1;
        }
        let end = start + dur;
        if dur > 0.0 {
            // Merge with touching neighbours: back-to-back work stays one interval, which keeps
            // the search short.
            let joins_prev = i > 0 && busy[i - 1].1 == start;
            let joins_next = i < busy.len() && busy[i].0 == end;
            match (joins_prev, joins_next) {
                (true, true) => {
                    busy[i - 1].1 = busy[i].1;
                    busy.remove(i);
                }
                (true, false) => busy[i - 1].1 = end,
                (false, true) => busy[i].0 = start,
                (false, false) => busy.insert(i, (start, end)),
            }
        }
        self.finish.push(end);
        self.finish.len() - 1
    }

    fn makespan(&self) -> f64 {
        self.finish.iter().copied().fold(0.0, f64::max)
    }
}

/// Adds the backward nodes of one image after its forward pass ends at node `top`; returns, per
/// layer, the node after which that layer's error is known, and the reads of each layer's
/// arrays (BP's transposed reads).
fn backward(
    g: &mut Graph,
    d: &Durations,
    rule: Rule,
    top: usize,
) -> (Vec<usize>, Vec<Option<usize>>) {
    let n = d.fw.len();
    let mut ready = vec![top; n];
    let mut reads = vec![None; n];
    match rule {
        Rule::Bp => {
            let mut prev = top;
            for l in (1..n).rev() {
                prev = g.node(d.ag[l], Res::Array(l), &[prev]);
                ready[l - 1] = prev;
                reads[l] = Some(prev);
            }
        }
        Rule::Dfa => {
            let first = d.dfa_chain_top;
            let hidden = n.saturating_sub(1);
            for (l, slot) in ready.iter_mut().enumerate().take(hidden).skip(first) {
                *slot = g.node(d.fb[l], Res::Feedback(l), &[top]);
            }
            // `fc_head`: BP's chain below the first FC layer, once its error is known.
            let mut prev = ready[first];
            for l in (1..=first).rev() {
                prev = g.node(d.ag[l], Res::Array(l), &[prev]);
                ready[l - 1] = prev;
                reads[l] = Some(prev);
            }
        }
    }
    (ready, reads)
}

/// Latency of one training step of `batch` images.
pub fn step_latency(d: &Durations, rule: Rule, batch: usize, arch: &Arch) -> f64 {
    let n = d.fw.len();
    let mut g = Graph::new(n);
    let mut wg_nodes: Vec<Vec<usize>> = vec![Vec::new(); n];
    // Nodes of the previous image that use the arrays, and its update of each layer.
    let mut last_image: Vec<usize> = Vec::new();
    let mut last_upd: Vec<Option<usize>> = vec![None; n];
    // DFA may run ahead of its own updates; BP must see them (module comment), and so must
    // the arrays DFA reads transposed.
    let in_order =
        |l: usize| arch.outer_product && (rule == Rule::Bp || (1..=d.dfa_chain_top).contains(&l));
    for _ in 0..batch.max(1) {
        let mut prev: Option<usize> = None;
        let mut used = Vec::new();
        for (l, (&fw, &upd)) in d.fw.iter().zip(&last_upd).enumerate() {
            let mut deps: Vec<usize> = prev.into_iter().collect();
            if l == 0 && !arch.pipeline {
                deps.extend(last_image.iter().copied());
            }
            if in_order(l) {
                deps.extend(upd);
            }
            let id = g.node(fw, Res::Array(l), &deps);
            used.push(id);
            prev = Some(id);
        }
        let top = prev.expect("at least one layer");
        let (ready, reads) = backward(&mut g, d, rule, top);
        used.extend(reads.iter().flatten().copied());
        if rule == Rule::Dfa {
            // The feedback reads end the image's use of the chip's read path.
            used.extend(ready.iter().copied());
        }
        if arch.outer_product {
            // The top layer's error is known first: update from the top down.
            for l in (0..n).rev() {
                let mut deps = vec![ready[l]];
                deps.extend(reads[l]);
                let id = g.node(d.upd[l], Res::Array(l), &deps);
                last_upd[l] = Some(id);
                used.push(id);
            }
        } else {
            for l in (0..n).rev() {
                let id = g.node(d.wg[l], Res::Wg(arch.wg_unit[l]), &[ready[l]]);
                wg_nodes[l].push(id);
            }
        }
        last_image = used;
    }
    if !arch.outer_product {
        // Programming streams pulse counts from the unit's gradient buffer: the layers a unit
        // serves are programmed one after another.
        for (l, deps) in wg_nodes.iter().enumerate() {
            g.node(d.wu[l], Res::Wg(arch.wg_unit[l]), deps);
        }
    }
    g.makespan()
}

/// Latency of the error phase of one image alone: BP's chain or DFA's fan-out.
pub fn backward_latency(d: &Durations, rule: Rule) -> f64 {
    let n = d.fw.len();
    let mut g = Graph::new(n);
    let top = g.node(0.0, Res::Wg(0), &[]);
    backward(&mut g, d, rule, top);
    g.makespan()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn equal(n: usize) -> Durations {
        Durations {
            fw: vec![1.0; n],
            ag: vec![1.0; n],
            fb: vec![1.0; n],
            wg: vec![0.5; n],
            wu: vec![2.0; n],
            upd: vec![1.0; n],
            dfa_chain_top: 0,
        }
    }

    #[test]
    fn bp_chain_and_dfa_fanout() {
        for n in 2..9 {
            let d = equal(n);
            assert_eq!(backward_latency(&d, Rule::Bp), (n - 1) as f64);
            assert_eq!(backward_latency(&d, Rule::Dfa), 1.0);
        }
    }

    #[test]
    fn one_image_step_is_the_critical_path() {
        let d = equal(3);
        // FW 3, BP chain 2, the WG of layer 0 (0.5), then the shared unit's buffer programs the
        // three layers one after another (3 x 2).
        assert_eq!(step_latency(&d, Rule::Bp, 1, &Arch::shared(3)), 11.5);
        // DFA: FW 3, feedback 1, WG queue on one unit: 3 x 0.5 after t = 3 or 4, WU 3 x 2.
        assert!(step_latency(&d, Rule::Dfa, 1, &Arch::shared(3)) < 11.5);
        let piped = Arch {
            pipeline: true,
            ..Arch::shared(3)
        };
        assert!(
            step_latency(&d, Rule::Bp, 8, &piped) < step_latency(&d, Rule::Bp, 8, &Arch::shared(3))
        );
    }

    #[test]
    fn pipelined_outer_product_gives_dfa_about_n() {
        // Equal reads and updates: BP's period is N FW + (N - 1) AG + UPD = 2N, DFA's pipelined
        // period is FW + UPD = 2, so the speed-up approaches N for a long batch.
        for n in [2usize, 4, 8] {
            let d = equal(n);
            let arch = Arch {
                wg_unit: vec![0; n],
                outer_product: true,
                pipeline: true,
            };
            let bp = step_latency(&d, Rule::Bp, 64, &arch);
            let dfa = step_latency(&d, Rule::Dfa, 64, &arch);
            assert_eq!(bp, 64.0 * 2.0 * n as f64);
            let speedup = bp / dfa;
            assert!(
                speedup > 0.8 * n as f64 && speedup <= n as f64,
                "{n}: {speedup}"
            );
            // Without pipelining DFA keeps its forward pass in the period: below 2x.
            let serial = Arch {
                pipeline: false,
                ..arch
            };
            let s =
                step_latency(&d, Rule::Bp, 64, &serial) / step_latency(&d, Rule::Dfa, 64, &serial);
            assert!(s < 2.0, "{n}: {s}");
        }
    }

    #[test]
    fn a_later_node_fills_an_earlier_gap() {
        let mut g = Graph::new(1);
        let a = g.node(1.0, Res::Array(0), &[]);
        let late = g.node(0.0, Res::Feedback(0), &[]);
        g.finish[late] = 5.0;
        // Reserved at [5, 6]; a node ready at 1 still runs in the gap [1, 2].
        g.node(1.0, Res::Array(0), &[late]);
        let fill = g.node(1.0, Res::Array(0), &[a]);
        assert_eq!(g.finish[fill], 2.0);
        // A node too long for the gap goes after the reservation.
        let long = g.node(4.0, Res::Array(0), &[a]);
        assert_eq!(g.finish[long], 10.0);
    }
}
