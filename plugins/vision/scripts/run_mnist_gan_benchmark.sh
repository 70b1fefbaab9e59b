#!/usr/bin/env bash
# The MNIST CPU-scale comparison: 3 seeds × {augself-gan, diffaugment}, one torch thread each,
# the two objectives' chains side by side. Results: benchmarks/results/vision/<objective>-seed<k>.{json,log}
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=benchmarks/results/vision
mkdir -p "$OUT"
chain() {
  for seed in 0 1 2; do
    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python plugins/vision/scripts/mnist_gan_benchmark.py \
      --objective "$1" --seed "$seed" --out "$OUT" > "$OUT/$1-seed$seed.log" 2>&1
  done
}
chain augself-gan &
chain diffaugment &
wait
