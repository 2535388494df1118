"""DQfD's preparation step (the env runner class, the demonstrations checked against the env), and its
replay built from the demonstrations."""

import numpy as np

from rllib_il.algorithms.dqfd.apex_env_runner import ApexMultiAgentEnvRunner, ApexSingleAgentEnvRunner
from rllib_il.algorithms.expert_data import check_expert_data
from rllib_il.data import read_episodes
from rllib_il.envs import ensure_registered
from rllib_il.losses.dqfd import top_return_mask
from rllib_il.replay.columns import IS_EXPERT, MARGIN_MASK
from rllib_il.replay.mixed_buffer import MixedEpisodeReplayBuffer
from rllib_il.replay.mixing import fraction_values
from rllib_il.replay.nstep_buffer import NStepPrioritizedEpisodeBuffer


def prepare(config):
    """A copy of a DQfD config with what validate() cannot see in the settings resolved, once, before it:
    the env registered with Tune, the Ape-X env runner class for this env, and the demonstrations
    checked against the env (`check_expert_data`). DQfD's constructor and the experiment layer call it."""
    config = config.copy(copy_frozen=False)
    if isinstance(config.env, str):
        ensure_registered(config.env)  # RLlib's env runners build it by name
    if config.env_runner_cls is None:
        config.env_runner_cls = ApexMultiAgentEnvRunner if config.is_multi_agent else ApexSingleAgentEnvRunner
    if config.expert_data is not None:
        check_expert_data(config)
    return config


def build_replay(
    config, expert_reward=None, simulation_reward=None, ignore_terminations=False
) -> MixedEpisodeReplayBuffer:
    """Simulation and demonstrations as two n-step prioritized buffers, mixed at `expert_fraction`.
    DQfD's eps_d is the demonstrations' priority bonus; J_E applies to the demonstrations whose
    return is in the top `margin_top_fraction`. The first `max_expert_episodes` demonstrations (all
    when None) are used. `expert_reward` / `simulation_reward`: constant rewards replacing the env's
    in that part (SQIL), None keeps the env's."""
    options = {k: v for k, v in config.replay_buffer_config.items() if k not in ("type", "capacity")}
    options.update(
        priority_eps=config.priority_eps,
        module_id=config.trained_module_id if config.is_multi_agent else None,
        ignore_terminations=ignore_terminations,
    )
    expert = [e for e in read_episodes(config.expert_data) if len(e)] if config.expert_data is not None else []
    expert = expert[: config.max_expert_episodes]
    margin = top_return_mask([e.get_return() for e in expert], config.margin_top_fraction)
    rng = np.random.default_rng(config.seed)  # one stream, demonstrations drawn first in every batch
    simulation = NStepPrioritizedEpisodeBuffer(
        config.replay_buffer_config.get("capacity", 50000),
        columns={IS_EXPERT: 0.0, MARGIN_MASK: 0.0},
        reward=simulation_reward,
        seed=rng,
        **options,
    )
    demonstrations = NStepPrioritizedEpisodeBuffer(
        max(1, sum(len(e) for e in expert)),
        priority_bonus=config.expert_priority_bonus,
        columns={IS_EXPERT: 1.0},
        episode_columns={MARGIN_MASK: {e.id_: float(m) for e, m in zip(expert, margin)}},
        reward=expert_reward,
        seed=rng,
        **options,
    )
    demonstrations.add(expert)
    return MixedEpisodeReplayBuffer(simulation, demonstrations, fraction_values(config.expert_fraction)[0])
