"""Flatland's normalised tree observation, computed only for the agents that must act."""

import numpy as np
from flatland.envs.predictions import ShortestPathPredictorForRailEnv
from flatland.ml.observations.flatten_tree_observation_for_rail_env import FlattenedNormalizedTreeObsForRailEnv


class TreeObservation(FlattenedNormalizedTreeObsForRailEnv):
    """`FlattenedNormalizedTreeObsForRailEnv` (tree of depth `tree_depth`, shortest-path predictor of
    depth `predictor_depth`, distance features divided by `observation_radius` and clipped to 1) as
    float32 in its true bounds [-1, 1] (flatland declares [0, observation_radius], float64).

    `observe(handles)` gives the same vectors as flatland's `get_many(all agents)` (predictions and
    agent maps include every train) but builds trees only for `handles`. The predictor's shortest
    paths are remembered for the episode (`ShortestPaths`)."""

    def __init__(self, tree_depth: int = 2, predictor_depth: int = 30, observation_radius: int = 10):
        super().__init__(
            max_depth=tree_depth,
            predictor=ShortestPathPredictorForRailEnv(max_depth=predictor_depth),
            observation_radius=observation_radius,
        )
        self._wanted = frozenset()

    def reset(self, env):
        super().reset(env)
        # flatland's predictor asks the episode's distance map for every train's shortest path at every
        # observation; it has no hook for a cache, so the distance map's method is shadowed per episode.
        env.distance_map.get_shortest_paths = ShortestPaths(env)

    def observe(self, handles) -> dict:
        self._wanted = frozenset(handles)
        observations = self.get_many(self.env.get_agent_handles())
        return {h: observations[h] for h in handles}

    def get(self, handle: int = 0):
        if handle not in self._wanted:
            return None
        return super().get(handle).astype(np.float32)


class ShortestPaths:
    """flatland's `DistanceMap.get_shortest_paths(max_depth, agent_handle)`, computed once per train,
    depth and configuration of an episode. flatland's path of a train depends on nothing else: its
    configuration (the initial one before departure, none once arrived), its targets and the episode's
    distance map, both fixed. Trains waiting to depart or standing still ask again every step."""

    def __init__(self, rail_env):
        self._rail_env = rail_env
        self._compute = rail_env.distance_map.get_shortest_paths
        self._paths = {}

    def __call__(self, max_depth=None, agent_handle=None) -> dict:
        agents = self._rail_env.agents if agent_handle is None else [self._rail_env.agents[agent_handle]]
        return {agent.handle: self._path(agent, max_depth) for agent in agents}

    def _path(self, agent, max_depth):
        if agent.state.is_off_map_state():
            where = agent.initial_configuration
        elif agent.state.is_on_map_state():
            where = agent.current_configuration
        else:
            return None
        key = (agent.handle, max_depth, where)
        if key not in self._paths:
            self._paths[key] = self._compute(max_depth, agent.handle)[agent.handle]
        return self._paths[key]
