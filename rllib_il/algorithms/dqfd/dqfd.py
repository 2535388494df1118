"""DQfD and Ape-X DQfD on RLlib's new-stack DQN.

Deep Q-learning from Demonstrations (Hester et al. 2018, arXiv 1704.03732) with the Ape-X
ingredients of Pohlen et al. 2018 (arXiv 1805.11593) and Horgan et al. 2018 (arXiv 1803.00933):

- replay = `MixedEpisodeReplayBuffer(simulation, demonstrations, expert_fraction)` of two separately
  prioritized n-step buffers (`demonstrations.py`); `expert_fraction`: rllib_il/replay/mixing.py;
- loss = 1-step + n-step double-Q TD + large-margin loss on expert rows + L2 (optionally with the
  transformed Bellman operator), see `torch/dqfd_torch_learner.py`;
- Phase 1 (pre-training) is any iteration whose `expert_fraction` is 1.0: no env sampling at all,
  `pretrain_updates_per_iteration` updates; Phase 2 samples the env runners like RLlib's DQN
  (`training_intensity` sets updates per env step) for `mixed_env_steps_per_iteration` env steps;
- `APEX_DQfD`: each env runner explores with its own constant Ape-X epsilon.
"""

import time
from typing import Optional

import numpy as np
from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.algorithms.dqn.dqn import DQN, DQNConfig, calculate_rr_weights
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import (
    ALL_MODULES,
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_AGENT_STEPS_SAMPLED_LIFETIME,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    REPLAY_BUFFER_SAMPLE_TIMER,
    TD_ERROR_KEY,
    TIMERS,
)
from ray.rllib.utils.numpy import convert_to_numpy

from rllib_il.algorithms.dqfd.demonstrations import build_replay, prepare
from rllib_il.algorithms.dqfd.torch.dqfd_torch_learner import DQfDTorchLearner
from rllib_il.algorithms.prepared import PreparesConfig
from rllib_il.core.errors import ConfigError
from rllib_il.core.settings import set_provided
from rllib_il.replay.mixing import ExpertFraction, check_fraction, fraction_values

# DQN's validate() wants an episode buffer type; DQfD builds its own (`DQfD._create_local_replay_buffer_if_necessary`).
BUFFER_TYPE = "rllib_il.replay.nstep_buffer.NStepPrioritizedEpisodeBuffer"
# What checkpoints of earlier versions store as the type: still DQfD's own replay.
EARLIER_BUFFER_TYPES = ("rllib_il.replay.mixed_episode_buffer.MixedPrioritizedEpisodeReplayBuffer",)
# Settings DQN has and DQfD does not honour: refused unless left at these values.
UNSUPPORTED = {"num_atoms": 1}


class DQfDConfig(DQNConfig):
    """DQNConfig plus the demonstration settings of DQfD (defaults from arXiv 1704.03732)."""

    # The demonstrations' rewards are trained on: their recorded reward settings must match the env's.
    uses_demonstration_rewards = True

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or DQfD)
        self.expert_data = None
        self.max_expert_episodes = None
        self.expert_fraction = 0.25
        self.expert_priority_bonus = 1.0
        self.priority_eps = 1e-3
        self.margin = 0.8
        self.lambda_nstep = 1.0
        self.lambda_margin = 1.0
        self.lambda_l2 = 1e-5
        self.transformed_bellman = False
        self.transform_eps = 1e-2
        self.margin_top_fraction = 1.0
        self.pretrain_updates_per_iteration = 100
        self.mixed_env_steps_per_iteration = 0
        self.per_runner_epsilon = False
        # Phase 2 explores from the pre-trained policy (docs/dqfd.md, "Phase 2 settings"): DQfD's
        # epsilon 0.01 after pre-training; Ape-X runners span 0.1 .. 0.1^8 (mean 0.05 on 2 runners,
        # ~0.006 on many) where Ape-X from scratch uses base 0.4.
        self.epsilon = [(0, 0.01)]
        self.apex_epsilon_base = 0.1
        self.apex_epsilon_alpha = 7.0
        # DQfD paper: 10-step returns, alpha 0.4, beta 0.6.
        self.n_step = 10
        self.replay_buffer_config = {"type": BUFFER_TYPE, "capacity": 50000, "alpha": 0.4, "beta": 0.6}
        # Pre-training iterations sample nothing: never wait for env steps by default.
        self.min_sample_timesteps_per_iteration = 0

    @override(DQNConfig)
    def training(
        self,
        *,
        expert_data=NotProvided,
        max_expert_episodes: Optional[int] = NotProvided,
        expert_fraction=NotProvided,
        expert_priority_bonus: Optional[float] = NotProvided,
        priority_eps: Optional[float] = NotProvided,
        margin: Optional[float] = NotProvided,
        lambda_nstep: Optional[float] = NotProvided,
        lambda_margin: Optional[float] = NotProvided,
        lambda_l2: Optional[float] = NotProvided,
        transformed_bellman: Optional[bool] = NotProvided,
        transform_eps: Optional[float] = NotProvided,
        margin_top_fraction: Optional[float] = NotProvided,
        pretrain_updates_per_iteration: Optional[int] = NotProvided,
        mixed_env_steps_per_iteration: Optional[int] = NotProvided,
        per_runner_epsilon: Optional[bool] = NotProvided,
        apex_epsilon_base: Optional[float] = NotProvided,
        apex_epsilon_alpha: Optional[float] = NotProvided,
        **kwargs,
    ) -> "DQfDConfig":
        """Sets the DQfD training options.

        Args:
            expert_data: saved_experiences dataset(s) (directory, glob, file or list) of demonstrations.
            max_expert_episodes: use only the first N demonstrations (in stored order); None: all.
            expert_fraction: share of expert rows per batch, a float in [0, 1] or a schedule
                [[iteration, value], ...]; 1.0 = pre-training (no env sampling).
            expert_priority_bonus: eps_d added to expert priorities (DQfD: 1.0).
            priority_eps: eps_a added to every priority (DQfD: 0.001).
            margin: expert margin l(a_E, a) of J_E (DQfD: 0.8).
            lambda_nstep, lambda_margin, lambda_l2: lambda1, lambda2, lambda3 (DQfD: 1, 1, 1e-5).
            transformed_bellman: use h(r + gamma^n h^-1(Q')) targets (Ape-X DQfD), with `transform_eps`.
            margin_top_fraction: apply J_E only to this best fraction of expert episodes by return.
            pretrain_updates_per_iteration: learner updates per pre-training iteration.
            mixed_env_steps_per_iteration: env steps a Phase 2 iteration samples at least (0: one
                round of `training_intensity`). Use it instead of `min_sample_timesteps_per_iteration`,
                which must stay 0 so that pre-training iterations (no env steps) can end.
            per_runner_epsilon: Ape-X exploration, eps_i = base^(1 + alpha i / (N - 1)) for runner i.
            apex_epsilon_base, apex_epsilon_alpha: base (default 0.1; Ape-X from scratch: 0.4) and alpha (7)
                of that formula.
        """
        super().training(**kwargs)
        set_provided(self, locals())
        return self

    @override(DQNConfig)
    def get_default_learner_class(self):
        return DQfDTorchLearner

    @property
    def trained_module_id(self) -> str:
        """The one module DQfD trains: `default_policy`, or the shared module of a multi-agent env."""
        return next(iter(self.policies)) if self.is_multi_agent else DEFAULT_MODULE_ID

    def prepare(self) -> "DQfDConfig":
        """A copy with the env and demonstration facts resolved and checked, once, before validate()
        (rllib_il/algorithms/dqfd/demonstrations.py)."""
        return prepare(self)

    @override(DQNConfig)
    def validate(self) -> None:
        super().validate()
        check_fraction(self.expert_fraction)
        values = fraction_values(self.expert_fraction)
        for key, default in UNSUPPORTED.items():
            if getattr(self, key) != default:
                raise ConfigError(f"{key}: {getattr(self, key)!r}; DQfD supports only {key}={default!r}")
        replay_type = self.replay_buffer_config.get("type", BUFFER_TYPE)
        if isinstance(replay_type, type):  # RLlib resolves the dotted name to the class in some paths
            replay_type = f"{replay_type.__module__}.{replay_type.__qualname__}"
        if replay_type != BUFFER_TYPE and replay_type not in EARLIER_BUFFER_TYPES:
            raise ConfigError(
                f"replay_buffer_config.type: {replay_type!r}; DQfD builds its own mixed replay "
                "(set capacity, alpha, beta only)"
            )
        if max(values) > 0 and self.expert_data is None:
            raise ConfigError("expert_data: missing (the saved_experiences dataset of the demonstrations)")
        if max(values) >= 1.0 and self.min_sample_timesteps_per_iteration > 0:
            raise ConfigError(
                "min_sample_timesteps_per_iteration: must be 0 when expert_fraction reaches 1.0 "
                "(pre-training samples no env steps); set mixed_env_steps_per_iteration instead"
            )
        for key in ("margin", "lambda_nstep", "lambda_margin", "lambda_l2", "expert_priority_bonus", "priority_eps"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key}: {getattr(self, key)} must be >= 0")
        if self.max_expert_episodes is not None and (
            isinstance(self.max_expert_episodes, bool)
            or not isinstance(self.max_expert_episodes, int)
            or self.max_expert_episodes < 1
        ):
            raise ConfigError(f"max_expert_episodes: {self.max_expert_episodes!r} must be a positive integer or None")
        if not 0.0 < self.margin_top_fraction <= 1.0:
            raise ConfigError(f"margin_top_fraction: {self.margin_top_fraction} must be in (0, 1]")
        if not isinstance(self.n_step, int) or self.n_step < 1:
            raise ConfigError(f"n_step: {self.n_step} must be an integer >= 1 for DQfD")
        if self.is_multi_agent and len(self.policies) != 1:
            raise ConfigError(f"policies: {sorted(self.policies)}; DQfD trains one (shared) module")


class APEXDQfDConfig(DQfDConfig):
    """DQfD with Ape-X actors: per-runner constant epsilon (arXiv 1803.00933)."""

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or APEX_DQfD)
        self.per_runner_epsilon = True


class DQfD(PreparesConfig, DQN):
    @classmethod
    @override(DQN)
    def get_default_config(cls) -> DQfDConfig:
        return DQfDConfig()

    @override(DQN)
    def setup(self, config: DQfDConfig) -> None:
        super().setup(config)
        self._expert_fraction = ExpertFraction(config.expert_fraction)
        self._pretrain_steps = 0

    @override(DQN)
    def _create_local_replay_buffer_if_necessary(self, config: DQfDConfig):
        return build_replay(config)

    @override(DQN)
    def training_step(self) -> None:
        """Phase 1 (expert_fraction 1): updates only. Phase 2: rounds of sample, store, update."""
        start = time.perf_counter()
        fraction = self._expert_fraction.at(self.iteration)
        self.local_replay_buffer.fraction = fraction
        first_env_steps = self._env_steps()
        if fraction >= 1.0:
            num_updates = self._train(self.config.pretrain_updates_per_iteration, pretraining=True)
        else:
            num_updates = 0
            while True:
                num_samples, updates_per_round = calculate_rr_weights(self.config)
                sampled = sum(self._sample_and_store() for _ in range(num_samples))
                if not sampled:  # every env runner failed: RLlib restores them before the next training_step
                    break
                if self._env_steps() >= self.config.num_steps_sampled_before_learning_starts:
                    num_updates += self._train(updates_per_round)
                if self._env_steps() - first_env_steps >= self.config.mixed_env_steps_per_iteration:
                    break
        elapsed = time.perf_counter() - start
        self.metrics.log_dict(
            {
                "expert_fraction": fraction,
                "updates_per_s": num_updates / elapsed,
                "env_steps_per_s": (self._env_steps() - first_env_steps) / elapsed,
            },
            window=1,
        )
        self.metrics.log_value("num_learner_updates_lifetime", num_updates, reduce="lifetime_sum")

    def _env_steps(self) -> int:
        return self.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0)

    def _train(self, num_updates: int, pretraining: bool = False) -> int:
        """`num_updates` learner updates on mixed batches, then the env runners get the new weights.

        The learner's target-network clock is env steps plus, in pre-training, the trained rows.
        """
        for _ in range(num_updates):
            self._update_from_replay(self._env_steps() + self._pretrain_steps)
            self._pretrain_steps += self.config.total_train_batch_size if pretraining else 0
        if num_updates:
            self.env_runner_group.sync_weights(
                from_worker_or_learner_group=self.learner_group,
                policies=[self.config.trained_module_id],
                inference_only=True,
            )
        return num_updates

    def _sample_and_store(self) -> int:
        """One sampling round of every healthy env runner into the replay buffer; returns the number
        of episode chunks it brought (0 when no runner answered)."""
        with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, env_runner_results = synchronous_parallel_sample(
                worker_set=self.env_runner_group,
                concat=True,
                sample_timeout_s=self.config.sample_timeout_s,
                _uses_new_env_runners=True,
                _return_metrics=True,
            )
        self.metrics.aggregate(env_runner_results, key=ENV_RUNNER_RESULTS)
        self.local_replay_buffer.add(episodes)
        return len(episodes)

    def _update_from_replay(self, timestep: int) -> None:
        """One learner update on a mixed batch, then its TD errors become the rows' priorities."""
        with self.metrics.log_time((TIMERS, REPLAY_BUFFER_SAMPLE_TIMER)):
            episodes = self.local_replay_buffer.sample(
                num_items=self.config.total_train_batch_size,
                n_step=self.config.n_step,
                gamma=self.config.gamma,
                beta=self.config.replay_buffer_config.get("beta", 0.0),
            )
        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            learner_results = self.learner_group.update(
                episodes=episodes,
                timesteps={
                    NUM_ENV_STEPS_SAMPLED_LIFETIME: timestep,
                    NUM_AGENT_STEPS_SAMPLED_LIFETIME: self.metrics.peek(
                        (ENV_RUNNER_RESULTS, NUM_AGENT_STEPS_SAMPLED_LIFETIME), default={}
                    ),
                },
            )
        td_errors = []  # of the one trained module, in the batch's row order
        for result in learner_results:
            for module_id, module_results in result.items():
                if module_id != ALL_MODULES and TD_ERROR_KEY in module_results:
                    td_errors.extend(convert_to_numpy(module_results.pop(TD_ERROR_KEY).peek()))
        self.metrics.aggregate(learner_results, key=LEARNER_RESULTS)
        if td_errors:
            self.local_replay_buffer.update_priorities(np.concatenate(td_errors))


class APEX_DQfD(DQfD):  # noqa: N801 (the name experiment files use, like RLlib's old APEX)
    @classmethod
    @override(DQfD)
    def get_default_config(cls) -> APEXDQfDConfig:
        return APEXDQfDConfig()
