//! The training step as a task graph: per layer FW (forward read), AG (error), WG (weight
//! gradient) and WU (programming). BP's AG is a chain of transposed reads from the top layer down;
//! DFA's AG fans out from the output error through fixed feedback arrays. The step latency is the
//! critical path of the graph under shared resources: a layer's arrays do one read at a time (FW
//! or AG or WU), each feedback array serves its layer, and one weight-gradient unit (with its DRAM
//! channel) serves every layer.

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
    /// DFA: feedback read producing the error of hidden layer l (last entry unused).
    pub fb: Vec<f64>,
    /// Weight gradient of layer l (WG unit and DRAM).
    pub wg: Vec<f64>,
    /// Programming of layer l once per step.
    pub wu: Vec<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Res {
    Array(usize),
    Feedback(usize),
    Wg,
}

struct Graph {
    layers: usize,
    finish: Vec<f64>,
    free: Vec<f64>,
}

impl Graph {
    fn new(layers: usize) -> Self {
        Self {
            layers,
            finish: Vec::new(),
            free: vec![0.0; 2 * layers + 1],
        }
    }

    /// Adds a node after `deps` on `res`; list scheduling in insertion order. Returns its id.
    fn node(&mut self, dur: f64, res: Res, deps: &[usize]) -> usize {
        let slot = match res {
            Res::Array(l) => l,
            Res::Feedback(l) => self.layers + l,
            Res::Wg => 2 * self.layers,
        };
        let ready = deps.iter().map(|&d| self.finish[d]).fold(0.0, f64::max);
        let start = ready.max(self.free[slot]);
        let end = start + dur;
        self.free[slot] = end;
        self.finish.push(end);
        self.finish.len() - 1
    }

    fn makespan(&self) -> f64 {
        self.finish.iter().copied().fold(0.0, f64::max)
    }
}

/// Adds the backward nodes of one image after its forward pass ends at node `top`; returns, per
/// layer, the node after which that layer's error is known, and the nodes that use the arrays.
fn backward(g: &mut Graph, d: &Durations, rule: Rule, top: usize) -> (Vec<usize>, Vec<usize>) {
    let n = d.fw.len();
    let mut ready = vec![top; n];
    let mut reads = Vec::new();
    match rule {
        Rule::Bp => {
            let mut prev = top;
            for l in (1..n).rev() {
                prev = g.node(d.ag[l], Res::Array(l), &[prev]);
                ready[l - 1] = prev;
                reads.push(prev);
            }
        }
        Rule::Dfa => {
            for (l, slot) in ready.iter_mut().enumerate().take(n.saturating_sub(1)) {
                let id = g.node(d.fb[l], Res::Feedback(l), &[top]);
                *slot = id;
                reads.push(id);
            }
        }
    }
    (ready, reads)
}

/// Latency of one training step of `batch` images. `pipelined`: a layer's arrays take the next
/// image as soon as they are free; otherwise one image is in the arrays at a time.
pub fn step_latency(d: &Durations, rule: Rule, batch: usize, pipelined: bool) -> f64 {
    let n = d.fw.len();
    let mut g = Graph::new(n);
    let mut wg_nodes: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut last_image: Vec<usize> = Vec::new();
    for _ in 0..batch.max(1) {
        let mut prev: Option<usize> = None;
        for l in 0..n {
            let mut deps: Vec<usize> = prev.into_iter().collect();
            if l == 0 && !pipelined {
                deps.extend(last_image.iter().copied());
            }
            prev = Some(g.node(d.fw[l], Res::Array(l), &deps));
        }
        let top = prev.expect("at least one layer");
        let (ready, reads) = backward(&mut g, d, rule, top);
        last_image = if reads.is_empty() { vec![top] } else { reads };
        // The top layer's error is known first: queue its gradient first.
        for l in (0..n).rev() {
            let id = g.node(d.wg[l], Res::Wg, &[ready[l]]);
            wg_nodes[l].push(id);
        }
    }
    for (l, deps) in wg_nodes.iter().enumerate() {
        g.node(d.wu[l], Res::Array(l), deps);
    }
    g.makespan()
}

/// Latency of the error phase of one image alone: BP's chain or DFA's fan-out.
pub fn backward_latency(d: &Durations, rule: Rule) -> f64 {
    let n = d.fw.len();
    let mut g = Graph::new(n);
    let top = g.node(0.0, Res::Wg, &[]);
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
        // FW 3, BP chain 2, then the WG of layer 0 (0.5) and its WU (2).
        assert_eq!(step_latency(&d, Rule::Bp, 1, false), 7.5);
        // DFA: FW 3, feedback 1, WG queue on one unit: 3 x 0.5 after t = 3 or 4, WU 2.
        assert!(step_latency(&d, Rule::Dfa, 1, false) < 7.5);
        assert!(step_latency(&d, Rule::Bp, 8, true) < step_latency(&d, Rule::Bp, 8, false));
    }
}
