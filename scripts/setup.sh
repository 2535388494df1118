#!/usr/bin/env bash
# Creates ./.venv (Python 3.11) and installs rllib_il with its pinned stack and test tools.
# CPU torch 2.13.0 first: an unpinned torch would pull a multi-GB CUDA build. A GPU user installs
# their own torch into the venv before running this script; it is then left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet torch==2.13.0
fi
.venv/bin/python -m pip install --quiet -e ".[test]"
echo "rllib_il installed in $(pwd)/.venv"
