#!/usr/bin/env bash
# Creates bench/.venv-duckietown (Python 3.11) with the Duckietown simulator for bench/duckietown/check_duckietown.py.
# A separate venv: the simulator needs numpy 1.23 and gym 0.26, rllib_il numpy 1.26 and gymnasium 1.2.
# Safe to run again: an existing venv is reused and pip leaves satisfied requirements alone.
set -euo pipefail
source "$(dirname "$0")/../side_venv.sh"
side_venv .venv-duckietown
# The venv's own pip (23.2 with Python 3.11.7) is the one this was tested with, so it is not upgraded.
"$VENV/bin/python" -m pip install --quiet duckietown-gym-daffy==6.1.34 -c duckietown/constraints.txt
"$VENV/bin/python" -m pip check
echo "duckietown-gym-daffy installed in $(pwd)/$VENV"
