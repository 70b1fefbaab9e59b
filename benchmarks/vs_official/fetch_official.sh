#!/usr/bin/env bash
# Fetch the official code of each compared method into a temporary folder (never into the
# repository) and make the venv it runs in; then run benchmarks/vs_official/run.py on it.
#
#   bash benchmarks/vs_official/fetch_official.sh [DEST] [--mirror DIR]
#
# DEST (default: a new folder under ${TMPDIR:-/tmp}) gets one folder per official repository at
# its pinned commit and venv/: a virtual environment with the official code's pinned
# dependencies (SSAST asserts timm == 0.4.5) that sees torch from the selfsup venv through a
# .pth file, so both sides run the same torch build and the comparison is of the code alone.
# --mirror DIR reads the repositories from local git directories DIR/<owner>+<name>/repo
# instead of cloning them from GitHub. Prints DEST on its last line.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DEST="" MIRROR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --mirror) MIRROR="$2"; shift 2 ;;
    *) DEST="$1"; shift ;;
  esac
done
DEST=${DEST:-$(mktemp -d "${TMPDIR:-/tmp}/selfsup-official.XXXXXX")}
mkdir -p "$DEST"
case "$DEST" in "$ROOT"|"$ROOT"/*) echo "DEST must lie outside the repository: $DEST" >&2; exit 2 ;; esac

# folder  owner/name  commit  (the commits benchmarks/vs_official.md cites)
REPOS=(
  "ssast YuanGongND/ssast a1a3eec"
)

for entry in "${REPOS[@]}"; do
  read -r folder repo commit <<<"$entry"
  [ -d "$DEST/$folder" ] && continue
  if [ -n "$MIRROR" ]; then
    git_dir="$MIRROR/${repo/\//+}/repo"
    mkdir -p "$DEST/$folder"
    git --git-dir="$git_dir" archive "$commit" | tar -x -C "$DEST/$folder"
  else
    git clone --quiet "https://github.com/$repo" "$DEST/$folder"
    git -C "$DEST/$folder" checkout --quiet "$commit"
  fi
done

PY="$ROOT/.venv/bin/python"
if [ ! -x "$DEST/venv/bin/python" ]; then
  "$PY" -m venv "$DEST/venv"
  site=$("$PY" -c "import site; print(site.getsitepackages()[0])")
  official_site=$("$DEST/venv/bin/python" -c "import site; print(site.getsitepackages()[0])")
  echo "$site" > "$official_site/zz_selfsup_torch.pth"  # after the venv's own packages
  "$DEST/venv/bin/python" -m pip install --quiet --no-deps "timm==0.4.5"
fi
"$DEST/venv/bin/python" -c "import timm, torch; assert timm.__version__ == '0.4.5', timm.__version__"
echo "$DEST"
