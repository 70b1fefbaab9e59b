#!/usr/bin/env bash
# Set everything up, then run every test: the core, each plugin and the example plugin.
# --durations=30: every log (CI's included) ends with the 30 slowest tests, so the suite's
# budget (docs/testing.md, "The suite's budget") can be watched run by run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q --durations=30 "$@"
