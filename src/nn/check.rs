//! Checks of a model: that a loaded model is the one the experiment describes, and that its
//! layers agree on shapes and every tensor has its size.

use crate::nn::arch::PoolKind;
use crate::nn::model::{Conv, ConvWeights, Layer, Model, Shortcut};
use crate::nn::pool;

impl Model {
    /// Refuses a loaded model whose architecture (layers, their shapes, pooling, batch norm,
    /// shortcuts), input or classes differ from `want`, the model the experiment describes.
    pub fn check_matches(&self, want: &Model) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.input == want.input,
            "the model's input {:?} differs from the data's shape {:?}",
            self.input,
            want.input
        );
        anyhow::ensure!(
            self.classes() == want.classes(),
            "the model has {} outputs but the data has {} classes",
            self.classes(),
            want.classes()
        );
        let desc = |m: &Model| -> Vec<String> {
            m.layers
                .iter()
                .map(|l| match l {
                    Layer::Conv(c) => format!(
                        "conv {}->{} k{} s{} p{} pool {:?} bn {} shortcut {}",
                        c.c_in,
                        c.c_out,
                        c.k,
                        c.stride,
                        c.pad,
                        c.pool,
                        c.bn.is_some(),
                        c.shortcut.as_ref().map_or("none".to_string(), |s| format!(
                            "from {} proj {}",
                            s.from,
                            s.proj.is_some()
                        ))
                    ),
                    Layer::Fc(f) => format!("fc {}->{}", f.fan_in, f.fan_out),
                })
                .collect()
        };
        let (got, exp) = (desc(self), desc(want));
        anyhow::ensure!(
            got.len() == exp.len(),
            "the model has {} weight layers, network.arch describes {}",
            got.len(),
            exp.len()
        );
        for (l, (g, e)) in got.iter().zip(&exp).enumerate() {
            anyhow::ensure!(g == e, "layer {l} is `{g}` but network.arch gives `{e}`");
        }
        Ok(())
    }

    /// Checks that consecutive layers agree on shapes and every tensor has its size.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::limits::{
            MAX_KERNEL, MAX_LAYER_WEIGHTS, MAX_PAD, MAX_SIDE, MAX_STRIDE, MAX_WIDTH,
        };
        let [c0, h0, w0] = self.input;
        anyhow::ensure!(
            (1..=MAX_WIDTH).contains(&c0)
                && (1..=MAX_SIDE).contains(&h0)
                && (1..=MAX_SIDE).contains(&w0),
            "input {:?}: allowed 1..={MAX_WIDTH} channels and 1..={MAX_SIDE} pixels a side",
            self.input
        );
        anyhow::ensure!(!self.layers.is_empty(), "the model has no layers");
        // Sizes, kernel and stride first: the shapes below divide by the stride.
        for (l, layer) in self.layers.iter().enumerate() {
            match layer {
                Layer::Conv(v) => {
                    let proj = v.shortcut.as_ref().and_then(|s| s.proj.as_deref());
                    for c in std::iter::once(v).chain(proj) {
                        anyhow::ensure!(
                            (1..=MAX_KERNEL).contains(&c.k)
                                && (1..=MAX_STRIDE).contains(&c.stride)
                                && c.pad <= MAX_PAD,
                            "layer {l}: k = {}, stride = {}, pad = {}: allowed k in \
                             1..={MAX_KERNEL}, stride in 1..={MAX_STRIDE}, pad <= {MAX_PAD}",
                            c.k,
                            c.stride,
                            c.pad
                        );
                        anyhow::ensure!(
                            (1..=MAX_WIDTH).contains(&c.c_in) && (1..=MAX_WIDTH).contains(&c.c_out),
                            "layer {l}: {} -> {} channels: allowed 1..={MAX_WIDTH}",
                            c.c_in,
                            c.c_out
                        );
                    }
                }
                Layer::Fc(f) => anyhow::ensure!(
                    f.fan_in >= 1
                        && f.fan_out >= 1
                        && (f.fan_in as u128 * f.fan_out as u128) <= MAX_LAYER_WEIGHTS as u128,
                    "layer {l}: fc {} -> {}: allowed at most {MAX_LAYER_WEIGHTS} weights",
                    f.fan_in,
                    f.fan_out
                ),
            }
        }
        // Shapes layer by layer, each checked before the next is derived from it.
        let (mut c, mut h, mut w) = (c0, h0, w0);
        for (l, layer) in self.layers.iter().enumerate() {
            match layer {
                Layer::Conv(v) => {
                    anyhow::ensure!(
                        v.c_in == c,
                        "layer {l}: conv expects {} input channels, gets {c}",
                        v.c_in
                    );
                    anyhow::ensure!(
                        h + 2 * v.pad >= v.k && w + 2 * v.pad >= v.k,
                        "layer {l}: kernel larger than its padded {h}x{w} input"
                    );
                    check_tensors(v, l)?;
                    let g = self.geom_of(v, h, w);
                    (h, w) = (g.out_h(), g.out_w());
                    if let Some(p) = v.pool {
                        anyhow::ensure!(
                            p == PoolKind::Global || (h >= 2 && w >= 2),
                            "layer {l}: cannot pool a {h}x{w} output 2x2"
                        );
                        (h, w) = pool::out_size(p, h, w);
                    }
                    c = v.c_out;
                }
                Layer::Fc(f) => {
                    anyhow::ensure!(
                        f.fan_in == c * h * w,
                        "layer {l}: fc expects {} inputs, gets {}",
                        f.fan_in,
                        c * h * w
                    );
                    anyhow::ensure!(
                        f.weight.len() == f.fan_in * f.fan_out && f.bias.len() == f.fan_out,
                        "layer {l}: weight or bias length"
                    );
                    (c, h, w) = (f.fan_out, 1, 1);
                }
            }
        }
        let dims = self.dims();
        for (l, layer) in self.layers.iter().enumerate() {
            if let Layer::Conv(v) = layer {
                if let Some(sc) = &v.shortcut {
                    self.check_shortcut(l, v, sc, &dims)?;
                }
            }
        }
        Ok(())
    }

    /// The block input (output of layer `from`) must reach layer `l`'s pre-pool output shape,
    /// directly or through the projection.
    fn check_shortcut(
        &self,
        l: usize,
        v: &Conv,
        sc: &Shortcut,
        dims: &[[usize; 3]],
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            sc.from < l,
            "layer {l}: shortcut from layer {} is not before it",
            sc.from
        );
        anyhow::ensure!(
            matches!(self.layers[sc.from], Layer::Conv(_)),
            "layer {l}: the shortcut must start at a conv layer's output"
        );
        let g = self.geom(l).unwrap();
        let want = [v.c_out, g.out_h(), g.out_w()];
        let [c, h, w] = dims[sc.from + 1];
        let got = match &sc.proj {
            None => [c, h, w],
            Some(p) => {
                anyhow::ensure!(
                    p.c_in == c && p.shortcut.is_none() && p.pool.is_none(),
                    "layer {l}: projection expects {} channels, gets {c}",
                    p.c_in
                );
                anyhow::ensure!(
                    h + 2 * p.pad >= p.k && w + 2 * p.pad >= p.k,
                    "layer {l}: projection kernel larger than its padded {h}x{w} input"
                );
                check_tensors(p, l)?;
                let pg = self.geom_of(p, h, w);
                [p.c_out, pg.out_h(), pg.out_w()]
            }
        };
        anyhow::ensure!(
            got == want,
            "layer {l}: shortcut gives {got:?}, the layer's output is {want:?}"
        );
        Ok(())
    }
}

/// Tensor lengths of a conv (weights, bias, batch norm).
fn check_tensors(v: &Conv, l: usize) -> anyhow::Result<()> {
    anyhow::ensure!(v.bias.len() == v.c_out, "layer {l}: bias length");
    if let Some(bn) = &v.bn {
        anyhow::ensure!(
            [&bn.gamma, &bn.beta, &bn.mean, &bn.var]
                .iter()
                .all(|t| t.len() == v.c_out),
            "layer {l}: batch norm length (must be {} channels)",
            v.c_out
        );
    }
    let kk = v.k * v.k;
    match &v.weights {
        ConvWeights::Dense(x) => {
            anyhow::ensure!(x.len() == v.c_out * v.c_in * kk, "layer {l}: weight length")
        }
        ConvWeights::Penni(p) => anyhow::ensure!(
            p.basis.len() == p.d * kk && p.coef.len() == v.c_out * v.c_in * p.d,
            "layer {l}: basis or coefficient length"
        ),
    }
    Ok(())
}
