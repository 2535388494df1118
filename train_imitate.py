#!/usr/bin/env python
"""Run rllib_il experiment files through Ray Tune: python train_imitate.py -f experiments/....yaml"""

import sys

from rllib_il.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
