"""SQIL: soft Q imitation learning on DQfD's mixed replay (sqil.py)."""
