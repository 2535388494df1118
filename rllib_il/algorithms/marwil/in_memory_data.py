"""In-memory offline data for MARWIL_IL: read the episodes once, flatten them to numpy arrays.

Replaces RLlib's Ray Data `OfflineData` (selected through `config.offline_data_class`): RLlib rebuilds
its Ray Data pipeline on every pass and cuts episodes into 1-step transitions, so its value targets
are r + gamma * V_initial(s') (docs/notes/rllib.md, "Offline data"). Here whole episodes are loaded with
`rllib_il.data.read_episodes`, Monte-Carlo returns are computed from the rewards, episodes
are split into train / validation, and minibatches are numpy slices handed straight to the learners.
"""

import dataclasses
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from ray.rllib.core.columns import Columns
from ray.rllib.offline.offline_data import OfflineData
from ray.rllib.utils.serialization import gym_space_from_dict

from rllib_il import data as dataset
from rllib_il.core.errors import ConfigError
from rllib_il.losses.marwil import discounted_return_to_go

BEHAVIOUR_LOGP = "behaviour_logp"


def learner_dtype(dtype):
    """The dtype rows of a space with `dtype` take in the learner: float32 for any float, else as is."""
    return np.float32 if dtype is not None and np.issubdtype(dtype, np.floating) else dtype


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
        such as `return_to_go` are not trusted). Observations and actions take their space's dtype
        (e.g. float64 observations of a float32 Box are cast), float32 for float64 spaces (MuJoCo's
        observations; the modules' weights are float32), so every episode's rows agree."""
        columns = {k: [] for k in ("obs", "actions", "rewards", "returns", "behaviour_logp")}
        for episode in episodes:
            rewards = np.asarray(episode.get_rewards(), dtype=np.float32)
            obs_dtype, action_dtype = (
                learner_dtype(getattr(s, "dtype", None)) for s in (episode.observation_space, episode.action_space)
            )
            columns["obs"].append(np.asarray(episode.get_observations()[:-1], dtype=obs_dtype))
            columns["actions"].append(np.asarray(episode.get_actions(), dtype=action_dtype))
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

    def in_module_units(self, action_space, normalize: bool) -> "EpisodeArrays":
        """Dataset rows as the learner sees them: Box actions of a deterministic expert without a
        behaviour density (NaN), and with RLlib's `normalize_actions` mapped to the module's [-1, 1]
        with their behaviour log-densities (rllib_il/data/box_actions.py; that they lie in the Box was
        checked when the config was prepared). Other spaces pass unchanged."""
        if not dataset.is_box(action_space):
            return self
        actions, logp = self.actions, dataset.without_density(self.behaviour_logp)
        if normalize:
            actions, logp = dataset.to_module_units(actions, logp, action_space)
        return dataclasses.replace(self, actions=actions, behaviour_logp=logp)

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


def split_episodes(num_episodes: int, config) -> Tuple[np.random.Generator, np.ndarray, np.ndarray]:
    """(rng seeded by `config.seed`, validation episode indices, train episode indices): the first
    round(validation_fraction * N) episodes of a seeded permutation (at least 1, at most N - 1) are
    held out. The rng then draws the minibatches."""
    if not num_episodes:
        raise ConfigError(f"input {config.input_}: the dataset holds no episodes")
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(num_episodes)
    num_validation = 0
    if config.validation_fraction > 0:
        if num_episodes < 2:
            raise ConfigError(f"input {config.input_}: validation_fraction > 0 needs at least 2 episodes")
        num_validation = min(max(1, round(config.validation_fraction * num_episodes)), num_episodes - 1)
    return rng, order[:num_validation], order[num_validation:]


def dataset_arrays(episodes, config, action_space) -> EpisodeArrays:
    """`EpisodeArrays` of stored episodes, in the module's action units (`in_module_units`);
    `action_space` is the dataset's (its metadata's: stored episodes may carry none)."""
    return EpisodeArrays.from_episodes(episodes, config.gamma).in_module_units(action_space, config.normalize_actions)


def check_complete(episodes, inputs) -> None:
    if not all(e.is_done for e in episodes):
        raise ConfigError(f"input {inputs}: every episode must be complete (terminated or truncated)")


class InMemoryOfflineData(OfflineData):
    """Drop-in for RLlib's `OfflineData` (same constructor) holding the whole dataset in memory.

    It subclasses OfflineData only to pass `config.offline_data_class` validation; the Ray Data
    machinery of `OfflineData.__init__` is deliberately not built.
    """

    def __init__(self, config):  # no super().__init__(): it would start a Ray Data read
        inputs = config.input_
        self.metadata = dataset.read_metadata(inputs)
        episodes = dataset.read_episodes(inputs)[: config.max_episodes]
        self.rng, validation, train = split_episodes(len(episodes), config)
        check_complete(episodes, inputs)
        space = gym_space_from_dict(self.metadata["action_space"])
        self.validation = dataset_arrays([episodes[i] for i in validation], config, space) if len(validation) else None
        self.train = dataset_arrays([episodes[i] for i in train], config, space)
        self._permutation = np.empty(0, dtype=np.int64)

    def sample(self, num_samples: int) -> dict:
        """`num_samples` train rows, drawn epoch by epoch without replacement."""
        while len(self._permutation) < num_samples:
            self._permutation = np.concatenate([self._permutation, self.rng.permutation(len(self.train))])
        index, self._permutation = self._permutation[:num_samples], self._permutation[num_samples:]
        return self.train.batch(index)
