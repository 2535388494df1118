"""Flatland experts (rllib_il.experts.base.Expert protocol) acting on a FlatlandEnv's agents."""

import time

from flatland.envs.rail_env_action import RailEnvActions
from flatland.envs.rail_env_policies import ShortestPathPolicy
from flatland.envs.step_utils.states import TrainState

from rllib_il.experts.base import Expert
from rllib_il.experts.flatland_planner import OffRoute, VisitOrderExecutor, plan_routes


class FlatlandPlannerExpert(Expert):
    """Plans every train's route at reset (space-time A* with cell reservations) and executes the
    routes in per-cell visit order, which cannot deadlock (see flatland_planner.py). When a train breaks
    down, it replans from the current state and keeps the new routes if they route every train on
    the map and at least as many trains as before. When another policy has moved trains off their
    routes (DAgger: the planner labels the states a learned policy visits), it plans again from the
    current state. In an env that asks trains only at decision cells, trains wait only there.
    Deterministic: logp 0. `planning_seconds` sums the planning time of the current
    episode."""

    def reset(self, env, obs) -> None:
        self.env = env
        self.planning_seconds = 0.0
        self.executor = self._plan()
        self._breakdowns = self._count_breakdowns()

    def act(self, obs):
        try:
            actions = self._actions(obs)
        except OffRoute:
            self.executor = self._plan()
            actions = self._actions(obs)
        return actions, {aid: 0.0 for aid in obs}

    def _actions(self, obs) -> dict:
        self.executor.update()
        if self._count_breakdowns() > self._breakdowns:
            self._breakdowns = self._count_breakdowns()
            self._replan()
        return {aid: self.executor.action(int(aid)).value for aid in obs}

    def _plan(self) -> VisitOrderExecutor:
        start = time.perf_counter()
        routes = plan_routes(self.env.rail_env, wait_cells=self.env.decision_cells)
        executor = VisitOrderExecutor(self.env.rail_env, routes)
        self.planning_seconds += time.perf_counter() - start
        executor.update()
        return executor

    def _replan(self) -> None:
        candidate = self._plan()
        agents = self.env.rail_env.agents

        def routed(executor):
            return sum(v is not None for h, v in executor.routes.items() if agents[h].state != TrainState.DONE)

        on_map_routed = all(candidate.routes[a.handle] is not None for a in agents if a.state.is_on_map_state())
        if on_map_routed and routed(candidate) >= routed(self.executor):
            self.executor = candidate

    def _count_breakdowns(self) -> int:
        return sum(a.malfunction_handler.num_malfunctions for a in self.env.rail_env.agents)


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
