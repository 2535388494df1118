"""In-memory offline data for MARWIL_IL: read the episodes once, flatten them to numpy arrays.

Replaces RLlib's Ray Data `OfflineData` (selected through `config.offline_data_class`): RLlib rebuilds
its Ray Data pipeline on every pass and cuts episodes into 1-step transitions, so its value targets
are r + gamma * V_initial(s') (see DESIGN.md). Here whole episodes are loaded with
`rllib_il.offline.dataset.read_episodes`, Monte-Carlo returns are computed from the rewards, episodes
are split into train / validation, and minibatches are numpy slices handed straight to the learners.
"""

from dataclasses import dataclass

import numpy as np
from ray.rllib.core.columns import Columns
from ray.rllib.offline.offline_data import OfflineData

from rllib_il.errors import ConfigError
from rllib_il.losses.marwil import discounted_return_to_go
from rllib_il.offline import dataset

BEHAVIOUR_LOGP = "behaviour_logp"


@dataclass
class EpisodeArrays:
    """Episodes flattened step by step; `lengths` delimits the episodes in order."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    returns: np.ndarray
    behaviour_logp: np.ndarray
    lengths: np.ndarray

    @classmethod
    def from_episodes(cls, episodes, gamma: float) -> "EpisodeArrays":
        """Concatenate complete episodes; returns are recomputed from the rewards (stored columns
        such as `return_to_go` are not trusted)."""
        columns = {k: [] for k in ("obs", "actions", "rewards", "returns", "behaviour_logp")}
        for episode in episodes:
            rewards = np.asarray(episode.get_rewards(), dtype=np.float32)
            columns["obs"].append(np.asarray(episode.get_observations()[:-1]))
            columns["actions"].append(np.asarray(episode.get_actions()))
            columns["rewards"].append(rewards)
            columns["returns"].append(discounted_return_to_go(rewards, gamma))
            # Deterministic experts store logp 0.0; datasets without the column are taken as such.
            has_logp = "action_logp" in episode.extra_model_outputs
            logp = episode.get_extra_model_outputs("action_logp") if has_logp else np.zeros(len(episode))
            columns["behaviour_logp"].append(np.asarray(logp, dtype=np.float32))
        lengths = np.array([len(e) for e in episodes], dtype=np.int64)
        return cls(**{k: np.concatenate(v) for k, v in columns.items()}, lengths=lengths)

    def __len__(self) -> int:
        return len(self.rewards)

    def batch(self, index) -> dict:
        """Learner columns of the rows at `index` (VALUE_TARGETS = Monte-Carlo returns)."""
        return {
            Columns.OBS: self.obs[index],
            Columns.ACTIONS: self.actions[index],
            Columns.VALUE_TARGETS: self.returns[index],
        }

    def validation_batch(self) -> dict:
        """All rows with what validation metrics and IS/WIS need."""
        return {
            **self.batch(slice(None)),
            Columns.REWARDS: self.rewards,
            BEHAVIOUR_LOGP: self.behaviour_logp,
            "episode_lengths": self.lengths,
        }


class InMemoryOfflineData(OfflineData):
    """Drop-in for RLlib's `OfflineData` (same constructor) holding the whole dataset in memory.

    It subclasses OfflineData only to pass `config.offline_data_class` validation; the Ray Data
    machinery of `OfflineData.__init__` is deliberately not built.
    """

    def __init__(self, config):  # noqa: super().__init__ would start a Ray Data read.
        inputs = config.input_
        self.metadata = dataset.read_metadata(inputs)
        episodes = dataset.read_episodes(inputs)[: config.max_episodes]
        if not episodes:
            raise ConfigError(f"input {inputs}: the dataset holds no episodes")
        if not all(e.is_done for e in episodes):
            raise ConfigError(f"input {inputs}: every episode must be complete (terminated or truncated)")
        rng = np.random.default_rng(config.seed)
        order = rng.permutation(len(episodes))
        num_validation = 0
        if config.validation_fraction > 0:
            if len(episodes) < 2:
                raise ConfigError(f"input {inputs}: validation_fraction > 0 needs at least 2 episodes")
            num_validation = min(max(1, round(config.validation_fraction * len(episodes))), len(episodes) - 1)
            self.validation = EpisodeArrays.from_episodes([episodes[i] for i in order[:num_validation]], config.gamma)
        else:
            self.validation = None
        self.train = EpisodeArrays.from_episodes([episodes[i] for i in order[num_validation:]], config.gamma)
        self.rng = rng
        self._permutation = np.empty(0, dtype=np.int64)

    def sample(self, num_samples: int) -> dict:
        """`num_samples` train rows, drawn epoch by epoch without replacement."""
        while len(self._permutation) < num_samples:
            self._permutation = np.concatenate([self._permutation, self.rng.permutation(len(self.train))])
        index, self._permutation = self._permutation[:num_samples], self._permutation[num_samples:]
        return self.train.batch(index)
