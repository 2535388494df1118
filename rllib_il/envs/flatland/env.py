"""Flatland (sparse rail networks) as an RLlib new-API-stack MultiAgentEnv.

Differences to flatland's own `flatland.ml.ray` wrapper (see docs/flatland.md):
- an observation is emitted only for agents that must act (flatland's `action_required`), plus the
  final observation of an agent when it arrives or when the episode ends;
- env steps in which no agent must act are stepped through, and the rewards of those steps are
  added to each agent's next emitted reward;
- arrival is a termination, flatland's time limit a truncation (flatland 4.3 reports both as done);
- observations are float32 inside their declared Box;
- with `decision_points`, a train is asked only at its depot, on a switch or next to one (decisions.py);
  elsewhere it moves on by itself, and the last 5 observation features are its action mask;
- every reset builds a fresh `RailEnv` (optionally ahead of time, in a worker process: layouts.py),
  so hidden state (the malfunction generator's cached random numbers, the reward function's growing
  arrival records) never leaks between episodes and `reset(seed=s)` always gives the same episode,
  malfunctions included.
"""

from collections import deque
from typing import Optional

import gymnasium as gym
import numpy as np
from flatland.envs.rail_env import RailEnv
from flatland.envs.step_utils.states import TrainState
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.rllib.utils.annotations import override

from rllib_il.envs.flatland.agent_features import FEATURES, AgentFeatures
from rllib_il.envs.flatland.deadlocks import deadlocked_agents
from rllib_il.envs.flatland.decisions import NUM_ACTIONS, action_mask, decision_cells
from rllib_il.envs.flatland.layouts import LayoutPrefetcher, build_or_explain
from rllib_il.envs.flatland.observations import TreeObservation
from rllib_il.envs.flatland.presets import resolve_env_config

# 2020 baselines' shaping (SparseRewardWrapper + DeadlockWrapper): +1 on arrival, -1 for a train
# not arrived at the time limit, -1 once when a train becomes deadlocked; 0 otherwise.
SHAPED_ARRIVAL, SHAPED_NOT_ARRIVED, SHAPED_DEADLOCK = 1.0, -1.0, -1.0


class FlatlandEnv(MultiAgentEnv):
    """Agents "0".."n-1", Discrete(5) actions, normalised tree observations in [-1, 1].

    env_config: `preset` (presets/<name>.yaml, default small_v0), `seed` (seeds the sequence of
    layouts of unseeded resets), `tree_depth` (2), `predictor_depth` (30), `observation_radius` (10:
    distance features are divided by it and clipped to 1), `agent_features` (append the train's own
    schedule and waiting time, agent_features.py), `timetable` ("flatland3": flatland's departure
    times and time limit, or "flatland2": the 2020 baselines', timetables.py), `reward` ("default":
    flatland's, or "shaped": the 2020 baselines'), `decision_points` (ask trains only at decision
    cells and append their action masks, decisions.py), `prefetch_layouts` (N > 0: a worker process
    builds the next N episodes' layouts ahead, layouts.py), plus overrides of any preset key.
    `rail_env` is the current episode's flatland RailEnv (experts plan on it), `decision_cells` the
    cells where trains are asked (None without `decision_points`). `action_mask_in_observation` tells
    the algorithms that the last `NUM_ACTIONS` features are a 0/1 mask of the allowed actions.
    """

    def __init__(self, env_config: Optional[dict] = None):
        super().__init__()
        self._user_config = dict(env_config or {})
        self.config = resolve_env_config(env_config)
        c = self.config
        self._tree = TreeObservation(c["tree_depth"], c["predictor_depth"], c["observation_radius"])
        self._features = AgentFeatures() if c["agent_features"] else None
        self.action_mask_in_observation = c["decision_points"]
        size = (
            self._tree.get_len_flattened()
            + (len(FEATURES) if self._features else 0)
            + (NUM_ACTIONS if self.action_mask_in_observation else 0)
        )
        self.agents = self.possible_agents = [str(i) for i in range(self.config["number_of_agents"])]
        space = gym.spaces.Box(-1.0, 1.0, shape=(size,), dtype=np.float32)
        self.observation_spaces = {aid: space for aid in self.agents}
        self.action_spaces = {aid: gym.spaces.Discrete(NUM_ACTIONS) for aid in self.agents}
        self._seeds = np.random.default_rng(_seed_entropy(env_config, self.config["seed"]))
        self._upcoming = deque()  # episode seeds drawn from self._seeds ahead of their resets
        self._layouts = LayoutPrefetcher(self.config, self._user_config) if c["prefetch_layouts"] else None
        self.rail_env: Optional[RailEnv] = None
        self.decision_cells = None
        self.num_rail_steps = 0  # flatland steps over the env's lifetime, skipped ones included

    @override(MultiAgentEnv)
    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        if seed is not None:
            self._seeds = np.random.default_rng(seed)
            self._upcoming.clear()
            episode_seed = seed
        else:
            episode_seed = self._upcoming.popleft() if self._upcoming else self._draw_seed()
        self.episode_seed = episode_seed
        if self._layouts is None:
            self.rail_env = build_or_explain(self.config, episode_seed, self._user_config)
        else:
            self.rail_env = self._layouts.get(episode_seed)
            self._layouts.prepare(self._likely_next_seeds(seed))
        self._tree.reset(self.rail_env)
        if self.action_mask_in_observation:
            self.decision_cells = decision_cells(self.rail_env.rail)
        if self._features:
            self._features.reset(self.rail_env)
        n = self.rail_env.get_num_agents()
        self._pending = np.zeros(n)
        self.flatland_returns = np.zeros(n)
        self._observed, self._finished, self._deadlocked = set(), set(), set()
        self._info = self.rail_env.get_info_dict()
        obs, _, _, _, infos = self._emit(*self._advance_until_decision(self._acting()), with_rewards=False)
        return obs, infos

    @override(MultiAgentEnv)
    def step(self, action_dict: dict):
        actions = {int(aid): int(a) for aid, a in action_dict.items()}
        self._step_rail_env(actions)
        return self._emit(*self._advance_until_decision(self._acting()))

    @override(MultiAgentEnv)
    def close(self):
        if self._layouts is not None:
            self._layouts.close()

    def _draw_seed(self) -> int:
        return int(self._seeds.integers(2**31 - 1))

    def _likely_next_seeds(self, seed: Optional[int]) -> list:
        """The seeds of the next `prefetch_layouts` resets if unseeded (drawn ahead from the same
        sequence, in the same order), led by seed + 1 after a seeded reset (evaluations on seeds
        S, S+1, ...)."""
        wanted = self.config["prefetch_layouts"]
        while len(self._upcoming) < wanted:
            self._upcoming.append(self._draw_seed())
        likely = ([seed + 1] if seed is not None else []) + list(self._upcoming)
        return likely[:wanted]

    def episode_metrics(self) -> dict:
        """Metrics of the current episode, counted from flatland's train states (not done flags)."""
        env = self.rail_env  # its step count and limit are private attributes only (docs/notes/flatland.md)
        n = env.get_num_agents()
        counts = self._outcome_counts()
        return {
            "percentage_complete": counts["arrived"] / n,
            "normalized_score": float(
                env.rewards.normalize(*self.flatland_returns, num_agents=n, max_episode_steps=env._max_episode_steps)
            ),
            "episode_length": env._elapsed_steps,
            "deadlocked": counts["deadlocked"],
            "never_departed": counts["never_departed"],
        }

    def train_outcomes(self) -> dict:
        """Fractions of the trains that have arrived, are deadlocked (deadlocks.py), are still off the
        map (never departed) or are on the map and free to move (running late, at the end of an episode)."""
        n = self.rail_env.get_num_agents()
        return {key: count / n for key, count in self._outcome_counts().items()}

    def _outcome_counts(self) -> dict:
        agents = self.rail_env.agents
        counts = {
            "arrived": sum(a.state == TrainState.DONE for a in agents),
            "deadlocked": len(deadlocked_agents(self.rail_env)),
            "never_departed": sum(a.state.is_off_map_state() for a in agents),
        }
        counts["running_late"] = len(agents) - sum(counts.values())
        return counts

    def _acting(self) -> set:
        """flatland's `action_required`, plus STOPPED trains: flatland 4.3 stops a slow train in
        mid-cell when the no-op it gets while skipped is invalid on a switch, and then never
        requires an action again although only a movement action can restart it."""
        required = self._info["action_required"]
        agents = self.rail_env.agents
        acting = {
            h for h in required if (required[h] or agents[h].state == TrainState.STOPPED) and h not in self._finished
        }
        if self.decision_cells is not None:  # on plain track a moving train goes on by itself
            acting = {
                h
                for h in acting
                if agents[h].current_configuration is None
                or agents[h].current_configuration[0] in self.decision_cells
                or agents[h].state == TrainState.STOPPED
            }
        return acting

    def _step_rail_env(self, actions: dict) -> None:
        env = self.rail_env
        _, rewards, dones, self._info = env.step(actions)
        self.num_rail_steps += 1
        if self._features:
            self._features.after_step()
        rewards = np.array([rewards[h] for h in range(len(self._pending))], dtype=float)
        self.flatland_returns += rewards
        if self.config["reward"] == "default":
            self._pending += rewards
            return
        arrived = [h for h, a in enumerate(env.agents) if a.state == TrainState.DONE and h not in self._finished]
        self._pending[arrived] += SHAPED_ARRIVAL
        new_deadlocks = deadlocked_agents(env) - self._deadlocked
        self._pending[list(new_deadlocks)] += SHAPED_DEADLOCK
        self._deadlocked |= new_deadlocks
        if dones["__all__"]:
            late = [h for h, a in enumerate(env.agents) if a.state != TrainState.DONE]
            self._pending[late] += SHAPED_NOT_ARRIVED

    def _advance_until_decision(self, acting: set):
        """Steps flatland with no actions while no agent must act and no train arrived."""
        env = self.rail_env
        while True:
            arrived = {h for h, a in enumerate(env.agents) if a.state == TrainState.DONE} - self._finished
            if acting or arrived or env.dones["__all__"]:
                return acting, arrived
            self._step_rail_env({})
            acting = self._acting()

    def _emit(self, acting: set, arrived: set, with_rewards: bool = True):
        """Outputs for the acting agents, the newly arrived ones and, at the end of the episode,
        every agent still running (each agent's first observation is always one it can act on)."""
        env = self.rail_env
        over = env.dones["__all__"]
        running = set(range(len(self._pending))) - self._finished
        emit = acting | arrived
        if over:  # final observations, for agents that have had a first one
            emit = (emit | running) & (self._observed | arrived)
        all_arrived = all(a.state == TrainState.DONE for a in env.agents)
        truncated = over and not all_arrived
        obs = {str(h): self._observation(h, o) for h, o in self._tree.observe(sorted(emit)).items()}
        rewards = {str(h): float(self._pending[h]) for h in emit}
        if with_rewards:
            self._pending[list(emit)] = 0.0
        terminateds = {str(h): True for h in arrived}
        terminateds["__all__"] = all_arrived
        truncateds = {str(h): True for h in emit - arrived} if truncated else {}
        truncateds["__all__"] = truncated
        self._observed |= emit
        self._finished |= running if over else arrived
        return obs, rewards, terminateds, truncateds, {aid: {} for aid in obs}

    def _observation(self, handle: int, tree: np.ndarray) -> np.ndarray:
        parts = [tree]
        if self._features:
            parts.append(self._features.observe(handle))
        if self.action_mask_in_observation:
            parts.append(action_mask(self.rail_env, handle))
        return np.concatenate(parts) if len(parts) > 1 else tree


def _seed_entropy(env_config, seed):
    """Seed of the layout sequence: env_config `seed`, made distinct per env runner and vector index."""
    if seed is None:
        return None
    return [seed, getattr(env_config, "worker_index", 0), getattr(env_config, "vector_index", 0)]
