#!/bin/bash
# MAE on the CIFAR-10 JPEG test images (8k train / 2k test: data.test_fraction=0.2, no val split),
# linear probe and k-NN vs the random-init twin. One seed per call: bash benchmarks/vision_mim_cifar_mae.sh 0
set -euo pipefail
s=${1:-0}
steps=${2:-110}
.venv/bin/selfsup pretrain modality=vision objective=mae dataset=image-folder data.root=data/cifar10-jpg \
  data.val_fraction=0 data.test_fraction=0.2 seed=$s trainer.max_steps=$steps trainer.batch_size=128 trainer.threads=1 \
  trainer.progress=plain 'evaluators=[linear-probe,knn]' run_dir=runs/mae-cifar-s$s
