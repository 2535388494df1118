"""MARWIL_IL: RLlib's MARWIL with Monte-Carlo advantages, a beta schedule, validation and IS/WIS.

Wang et al. (2018), "Exponentially Weighted Imitation Learning for Batched Historical Data".
Named `MARWIL_IL` in experiment files, beside RLlib's own `MARWIL` and `BC`. Differences to RLlib's:
- value targets are discounted Monte-Carlo returns over whole episodes (RLlib trains on 1-step
  targets from the initial value net, see docs/notes/rllib.md, "Offline data");
- `beta` is a float or a piecewise-linear schedule [[t0, v0], [t1, v1], ...] over t = samples
  trained so far (env steps sampled when mixing); beta = 0 is behaviour cloning;
- datasets that fit in memory are loaded once (`InMemoryOfflineData`), larger ones stream through
  Ray Data (`StreamingOfflineData`, `data_in_memory`); minibatches go straight to the learners;
- every iteration reports train / validation action accuracy, policy loss, entropy, and per-decision
  IS / WIS estimates on the held-out episodes;
- `prepare()` resolves the dataset and env facts once (spaces, data class, compatibility), before
  `validate()`, which only checks settings;
- `expert_fraction` < 1 is mixed MARWIL (Phase 2): env runners sample complete episodes with the
  current policy, and every minibatch holds that fraction of expert rows, the rest simulation rows,
  with Monte-Carlo advantages on both (`mixing.py`).
"""

from typing import Optional, Union

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig, NotProvided
from ray.rllib.algorithms.marwil.marwil import MARWIL, MARWILConfig
from ray.rllib.core import COMPONENT_LEARNER_GROUP, DEFAULT_MODULE_ID
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
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
from typing_extensions import Self

from rllib_il.algorithms.critic_burn_in import check_burn_in
from rllib_il.algorithms.marwil.checks import NAME, check_beta, is_behaviour_cloning
from rllib_il.algorithms.marwil.in_memory_data import EpisodeArrays
from rllib_il.algorithms.marwil.mixing import expert_rows, mix_minibatches
from rllib_il.algorithms.marwil.prepare import prepare
from rllib_il.algorithms.marwil.streaming_data import StreamingOfflineData
from rllib_il.algorithms.marwil.torch.marwil_torch_learner import MARWILILTorchLearner
from rllib_il.algorithms.prepared import PreparesConfig
from rllib_il.core.errors import ConfigError
from rllib_il.replay.mixing import ExpertFraction, check_fraction, fraction_values

VALIDATION_RESULTS = "validation"
MIXING_RESULTS = "mixing"
# Settings RLlib's MARWIL has and MARWIL_IL does not use: refused unless left at these values.
UNSUPPORTED = {"bc_logstd_coeff": 0.0}


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
        # "auto", True or False; prepare() sets `offline_data_class` from it.
        self.data_in_memory = "auto"
        self.train_batch_size_per_learner = 512
        self.dataset_num_iters_per_learner = 20
        self.lr = 5e-4
        self.materialize_data = False
        self.expert_fraction = 1.0
        self.critic_burn_in_iterations = 0
        # Mixed MARWIL needs whole episodes for its Monte-Carlo returns.
        self.batch_mode = "complete_episodes"
        self.squash_actions = False

    @override(MARWILConfig)
    def training(
        self,
        *,
        validation_fraction: Optional[float] = NotProvided,
        max_episodes: Optional[int] = NotProvided,
        data_in_memory: Optional[Union[str, bool]] = NotProvided,
        expert_fraction=NotProvided,
        critic_burn_in_iterations: Optional[int] = NotProvided,
        squash_actions: Optional[bool] = NotProvided,
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
            expert_fraction: Share of expert rows in every minibatch, a float or a schedule
                [[iteration, value], ...] (rllib_il/replay/mixing.py, as DQfD's). 1.0 (default) trains
                on the dataset only; below 1.0 the env runners sample complete episodes each iteration
                with the current policy and fill the rest of every minibatch (mixed MARWIL, e.g. 0.25
                for the 2020 baselines' 25 % expert / 75 % simulation).
            critic_burn_in_iterations: training iterations at the start in which only the value function
                learns (rllib_il/algorithms/critic_burn_in.py): a mixed MARWIL from a BC checkpoint
                gets values before its advantages weight the policy loss. Needs beta > 0 at some time.
            squash_actions: Box actions only: a tanh-squashed Gaussian policy (SAC's actor
                distribution, rllib_il/algorithms/squashed_actions.py) instead of RLlib's diagonal
                Gaussian, so every action lies inside the Box and its likelihood is that of the action
                the env receives. Needs normalize_actions (RLlib's default).
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
        if critic_burn_in_iterations is not NotProvided:
            self.critic_burn_in_iterations = critic_burn_in_iterations
        if squash_actions is not NotProvided:
            self.squash_actions = squash_actions
        return self

    @property
    def is_online(self) -> bool:
        """Mixed MARWIL samples the env (an expert_fraction below 1 at some point of its schedule);
        pure MARWIL / BC does not (no env runner group)."""
        return min(fraction_values(self.expert_fraction)) < 1.0

    @override(MARWILConfig)
    def get_default_learner_class(self):
        return MARWILILTorchLearner

    @override(MARWILConfig)
    def build_learner_connector(self, input_observation_space, input_action_space, device=None):
        # Batches arrive complete (with Monte-Carlo VALUE_TARGETS): no GAE / 1-step pieces.
        return AlgorithmConfig.build_learner_connector(self, input_observation_space, input_action_space, device=device)

    def prepare(self) -> "MARWILILConfig":
        """A copy of this config with the dataset and env facts resolved and checked, once, before
        validate() (rllib_il/algorithms/marwil/prepare.py). MARWILIL.__init__ and the experiment layer
        call it."""
        return prepare(self)

    @override(MARWILConfig)
    def validate(self) -> None:
        check_beta(self.beta)
        check_burn_in(self)
        if self.critic_burn_in_iterations and is_behaviour_cloning(self.beta):
            raise ConfigError(
                f"critic_burn_in_iterations: {self.critic_burn_in_iterations}; beta is 0 throughout, so no value "
                "function is trained to burn in"
            )
        check_fraction(self.expert_fraction)
        if self.is_online and self.batch_mode != "complete_episodes":
            raise ConfigError(
                f"{NAME} config batch_mode={self.batch_mode!r}: mixed MARWIL (expert_fraction < 1) "
                "needs 'complete_episodes' for its Monte-Carlo returns"
            )
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
        for key, default in UNSUPPORTED.items():
            if getattr(self, key) != default:
                raise ConfigError(
                    f"{NAME} config {key}={getattr(self, key)!r}: not used by {NAME}; leave it at {default!r}"
                )
        # MARWILConfig.validate() refuses beta schedules (it wants a float); its other checks are
        # the generic AlgorithmConfig ones, called here directly.
        AlgorithmConfig.validate(self)

    @property
    def trained_module_id(self) -> str:
        return next(iter(self.policies)) if self.is_multi_agent else DEFAULT_MODULE_ID


class MARWILIL(PreparesConfig, MARWIL):
    """Offline MARWIL / BC on whole episodes, in memory or streamed (see module docstring)."""

    @classmethod
    @override(MARWIL)
    def get_default_config(cls) -> MARWILILConfig:
        return MARWILILConfig()

    @override(MARWIL)
    def setup(self, config: MARWILILConfig) -> None:
        super().setup(config)
        self._expert_fraction = ExpertFraction(config.expert_fraction)

    @override(MARWIL)
    def training_step(self) -> None:
        config, module_id = self.config, self.config.trained_module_id
        batch_size, num_updates = config.train_batch_size_per_learner, config.dataset_num_iters_per_learner
        num_minibatches = num_updates * max(1, config.num_learners)
        num_samples = batch_size * num_minibatches
        fraction = self._expert_fraction.at(self.iteration)
        # The beta schedule's t is NUM_ENV_STEPS_SAMPLED_LIFETIME as RLlib counts it: env steps sampled
        # when mixing, samples trained before this iteration when offline.
        if fraction < 1.0:
            batch = self._mixed_batch(fraction, num_minibatches)
        else:
            with self.metrics.log_time((TIMERS, OFFLINE_SAMPLING_TIMER)):
                batch = self.offline_data.sample(num_samples)
        if config.is_online:  # one clock for every iteration, also those of a schedule at 1.0
            t = self.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0)
        else:
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
        if config.is_online:  # the next mixed iteration samples with these weights
            self.env_runner_group.sync_weights(from_worker_or_learner_group=self.learner_group, inference_only=True)
        if self.offline_data.validation is not None:
            validation = self.learner_group.foreach_learner(
                lambda learner, v=self.offline_data.validation.validation_batch(): learner.validation_metrics(
                    module_id, v
                )
            )
            self.metrics.log_dict(next(iter(validation)).get(), key=VALIDATION_RESULTS, window=1)

    def _mixed_batch(self, fraction: float, num_minibatches: int) -> dict:
        """Fresh complete episodes from the env runners (every agent's, on a multi-agent env),
        mixed with expert rows at `fraction` in each minibatch."""
        config = self.config
        batch_size = config.train_batch_size_per_learner
        expert_counts = expert_rows(self._expert_fraction, fraction, batch_size, num_minibatches)
        num_simulation = batch_size * num_minibatches - sum(expert_counts)
        with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, env_runner_results = synchronous_parallel_sample(
                worker_set=self.env_runner_group,
                max_agent_steps=num_simulation,
                sample_timeout_s=config.sample_timeout_s,
                _uses_new_env_runners=True,
                _return_metrics=True,
            )
        self.metrics.aggregate(env_runner_results, key=ENV_RUNNER_RESULTS)
        agent_episodes = [
            agent_episode
            for episode in episodes
            for agent_episode in (
                episode.agent_episodes.values() if isinstance(episode, MultiAgentEpisode) else [episode]
            )
            if len(agent_episode)
        ]
        simulation = EpisodeArrays.from_episodes(agent_episodes, config.gamma)
        with self.metrics.log_time((TIMERS, OFFLINE_SAMPLING_TIMER)):
            expert = self.offline_data.sample(sum(expert_counts))
        # Complete episodes overshoot the requested steps: a random subset of the fresh rows is used.
        rows = self.offline_data.rng.permutation(len(simulation))[:num_simulation]
        self.metrics.log_dict(
            {
                "expert_fraction": sum(expert_counts) / (batch_size * num_minibatches),
                "num_simulation_rows_sampled": len(simulation),
                "num_simulation_rows_trained": len(rows),
            },
            key=MIXING_RESULTS,
            window=1,
        )
        return mix_minibatches(expert, simulation.batch(rows), expert_counts, batch_size)

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
