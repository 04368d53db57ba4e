//! An MLP run as a model file: instance 0's layers as fully connected layers of a
//! [`Model`], and on crossbars the conductances they were programmed to.

use std::path::Path;

use super::run::Trainer;
use crate::nn::model::{Fc, Layer, Model};
use crate::xbar::LayerCells;

impl Trainer<'_> {
    /// Instance 0's network on `input` images, with every crossbar layer's programmed cells
    /// (in-situ runs; the weights are then the ones the cells decode to).
    pub fn model(&mut self, input: [usize; 3]) -> (Model, Vec<(usize, LayerCells)>) {
        let sizes = self.net.spec.sizes.clone();
        let ids = self.net.xbar.as_ref().map(|x| x.layers.clone());
        let mut layers = Vec::new();
        let mut cells = Vec::new();
        for l in 0..sizes.len() - 1 {
            let (fan_in, fan_out) = (sizes[l], sizes[l + 1]);
            let weight = match &ids {
                Some(ids) => {
                    let c = self.be.xbar_cells(ids[l]).swap_remove(0);
                    let w = c.decode_weights();
                    cells.push((l, c));
                    w
                }
                None => self.be.read(self.net.w[l])[..fan_in * fan_out].to_vec(),
            };
            let bias = self.be.read(self.net.b[l])[..fan_out].to_vec();
            layers.push(Layer::Fc(Fc {
                fan_in,
                fan_out,
                weight,
                bias,
            }));
        }
        (Model { input, layers }, cells)
    }

    /// Writes [`Trainer::model`] to `path` (atomically).
    pub fn save(&mut self, input: [usize; 3], path: &Path) -> anyhow::Result<()> {
        let (model, cells) = self.model(input);
        crate::model_io::save_with_cells(&model, &cells, path)
    }
}
