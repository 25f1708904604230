#!/usr/bin/env bash
# Prints the folder that holds a working `uv`, installing uv first if there is
# none, WITHOUT touching the system Python (Debian/Ubuntu's python3 refuses
# `pip install` into itself: PEP 668, "externally-managed-environment").
#
#   uv_dir=$(bash scripts/ensure-uv.sh) && export PATH="$uv_dir:$PATH"
#
# Where it looks, in order: PATH, ~/.local/bin and ~/.cargo/bin (where uv's own
# installers put it), then its private copy under the cache folder
# ($NINOX_UV_HOME, default ${XDG_CACHE_HOME:-~/.cache}/ninox-connectors/uv).
# How it installs the private copy, with nothing but python3:
#   1. `python3 -m venv` a private venv there and `pip install uv` inside it;
#   2. without the venv module (Debian/Ubuntu without python3-venv), but with
#      pip: `python3 -m pip install --target` that folder (pip installs into a
#      folder of its own, not into the system Python);
#   3. neither: one line saying what to install, exit 1.
# Messages go to stderr; stdout carries only the folder.
set -euo pipefail

found() { printf '%s\n' "$1"; exit 0; }

if command -v uv >/dev/null 2>&1; then
  found "$(dirname "$(command -v uv)")"
fi
home=${NINOX_UV_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/ninox-connectors/uv}
for dir in "$HOME/.local/bin" "$HOME/.cargo/bin" "$home/venv/bin" "$home/target/bin"; do
  if [ -x "$dir/uv" ] && "$dir/uv" --version >/dev/null 2>&1; then
    found "$dir"
  fi
done

python=$(command -v python3 || command -v python || true)
if [ -z "$python" ]; then
  echo "uv is not installed and there is no python3 to install it with: install uv (https://docs.astral.sh/uv/getting-started/installation/) or Python 3.10+, then run this again." >&2
  exit 1
fi
mkdir -p "$home"
echo "uv not found: installing it into $home (a private copy; your Python is not changed) ..." >&2
pip_quiet=(--quiet --disable-pip-version-check --no-warn-script-location)
export PIP_ROOT_USER_ACTION=ignore  # root in containers and CI: not a problem here

# 1. A private venv with pip (needs the venv module and ensurepip).
rm -rf "$home/venv"
if "$python" -m venv "$home/venv" >/dev/null 2>&1 && [ -x "$home/venv/bin/python" ]; then
  if "$home/venv/bin/python" -m pip install "${pip_quiet[@]}" uv >&2 \
    && "$home/venv/bin/uv" --version >/dev/null 2>&1; then
    found "$home/venv/bin"
  fi
  echo "pip could not install uv into $home/venv (see above); check the network or proxy settings, then run this again." >&2
  exit 1
fi
rm -rf "$home/venv"

# 2. No venv module: pip into a folder of its own (no PEP 668 check applies there).
if "$python" -m pip --version >/dev/null 2>&1; then
  rm -rf "$home/target"
  if "$python" -m pip install "${pip_quiet[@]}" --target "$home/target" uv >&2 \
    && "$home/target/bin/uv" --version >/dev/null 2>&1; then
    found "$home/target/bin"
  fi
  echo "pip could not install uv into $home/target (see above); check the network or proxy settings, then run this again." >&2
  exit 1
fi

echo "uv is not installed, and $python has neither the venv module nor pip to install it: install uv (https://docs.astral.sh/uv/getting-started/installation/), or python3-venv (Debian/Ubuntu: apt install python3-venv), then run this again." >&2
exit 1
