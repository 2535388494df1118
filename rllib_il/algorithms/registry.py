"""Algorithms by the name experiment files use in `run:`: this project's, beside RLlib's own registry.

Entries are "module:ClassName" strings, imported on lookup (as RLlib's registry does), so naming an
algorithm loads only that algorithm.
"""

from ray.rllib.algorithms.registry import ALGORITHMS as RLLIB_ALGORITHMS

from rllib_il.core.user_code import import_attr

# name -> "module:ClassName" of an rllib Algorithm subclass.
ALGORITHMS = {
    "MARWIL_IL": "rllib_il.algorithms.marwil.marwil:MARWILIL",
    "DQfD": "rllib_il.algorithms.dqfd.dqfd:DQfD",
    "APEX_DQfD": "rllib_il.algorithms.dqfd.dqfd:APEX_DQfD",
}


def get_algorithm_class(name):
    """The Algorithm class for `name`: one of ours, else RLlib's own (MARWIL, BC, DQN, PPO, ...); None if unknown."""
    if name in ALGORITHMS:
        return import_attr(ALGORITHMS[name], "run")
    if name in RLLIB_ALGORITHMS:
        return RLLIB_ALGORITHMS[name]()[0]
    return None


def default_config(name):
    """A fresh default AlgorithmConfig of the algorithm `name`."""
    return get_algorithm_class(name).get_default_config()


def known_algorithms():
    return sorted(ALGORITHMS) + sorted(RLLIB_ALGORITHMS)
