"""Torch learner of SQIL: DQfD's learner (its loss terms and metrics) with the soft Bellman target of
rllib_il/losses/sqil.py in place of the double-Q one."""

from ray.rllib.utils.annotations import override

from rllib_il.algorithms.dqfd.torch.dqfd_torch_learner import DQfDTorchLearner
from rllib_il.losses.sqil import soft_bellman_target


class SQILTorchLearner(DQfDTorchLearner):
    @override(DQfDTorchLearner)
    def bootstrap_target(self, config, rewards, q_next_online, q_next_target, terminateds, discounts):
        """r + discount * (1 - done) * alpha * logsumexp(Q_target(s', .) / alpha)."""
        return soft_bellman_target(rewards, q_next_target, terminateds, discounts, config.soft_q_temperature)
