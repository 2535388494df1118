"""Experts that generate demonstrations: name -> "module:Class", built with `make_expert`.

Every expert follows the protocol of `rllib_il.experts.base.Expert`: `reset(env, obs)` after each
`env.reset()`, `act(obs) -> (action, logp)` (dicts keyed by agent id on multi-agent envs).
"""

import importlib

from rllib_il.errors import ConfigError

EXPERTS = {
    "cartpole": "rllib_il.experts.gym_experts:CartPoleExpert",
    "lunarlander_heuristic": "rllib_il.experts.gym_experts:LunarLanderHeuristicExpert",
    "random": "rllib_il.experts.random_expert:RandomExpert",
    "checkpoint": "rllib_il.experts.checkpoint:CheckpointExpert",
    "flatland_planner": "rllib_il.envs.flatland.experts:FlatlandPlannerExpert",
    "flatland_shortest_path": "rllib_il.envs.flatland.experts:FlatlandShortestPathExpert",
}


def expert_class(name: str):
    """The expert class registered under `name` (ConfigError for unknown names)."""
    if name not in EXPERTS:
        raise ConfigError(f"expert {name!r} is unknown; choose one of {sorted(EXPERTS)}")
    module, cls = EXPERTS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_expert(name: str, env, **kwargs):
    """Build the expert `name` for `env` (an env instance as created for recording)."""
    return expert_class(name)(env, **kwargs)
