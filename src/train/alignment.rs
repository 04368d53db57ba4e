//! DFA's alignment diagnostic: per instance and hidden weight layer, the cosine between the
//! DFA and the BP weight gradients on the first training batch.

use super::trainer::Trainer;
use crate::net::Weights;

impl Trainer<'_> {
    /// DFA's alignment: per instance and hidden weight layer, the cosine between the DFA and
    /// the BP weight gradients on the first training batch (weights untouched).
    pub fn alignment(&mut self) -> Vec<Vec<f64>> {
        let net = &mut self.net;
        let rows = net.hyper.batch.min(self.data.train.n);
        self.data
            .plain_batch(self.be, true, (net.x, net.y), 0, rows);
        net.forward(self.be, rows);
        net.loss(self.be, rows);
        // Every layer's gradient, whichever layers train.
        let trained_from = std::mem::take(&mut net.trained_from);
        let mut grads = Vec::new();
        for bp in [true, false] {
            let dfa = if bp { net.dfa.take() } else { None };
            net.backward(self.be, rows);
            if dfa.is_some() {
                net.dfa = dfa;
            }
            let hidden = &net.layers[..net.layers.len() - 1];
            let g: Vec<Vec<f32>> = hidden
                .iter()
                .filter_map(|lb| match &lb.weights {
                    Weights::Dense(p) | Weights::Xbar { grad: p, .. } => Some(p.g),
                    _ => None,
                })
                .map(|g| self.be.read(g))
                .collect();
            grads.push(g);
        }
        net.trained_from = trained_from;
        let p = net.instances;
        (0..p)
            .map(|j| {
                grads[0]
                    .iter()
                    .zip(&grads[1])
                    .map(|(a, b)| {
                        let per = a.len() / p;
                        let span = j * per..(j + 1) * per;
                        cosine(&a[span.clone()], &b[span])
                    })
                    .collect()
            })
            .collect()
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        ab += *x as f64 * *y as f64;
        aa += *x as f64 * *x as f64;
        bb += *y as f64 * *y as f64;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}
