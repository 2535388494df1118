"""Ape-X actors: every env runner explores with its own constant epsilon.

Horgan et al. 2018 (arXiv 1803.00933), section 4: runner i of N uses
    eps_i = base ** (1 + alpha * i / (N - 1)),   base = 0.4, alpha = 7 in the paper (from scratch),
so the actors span greedy-ish (0.4^8 ~ 0.0007) to exploratory (0.4). DQfD's Phase 2 starts from a
pre-trained policy and uses base 0.1 by default (`DQfDConfig.apex_epsilon_base`). RLlib's DQN module reads its
epsilon from `module.epsilon_schedule`; we replace that schedule after the module is built.
The epsilon in use is logged by each runner as `epsilon_runner_<i>`.
"""

from ray.rllib.core.rl_module.multi_rl_module import MultiRLModule
from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner
from ray.rllib.utils.schedules.scheduler import Scheduler


def apex_epsilon(index: int, num_runners: int, base: float, alpha: float) -> float:
    """eps_i = base^(1 + alpha * i / (N - 1)); a single runner uses `base`."""
    if num_runners <= 1:
        return base
    return base ** (1.0 + alpha * index / (num_runners - 1))


class _ApexEpsilonMixin:
    """Sets the module's epsilon to the runner's Ape-X epsilon when `config.per_runner_epsilon`."""

    epsilon = None

    def make_module(self):
        super().make_module()
        if not getattr(self.config, "per_runner_epsilon", False) or self.module is None:
            return
        # Remote runners are numbered 1..N; the local runner 0 samples only when N == 0.
        index = max(self.worker_index - 1, 0)
        self.epsilon = apex_epsilon(
            index, max(self.config.num_env_runners, 1), self.config.apex_epsilon_base, self.config.apex_epsilon_alpha
        )
        modules = self.module.values() if isinstance(self.module, MultiRLModule) else [self.module]
        for module in modules:
            module.epsilon_schedule = Scheduler(self.epsilon)

    def get_metrics(self):
        if self.epsilon is not None:
            self.metrics.log_value(f"epsilon_runner_{self.worker_index}", self.epsilon, window=1)
        return super().get_metrics()


class ApexSingleAgentEnvRunner(_ApexEpsilonMixin, SingleAgentEnvRunner):
    """SingleAgentEnvRunner with the Ape-X per-runner epsilon."""


class ApexMultiAgentEnvRunner(_ApexEpsilonMixin, MultiAgentEnvRunner):
    """MultiAgentEnvRunner with the Ape-X per-runner epsilon (for every module)."""
