"""Experts that generate demonstrations, named by a registered short name or "module:attr".

Every expert follows the protocol of `rllib_il.experts.base.Expert`: `reset(env, obs)` after each
`env.reset()`, `act(obs) -> (action, logp)` (dicts keyed by agent id on multi-agent envs). A user's
own expert needs no change of this package: `--expert my_module:MyExpert` names a class (an
`Expert` subclass, or any class with `act` and `reset`) or a factory `make(env, **options)` that
returns one, in a module importable where it runs (on PYTHONPATH or installed; Ray workers see
PYTHONPATH, not `sys.path` edits).
"""

from rllib_il.core.errors import ConfigError
from rllib_il.core.user_code import import_attr, is_user_code

EXPERTS = {
    "cartpole": "rllib_il.experts.gym_experts:CartPoleExpert",
    "lunarlander_heuristic": "rllib_il.experts.gym_experts:LunarLanderHeuristicExpert",
    "pendulum_swingup": "rllib_il.experts.control_experts:PendulumSwingUpExpert",
    "inverted_double_pendulum_lqr": "rllib_il.experts.control_experts:InvertedDoublePendulumLQRExpert",
    "carracing_pure_pursuit": "rllib_il.experts.car_racing:CarRacingPurePursuitExpert",
    "random": "rllib_il.experts.random_expert:RandomExpert",
    "checkpoint": "rllib_il.experts.checkpoint:CheckpointExpert",
    "flatland_planner": "rllib_il.experts.flatland:FlatlandPlannerExpert",
    "flatland_shortest_path": "rllib_il.experts.flatland:FlatlandShortestPathExpert",
}
PROTOCOL = ("act", "reset")


def _follows_protocol(obj) -> bool:
    return all(callable(getattr(obj, name, None)) for name in PROTOCOL)


def expert_class(name: str):
    """The expert class (or factory) registered under `name`, or named "module:attr"."""
    if not is_user_code(name):
        if name not in EXPERTS:
            raise ConfigError(
                f"expert {name!r} is unknown; choose one of {sorted(EXPERTS)} or name your own as 'module:Class'"
            )
        name = EXPERTS[name]
    found = import_attr(name, "expert")
    if isinstance(found, type) and not _follows_protocol(found):
        raise ConfigError(
            f"expert {name!r}: class {found.__name__} has no {' / '.join(PROTOCOL)} methods "
            "(see rllib_il.experts.base.Expert)"
        )
    if not callable(found):
        raise ConfigError(f"expert {name!r}: {type(found).__name__} is neither an expert class nor a factory")
    return found


def make_expert(name: str, env, **kwargs):
    """Build the expert `name` for `env` (an env instance as created for recording)."""
    build = expert_class(name)
    try:
        expert = build(env, **kwargs)
    except TypeError as e:  # wrong options, or a callable that is no expert factory
        raise ConfigError(f"expert {name!r} cannot be built for this env with options {kwargs} ({e})") from None
    if not _follows_protocol(expert):
        raise ConfigError(
            f"expert {name!r} built {type(expert).__name__}, which has no "
            f"{' / '.join(PROTOCOL)} methods (see rllib_il.experts.base.Expert)"
        )
    return expert
