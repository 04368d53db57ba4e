//! Expanding axes into points: grid, zip or random combinations, each repeated per seed.

use anyhow::bail;

use super::id::point_id;
use super::spec::{AxisSpec, Mode, Sweep};

/// One point of a sweep: the overrides on top of the base and `[set]`, and its instance seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Position in the expanded sweep (the order of the grid, seeds innermost).
    pub index: usize,
    pub id: String,
    pub overrides: Vec<(String, toml::Value)>,
    pub seed: Option<u64>,
}

impl Point {
    /// `key=value` strings for `config::parse`.
    pub fn sets(&self) -> Vec<String> {
        self.overrides
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// Short description for messages: `#3 (device.c2c=0.1, seed=2)`.
    pub fn label(&self) -> String {
        let mut parts = self.sets();
        if let Some(s) = self.seed {
            parts.push(format!("seed={s}"));
        }
        format!("point #{} [{}] ({})", self.index, self.id, parts.join(", "))
    }
}

/// All points of the sweep, in index order.
pub fn expand(sweep: &Sweep) -> anyhow::Result<Vec<Point>> {
    let spec = &sweep.spec;
    let origin = sweep.path.display();
    let mut axes: Vec<(Vec<String>, &AxisSpec)> = Vec::new();
    for (i, a) in spec.axis.iter().enumerate() {
        let keys = a.keys();
        if keys.is_empty() || (a.key.is_some() && a.keys.is_some()) {
            bail!("{origin}: axis {i}: give exactly one of `key = \"...\"` or `keys = [...]`");
        }
        if keys.iter().any(|k| k == "seed") {
            bail!("{origin}: axis {i}: sweep seeds with `seeds = [...]`, not an axis on `seed`");
        }
        for k in &keys {
            if axes.iter().any(|(ks, _)| ks.contains(k)) {
                bail!("{origin}: axis {i}: key `{k}` appears in two axes");
            }
        }
        axes.push((keys, a));
    }
    count_points(spec, &axes, &origin.to_string())?;
    let combos = match spec.mode {
        Mode::Grid => grid(&axes, &origin.to_string())?,
        Mode::Zip => zip(&axes, &origin.to_string())?,
        Mode::Random => random(&axes, spec.samples, spec.seed, &origin.to_string())?,
    };
    let seeds: Vec<Option<u64>> = match &spec.seeds {
        Some(s) if s.list().is_empty() => bail!("{origin}: seeds: give at least one seed"),
        Some(s) => s.list().into_iter().map(Some).collect(),
        None => vec![None],
    };
    let mut points = Vec::with_capacity(combos.len() * seeds.len());
    for combo in combos {
        for &seed in &seeds {
            points.push(Point {
                index: points.len(),
                id: point_id(&combo, seed),
                overrides: combo.clone(),
                seed,
            });
        }
    }
    let mut seen = std::collections::HashMap::new();
    for p in &points {
        let mut key: Vec<String> = p
            .overrides
            .iter()
            .map(|(k, v)| format!("{k}={}", canonical(v)))
            .collect();
        key.sort();
        key.push(format!("{:?}", p.seed));
        if let Some(first) = seen.insert(key, p.index) {
            bail!(
                "{origin}: {} repeats point #{first}: every point must differ",
                p.label()
            );
        }
    }
    Ok(points)
}

type Combo = Vec<(String, toml::Value)>;

/// Refuses a sweep of more than `limits::MAX_POINTS` points before expanding it.
fn count_points(
    spec: &super::spec::SpecFile,
    axes: &[(Vec<String>, &AxisSpec)],
    origin: &str,
) -> anyhow::Result<()> {
    let max = crate::limits::MAX_POINTS as u128;
    let seeds = match &spec.seeds {
        Some(super::spec::Seeds::Count(n)) => *n as u128,
        Some(super::spec::Seeds::List(v)) => v.len() as u128,
        None => 1,
    };
    let lens = axes
        .iter()
        .map(|(_, a)| a.values.as_ref().map_or(0, Vec::len) as u128);
    let combos: u128 = match spec.mode {
        Mode::Grid => lens.fold(1u128, |a, n| a.saturating_mul(n)),
        Mode::Zip => lens.max().unwrap_or(1),
        Mode::Random => spec.samples.unwrap_or(0) as u128,
    };
    let points = combos.saturating_mul(seeds);
    if seeds > max || combos > max || points > max {
        bail!(
            "{origin}: the sweep has {} x {seeds} seeds = {points} points: at most {max} \
             (split it into several sweeps)",
            combos
        );
    }
    Ok(())
}

/// A value with integers and integral floats written alike, so `0` and `0.0` are one point.
fn canonical(v: &toml::Value) -> String {
    match v {
        toml::Value::Integer(i) => format!("{}", *i as f64),
        toml::Value::Float(f) => format!("{f}"),
        toml::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// An axis's values as one override list per value.
fn listed(keys: &[String], a: &AxisSpec, origin: &str) -> anyhow::Result<Vec<Combo>> {
    let Some(values) = &a.values else {
        bail!(
            "{origin}: axis `{}`: `values = [...]` is required in grid and zip modes",
            keys.join(",")
        );
    };
    if values.is_empty() {
        bail!("{origin}: axis `{}`: values is empty", keys.join(","));
    }
    values.iter().map(|v| split(keys, v, origin)).collect()
}

/// One value of an axis: a scalar for one key, an array of one entry per key for several.
fn split(keys: &[String], v: &toml::Value, origin: &str) -> anyhow::Result<Combo> {
    if keys.len() == 1 {
        return Ok(vec![(keys[0].clone(), v.clone())]);
    }
    match v.as_array() {
        Some(items) if items.len() == keys.len() => {
            Ok(keys.iter().cloned().zip(items.iter().cloned()).collect())
        }
        _ => bail!(
            "{origin}: axis `{}`: value {v} must be an array of {} entries, one per key",
            keys.join(","),
            keys.len()
        ),
    }
}

fn grid(axes: &[(Vec<String>, &AxisSpec)], origin: &str) -> anyhow::Result<Vec<Combo>> {
    let mut out: Vec<Combo> = vec![vec![]];
    for (keys, a) in axes {
        let vals = listed(keys, a, origin)?;
        out = out
            .into_iter()
            .flat_map(|c| {
                vals.iter().map(move |v| {
                    let mut c = c.clone();
                    c.extend(v.iter().cloned());
                    c
                })
            })
            .collect();
    }
    Ok(out)
}

fn zip(axes: &[(Vec<String>, &AxisSpec)], origin: &str) -> anyhow::Result<Vec<Combo>> {
    let lists: Vec<Vec<Combo>> = axes
        .iter()
        .map(|(k, a)| listed(k, a, origin))
        .collect::<anyhow::Result<_>>()?;
    let Some(n) = lists.first().map(|l| l.len()) else {
        return Ok(vec![vec![]]);
    };
    for ((keys, _), l) in axes.iter().zip(&lists) {
        if l.len() != n {
            bail!(
                "{origin}: mode = \"zip\": axis `{}` has {} values, the first axis has {n}",
                keys.join(","),
                l.len()
            );
        }
    }
    Ok((0..n)
        .map(|i| lists.iter().flat_map(|l| l[i].clone()).collect())
        .collect())
}

/// SplitMix64: a fixed, tiny generator, so that a random sweep expands identically everywhere.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(state: &mut u64) -> f64 {
    (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64
}

fn random(
    axes: &[(Vec<String>, &AxisSpec)],
    samples: Option<usize>,
    seed: u64,
    origin: &str,
) -> anyhow::Result<Vec<Combo>> {
    let Some(n) = samples.filter(|&n| n > 0) else {
        bail!("{origin}: mode = \"random\" needs `samples = N` (N >= 1)");
    };
    let mut state = seed;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut combo = Vec::new();
        for (keys, a) in axes {
            let label = keys.join(",");
            let v = match (&a.range, &a.values) {
                (Some(r), None) => draw(r, a.log, &mut state, &label, origin)?,
                (None, Some(vals)) if !vals.is_empty() => {
                    vals[(unit(&mut state) * vals.len() as f64) as usize % vals.len()].clone()
                }
                _ => bail!(
                    "{origin}: axis `{label}`: mode = \"random\" needs exactly one of \
                     `range = [lo, hi]` or a non-empty `values`"
                ),
            };
            combo.extend(split(keys, &v, origin)?);
        }
        out.push(combo);
    }
    Ok(out)
}

/// A draw from `range`: integers when both bounds are integers, log-uniform when `log`.
fn draw(
    range: &[toml::Value],
    log: bool,
    state: &mut u64,
    label: &str,
    origin: &str,
) -> anyhow::Result<toml::Value> {
    let num = |v: &toml::Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
    let (lo, hi) = match range {
        [a, b] => match (num(a), num(b)) {
            (Some(a), Some(b)) if a <= b => (a, b),
            _ => bail!("{origin}: axis `{label}`: range must be [lo, hi] numbers with lo <= hi"),
        },
        _ => bail!("{origin}: axis `{label}`: range must have two entries [lo, hi]"),
    };
    if log && lo <= 0.0 {
        bail!("{origin}: axis `{label}`: log = true needs a range above 0");
    }
    let u = unit(state);
    let integers = range.iter().all(|v| v.is_integer());
    Ok(if integers {
        let (lo, hi) = (lo as i64, hi as i64);
        let x = if log {
            ((lo as f64).ln() + u * ((hi as f64 + 1.0).ln() - (lo as f64).ln())).exp() as i64
        } else {
            lo + (u * (hi - lo + 1) as f64) as i64
        };
        toml::Value::Integer(x.clamp(lo, hi))
    } else if log {
        toml::Value::Float((lo.ln() + u * (hi.ln() - lo.ln())).exp())
    } else {
        toml::Value::Float(lo + u * (hi - lo))
    })
}
