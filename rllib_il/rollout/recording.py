"""Record expert demonstrations into a dataset (see `python -m rllib_il.cli.record`)."""

from pathlib import Path
from typing import Optional

from rllib_il.core.constants import SHARED_MODULE_ID
from rllib_il.core.errors import ConfigError
from rllib_il.data.codec import spaces_metadata
from rllib_il.data.settings import recorded_settings
from rllib_il.data.writer import check_output_dir, write_dataset
from rllib_il.envs import agent_spaces, is_multi_agent, make_env
from rllib_il.experts import make_expert
from rllib_il.rollout.statistics import summarize
from rllib_il.rollout.workers import make_actor, record


def record_dataset(
    env_name: str,
    expert: str,
    episodes: int,
    out,
    env_config: Optional[dict] = None,
    expert_config: Optional[dict] = None,
    seed: int = 0,
    num_workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    act_with=None,
    expert_prob: Optional[float] = None,
) -> dict:
    """Record `episodes` env episodes with seeds seed..seed+episodes-1 into the dataset `out`.

    With `act_with` (a checkpoint) the expert labels the states its greedy policy visits (DAgger,
    see rllib_il/rollout/rollout.py); metadata.json then holds {"dagger": {"act_with", "expert_prob"}}.
    Returns the summary statistics of the trajectories flown (also stored under "statistics").
    """
    env_config, expert_config = dict(env_config or {}), dict(expert_config or {})
    if episodes < 1:
        raise ConfigError(f"--episodes {episodes}: must be at least 1")
    if expert_prob is not None and act_with is None:
        raise ConfigError(f"--expert-prob {expert_prob}: only means something with --act-with")
    expert_prob = 0.0 if expert_prob is None else expert_prob
    if not 0.0 <= expert_prob <= 1.0:
        raise ConfigError(f"--expert-prob {expert_prob}: must lie in [0, 1]")
    act_with = None if act_with is None else str(Path(act_with).expanduser().resolve())  # for Ray workers too
    probe = make_env(env_name, env_config)
    make_expert(expert, probe, **expert_config)  # fail fast on a bad env/expert/checkpoint, before --out is made
    make_actor(probe, act_with)
    check_output_dir(out, overwrite)
    multi_agent = is_multi_agent(probe)
    seeds = list(range(seed, seed + episodes))
    recorded, stats = record(
        env_name, env_config, expert, expert_config, seeds, num_workers, progress, act_with, expert_prob
    )
    summary = summarize(stats)
    metadata = {
        "env": env_name,
        "env_config": env_config,
        "expert": expert,
        "expert_config": expert_config,
        "seeds": seeds,
        "multi_agent": multi_agent,
        "module_id": SHARED_MODULE_ID if multi_agent else None,
        "num_env_episodes": len(stats),
        **spaces_metadata(*agent_spaces(probe)),
        "statistics": summary,
        **recorded_settings(env_name, env_config),
    }
    if act_with is not None:
        metadata["dagger"] = {"act_with": act_with, "expert_prob": expert_prob}
    write_dataset(recorded, out, metadata, overwrite=overwrite)
    return summary
