"""GAIL with the AIRL and FAIRL reward functions on PPO_IL (gail.py)."""
