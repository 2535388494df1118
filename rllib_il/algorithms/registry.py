"""Algorithms by the name experiment files use in `run:`: this project's, beside RLlib's own registry.

Entries are "module:ClassName" strings, imported on lookup (as RLlib's registry does), so naming an
algorithm loads only that algorithm.
"""

from ray.rllib.algorithms.registry import ALGORITHMS as RLLIB_ALGORITHMS
from ray.tune.registry import register_trainable

from rllib_il.core.user_code import import_attr

# name -> "module:ClassName" of an rllib Algorithm subclass.
ALGORITHMS = {
    "MARWIL_IL": "rllib_il.algorithms.marwil.marwil:MARWILIL",
    "DQfD": "rllib_il.algorithms.dqfd.dqfd:DQfD",
    "APEX_DQfD": "rllib_il.algorithms.dqfd.dqfd:APEX_DQfD",
    "PPO_IL": "rllib_il.algorithms.ppo_il.ppo_il:PPOIL",
    "SQIL": "rllib_il.algorithms.sqil.sqil:SQIL",
    "GAIL": "rllib_il.algorithms.gail.gail:GAIL",
    "DRIL": "rllib_il.algorithms.dril.dril:DRIL",
}


def get_algorithm_class(name):
    """The Algorithm class for `name`: one of ours, else RLlib's own (MARWIL, BC, DQN, PPO, ...); None if unknown."""
    if name in ALGORITHMS:
        return import_attr(ALGORITHMS[name], "run")
    if name in RLLIB_ALGORITHMS:
        return RLLIB_ALGORITHMS[name]()[0]
    return None


def tune_trainable(name) -> str:
    """`name` for Tune: ours are registered with Tune under it when first run (trial directories and
    names then read like RLlib's own, e.g. `MARWIL_IL_flatland_sparse_...`); RLlib's are known to Tune."""
    if name in ALGORITHMS:
        register_trainable(name, get_algorithm_class(name))
    return name


def default_config(name):
    """A fresh default AlgorithmConfig of the algorithm `name`."""
    return get_algorithm_class(name).get_default_config()


def prepared_config(name, config: dict):
    """The AlgorithmConfig of algorithm `name` for a config dict, ready for `validate()`: this
    project's configs resolve their dataset and env facts first (`prepare()`, e.g. the module's spaces
    from the dataset), as their algorithms do when built."""
    algorithm = get_algorithm_class(name)
    if hasattr(algorithm, "prepared"):
        return algorithm.prepared(config)
    return algorithm.get_default_config().update_from_dict(config)


def known_algorithms():
    return sorted(ALGORITHMS) + sorted(RLLIB_ALGORITHMS)
