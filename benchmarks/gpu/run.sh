#!/usr/bin/env bash
# The prepared GPU run (benchmarks/gpu/gpu_bench.py): on a machine with one CUDA GPU, from a fresh
# copy of the repository, in under 8 minutes. Sets up the environment (scripts/setup.sh) unless
# .venv is already there, then runs every stage and writes gpu_run.json and gpu_run.md.
#   bash benchmarks/gpu/run.sh [--dry-run] [--out DIR] [--only stage,stage]
# --dry-run: every stage on the CPU at toy sizes (CI runs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
exec .venv/bin/python benchmarks/gpu/gpu_bench.py "$@"
