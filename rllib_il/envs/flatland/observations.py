"""Flatland's normalised tree observation, computed only for the agents that must act."""

import numpy as np
from flatland.envs.predictions import ShortestPathPredictorForRailEnv
from flatland.ml.observations.flatten_tree_observation_for_rail_env import FlattenedNormalizedTreeObsForRailEnv


class TreeObservation(FlattenedNormalizedTreeObsForRailEnv):
    """`FlattenedNormalizedTreeObsForRailEnv` (tree of depth `tree_depth`, shortest-path predictor of
    depth `predictor_depth`, distance features divided by `observation_radius` and clipped to 1) as
    float32 in its true bounds [-1, 1] (flatland declares [0, observation_radius], float64).

    `observe(handles)` gives the same vectors as flatland's `get_many(all agents)` (predictions and
    agent maps include every train) but builds trees only for `handles`."""

    def __init__(self, tree_depth: int = 2, predictor_depth: int = 30, observation_radius: int = 10):
        super().__init__(
            max_depth=tree_depth,
            predictor=ShortestPathPredictorForRailEnv(max_depth=predictor_depth),
            observation_radius=observation_radius,
        )
        self._wanted = frozenset()

    def observe(self, handles) -> dict:
        self._wanted = frozenset(handles)
        observations = self.get_many(self.env.get_agent_handles())
        return {h: observations[h] for h in handles}

    def get(self, handle: int = 0):
        if handle not in self._wanted:
            return None
        return super().get(handle).astype(np.float32)
