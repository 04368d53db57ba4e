//! Crossbar physics: the read, the ADC, noise, devices and their spread.
//! One test binary per topic: each binary links the whole crate.

#[path = "../common/mod.rs"]
mod common;

mod adc_recalibrate;
mod calibrate_read;
mod device;
mod device_spread;
mod fast_read;
mod models;
mod noise;
mod panels;
mod read;
