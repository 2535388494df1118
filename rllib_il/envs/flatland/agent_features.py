"""What flatland's tree observation does not say about a train itself (env_config `agent_features`).

The tree describes the rails ahead; it is the same while a train waits and the same for two trains
meeting head-on, so a policy cannot tell a short wait from an endless one or which train should
yield. Six numbers in [-1, 1], appended to the tree (T = the episode's time limit, t = now):

- off_map: 1 before departure, else 0;
- waited: log(1 + steps standing still on the map) / log(1 + T);
- until_departure: (earliest_departure - t) / T, clipped;
- until_latest_arrival: (latest_arrival - t) / T, clipped;
- elapsed: t / T;
- departure_rank: place among the trains not yet arrived, ordered by (earliest_departure, handle),
  divided by (number of trains - 1).
"""

import numpy as np
from flatland.envs.rail_env import RailEnv
from flatland.envs.step_utils.states import TrainState

FEATURES = ("off_map", "waited", "until_departure", "until_latest_arrival", "elapsed", "departure_rank")


class AgentFeatures:
    """Counts each train's steps standing still (`after_step` after every flatland step) and gives
    the FEATURES of a train (`observe`)."""

    def reset(self, rail_env: RailEnv) -> None:
        self.rail_env = rail_env
        self.waited = np.zeros(rail_env.get_num_agents())
        self._where = [self._progress(a) for a in rail_env.agents]

    def after_step(self) -> None:
        for h, agent in enumerate(self.rail_env.agents):
            where = self._progress(agent)
            still = agent.state.is_on_map_state() and where == self._where[h]
            self.waited[h] = self.waited[h] + 1 if still else 0
            self._where[h] = where

    def observe(self, handle: int) -> np.ndarray:
        env = self.rail_env
        # RailEnv keeps its step count and step limit in private attributes only (docs/notes/flatland.md).
        agent, now, limit = env.agents[handle], env._elapsed_steps, env._max_episode_steps
        running = sorted((a.earliest_departure, a.handle) for a in env.agents if a.state != TrainState.DONE)
        rank = running.index((agent.earliest_departure, handle)) if agent.state != TrainState.DONE else 0
        features = [
            float(agent.state.is_off_map_state()),
            np.log1p(self.waited[handle]) / np.log1p(limit),
            (agent.earliest_departure - now) / limit,
            (agent.latest_arrival - now) / limit,
            now / limit,
            rank / max(env.get_num_agents() - 1, 1),
        ]
        return np.clip(np.array(features, dtype=np.float32), -1.0, 1.0)

    @staticmethod
    def _progress(agent):
        return agent.current_configuration, agent.speed_counter.distance
