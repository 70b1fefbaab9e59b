#!/bin/bash
# MAE on the CIFAR-10 JPEG test images with the sibling issue's split (dataset cifar10-jpg: 8,000 train /
# 2,000 test, split_seed 0), linear probe and k-NN vs the random-init twin.
# One seed per call: bash benchmarks/vision_mim_cifar_mae.sh SEED [STEPS]
set -euo pipefail
s=${1:-0}
steps=${2:-360}
nice -n 10 .venv/bin/selfsup pretrain modality=vision objective=mae dataset=cifar10-jpg data.root=data/cifar10-jpg \
  seed=$s trainer.max_steps=$steps trainer.batch_size=128 trainer.threads=1 \
  trainer.progress=plain 'evaluators=[linear-probe,knn]' run_dir=runs/mae-cifar-s$s
