"""Flatland experts (rllib_il.experts.base.Expert protocol) acting on a FlatlandEnv's agents."""

import time

from flatland.envs.rail_env_action import RailEnvActions
from flatland.envs.rail_env_policies import ShortestPathPolicy

from rllib_il.envs.flatland.planner import VisitOrderExecutor, plan_routes
from rllib_il.experts.base import Expert


class FlatlandPlannerExpert(Expert):
    """Plans every train's route at reset (space-time A* with cell reservations) and executes the
    routes in per-cell visit order, which cannot deadlock (see planner.py). Deterministic: logp 0.
    `planning_seconds` is the planning time of the last reset."""

    def reset(self, env, obs) -> None:
        self.env = env
        start = time.perf_counter()
        self.executor = VisitOrderExecutor(env.rail_env, plan_routes(env.rail_env))
        self.planning_seconds = time.perf_counter() - start

    def act(self, obs):
        self.executor.update()
        return {aid: self.executor.action(int(aid)).value for aid in obs}, {aid: 0.0 for aid in obs}


class FlatlandShortestPathExpert(Expert):
    """flatland's own ShortestPathPolicy: every train follows its shortest path, ignoring the
    others (it deadlocks when trains meet head-on). Deterministic: logp 0."""

    def reset(self, env, obs) -> None:
        self.env = env
        self.policy = ShortestPathPolicy()

    def act(self, obs):
        handles = [int(aid) for aid in obs]
        actions = self.policy.act_many(handles, [self.env.rail_env] * len(handles))
        return {aid: RailEnvActions.from_value(actions[int(aid)]).value for aid in obs}, {aid: 0.0 for aid in obs}
