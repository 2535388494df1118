"""The discriminator of adversarial imitation: an MLP from (state, action) -- or the state alone -- to the
logit h that the expert produced the input."""

from typing import Optional, Sequence

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rllib_il.core.errors import ConfigError, one_line


class Discriminator(nn.Module):
    """h(s, a) (or h(s) with `state_only`): flattened float observations, one-hot Discrete actions or
    Box actions in the module's units, through an MLP with ReLUs, optionally spectrally normalised
    (Miyato et al. 2018, arXiv 1802.05957). Observations are standardised by `set_observation_scale`
    (the demonstrations' mean and std; saved with the weights). With `absorbing`, a last input tells the
    absorbing state (all other inputs 0) from the env's states (rllib_il/losses/adversarial.py)."""

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        hiddens: Sequence[int] = (64, 64),
        state_only: bool = False,
        spectral_norm: bool = False,
        absorbing: bool = False,
    ):
        super().__init__()
        self.action_space = action_space
        self.state_only = state_only
        self.absorbing = absorbing
        obs_dim = int(np.prod(observation_space.shape))
        if state_only:
            action_dim = 0
        elif isinstance(action_space, gym.spaces.Discrete):
            action_dim = int(action_space.n)
        else:
            action_dim = int(np.prod(action_space.shape))
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))
        layers, width = [], obs_dim + action_dim + int(absorbing)
        for size in list(hiddens) + [1]:
            linear = nn.Linear(width, size)
            layers += [nn.utils.parametrizations.spectral_norm(linear) if spectral_norm else linear, nn.ReLU()]
            width = size
        self.net = nn.Sequential(*layers[:-1])

    def inputs(
        self, obs: torch.Tensor, actions: torch.Tensor, absorbing: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """The rows [B, d] the MLP reads: observations, then the actions unless state-only, then (with
        `absorbing` on) the absorbing flag; rows where `absorbing` [B] is true are the absorbing state."""
        x = (obs.reshape(obs.shape[0], -1).float() - self.obs_mean) / self.obs_std
        if not self.state_only:
            if isinstance(self.action_space, gym.spaces.Discrete):
                actions = nn.functional.one_hot(actions.long(), int(self.action_space.n))
            x = torch.cat([x, actions.reshape(actions.shape[0], -1).float()], dim=-1)
        if not self.absorbing:
            return x
        flag = torch.zeros(len(x), 1) if absorbing is None else absorbing.reshape(-1, 1).float()
        return torch.cat([x * (1.0 - flag), flag], dim=-1)

    def set_observation_scale(self, obs: np.ndarray) -> None:
        """Standardise observations by the mean and std of `obs` [N, d] (a std of 0 counts as 1)."""
        std = obs.std(axis=0)
        self.obs_mean.copy_(torch.as_tensor(obs.mean(axis=0)))
        self.obs_std.copy_(torch.as_tensor(np.where(std > 0, std, 1.0)))

    def absorbing_inputs(self, count: int = 1) -> torch.Tensor:
        """`count` rows of the absorbing state."""
        width = self.net[0].in_features
        return torch.cat([torch.zeros(count, width - 1), torch.ones(count, 1)], dim=-1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits [B] of the rows `inputs` [B, d]."""
        return self.net(inputs).squeeze(-1)


def check_discriminator_input(config, observation_space: gym.Space) -> None:
    """ConfigError unless the discriminator can read the env's observations (a Box). Datasets always
    store actions: `read_metadata` refuses one without an action space."""
    if not isinstance(observation_space, gym.spaces.Box):
        raise ConfigError(
            f"env {config.env}: the discriminator reads Box observations; they are {one_line(observation_space)}"
        )
