"""Image observations: uint8 frames stored and batched as uint8, read by the module as floats in [0, 1].

Datasets keep camera frames as the env emits them (uint8, H x W x C; 96 x 96 x 3 on CarRacing) and
minibatches carry them so, 4x smaller than float32. RLlib's catalog builds its CNN encoder for any
observation Box of rank 3 (`model_config` `conv_filters`, RLlib's defaults for 96 x 96, 84 x 84,
64 x 64, 42 x 42 and 10 x 10 frames), and that encoder takes float input only: uint8 frames fail in its
first convolution ("Input type (unsigned char) and bias type (float) should be the same"). The module
here casts uint8 observations to float and divides them by 255 first, wherever it runs: in the
learner (the loss, and PPO's value targets in the learner connector), in the env runners and in
`ModulePolicy` evaluation.

`with_image_observations(config)` swaps RLlib's default PPO module (PPO's and MARWIL's, so PPO_IL's,
GAIL's, DRIL's and MARWIL_IL's) for it when the config's observation space is a uint8 image; our
algorithms apply it in their preparation step (rllib_il/algorithms/prepared.py).
"""

import dataclasses

import numpy as np
import torch
from gymnasium import spaces
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core.columns import Columns

from rllib_il.envs import agent_spaces, build_env


def is_image(space) -> bool:
    """A uint8 Box of rank 3 (height, width, channels): the frames RLlib's CNN encoder reads."""
    return isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3


def scaled(batch: dict) -> dict:
    """`batch` with uint8 observations as float32 in [0, 1]; other observations unchanged."""
    obs = batch[Columns.OBS]
    if not (isinstance(obs, torch.Tensor) and obs.dtype == torch.uint8):
        return batch
    return {**batch, Columns.OBS: obs.float() / 255.0}


class ImagePPOTorchRLModule(DefaultPPOTorchRLModule):
    """RLlib's PPO / MARWIL module reading uint8 observations as floats in [0, 1] (`scaled`)."""

    def _forward(self, batch, **kwargs):
        return super()._forward(scaled(batch), **kwargs)

    def _forward_train(self, batch, **kwargs):
        return super()._forward_train(scaled(batch), **kwargs)

    def compute_values(self, batch, embeddings=None):
        return super().compute_values(scaled(batch), embeddings)


def observation_space(config):
    """The module's observation space: the config's, else its env's (None without either)."""
    if config.observation_space is not None:
        return config.observation_space
    if config.env is None:
        return None
    env = build_env(config.env, config.env_config)
    try:
        return agent_spaces(env)[0]
    finally:
        env.close()


def with_image_observations(config):
    """`config` with `ImagePPOTorchRLModule` when its observations are uint8 images and its module class is
    RLlib's default PPO one; unchanged otherwise (subclasses of ImagePPOTorchRLModule, e.g. the squashed
    module, already scale)."""
    if config.rl_module_spec.module_class is not DefaultPPOTorchRLModule or not is_image(observation_space(config)):
        return config
    return config.rl_module(
        rl_module_spec=dataclasses.replace(config.rl_module_spec, module_class=ImagePPOTorchRLModule)
    )
