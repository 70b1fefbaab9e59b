#!/usr/bin/env bash
# The MNIST CPU-scale comparison: 3 seeds × {augself-gan, diffaugment}, one torch thread each,
# all six runs side by side (niced). Results: benchmarks/results/vision/<objective>-seed<k>.{json,log}
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=benchmarks/results/vision
mkdir -p "$OUT"
for objective in augself-gan diffaugment; do
  for seed in 0 1 2; do
    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python plugins/vision/scripts/mnist_gan_benchmark.py \
      --objective "$objective" --seed "$seed" --out "$OUT" > "$OUT/$objective-seed$seed.log" 2>&1 &
  done
done
wait
