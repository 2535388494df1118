"""SQIL on RLlib's new-stack DQN, through DQfD's mixed replay.

Soft Q Imitation Learning, Reddy, Dragan and Levine 2020 (arXiv 1905.11108):

- replay = `MixedEpisodeReplayBuffer(agent, demonstrations, expert_fraction=0.5)`, the same two
  buffers DQfD mixes (rllib_il/algorithms/dqfd/demonstrations.py), with every demonstration step
  replayed with reward `expert_reward` (1) and every step of the agent with `agent_reward` (0): the
  env's reward is never read for training;
- loss = squared soft Bellman error, target r + gamma * alpha * logsumexp(Q'(s', .) / alpha)
  (rllib_il/losses/sqil.py), alpha = `soft_q_temperature` (0: DQN's hard max);
- the DQfD terms stay available and are off by default (`lambda_margin` adds the large-margin loss
  on the demonstrations, `lambda_nstep` with `n_step` > 1 the n-step term);
- a multi-agent env (Flatland) trains its one shared module on every agent's steps, as DQfD does.

The training loop is DQfD's: rounds of sampling the env runners and updating from the mixed replay
(`training_intensity` sets updates per env step).
"""

from typing import Optional

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.utils.annotations import override

from rllib_il.algorithms.dqfd.demonstrations import build_replay
from rllib_il.algorithms.dqfd.dqfd import DQfD, DQfDConfig
from rllib_il.algorithms.sqil.torch.sqil_torch_learner import SQILTorchLearner
from rllib_il.core.errors import ConfigError
from rllib_il.core.settings import check_bool, check_number, set_provided


class SQILConfig(DQfDConfig):
    """DQfDConfig with SQIL's defaults (half expert rows, rewards 1 / 0, soft target, uniform replay)."""

    uses_demonstration_rewards = False

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or SQIL)
        self.expert_reward = 1.0
        self.agent_reward = 0.0
        self.soft_q_temperature = 1.0
        self.ignore_terminations = False
        self.expert_fraction = 0.5
        self.n_step = 1
        self.lambda_nstep = 0.0
        self.lambda_margin = 0.0
        self.lambda_l2 = 0.0
        self.expert_priority_bonus = 0.0
        self.td_error_loss_fn = "mse"
        # SQIL samples uniformly: alpha 0 makes every priority equal, beta 0 every weight 1.
        self.replay_buffer_config = {**self.replay_buffer_config, "alpha": 0.0, "beta": 0.0}
        # SQIL learns from scratch: RLlib DQN's exploration, not DQfD's after pre-training.
        self.epsilon = [(0, 1.0), (10000, 0.05)]

    @override(DQfDConfig)
    def training(
        self,
        *,
        expert_reward: Optional[float] = NotProvided,
        agent_reward: Optional[float] = NotProvided,
        soft_q_temperature: Optional[float] = NotProvided,
        ignore_terminations: Optional[bool] = NotProvided,
        **kwargs,
    ) -> "SQILConfig":
        """Sets the SQIL options (and every DQfD / DQN option).

        Args:
            expert_reward: the reward of every demonstration step (SQIL: 1).
            agent_reward: the reward of every step the agent sampled (SQIL: 0).
            soft_q_temperature: alpha of the soft value alpha * logsumexp(Q / alpha); 0: hard max.
            ignore_terminations: bootstrap through terminal steps too. With rewards 1 / 0, a terminal
                step's value 0 is the agent's own reward forever, so ending an episode looks worse than
                any step that resembles the demonstrations (on LunarLander: hovering beats landing);
                bootstrapping from the last observation values it like any other state.
        """
        super().training(**kwargs)
        set_provided(self, locals())
        return self

    @override(DQfDConfig)
    def get_default_learner_class(self):
        return SQILTorchLearner

    @override(DQfDConfig)
    def validate(self) -> None:
        super().validate()
        for key in ("expert_reward", "agent_reward"):
            check_number(key, getattr(self, key))
        check_number("soft_q_temperature", self.soft_q_temperature, 0.0)
        check_bool("ignore_terminations", self.ignore_terminations)
        if self.transformed_bellman:
            raise ConfigError("transformed_bellman: not available with SQIL's soft target (rewards are 0 or 1)")


class SQIL(DQfD):
    @classmethod
    @override(DQfD)
    def get_default_config(cls) -> SQILConfig:
        return SQILConfig()

    @override(DQfD)
    def _create_local_replay_buffer_if_necessary(self, config: SQILConfig):
        return build_replay(
            config,
            expert_reward=config.expert_reward,
            simulation_reward=config.agent_reward,
            ignore_terminations=config.ignore_terminations,
        )
