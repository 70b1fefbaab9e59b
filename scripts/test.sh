#!/usr/bin/env bash
# Set everything up, then run every test: the core, each plugin and the example plugin.
# --durations=30: every log (CI's included) ends with the 30 slowest tests, so the suite's
# budget (docs/testing.md, "The suite's budget") can be watched run by run.
# -n auto --maxprocesses 4: one pytest-xdist worker per core (2 in CI), at most 4 (each holds torch
# and every plugin). --dist worksteal hands each worker one contiguous half of the suite (so a
# module-scoped fixture, such as a trained run, is mostly built once) and lets an idle worker take
# tests from the end of the other's queue. Pass -n 0 to run serially.
# OMP_NUM_THREADS=1: one intra-op thread per process, since the workers already use every core
# (measured on a busy 2-core machine: `selfsup embed` of FSDD's 3,000 clips took 14.9 CPU-s with two
# threads and 10.5 with one, in the same wall time).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec .venv/bin/python -m pytest -q --durations=30 -n auto --maxprocesses 4 --dist worksteal "$@"
