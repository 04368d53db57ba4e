//! Training: MLP and conv networks, in situ, optimisers, gradients, model files, evaluation, PENNI.
//! One test binary per topic: each binary links the whole crate.

#[path = "../common/mod.rs"]
mod common;

mod cnn;
mod cnn_gradients;
mod cnn_insitu;
mod cnn_population;
mod conv_feedback;
mod eval_data;
mod insitu;
mod mlp;
mod model_io_roundtrip;
mod optimizer;
mod penni_bn;
mod penni_memory;
mod penni_transform;
mod penni_xbar;
mod resnet;
