//! Throughput of the simulated crossbar read on the CPU: the GEMM formulation against the
//! reference loop, in cell-reads/s (each weight x input x input cycle x slice once).
//! `cargo bench --bench xbar_read`; `REPS=n` sets the repetitions of the fast path.

use std::time::Instant;

use insitu::config::parse;
use insitu::nn::init::uniform_sym;
use insitu::rng::Purpose;
use insitu::xbar::direction::Direction;
use insitu::xbar::mapping::map_weights;
use insitu::xbar::read::{packed, read_raw_reference, read_raw_with};
use insitu::xbar::read_input::ReadInput;
use insitu::xbar::{Knobs, Xbar};

struct Case {
    name: &'static str,
    sets: &'static [&'static str],
    dir: Direction,
    batch: usize,
    fan_in: usize,
    fan_out: usize,
}

fn main() -> anyhow::Result<()> {
    let reps: u32 = std::env::var("REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let cases = [
        Case {
            name: "5-bit cells, 8 bit-serial cycles, 6-bit ADC (insitu bench)",
            sets: &["array.adc_mode=\"full\""],
            dir: Direction::Forward,
            batch: 256,
            fan_in: 784,
            fan_out: 256,
        },
        Case {
            name: "same, transposed, signed 8-bit errors",
            sets: &["array.adc_mode=\"full\""],
            dir: Direction::Transposed,
            batch: 64,
            fan_in: 256,
            fan_out: 256,
        },
        Case {
            name: "8-bit cells, differential, one 8-bit pass, 9-bit ADC",
            sets: &[
                "array.adc_mode=\"full\"",
                "array.weight_bits=8",
                "array.cell_bits=8",
                "array.mapping=\"differential\"",
                "array.dac_bits=8",
                "device.levels=256",
                "array.adc_bits=9",
            ],
            dir: Direction::Forward,
            batch: 64,
            fan_in: 784,
            fan_out: 256,
        },
    ];
    for c in &cases {
        let sets: Vec<String> = c.sets.iter().map(|s| s.to_string()).collect();
        let cfg = parse(include_str!("../configs/xbar_mlp_bp.toml"), "bench", &sets)?;
        let xb = Xbar {
            array: cfg.array.clone().expect("array"),
            device: cfg.device.clone().expect("device"),
        };
        let knobs = Knobs::from_device(&xb.device, 0.1, 1);
        let w = uniform_sym(c.fan_in * c.fan_out, 1.0, 7, Purpose::Sample, 3);
        let layer = map_weights(&w, c.fan_out, c.fan_in, None, &xb, 0, 0);
        let signed = c.dir == Direction::Transposed;
        let lines = if signed { c.fan_out } else { c.fan_in };
        let x: Vec<f32> = uniform_sym(c.batch * lines, 1.0, 7, Purpose::Sample, 4)
            .iter()
            .map(|v| if signed { *v } else { v.abs() })
            .collect();
        let inp = ReadInput {
            x: &x,
            batch: c.batch,
            x_max: 1.0,
            signed,
            read_counter: 0,
        };
        let eff = packed(&layer, c.dir, &xb, &knobs);
        let geo = insitu::xbar::geometry::geometry(&layer, c.dir, &xb);
        let cell_reads = (c.batch * c.fan_in * c.fan_out * geo.cycles * geo.slices) as f64
            * if signed { 2.0 } else { 1.0 };
        read_raw_with(&layer, c.dir, &inp, &xb, &knobs, &eff); // warm-up
        let t = Instant::now();
        let mut fast = Default::default();
        for _ in 0..reps {
            fast = read_raw_with(&layer, c.dir, &inp, &xb, &knobs, &eff);
        }
        let s_fast = t.elapsed().as_secs_f64() / reps as f64;
        let t = Instant::now();
        let reference = read_raw_reference(&layer, c.dir, &inp, &xb, &knobs);
        let s_ref = t.elapsed().as_secs_f64();
        assert_eq!(fast, reference, "{}: fast path differs", c.name);
        println!(
            "{} ({:?}, batch {}, {}x{}): fast {:.2} G cell-reads/s ({:.2} ms), reference {:.2} G \
             cell-reads/s ({:.1} ms), x{:.1}",
            c.name,
            c.dir,
            c.batch,
            c.fan_in,
            c.fan_out,
            cell_reads / s_fast / 1e9,
            s_fast * 1e3,
            cell_reads / s_ref / 1e9,
            s_ref * 1e3,
            s_ref / s_fast
        );
    }
    Ok(())
}
