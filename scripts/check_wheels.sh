#!/usr/bin/env bash
# Install correctness: build the wheels of the core, every plugin and the example plugin
# (pip wheel --no-deps), install them, NOT editable, into a clean virtual environment (no
# --system-site-packages), let pip resolve their declared dependencies there, then run
# `selfsup plugins` (every plugin must be ok) and each modality's default pretraining with a
# tiny step budget, from an empty folder outside the repository.
#
# Only the pinned torch family (torch, torchaudio, torchvision from requirements/dev.txt, with
# what they require) is put there first, from a cached folder, so that the plugins' own
# dependency ranges decide everything else.
#
# Usage: bash scripts/check_wheels.sh [WORKDIR]   (default: a temporary folder, removed at the end)
# Environment: PYTHON (default: .venv/bin/python, else python3), CHECK_WHEELS_KEEP=1 keeps the
# temporary folder, SELFSUP_WHEELS_CACHE holds the torch-family folder (default ~/.cache/selfsup/check-wheels).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
if [ -z "${PYTHON:-}" ]; then  # the project's .venv (scripts/setup.sh), else python3
  if [ -x .venv/bin/python ]; then PYTHON=$REPO/.venv/bin/python; else PYTHON=python3; fi
fi

if [ $# -ge 1 ]; then
  WORK=$1
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d -t selfsup-wheels.XXXXXX)
  [ "${CHECK_WHEELS_KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
fi
WORK=$(cd "$WORK" && pwd)
start=$(date +%s)
step() { echo "check_wheels: [$(( $(date +%s) - start ))s] $*"; }
quiet_pip() { grep -v "is ignored: it is neither a file nor a directory" >&2 || true; }

step "building wheels into $WORK/wheels"
rm -rf "$WORK/src" "$WORK/wheels" "$WORK/build" "$WORK/venv" "$WORK/run"
# Build from a copy of the working tree (tracked and untracked files, .gitignore respected):
# setuptools writes build/ and *.egg-info/ next to the sources it builds.
mkdir -p "$WORK/src"
git ls-files -z --cached --others --exclude-standard | tar -c --null --ignore-failed-read -T - 2>/dev/null | tar -x -C "$WORK/src"
projects=("$WORK/src")
for project in plugins/*/ examples/*/; do
  [ -f "$project/pyproject.toml" ] && projects+=("$WORK/src/$project")
done
# One build environment for all projects (pip's per-project isolated builds cost minutes).
"$PYTHON" -m venv "$WORK/build"
"$WORK/build/bin/python" -m pip install -q "setuptools>=70" 2> >(quiet_pip)
"$WORK/build/bin/python" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/wheels" "${projects[@]}" 2> >(quiet_pip) >/dev/null
built=$(ls "$WORK/wheels"/*.whl | wc -l)
[ "$built" -eq "${#projects[@]}" ] || { echo "check_wheels: built $built wheels for ${#projects[@]} projects" >&2; exit 1; }

step "creating a clean virtual environment"
"$PYTHON" -m venv "$WORK/venv"
VPY=$WORK/venv/bin/python
# The pinned torch family (and what it requires) lives in a cached folder that the clean
# environment sees through a .pth file: installed once with pip --target (or linked from the
# project's .venv when that holds exactly the pinned versions), reused by later runs.
grep -E '^(torch|torchaudio|torchvision)==' requirements/dev.txt | sed 's/ .*//' > "$WORK/torch-family.txt"
CACHE=${SELFSUP_WHEELS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selfsup/check-wheels}
FAMILY=$CACHE/torch-family-$("$PYTHON" -c 'import sys, platform; print(f"py{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}")')-$(sha256sum "$WORK/torch-family.txt" | cut -c1-12)
if [ ! -d "$FAMILY" ]; then
  mkdir -p "$CACHE"
  rm -rf "$FAMILY.partial"
  if [ -x .venv/bin/python ] && .venv/bin/python scripts/torch_family.py "$FAMILY.partial" "$WORK/torch-family.txt"; then
    step "linked the pinned torch family from .venv into $FAMILY"
  else
    rm -rf "$FAMILY.partial"
    step "installing the pinned torch family into $FAMILY"
    "$VPY" -m pip install -q --target "$FAMILY.partial" -r "$WORK/torch-family.txt" 2> >(quiet_pip)
  fi
  mv "$FAMILY.partial" "$FAMILY"
fi
SITE=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$FAMILY" > "$SITE/selfsup-torch-family.pth"
"$VPY" -c 'import torch, torchaudio, torchvision; print("check_wheels: torch", torch.__version__, "torchaudio", torchaudio.__version__, "torchvision", torchvision.__version__)'

step "installing the wheels (dependencies resolved from their metadata)"
"$VPY" -m pip install -q "$WORK"/wheels/*.whl 2> >(quiet_pip)
"$VPY" -m pip check
if "$VPY" -m pip list 2>/dev/null | grep -i "^selfsup.*$REPO"; then
  echo "check_wheels: a selfsup package is installed from the source tree, not from its wheel" >&2
  exit 1
fi

mkdir -p "$WORK/run"
cd "$WORK/run"  # outside the repository: nothing may come from the source tree or its neighbours
unset SELFSUP_DATA SELFSUP_LOAD_PLUGINS SELFSUP_DISABLE_PLUGINS SELFSUP_DISABLE_PLUGIN_AUTOLOAD
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MPLBACKEND=Agg
SELFSUP=$WORK/venv/bin/selfsup

step "selfsup plugins"
"$SELFSUP" plugins | tee plugins.txt
modalities=$("$SELFSUP" list modalities | sed -n 's/^  \([a-z0-9_.-]*\) .*/\1/p')
for name in builtin tabular graph audio vision pointcloud timeseries example; do
  grep -qE "^(selfsup-)?$name .* ok " plugins.txt || { echo "check_wheels: plugin '$name' is not ok" >&2; exit 1; }
done
if grep -qE " (error|blocked) " plugins.txt; then
  echo "check_wheels: a plugin failed to load" >&2
  exit 1
fi

# Each modality's own defaults (objective, encoder, dataset, evaluators), a tiny budget.
for modality in $modalities; do
  step "selfsup pretrain modality=$modality (2 steps)"
  "$SELFSUP" pretrain "modality=$modality" trainer.max_steps=2 trainer.batch_size=4 trainer.eval_batch_size=64 \
    trainer.progress=off trainer.threads=1 "run_dir=$WORK/run/$modality" > "$modality.log" 2>&1 \
    || { cat "$modality.log" >&2; echo "check_wheels: the default $modality run failed" >&2; exit 1; }
  grep -q "run saved in" "$modality.log" || { cat "$modality.log" >&2; exit 1; }
  [ -f "$WORK/run/$modality/metrics.json" ] || { echo "check_wheels: no metrics.json for $modality" >&2; exit 1; }
done

step "ok: $built wheels installed in a clean environment; plugins ok; defaults of: $(echo $modalities)"
