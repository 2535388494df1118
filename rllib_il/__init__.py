"""rllib_il: imitation learning for Ray RLlib (new API stack, torch).

Importing the package registers its environments and algorithms with Ray Tune, so experiment
files can name them in `env:` and `run:` next to RLlib's built-ins and gymnasium ids.
"""

SHARED_MODULE_ID = "shared"

from rllib_il.algorithms.registry import register_algorithms  # noqa: E402
from rllib_il.envs import register_envs  # noqa: E402

register_envs()
register_algorithms()
