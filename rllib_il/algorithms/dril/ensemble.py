"""DRIL's ensemble of behaviour-cloning policies, trained once on bootstrap samples of the demonstrations."""

from typing import Sequence

import numpy as np
import torch
from torch import nn

from rllib_il.losses.dril import ensemble_variance


class BCEnsemble(nn.Module):
    """E MLP policies over Discrete actions (logits from flattened observations); `threshold` (q, a
    buffer, so saved with the weights) is set by `fit`."""

    def __init__(self, obs_dim: int, num_actions: int, size: int = 5, hiddens: Sequence[int] = (64, 64)):
        super().__init__()
        self.members = nn.ModuleList(self._mlp(obs_dim, num_actions, hiddens) for _ in range(size))
        self.register_buffer("threshold", torch.tensor(0.0))

    @staticmethod
    def _mlp(obs_dim: int, num_actions: int, hiddens: Sequence[int]) -> nn.Sequential:
        layers, width = [], obs_dim
        for size in hiddens:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        return nn.Sequential(*layers, nn.Linear(width, num_actions))

    def action_probs(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """pi_i(a | s) of each member for each row: [E, B]."""
        obs = obs.reshape(obs.shape[0], -1).float()
        index = actions.long().reshape(-1, 1)
        return torch.stack([torch.softmax(m(obs), dim=-1).gather(-1, index).squeeze(-1) for m in self.members])

    def fit(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        updates: int,
        lr: float,
        quantile: float,
        generator: torch.Generator,
        batch_size: int = 128,
    ) -> None:
        """Each member: `updates` Adam steps of cross-entropy on minibatches of its own bootstrap sample
        (rows drawn with replacement); then q = the `quantile` of the variance over the rows."""
        obs_t, actions_t = torch.as_tensor(obs).float(), torch.as_tensor(actions).long()
        n = len(obs_t)
        for member in self.members:
            sample = torch.randint(n, (n,), generator=generator)
            optimizer = torch.optim.Adam(member.parameters(), lr=lr)
            for _ in range(updates):
                rows = sample[torch.randint(n, (min(batch_size, n),), generator=generator)]
                loss = nn.functional.cross_entropy(member(obs_t[rows]), actions_t[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            variance = ensemble_variance(self.action_probs(obs_t, actions_t))
            self.threshold.fill_(float(torch.quantile(variance, quantile)))
