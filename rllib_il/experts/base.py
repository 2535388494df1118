"""The expert protocol shared by scripted, planning and checkpoint experts."""

import abc
import importlib
from typing import Any, Tuple

from rllib_il.core.errors import ConfigError


class Expert(abc.ABC):
    """Acts in an env to produce demonstrations.

    Single-agent: `act(obs) -> (action, logp)`. Multi-agent: `act({agent_id: obs}) ->
    ({agent_id: action}, {agent_id: logp})` for the agents present in `obs`. `logp` is the
    log-probability of the behaviour action, 0.0 for deterministic experts.
    """

    def __init__(self, env, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__} takes no options, got {sorted(kwargs)}")
        self.env = env

    def seed(self, seed: int) -> None:
        """Called by the recorder before each episode: experts that sample re-seed here, so a
        dataset depends only on its episode seeds (not on how they were split across workers)."""

    def reset(self, env, obs) -> None:
        """Called after every `env.reset()`; planners plan here."""

    @abc.abstractmethod
    def act(self, obs) -> Tuple[Any, Any]:
        """The behaviour action(s) and their log-probabilities for `obs`."""


def optional_import(module: str, expert: str, install: str):
    """`module`, imported for an expert whose dependency is optional; ConfigError naming the expert and
    what to install when the import fails."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"expert {expert} needs {module.split('.')[0]}: pip install '{install}' ({e})") from None
