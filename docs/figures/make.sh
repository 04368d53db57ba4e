#!/usr/bin/env bash
# Regenerates every table and figure of README.md from the shipped configs, on the CPU
# reference backend (a seed reproduces a run bit for bit there). Each step names the README
# section it feeds. Outputs land in docs/figures/ (reports as JSON, logs as CSV, figures as
# PNG/SVG, terminal tables as .txt). Slow steps come last; the whole script takes a few hours
# on a laptop CPU. Usage, from anywhere:
#
#   bash docs/figures/make.sh            # everything
#   bash docs/figures/make.sh demo mlp   # only the named steps (see `steps` below)
#
# VGG-8 in situ and the CIFAR-10 PENNI runs need the CIFAR-10 binaries in
# data/cifar-10-batches-bin (see README, "On a real GPU"); without them that step is skipped
# with a note.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out=docs/figures
runs="${RUNS:-target/figures}"
mkdir -p "$out" "$runs"

cargo build --release --locked
insitu() { "$root/target/release/insitu" --backend cpu --quiet "$@"; }

# README "First run": the default command's output.
step_demo() {
  insitu demo --out "$out/demo.json" | tee "$out/demo.txt"
}

# README "Results", float table: 784-256-256-10, 20 epochs.
step_mlp() {
  insitu train configs/mlp_mnist_bp.toml --out "$out/mlp_mnist_bp.json" | tee "$out/mlp_mnist_bp.txt"
  insitu train configs/mlp_mnist_dfa.toml --out "$out/mlp_mnist_dfa.json" | tee "$out/mlp_mnist_dfa.txt"
}

# README "Results", in situ on FeFET-like crossbars: 784-256-256-10, 10 epochs.
step_insitu() {
  insitu train configs/xbar_mlp_bp.toml --out "$out/xbar_mlp_bp.json" | tee "$out/xbar_mlp_bp.txt"
  insitu train configs/xbar_mlp_dfa.toml --out "$out/xbar_mlp_dfa.json" | tee "$out/xbar_mlp_dfa.txt"
}

# README figure docs/figures/robustness.png: the 240-point sweep, then the plot.
step_robustness_sweep() {
  rm -rf "$runs/robustness"
  insitu sweep configs/sweeps/robustness.toml --out "$runs/robustness"
  cp "$runs/robustness/points.csv" "$out/robustness.csv"
  step_robustness_plot
}

# The figure alone, from the shipped CSV.
step_robustness_plot() {
  for ext in png svg; do
    insitu plot "$out/robustness.csv" --x device.c2c --group train.rule \
      --where array.adc_bits=6 --where device.nl_ltp=1.75 --band std --spread bars \
      --title "BP vs DFA trained in situ: 6-bit ADC, NL 1.75/-1.46, 4 seeds (mean +- std)" \
      --out "$out/robustness.$ext"
  done
  insitu plot "$out/robustness.csv" --x device.c2c --group device.nl_ltp \
    --where array.adc_bits=6 --where train.rule=dfa --band std --spread bars \
    --title "DFA in situ: c2c x update nonlinearity (6-bit ADC, 4 seeds)" \
    --out "$out/robustness_nl.svg"
}

# README "BP vs DFA robustness" and docs/robustness.md: the hyper-parameter search on the
# validation split, then the study (3 rules x 6 chips x 4 seeds): table, CSV, figure.
step_robustness_search() {
  rm -rf "$runs/robustness_search"
  insitu robustness --search --seeds 2 --out "$runs/robustness_search" \
    | tee "$out/robustness_search.txt"
  cp "$runs/robustness_search/search.json" "$out/robustness_search.json"
}

step_robustness_study() {
  rm -rf "$runs/robustness_study"
  insitu robustness --out "$runs/robustness_study" | tee "$out/robustness_study.txt"
  for f in csv json md png svg; do
    cp "$runs/robustness_study/robustness.$f" "$out/robustness_study.$f"
  done
}

# README "Results", chip model against NeuroSim's VGG-8 figures.
step_neurosim() {
  insitu estimate configs/neurosim_vgg8_inference.toml --out "$out/neurosim_vgg8_inference.json" \
    | tee "$out/neurosim_vgg8_inference.txt"
  insitu estimate configs/neurosim_vgg8_training.toml --out "$out/neurosim_vgg8_training.json" \
    | tee "$out/neurosim_vgg8_training.txt"
}

# README "Results", BP vs DFA training step against depth (cost model only).
step_depth() {
  rm -rf "$runs/depth_cost"
  insitu sweep configs/sweeps/depth_cost.toml --out "$runs/depth_cost"
  cp "$runs/depth_cost/points.csv" "$out/depth_cost.csv"
}

# README "Results", conv net and PENNI on the embedded data.
step_penni() {
  insitu train configs/cnn_mnist.toml --out "$out/cnn_mnist.json" | tee "$out/cnn_mnist.txt"
  insitu compress configs/penni_cnn_mnist.toml --out "$out/penni_cnn_mnist.json" \
    | tee "$out/penni_cnn_mnist.txt"
}

# README "Results", conv nets on crossbars and DFA for conv nets (3 epochs each).
step_conv() {
  local e=(--set train.epochs=3)
  insitu train configs/cnn_mnist.toml "${e[@]}" --out "$out/conv_bp.json" | tee "$out/conv_bp.txt"
  insitu train configs/cnn_mnist_dfa.toml "${e[@]}" --out "$out/conv_dfa_all.json" \
    | tee "$out/conv_dfa_all.txt"
  insitu train configs/cnn_mnist_dfa.toml "${e[@]}" --set train.dfa_scope=fc_head \
    --out "$out/conv_dfa_fc_head.json" | tee "$out/conv_dfa_fc_head.txt"
  insitu train configs/cnn_mnist_dfa.toml "${e[@]}" --set network.activation=relu \
    --out "$out/conv_dfa_relu.json" | tee "$out/conv_dfa_relu.txt"
  insitu train configs/xbar_cnn_mnist.toml --out "$out/xbar_conv_bp.json" | tee "$out/xbar_conv_bp.txt"
  insitu train configs/xbar_cnn_mnist.toml --set train.rule=dfa --out "$out/xbar_conv_dfa.json" \
    | tee "$out/xbar_conv_dfa.txt"
}

# README "Results", VGG-8 in situ on CIFAR-10 files (8 images, batch 4, one epoch).
step_vgg8() {
  if [ ! -d data/cifar-10-batches-bin ]; then
    echo "note: data/cifar-10-batches-bin missing: VGG-8 in situ skipped" >&2
    return 0
  fi
  insitu train configs/xbar_vgg8_cifar.toml --set data.train_limit=8 --set data.test_limit=8 \
    --set train.batch_size=4 --set train.epochs=1 --out "$out/xbar_vgg8_cifar.json" \
    | tee "$out/xbar_vgg8_cifar.txt"
}

steps=(demo mlp insitu robustness_plot neurosim depth penni conv robustness_search
       robustness_study robustness_sweep vgg8)
if [ "$#" -gt 0 ]; then steps=("$@"); fi
for s in "${steps[@]}"; do
  echo "== $s" >&2
  "step_$s"
done
