"""Replay for algorithms that learn from demonstrations and simulation at once: an n-step prioritized
episode buffer (nstep_buffer.py), two of them sampled as one (mixed_buffer.py), and the expert fraction's
schedule and rounding shared with mixed MARWIL (mixing.py)."""
