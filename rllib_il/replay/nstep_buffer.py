"""A prioritized episode buffer whose rows are n-step transitions with the 1-step one beside them.

Each sampled row is a 1-step SingleAgentEpisode holding the n-step transition
(o_t, a_t, sum_k gamma^k r_{t+k}, o_{t+n}) -- n is cut at the episode end, so the last steps of an
episode are replayed like any other -- plus the 1-step transition DQfD's J_DQ needs, as the columns of
`rllib_il.replay.columns`, and constant or per-episode columns given by the buffer's owner (e.g. the
expert flag and the large-margin mask of a demonstrations part). Priorities are |delta| + eps (+ a bonus
for this part, DQfD's eps_d on demonstrations).

Multi-agent episodes enter as one episode per agent. For multi-agent runs every row gets its own
`multi_agent_episode_id`: RLlib's learner connector regroups rows by (episode, agent, module) and
would otherwise reorder them, sending priorities to the wrong rows (docs/notes/rllib.md, "Replay buffers").
"""

import copy
import uuid
from typing import Dict, List, Optional

import numpy as np
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils.annotations import override
from ray.rllib.utils.replay_buffers.prioritized_episode_buffer import PrioritizedEpisodeReplayBuffer

from rllib_il.replay.columns import OBS_1STEP, REWARD_1STEP, TERMINATED_1STEP


class NStepPrioritizedEpisodeBuffer(PrioritizedEpisodeReplayBuffer):
    def __init__(
        self,
        capacity: int = 10000,
        *,
        priority_eps: float = 1e-3,
        priority_bonus: float = 0.0,
        columns: Optional[Dict[str, float]] = None,
        episode_columns: Optional[Dict[str, Dict[str, float]]] = None,
        module_id: Optional[str] = None,
        reward: Optional[float] = None,
        ignore_terminations: bool = False,
        alpha: float = 0.4,
        seed: Optional[int] = None,
        **kwargs,
    ):
        """Args beyond RLlib's PrioritizedEpisodeReplayBuffer:
        priority_eps, priority_bonus: a row's priority is |TD error| + priority_eps + priority_bonus.
        columns: {column: value} every row of this buffer carries.
        episode_columns: {column: {episode id: value}}: per-episode values (0.0 for other episodes).
        module_id: set for multi-agent runs (the shared module); rows then carry agent/module ids.
        reward: when set, every step of this buffer is replayed with this reward instead of the env's
            (SQIL: 1 for the demonstrations, 0 for the agent's own steps).
        ignore_terminations: replay every step as not terminal, so targets bootstrap from the last
            observation of a terminated episode too (its value is then learned, not 0).
        seed: seeds the draws of `sample`; a numpy Generator is used as it is (e.g. one stream shared
            by the two parts of a mixed replay).
        """
        kwargs.pop("beta", None)  # Passed to `sample()` by the algorithm, not a constructor arg.
        super().__init__(capacity, alpha=alpha, **kwargs)
        self.priority_eps = priority_eps
        self.priority_bonus = priority_bonus
        self.columns = dict(columns or {})
        self.episode_columns = {k: dict(v) for k, v in (episode_columns or {}).items()}
        self.module_id = module_id
        self.reward = reward
        self.ignore_terminations = ignore_terminations
        self.rng = np.random.default_rng(seed)

    @override(PrioritizedEpisodeReplayBuffer)
    def add(self, episodes, weight: Optional[float] = None) -> None:
        """Adds episodes; a multi-agent episode enters as one episode per agent (ids stable across chunks)."""
        flat = []
        for episode in episodes if isinstance(episodes, list) else [episodes]:
            if isinstance(episode, MultiAgentEpisode):
                for agent_id, sa_episode in episode.agent_episodes.items():
                    if len(sa_episode) > 0:
                        sa_episode = copy.copy(sa_episode)
                        sa_episode.id_ = f"{episode.id_}/{agent_id}"
                        flat.append(sa_episode)
            elif len(episode) > 0:
                flat.append(episode)
        if flat:
            super().add(flat, weight=weight)

    @override(PrioritizedEpisodeReplayBuffer)
    def sample(
        self,
        num_items: Optional[int] = None,
        *,
        batch_size_B=None,
        n_step=None,
        beta: float = 0.0,
        gamma: float = 0.99,
        **kwargs,
    ) -> List[SingleAgentEpisode]:
        """`num_items` prioritized rows (see the module docstring), with importance weights for `beta`."""
        count = num_items if num_items is not None else batch_size_B or self.batch_size_B
        rows = [self._row(episode, t, n_step or 1, gamma, weight) for episode, t, weight in self._draw(count, beta)]
        self.sampled_timesteps += count
        return rows

    @override(PrioritizedEpisodeReplayBuffer)
    def update_priorities(self, priorities, module_id=None) -> None:
        """Priorities of the rows of the last `sample`, in its order, from their TD errors."""
        priorities = np.abs(np.asarray(priorities, dtype=np.float64)) + self.priority_eps + self.priority_bonus
        super().update_priorities(priorities, module_id)

    def _draw(self, count: int, beta: float):
        """`count` (episode, t, importance weight) drawn in proportion to priority; remembers the tree
        indices for `update_priorities`.

        RLlib's own `sample` (ray/rllib/utils/replay_buffers/prioritized_episode_buffer.py, `sample`)
        draws the same way but redraws rows within n steps of an episode's end instead of cutting n,
        and returns neither the 1-step transition nor the source episode, and the buffer offers no
        public access to its sum tree: this method reads the segment trees and index maps that
        `sample` uses (`_sum_segment`, `_min_segment`, `_indices`, `_tree_idx_to_sample_idx`,
        `_num_episodes_evicted`) and sets `_last_sampled_indices` as `sample` does."""
        if count == 0:
            self._last_sampled_indices = []
            return []
        total = self._sum_segment.sum()
        size = self.get_num_timesteps()
        max_weight = (self._min_segment.min() / total * size) ** (-beta)
        tree_idxs = [self._sum_segment.find_prefixsum_idx(u) for u in self.rng.random(count) * total]
        weights = (np.array([self._sum_segment[i] for i in tree_idxs]) / total * size) ** (-beta) / max_weight
        self._last_sampled_indices = tree_idxs
        drawn = []
        for tree_idx, weight in zip(tree_idxs, weights):
            episode_idx, t, _ = self._indices[self._tree_idx_to_sample_idx[tree_idx]]
            drawn.append((self.episodes[episode_idx - self._num_episodes_evicted], t, weight))
        return drawn

    def _row(self, episode, t, n_step, gamma, weight) -> SingleAgentEpisode:
        n = min(n_step, len(episode) - t)
        if self.reward is None:
            rewards = np.asarray(episode.get_rewards(slice(t, t + n)), dtype=np.float64)
        else:
            rewards = np.full(n, self.reward, dtype=np.float64)
        ends = episode.is_terminated and not self.ignore_terminations
        ids = {}
        if self.module_id is not None:
            ids = dict(agent_id=episode.agent_id, module_id=self.module_id, multi_agent_episode_id=uuid.uuid4().hex)
        own = {key: [value] for key, value in self.columns.items()}
        own.update({key: [values.get(episode.id_, 0.0)] for key, values in self.episode_columns.items()})
        return SingleAgentEpisode(
            observations=[episode.get_observations(t), episode.get_observations(t + n)],
            actions=[episode.get_actions(t)],
            rewards=[float(np.sum(rewards * gamma ** np.arange(n)))],
            terminated=ends and t + n == len(episode),
            extra_model_outputs={
                "weights": [float(weight)],
                "n_step": [n],
                OBS_1STEP: [episode.get_observations(t + 1)],
                REWARD_1STEP: [float(rewards[0])],
                TERMINATED_1STEP: [float(ends and t + 1 == len(episode))],
                **own,
            },
            len_lookback_buffer=0,
            t_started=t,
            **ids,
        )
