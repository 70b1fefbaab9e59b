#!/usr/bin/env bash
# Sets up everything selfsup needs on a fresh Debian machine (Python 3.10+, no GPU):
# system packages, a virtual environment in .venv, the pinned torch 2.11 family,
# the core and every plugin (and the example plugin) in editable mode.
# Re-running is fast: nothing is reinstalled unless a requirements or pyproject file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.selfsup-setup-stamp

# System packages the plugins need: open3d-cpu needs libusb at import time; the audio plugin
# compiles its fused CPU scan kernel with the C compiler (OpenMP comes with gcc).
APT_PACKAGES=(libusb-1.0-0 gcc libc6-dev)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install the Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  fi
fi

packages=(-e . )
for plugin in plugins/*/ examples/*/; do
  [ -f "$plugin/pyproject.toml" ] && packages+=(-e "$plugin")
done

fingerprint=$(cat requirements/dev.txt pyproject.toml plugins/*/pyproject.toml examples/*/pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$fingerprint" ] && [ -x "$VENV/bin/selfsup" ]; then
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements/dev.txt 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps "${packages[@]}" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
"$VENV/bin/python" -m pip check >/dev/null || { "$VENV/bin/python" -m pip check >&2; exit 1; }
echo "$fingerprint" > "$STAMP"
echo "setup: environment ready in $VENV"
