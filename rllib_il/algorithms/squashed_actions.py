"""A tanh-squashed Gaussian policy for Box actions: `squash_actions: true` of MARWIL_IL.

RLlib's default for a Box is a diagonal Gaussian whose samples may leave [-1, 1]; the env runners
then clip them (`unsquash_action`), so the likelihood the loss maximises is not that of the actions the
env receives. With squashing the policy is u = tanh(x), x ~ N(mu(s), sigma(s)), always inside the Box,
with the density of SAC (Haarnoja et al. 2018, arXiv 1801.01290, appendix C):

    log pi(u|s) = log N(atanh(u); mu, sigma) - sum_d log(1 - u_d^2)

This is SAC's actor distribution, so a behaviour-cloned actor can start RLlib's SAC. Its greedy
action is tanh(mu) (`rllib_il.core.distributions.TanhGaussian`). It has no closed-form entropy:
entropy metrics are left out with it.
"""

import dataclasses

from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core.distribution.torch.torch_distribution import TorchSquashedGaussian

from rllib_il.algorithms.image_observations import ImagePPOTorchRLModule
from rllib_il.core.distributions import TanhGaussian
from rllib_il.core.errors import ConfigError
from rllib_il.data import is_box


class SquashedPPOTorchRLModule(ImagePPOTorchRLModule):
    """RLlib's PPO / MARWIL module with the `TanhGaussian` action distribution (and uint8 image
    observations scaled to [0, 1], as `ImagePPOTorchRLModule`)."""

    def get_train_action_dist_cls(self):
        return TanhGaussian

    def get_exploration_action_dist_cls(self):
        return TanhGaussian

    def get_inference_action_dist_cls(self):
        return TanhGaussian


def has_entropy(action_dist) -> bool:
    return not isinstance(action_dist, TorchSquashedGaussian)


def with_squashed_actions(config, action_space, name: str):
    """`config` with `SquashedPPOTorchRLModule` when `config.squash_actions` is set; ConfigError when
    the action space is no Box, actions are not normalised (tanh's range is [-1, 1]) or the config
    names another module class."""
    if not config.squash_actions:
        return config
    if not (is_box(action_space) and action_space.is_bounded()):
        raise ConfigError(
            f"{name} config squash_actions=True: the action space {action_space} is not a bounded float Box"
        )
    if not config.normalize_actions:
        raise ConfigError(
            f"{name} config squash_actions=True needs normalize_actions=True "
            "(tanh's range [-1, 1] is what is mapped to the Box)"
        )
    module_class = config.rl_module_spec.module_class
    if module_class not in (DefaultPPOTorchRLModule, ImagePPOTorchRLModule, SquashedPPOTorchRLModule):
        raise ConfigError(
            f"{name} config squash_actions=True: module class {module_class.__name__} is not RLlib's default one"
        )
    return config.rl_module(
        rl_module_spec=dataclasses.replace(config.rl_module_spec, module_class=SquashedPPOTorchRLModule)
    )
