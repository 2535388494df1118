"""Running experts and policies in envs: one `rollout()` loop (rollout.py) used by recording datasets,
evaluation, DAgger labelling and GIF rendering; Ray actors for many seeds at once (workers.py)."""
