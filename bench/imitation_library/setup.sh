#!/usr/bin/env bash
# Creates bench/.venv-imitation (Python 3.11) with the imitation library for bench/bench_imitation_library.py.
# A separate venv: imitation 1.0.1 pins gymnasium 0.29 and stable-baselines3 2.2, rllib_il gymnasium 1.2.
# CPU torch 2.13.0 first, as scripts/setup.sh does: an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
source "$(dirname "$0")/../side_venv.sh"
side_venv .venv-imitation
"$VENV/bin/python" -m pip install --quiet --upgrade pip
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "$VENV/bin/python" -m pip install --quiet torch==2.13.0
fi
"$VENV/bin/python" -m pip install --quiet -r imitation_library/requirements.txt
echo "imitation installed in $(pwd)/$VENV"
