//! Checks of a whole experiment: each section, and the rules across sections, so that every
//! command refuses a bad experiment the same way.

use super::arch;
use super::data::Source;
use super::error::{check, ConfigError};
use super::experiment::{data_shape, ExperimentConfig, Init, Rule};
use super::shape;
use super::wage::TrainMode;
use super::wage_mode::check_mode;

impl ExperimentConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        // A file source's missing `data.path` is reported when data is loaded, so that
        // shape-only commands (`insitu estimate`) work without the files.
        if self.data.path.is_some() || self.data.source == Source::Mnist5k {
            self.data.validate()?;
        }
        self.data.validate_augment(self.network.input)?;
        let n = &self.network;
        check(
            "network.hidden",
            format!("{:?}", n.hidden),
            n.hidden.iter().all(|&h| (1..=65536).contains(&h)),
            "widths in 1..=65536",
        )?;
        self.check_arch()?;
        check(
            "network.init",
            "\"zero\"",
            n.init != Init::Zero || self.train.rule == Rule::Dfa,
            "\"he\" or \"xavier\" with train.rule = \"bp\" (zero init only learns with DFA)",
        )?;
        let t = &self.train;
        check(
            "train.epochs",
            t.epochs,
            (1..=100_000).contains(&t.epochs),
            "1..=100000",
        )?;
        check(
            "train.batch_size",
            t.batch_size,
            (1..=65536).contains(&t.batch_size),
            "1..=65536",
        )?;
        let o = &self.optimizer;
        check("optimizer.lr", o.lr, o.lr > 0.0 && o.lr.is_finite(), "> 0")?;
        check(
            "optimizer.momentum",
            o.momentum,
            (0.0..1.0).contains(&o.momentum),
            "[0, 1)",
        )?;
        check(
            "optimizer.weight_decay",
            o.weight_decay,
            (0.0..1.0).contains(&o.weight_decay),
            "[0, 1)",
        )?;
        check(
            "optimizer.lr_drops",
            format!("{:?}", o.lr_drops),
            o.lr_drops.iter().all(|f| *f > 0.0 && *f < 1.0),
            "fractions of train.epochs in (0, 1)",
        )?;
        check(
            "optimizer.lr_decay",
            o.lr_decay,
            o.lr_decay > 0.0 && o.lr_decay <= 1.0,
            "(0, 1]",
        )?;
        check(
            "optimizer.nesterov",
            o.nesterov,
            !o.nesterov || o.momentum > 0.0,
            "false when optimizer.momentum = 0 (Nesterov needs momentum)",
        )?;
        check(
            "optimizer.lr_drops",
            format!("{:?}", o.lr_drops),
            o.lr_drops.is_empty() || self.array.is_none(),
            "empty with [array] (in-situ training programs cells at a fixed learning rate)",
        )?;
        check(
            "population",
            format!("{} entries", self.population.len()),
            self.population.len() <= 4096,
            "at most 4096 instances",
        )?;
        for (i, inst) in self.population.iter().enumerate() {
            if let Some(lr) = inst.lr {
                check(
                    &format!("population[{i}].lr"),
                    lr,
                    lr > 0.0 && lr.is_finite(),
                    "> 0",
                )?;
            }
            for (name, v) in [
                ("c2c", inst.c2c),
                ("d2d", inst.d2d),
                ("read_noise", inst.read_noise),
            ] {
                if let Some(v) = v {
                    check(
                        &format!("population[{i}].{name}"),
                        v,
                        (0.0..=1.0).contains(&v),
                        "0..=1",
                    )?;
                }
            }
            let knobs = [
                inst.c2c,
                inst.d2d,
                inst.read_noise,
                inst.nl_ltp,
                inst.nl_ltd,
            ];
            check(
                &format!("population[{i}]"),
                "device knobs (c2c, d2d, read_noise, nl_ltp, nl_ltd)",
                self.array.is_some() || knobs.iter().all(Option::is_none),
                "only seed and lr without [array] (device knobs apply to crossbar runs)",
            )?;
            for (name, v) in [("nl_ltp", inst.nl_ltp), ("nl_ltd", inst.nl_ltd)] {
                if let Some(v) = v {
                    check(
                        &format!("population[{i}].{name}"),
                        v,
                        v.abs() <= 9.0,
                        "|NL| <= 9",
                    )?;
                }
            }
        }
        check(
            "train.max_loss",
            t.max_loss,
            t.max_loss > 0.0 && t.max_loss.is_finite(),
            "> 0, finite",
        )?;
        check(
            "train.weight_range",
            t.weight_range,
            t.weight_range > 0.0 && t.weight_range <= 100.0,
            "(0, 100]",
        )?;
        if let Some(c) = &self.chip {
            c.validate()?;
        }
        if let Some(c) = &self.compress {
            c.validate()?;
        }
        check_mode(self)?;
        if let Some(a) = &self.array {
            // In-situ training adds its own check (one cell per weight) when it maps weights.
            self.xbar(a).validate(false)?;
        } else if self.device.is_some() && self.train.mode == TrainMode::Standard {
            return Err(ConfigError::Parse(
                "[device] is given without [array]: add an [array] section to train on crossbars"
                    .into(),
            ));
        }
        Ok(())
    }

    /// `network.arch` parses (and, with `network.input`, its shapes infer), and an MLP's
    /// weights fit the size limits, so every command refuses a bad network the same way.
    fn check_arch(&self) -> Result<(), ConfigError> {
        let n = &self.network;
        if let Some(a) = &n.arch {
            let specs = arch::parse(a)?;
            if let Some(input) = n.input {
                shape::shapes(&specs, input)?;
            }
            return Ok(());
        }
        let (input, _) = data_shape(self);
        let p = self.population.len().max(1);
        let mut widths = vec![input.iter().product()];
        widths.extend(&n.hidden);
        for (l, w) in widths.windows(2).enumerate() {
            crate::limits::at_most(
                "network.hidden",
                &format!(
                    "weights of layer {} ({} x {}, {p} instances)",
                    l + 1,
                    w[0],
                    w[1]
                ),
                crate::limits::product(&[w[0], w[1], p]),
                crate::limits::MAX_LAYER_WEIGHTS as u128,
            )?;
        }
        Ok(())
    }
}
