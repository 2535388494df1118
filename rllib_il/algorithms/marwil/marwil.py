"""MARWIL_IL: RLlib's MARWIL with Monte-Carlo advantages, a beta schedule, validation and IS/WIS.

Wang et al. (2018), "Exponentially Weighted Imitation Learning for Batched Historical Data".
Registered with Tune as `MARWIL_IL`, beside RLlib's own `MARWIL` and `BC`. Differences to RLlib's:
- value targets are discounted Monte-Carlo returns over whole episodes (RLlib trains on 1-step
  targets from the initial value net, see docs/notes/rllib.md, "Offline data");
- `beta` is a float or a piecewise-linear schedule [[t0, v0], [t1, v1], ...] over t = samples
  trained so far (env steps sampled when mixing); beta = 0 is behaviour cloning;
- datasets that fit in memory are loaded once (`InMemoryOfflineData`), larger ones stream through
  Ray Data (`StreamingOfflineData`, `data_in_memory`); minibatches go straight to the learners;
- every iteration reports train / validation action accuracy, policy loss, entropy, and per-decision
  IS / WIS estimates on the held-out episodes;
- `expert_fraction` < 1 is mixed MARWIL (Phase 2): env runners sample complete episodes with the
  current policy, and every minibatch holds that fraction of expert rows, the rest simulation rows,
  with Monte-Carlo advantages on both (`mixing.py`).
"""

import numbers
from typing import Optional, Union

import gymnasium as gym
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig, NotProvided
from ray.rllib.algorithms.marwil.marwil import MARWIL, MARWILConfig
from ray.rllib.core import COMPONENT_LEARNER_GROUP, DEFAULT_MODULE_ID
from ray.rllib.env.env_context import EnvContext
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
from ray.rllib.policy.policy import PolicySpec
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.annotations import override
from ray.rllib.utils.checkpoints import Checkpointable
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    OFFLINE_SAMPLING_TIMER,
    TIMERS,
)
from ray.rllib.utils.serialization import gym_space_from_dict
from typing_extensions import Self

from rllib_il import data as dataset
from rllib_il.algorithms.marwil.in_memory_data import EpisodeArrays
from rllib_il.algorithms.marwil.mixing import mix_minibatches, rows_per_minibatch
from rllib_il.algorithms.marwil.streaming_data import StreamingOfflineData, offline_data_class
from rllib_il.algorithms.marwil.torch.marwil_torch_learner import MARWILILTorchLearner
from rllib_il.core.errors import ConfigError

NAME = "MARWIL_IL"
VALIDATION_RESULTS = "validation"
MIXING_RESULTS = "mixing"


def check_beta(beta) -> None:
    """ConfigError unless beta is a number in [0, 1] or a schedule [[t, v], ...] starting at t = 0
    with non-decreasing t and values in [0, 1]."""

    def is_number(x):
        return isinstance(x, numbers.Real) and not isinstance(x, bool)

    if is_number(beta):
        points = [(0, beta)]
    elif isinstance(beta, (list, tuple)) and beta and all(
        isinstance(p, (list, tuple)) and len(p) == 2 and all(map(is_number, p)) for p in beta
    ):
        points = beta
    else:
        raise ConfigError(f"{NAME} config beta={beta!r}: must be a number or a schedule [[t0, v0], [t1, v1], ...]")
    if points[0][0] != 0:
        raise ConfigError(f"{NAME} config beta={beta!r}: a schedule must start at t = 0")
    if any(t1 < t0 for (t0, _), (t1, _) in zip(points, points[1:])):
        raise ConfigError(f"{NAME} config beta={beta!r}: schedule times t must be non-decreasing")
    if any(not 0.0 <= v <= 1.0 for _, v in points):
        raise ConfigError(f"{NAME} config beta={beta!r}: values must lie in [0, 1]")


def is_behaviour_cloning(beta) -> bool:
    """beta (a checked float or schedule) is 0 throughout."""
    return all(v == 0 for _, v in ([(0, beta)] if isinstance(beta, numbers.Real) else beta))


def check_no_dagger_advantages(beta, datasets: dict) -> None:
    """ConfigError when beta != 0 on DAgger data (`datasets`: {directory: metadata}): its actions are
    the expert's labels, not the actions that earned its rewards, so advantages (beta > 0) would
    weight labels by another policy's returns."""
    d = dataset.dagger_dataset(datasets)
    if d is not None and not is_behaviour_cloning(beta):
        raise ConfigError(f"{NAME} config beta={beta!r}: dataset {d} holds DAgger labels (its rewards "
                          "belong to another policy's actions); train it with beta 0 (behaviour cloning)")


class MARWILILConfig(MARWILConfig):
    """MARWILConfig whose `beta` may be a schedule, plus `validation_fraction`, `max_episodes`,
    `data_in_memory` and `expert_fraction` (< 1: mixed MARWIL with env runners).

    .. testcode::

        config = (
            MARWILILConfig()
            .environment("CartPole-v1")
            .training(beta=[[0, 0.0], [100_000, 1.0]], validation_fraction=0.1)
            .offline_data(input_="saved_experiences/cartpole")
            .evaluation(evaluation_interval=5, evaluation_duration=10)
        )
    """

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or MARWILIL)
        self.validation_fraction = 0.1
        self.max_episodes = None
        # RLlib's default rate 1e-8 freezes c at sqrt(100) = 10 whatever the returns' scale.
        self.moving_average_sqd_adv_norm_update_rate = 0.01
        # "auto", True or False; validate() sets `offline_data_class` from it.
        self.data_in_memory = "auto"
        self.train_batch_size_per_learner = 512
        self.dataset_num_iters_per_learner = 20
        self.lr = 5e-4
        self.materialize_data = False
        self.expert_fraction = 1.0
        # Mixed MARWIL needs whole episodes for its Monte-Carlo returns.
        self.batch_mode = "complete_episodes"

    @override(MARWILConfig)
    def training(
        self,
        *,
        validation_fraction: Optional[float] = NotProvided,
        max_episodes: Optional[int] = NotProvided,
        data_in_memory: Optional[Union[str, bool]] = NotProvided,
        expert_fraction: Optional[float] = NotProvided,
        **kwargs,
    ) -> Self:
        """Sets the training config (see MARWILConfig.training).

        Args:
            beta: A float in [0, 1] or a piecewise-linear schedule [[t0, v0], [t1, v1], ...] with t
                the number of samples trained so far, or of env steps sampled when mixing (t0 = 0,
                t non-decreasing, v in [0, 1]).
                0.0 is behaviour cloning.
            validation_fraction: Fraction of the dataset's episodes held out for validation metrics
                and IS/WIS estimates (0.0 disables them; at least one episode when > 0).
            max_episodes: Use only the first N episodes of the dataset (in stored order), e.g. to
                learn from 3 demonstrations; None uses all.
            data_in_memory: True loads the dataset into memory (`InMemoryOfflineData`), False
                streams it through Ray Data (`StreamingOfflineData`), "auto" (default) loads it
                when 4x its uncompressed parquet size fits in half of the available memory.
            expert_fraction: Share of expert rows in every minibatch. 1.0 (default) trains on the
                dataset only; below 1.0 the env runners sample complete episodes each iteration
                with the current policy and fill the rest of every minibatch (mixed MARWIL,
                e.g. 0.25 for the seed's 25 % expert / 75 % simulation).
        """
        super().training(**kwargs)
        if validation_fraction is not NotProvided:
            self.validation_fraction = validation_fraction
        if max_episodes is not NotProvided:
            self.max_episodes = max_episodes
        if data_in_memory is not NotProvided:
            self.data_in_memory = data_in_memory
        if expert_fraction is not NotProvided:
            self.expert_fraction = expert_fraction
        return self

    @property
    def is_online(self) -> bool:
        """Mixed MARWIL samples the env; pure MARWIL / BC does not (no env runner group)."""
        return self.expert_fraction < 1.0

    @override(MARWILConfig)
    def get_default_learner_class(self):
        return MARWILILTorchLearner

    @override(MARWILConfig)
    def build_learner_connector(self, input_observation_space, input_action_space, device=None):
        # Batches arrive complete (with Monte-Carlo VALUE_TARGETS): no GAE / 1-step pieces.
        return AlgorithmConfig.build_learner_connector(
            self, input_observation_space, input_action_space, device=device
        )

    @override(MARWILConfig)
    def validate(self) -> None:
        check_beta(self.beta)
        if not isinstance(self.expert_fraction, numbers.Real) or not 0.0 <= self.expert_fraction <= 1.0:
            raise ConfigError(f"{NAME} config expert_fraction={self.expert_fraction!r}: must be a number in [0, 1]")
        if self.is_online and self.batch_mode != "complete_episodes":
            raise ConfigError(f"{NAME} config batch_mode={self.batch_mode!r}: mixed MARWIL (expert_fraction < 1) "
                              "needs 'complete_episodes' for its Monte-Carlo returns")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ConfigError(f"{NAME} config validation_fraction={self.validation_fraction!r}: must be in [0, 1)")
        if self.max_episodes is not None and (not isinstance(self.max_episodes, int) or self.max_episodes < 1):
            raise ConfigError(f"{NAME} config max_episodes={self.max_episodes!r}: must be a positive integer or None")
        if not (self.data_in_memory == "auto" or isinstance(self.data_in_memory, bool)):
            raise ConfigError(f"{NAME} config data_in_memory={self.data_in_memory!r}: must be 'auto', true or false")
        if not self.is_offline:
            raise ConfigError(f"{NAME} config input={self.input_!r}: name a saved_experiences dataset")
        if len(self.policies) > 1:
            raise ConfigError(f"{NAME} config policies={sorted(self.policies)}: trains exactly one (shared) module")
        metadata = dataset.read_metadata(self.input_)  # ConfigError for missing / unreadable data
        datasets = dataset.datasets_metadata(self.input_)  # each input dataset's own metadata
        check_no_dagger_advantages(self.beta, datasets)
        self.offline_data_class = offline_data_class(self)
        spaces_from_data = self.observation_space is None and self.action_space is None
        needs_env = not self.in_evaluation or (spaces_from_data and self.is_multi_agent)
        env = self.env_facts() if self.env is not None and needs_env else None
        if spaces_from_data:
            # Without env runners RLlib takes the spaces from the config: the dataset declares the
            # module's; a multi-agent env's are dicts over its agents, all mapped to that module.
            self.observation_space = gym_space_from_dict(metadata["observation_space"])
            self.action_space = gym_space_from_dict(metadata["action_space"])
            if self.is_multi_agent:
                module_spaces = (self.observation_space, self.action_space)
                self.policies = {self.trained_module_id: PolicySpec(None, *module_spaces, None)}
                self.observation_space = gym.spaces.Dict({agent: module_spaces[0] for agent in env[2]})
                self.action_space = gym.spaces.Dict({agent: module_spaces[1] for agent in env[2]})
        if not self.in_evaluation:
            spaces = env[:2] if env is not None else (self.observation_space, self.action_space)
            where = f"{NAME} input {self.input_} (env {self.env})"
            dataset.check_spaces(metadata, *spaces, where=where)
            if isinstance(self.env, str):
                # Behaviour cloning's policy ignores rewards: data recorded under other reward settings will do.
                rewards = not is_behaviour_cloning(self.beta)
                dataset.check_recorded_settings(datasets, self.env, self.env_config, where, rewards=rewards)
        AlgorithmConfig.validate(self)

    def env_facts(self):
        """(observation_space, action_space, agents) of the configured env, built once: the spaces of
        the trained module (every agent of a multi-agent env maps to it) and the env's possible
        agents (None for a single-agent env)."""
        _, env_creator = Algorithm._get_env_id_and_creator(self.env, self)
        env = env_creator(EnvContext(self.env_config, worker_index=0))
        try:
            if isinstance(env, MultiAgentEnv):
                agent = env.possible_agents[0]
                return env.get_observation_space(agent), env.get_action_space(agent), list(env.possible_agents)
            return env.observation_space, env.action_space, None
        finally:
            env.close()

    @property
    def trained_module_id(self) -> str:
        return next(iter(self.policies)) if self.is_multi_agent else DEFAULT_MODULE_ID


class MARWILIL(MARWIL):
    """Offline MARWIL / BC on whole episodes, in memory or streamed (see module docstring)."""

    @classmethod
    @override(MARWIL)
    def get_default_config(cls) -> MARWILILConfig:
        return MARWILILConfig()

    @override(MARWIL)
    def training_step(self) -> None:
        config, module_id = self.config, self.config.trained_module_id
        batch_size, num_updates = config.train_batch_size_per_learner, config.dataset_num_iters_per_learner
        num_minibatches = num_updates * max(1, config.num_learners)
        num_samples = batch_size * num_minibatches
        # The beta schedule's t is NUM_ENV_STEPS_SAMPLED_LIFETIME as RLlib counts it: env steps sampled
        # when mixing, samples trained before this iteration when offline.
        if config.is_online:
            batch = self._mixed_batch(num_minibatches)
            t = self.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0)
        else:
            with self.metrics.log_time((TIMERS, OFFLINE_SAMPLING_TIMER)):
                batch = self.offline_data.sample(num_samples)
            t = self.metrics.peek(NUM_ENV_STEPS_SAMPLED_LIFETIME, default=0)
            self.metrics.log_value(NUM_ENV_STEPS_SAMPLED_LIFETIME, num_samples, reduce="lifetime_sum")
        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            learner_results = self.learner_group.update(
                batch=MultiAgentBatch({module_id: SampleBatch(batch)}, env_steps=num_samples),
                minibatch_size=batch_size,
                num_epochs=1,
                timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: t},
            )
        self.metrics.aggregate(learner_results, key=LEARNER_RESULTS)
        if config.is_online:
            self.env_runner_group.sync_weights(from_worker_or_learner_group=self.learner_group, inference_only=True)
        if self.offline_data.validation is not None:
            validation = self.learner_group.foreach_learner(
                lambda learner, v=self.offline_data.validation.validation_batch(): learner.validation_metrics(
                    module_id, v
                )
            )
            self.metrics.log_dict(next(iter(validation)).get(), key=VALIDATION_RESULTS, window=1)

    def _mixed_batch(self, num_minibatches: int) -> dict:
        """Fresh complete episodes from the env runners (every agent's, on a multi-agent env),
        mixed with expert rows at `expert_fraction` in each minibatch."""
        config = self.config
        num_expert, num_simulation = rows_per_minibatch(config.train_batch_size_per_learner, config.expert_fraction)
        with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, env_runner_results = synchronous_parallel_sample(
                worker_set=self.env_runner_group,
                max_agent_steps=num_simulation * num_minibatches,
                sample_timeout_s=config.sample_timeout_s,
                _uses_new_env_runners=True,
                _return_metrics=True,
            )
        self.metrics.aggregate(env_runner_results, key=ENV_RUNNER_RESULTS)
        agent_episodes = [
            agent_episode
            for episode in episodes
            for agent_episode in (episode.agent_episodes.values() if isinstance(episode, MultiAgentEpisode) else [episode])
            if len(agent_episode)
        ]
        simulation = EpisodeArrays.from_episodes(agent_episodes, config.gamma)
        with self.metrics.log_time((TIMERS, OFFLINE_SAMPLING_TIMER)):
            expert = self.offline_data.sample(num_expert * num_minibatches)
        # Complete episodes overshoot the requested steps: a random subset of the fresh rows is used.
        rows = self.offline_data.rng.permutation(len(simulation))[: num_simulation * num_minibatches]
        self.metrics.log_dict(
            {
                "expert_fraction": num_expert / config.train_batch_size_per_learner,
                "num_simulation_rows_sampled": len(simulation),
                "num_simulation_rows_trained": len(rows),
            },
            key=MIXING_RESULTS,
            window=1,
        )
        return mix_minibatches(expert, simulation.batch(rows), num_minibatches)

    @override(MARWIL)
    def cleanup(self) -> None:
        if isinstance(self.offline_data, StreamingOfflineData):
            self.offline_data.stop()
        super().cleanup()

    def _sync_env_runner_weights(self) -> None:
        for group in (self.env_runner_group, self.eval_env_runner_group):
            if group is not None:
                group.sync_weights(from_worker_or_learner_group=self.learner_group, inference_only=True)

    @override(MARWIL)
    def set_state(self, state) -> None:
        # Algorithm.set_state syncs `env_runner_group`, which pure offline algorithms do not have.
        state = dict(state)
        learner_state = state.pop(COMPONENT_LEARNER_GROUP, None)
        super().set_state(state)
        if learner_state is not None:
            self.learner_group.set_state(learner_state)
            self._sync_env_runner_weights()

    @override(MARWIL)
    def restore_from_path(self, path, *args, **kwargs) -> None:
        # Algorithm.restore_from_path crashes without an `env_runner_group` (docs/notes/rllib.md, "Checkpoints").
        Checkpointable.restore_from_path(self, path, *args, **kwargs)
        self._sync_env_runner_weights()
