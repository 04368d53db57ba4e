//! The command line, configs, data loaders, hostile inputs and the module order.
//! One test binary per topic: each binary links the whole crate.

#[path = "../common/mod.rs"]
mod common;

mod commands;
mod config_errors;
mod configs;
mod data_loaders;
mod eval_cost;
mod fuzz_readers;
mod hardening;
mod module_order;
mod ux;
