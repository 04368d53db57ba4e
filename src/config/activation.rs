//! What a unit and the output compute: the `network.activation` and `train.loss` choices. The
//! discriminants are the codes the shaders switch on.

use serde::{Deserialize, Serialize};

/// Activation functions, by the code the shaders switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Identity = 0,
    Relu = 1,
    Tanh = 2,
    Sigmoid = 3,
}

/// Loss kinds, by shader code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    CrossEntropy = 0,
    Mse = 1,
}
