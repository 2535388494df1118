"""Algorithms of rllib_il by the name experiment files use in `run:` (like RLlib's own registry).

Entries are "module:ClassName" strings so the registry itself imports nothing.
"""

from ray.tune.registry import register_trainable

# name -> "module:ClassName" of an rllib Algorithm subclass.
ALGORITHMS = {
    "MARWIL_IL": "rllib_il.algorithms.marwil.marwil:MARWILIL",
    "DQfD": "rllib_il.algorithms.dqfd.dqfd:DQfD",
    "APEX_DQfD": "rllib_il.algorithms.dqfd.dqfd:APEX_DQfD",
}


def get_algorithm_class(name):
    """The Algorithm class for `name`: one of ours, else RLlib's own (MARWIL, BC, DQN, PPO, ...)."""
    import importlib

    if name in ALGORITHMS:
        module, cls = ALGORITHMS[name].split(":")
        return getattr(importlib.import_module(module), cls)
    from ray.rllib.algorithms.registry import ALGORITHMS as RLLIB_ALGORITHMS

    if name in RLLIB_ALGORITHMS:
        return RLLIB_ALGORITHMS[name]()[0]
    return None


def known_algorithms():
    from ray.rllib.algorithms.registry import ALGORITHMS as RLLIB_ALGORITHMS

    return sorted(ALGORITHMS) + sorted(RLLIB_ALGORITHMS)


def register_algorithms():
    for name in ALGORITHMS:
        register_trainable(name, get_algorithm_class(name))
