//! A population's spread: mean, standard deviation, min and max across its instances.

use serde::Serialize;

/// Mean and spread of one number across the instances of a population.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub mean: f64,
    /// Sample standard deviation (n - 1; 0 for one instance).
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Stats {
    pub fn of(values: &[f64]) -> Stats {
        let n = values.len();
        if n == 0 {
            let nan = f64::NAN;
            return Stats {
                mean: nan,
                std: nan,
                min: nan,
                max: nan,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        Stats {
            mean,
            std: (squares / (n - 1).max(1) as f64).sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n,
        }
    }
}

/// A population's final numbers across its instances.
#[derive(Debug, Clone, Serialize)]
pub struct Spread {
    pub test_accuracy: Stats,
    pub train_loss: Stats,
    pub train_accuracy: Stats,
}
