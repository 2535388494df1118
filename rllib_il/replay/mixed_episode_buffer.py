"""Expert + simulation prioritized episode replay for (Ape-X) DQfD.

Two prioritized parts, each with its own sum tree: this buffer itself holds the simulation
episodes (FIFO, capacity-bounded, exactly RLlib's `PrioritizedEpisodeReplayBuffer`); `self.expert`
holds the demonstrations, preloaded once and never evicted. Every batch takes `expert_fraction`
of its rows from the expert part (error-diffused, so the long-run ratio is exact) and the rest
from simulation, like d3rlpy's `MixedReplayBuffer` and Ape-X DQfD's 25/75 mix (arXiv 1805.11593).

Each sampled row is a 1-step SingleAgentEpisode holding the n-step transition
(o_t, a_t, sum_k gamma^k r_{t+k}, o_{t+n}) -- n is cut at the episode end instead of resampling --
plus the 1-step transition needed by DQfD's J_DQ, as columns:
`obs_1step`, `reward_1step`, `terminated_1step`, and the flags `is_expert` and
`expert_margin_mask` (J_E applies to expert rows of the best `margin_top_fraction` episodes).

TD errors come back in sampling order; DQfD's priorities are |delta| + eps (+ eps_d on expert rows).
For multi-agent runs every row gets its own `multi_agent_episode_id`: RLlib's learner connector
regroups rows by (episode, agent, module) and would otherwise reorder them, sending priorities to
the wrong rows (docs/notes/rllib.md, "Replay buffers").
"""

import copy
import uuid
from typing import List, Optional

import numpy as np
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils.annotations import override
from ray.rllib.utils.replay_buffers.prioritized_episode_buffer import PrioritizedEpisodeReplayBuffer

from rllib_il.data import read_episodes
from rllib_il.losses.dqfd import top_return_mask

IS_EXPERT = "is_expert"
MARGIN_MASK = "expert_margin_mask"
OBS_1STEP = "obs_1step"
REWARD_1STEP = "reward_1step"
TERMINATED_1STEP = "terminated_1step"


class MixedPrioritizedEpisodeReplayBuffer(PrioritizedEpisodeReplayBuffer):
    def __init__(
        self,
        capacity: int = 10000,
        *,
        expert_data=None,
        expert_episodes: Optional[List[SingleAgentEpisode]] = None,
        expert_fraction: float = 0.25,
        expert_priority_bonus: float = 1.0,
        priority_eps: float = 1e-3,
        margin_top_fraction: float = 1.0,
        module_id: Optional[str] = None,
        alpha: float = 0.4,
        seed: Optional[int] = None,
        **kwargs,
    ):
        """Args beyond RLlib's PrioritizedEpisodeReplayBuffer:
        expert_data: saved_experiences path(s) read with `rllib_il.data.read_episodes`.
        expert_episodes: demonstrations given directly (instead of `expert_data`).
        expert_fraction: share of every batch drawn from the expert part (0..1).
        expert_priority_bonus, priority_eps: DQfD's eps_d and eps_a (|delta| + eps_a + eps_d*expert).
        margin_top_fraction: J_E only on the expert episodes whose return is in this top fraction.
        module_id: set for multi-agent runs (the shared module); rows then carry agent/module ids.
        """
        kwargs.pop("beta", None)  # Passed to `sample()` by the algorithm, not a constructor arg.
        super().__init__(capacity, alpha=alpha, **kwargs)
        if expert_episodes is None and expert_data is not None:
            expert_episodes = read_episodes(expert_data)
        expert_episodes = [e for e in expert_episodes or [] if len(e) > 0]
        self.expert = PrioritizedEpisodeReplayBuffer(
            capacity=max(1, sum(len(e) for e in expert_episodes)), alpha=alpha
        )
        self.expert.add(expert_episodes)
        use_margin = top_return_mask([e.get_return() for e in expert_episodes], margin_top_fraction)
        self._margin_episode = {e.id_: float(m) for e, m in zip(expert_episodes, use_margin)}
        self.expert_fraction = expert_fraction
        self.expert_priority_bonus = expert_priority_bonus
        self.priority_eps = priority_eps
        self.module_id = module_id
        self.rng = np.random.default_rng(seed)
        self._expert_carry = 0.0
        self._num_expert_last = 0

    @override(PrioritizedEpisodeReplayBuffer)
    def add(self, episodes, weight: Optional[float] = None) -> None:
        """Adds simulation episodes; multi-agent episodes enter as one episode per agent."""
        flat = []
        for episode in episodes if isinstance(episodes, list) else [episodes]:
            if isinstance(episode, MultiAgentEpisode):
                for agent_id, sa_episode in episode.agent_episodes.items():
                    if len(sa_episode) > 0:
                        sa_episode = copy.copy(sa_episode)
                        sa_episode.id_ = f"{episode.id_}/{agent_id}"  # Stable across chunks.
                        flat.append(sa_episode)
            else:
                flat.append(episode)
        if flat:
            super().add(flat, weight=weight)

    @override(PrioritizedEpisodeReplayBuffer)
    def sample(
        self, num_items: Optional[int] = None, *, batch_size_B=None, n_step=None, beta: float = 0.0,
        gamma: float = 0.99, **kwargs
    ) -> List[SingleAgentEpisode]:
        """`num_items` 1-step rows, `expert_fraction` of them from the expert part (expert rows first)."""
        batch_size = num_items or batch_size_B or self.batch_size_B
        n_step = n_step or 1
        if self.get_num_timesteps() == 0:
            num_expert = batch_size
        elif self.expert.get_num_timesteps() == 0:
            num_expert = 0
        else:
            wanted = self.expert_fraction * batch_size + self._expert_carry
            num_expert = int(np.floor(wanted + 1e-9))
            self._expert_carry = wanted - num_expert
        expert_rows, self.expert._last_sampled_indices = self._sample_part(
            self.expert, num_expert, n_step, beta, gamma, is_expert=True
        )
        sim_rows, self._last_sampled_indices = self._sample_part(
            self, batch_size - num_expert, n_step, beta, gamma, is_expert=False
        )
        self._num_expert_last = num_expert
        self.sampled_timesteps += batch_size
        return expert_rows + sim_rows

    @override(PrioritizedEpisodeReplayBuffer)
    def update_priorities(self, priorities, module_id=None) -> None:
        """DQfD priorities from the TD errors of the last batch, in sampling order."""
        priorities = np.abs(np.asarray(priorities, dtype=np.float64)) + self.priority_eps
        k = self._num_expert_last
        if k:
            self.expert.update_priorities(priorities[:k] + self.expert_priority_bonus)
        if len(priorities) > k:
            super().update_priorities(priorities[k:])

    def _sample_part(self, part, count, n_step, beta, gamma, is_expert):
        """`count` prioritized rows of `part` and their sum-tree indices."""
        if count == 0:
            return [], []
        total = part._sum_segment.sum()
        size = part.get_num_timesteps()
        max_weight = (part._min_segment.min() / total * size) ** (-beta)
        tree_idxs = [part._sum_segment.find_prefixsum_idx(u) for u in self.rng.random(count) * total]
        weights = (np.array([part._sum_segment[i] for i in tree_idxs]) / total * size) ** (-beta) / max_weight
        rows = []
        for tree_idx, weight in zip(tree_idxs, weights):
            episode_idx, t, _ = part._indices[part._tree_idx_to_sample_idx[tree_idx]]
            episode = part.episodes[episode_idx - part._num_episodes_evicted]
            rows.append(self._row(episode, t, n_step, gamma, weight, is_expert))
        return rows, tree_idxs

    def _row(self, episode, t, n_step, gamma, weight, is_expert):
        n = min(n_step, len(episode) - t)
        rewards = np.asarray(episode.get_rewards(slice(t, t + n)), dtype=np.float64)
        ends = episode.is_terminated
        ids = {}
        if self.module_id is not None:
            ids = dict(
                agent_id=episode.agent_id, module_id=self.module_id, multi_agent_episode_id=uuid.uuid4().hex
            )
        return SingleAgentEpisode(
            observations=[episode.get_observations(t), episode.get_observations(t + n)],
            actions=[episode.get_actions(t)],
            rewards=[float(np.sum(rewards * gamma ** np.arange(n)))],
            terminated=ends and t + n == len(episode),
            extra_model_outputs={
                "weights": [float(weight)],
                "n_step": [n],
                IS_EXPERT: [float(is_expert)],
                MARGIN_MASK: [self._margin_episode.get(episode.id_, 0.0) if is_expert else 0.0],
                OBS_1STEP: [episode.get_observations(t + 1)],
                REWARD_1STEP: [float(rewards[0])],
                TERMINATED_1STEP: [float(ends and t + 1 == len(episode))],
            },
            len_lookback_buffer=0,
            t_started=t,
            **ids,
        )
