"""DRIL: disagreement-regularized imitation on PPO_IL (dril.py)."""
