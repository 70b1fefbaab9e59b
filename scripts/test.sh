#!/usr/bin/env bash
# Set everything up, then run every test: the core, each plugin and the example plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
