#!/usr/bin/env bash
# Set everything up, then pretrain T-JEPA on the embedded Adult sample and print its evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/selfsup pretrain modality=tabular "$@"
