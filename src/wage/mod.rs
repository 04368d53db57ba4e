//! NeuroSim mode (`train.mode = "neurosim"`, docs/neurosim-mode.md): a ReLU MLP trained as
//! DNN+NeuroSim V2.1 trains its networks, with WAGE's quantizers ([`quant`]) in digital
//! forward and backward passes ([`mlp`]) and NeuroSim's device update law ([`update_law`]).
//! It is a model of its own that runs on training's shared epoch loop ([`run`]).

pub mod mlp;
pub mod quant;
pub mod run;
pub mod update_law;

pub use mlp::WageMlp;
pub use run::run_on;
