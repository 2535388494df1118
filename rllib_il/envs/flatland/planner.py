"""Deadlock-free routing for Flatland: prioritized space-time A* with cell reservations, executed
in per-cell visit order.

Planning (Silver 2005, "Cooperative Pathfinding"): trains are planned one after the other; each
runs A* over (cell, direction, time) with heuristic = flatland's shortest-path distance x steps per
cell, and may wait off the map, wait in a cell or move along the rails. A train holds a cell from
its entry time to its exit time plus one step, so the planned visits of any cell never overlap.

Execution (Hönig et al. 2019, "Persistent and robust execution of MAPF schedules in warehouses"):
trains follow their planned cells but enter a cell only after the train planned just before them
on that cell has left it. Every wait is then on a visit planned strictly earlier, so waits cannot
form a cycle: malfunctions and slow trains delay the schedule but never deadlock it.
"""

import heapq
import itertools
from dataclasses import dataclass
from math import ceil

from flatland.core.grid.grid4_utils import get_new_position
from flatland.envs.rail_env import RailEnv
from flatland.envs.rail_env_action import RailEnvActions
from flatland.envs.step_utils.states import TrainState

OFF_MAP = None
TURNS = (RailEnvActions.MOVE_FORWARD, RailEnvActions.MOVE_LEFT, RailEnvActions.MOVE_RIGHT)


@dataclass
class Visit:
    cell: tuple
    direction: int
    enter: int  # planned time of entry
    leave: int  # planned last time in the cell


def steps_per_cell(agent) -> int:
    return ceil(1 / agent.speed_counter.max_speed)


class Reservations:
    """Which agent holds each cell at each time step."""

    def __init__(self):
        self._held = {}

    def free(self, cell, start: int, end: int) -> bool:
        held = self._held.get(cell)
        return held is None or not any(t in held for t in range(start, end + 1))

    def reserve(self, visits) -> None:
        for v in visits:
            self._held.setdefault(v.cell, set()).update(range(v.enter, v.leave + 2))


def plan_agent(rail_env: RailEnv, handle: int, reservations: Reservations, horizon: int):
    """Earliest-arrival route of one train around the reserved cells, as a list of Visits (None if
    it cannot arrive before `horizon`). Nodes are (cell, direction, time) with the train free to
    leave; OFF_MAP nodes wait before departure."""
    agent = rail_env.agents[handle]
    k = steps_per_cell(agent)
    distance = rail_env.distance_map.get()[handle]
    targets = {t[0] for t in agent.targets}
    start_cell, start_dir = agent.initial_configuration
    t0 = max(rail_env._elapsed_steps, agent.earliest_departure)
    tie = itertools.count()  # f ties: deepest node first, then first pushed
    frontier = [(t0 + k * distance[start_cell][start_dir], -t0, next(tie), (OFF_MAP, None, t0))]
    parent = {(OFF_MAP, None, t0): None}
    while frontier:
        *_, node = heapq.heappop(frontier)
        cell, direction, t = node
        if cell in targets:
            return _visits(node, parent)
        if t >= horizon:
            continue
        if cell is OFF_MAP:
            moves = [((OFF_MAP, None, t + 1), True), ((start_cell, start_dir, t + k),
                                                      reservations.free(start_cell, t + 1, t + k))]
        else:
            moves = [((cell, direction, t + 1), reservations.free(cell, t + 1, t + 1))]
            stay_ok = reservations.free(cell, t + 1, t + 1)
            for new_dir, allowed in enumerate(rail_env.rail.get_transitions((cell, direction))):
                if allowed:
                    new_cell = get_new_position(cell, new_dir)
                    last = t + 1 if new_cell in targets else t + k
                    moves.append(((new_cell, new_dir, last), stay_ok and reservations.free(new_cell, t + 1, last)))
        for child, ok in moves:
            if ok and child not in parent:
                parent[child] = node
                child_cell, child_dir, child_t = child
                h = k * distance[start_cell if child_cell is OFF_MAP else child_cell][
                    start_dir if child_cell is OFF_MAP else child_dir]
                heapq.heappush(frontier, (child_t + h, -child_t, next(tie), child))
    return None


def _visits(node, parent) -> list:
    """Path of A* nodes -> one Visit per stay in a cell (waits merged)."""
    nodes = []
    while node is not None:
        nodes.append(node)
        node = parent[node]
    visits = []
    for prev, (cell, direction, t) in zip([None] + nodes[::-1], nodes[::-1]):
        if cell is OFF_MAP:
            continue
        if visits and prev[0] == cell and prev[1] == direction:
            visits[-1].leave = t
        else:
            entered = t if prev is None else prev[2] + 1
            visits.append(Visit(cell, direction, entered, t))
    return visits


def plan_routes(rail_env: RailEnv, priority=None) -> dict:
    """{handle: [Visit] or None} for all trains, planned in `priority` order (default: earliest
    departure first, then shortest journey first)."""
    distance = rail_env.distance_map.get()
    if priority is None:
        priority = sorted(
            rail_env.get_agent_handles(),
            key=lambda h: (rail_env.agents[h].earliest_departure,
                           steps_per_cell(rail_env.agents[h]) * distance[h][rail_env.agents[h].initial_configuration[0]][
                               rail_env.agents[h].initial_configuration[1]]))
    reservations = Reservations()
    routes = {}
    for handle in priority:
        routes[handle] = plan_agent(rail_env, handle, reservations, rail_env._max_episode_steps)
        if routes[handle] is not None:
            reservations.reserve(routes[handle])
    return routes


class VisitOrderExecutor:
    """Turns planned routes into flatland actions, letting a train into a cell only after the
    train planned before it on that cell has left."""

    def __init__(self, rail_env: RailEnv, routes: dict):
        self.rail_env = rail_env
        self.routes = routes
        self.progress = {h: -1 for h in routes}  # index of the visit the train is in; -1 before departure
        order = {}
        for h, visits in routes.items():
            for i, v in enumerate(visits or []):
                order.setdefault(v.cell, []).append((v.enter, h, i))
        self._previous = {}  # (handle, visit index) -> (handle, visit index) planned just before on that cell
        for queue in order.values():
            queue.sort()
            for (_, h0, i0), (_, h1, i1) in zip(queue, queue[1:]):
                self._previous[(h1, i1)] = (h0, i0)

    def update(self) -> None:
        for h, visits in self.routes.items():
            agent = self.rail_env.agents[h]
            if visits is None or agent.state.is_off_map_state():
                continue
            if agent.state == TrainState.DONE:
                self.progress[h] = len(visits)
                continue
            cell = agent.current_configuration[0]
            i = max(self.progress[h], 0)
            while visits[i].cell != cell:
                i += 1  # IndexError here means the train left its route: a bug, not a delay
            self.progress[h] = i

    def may_enter(self, handle: int, visit: int) -> bool:
        before = self._previous.get((handle, visit))
        return before is None or self.progress[before[0]] > before[1]

    def action(self, handle: int) -> RailEnvActions:
        visits = self.routes[handle]
        agent = self.rail_env.agents[handle]
        if visits is None or agent.state == TrainState.DONE:
            return RailEnvActions.DO_NOTHING
        nxt = self.progress[handle] + 1
        if nxt >= len(visits) or not self.may_enter(handle, nxt):
            return RailEnvActions.STOP_MOVING if agent.state.is_on_map_state() else RailEnvActions.DO_NOTHING
        if agent.state.is_off_map_state():
            return RailEnvActions.MOVE_FORWARD
        target = (visits[nxt].cell, visits[nxt].direction)
        for action in TURNS:
            moved = self.rail_env.rail.apply_action_independent(action, agent.current_configuration)
            if moved is not None and moved[0] == target:
                return action
        raise RuntimeError(f"train {handle}: no action leads from {agent.current_configuration} to {target}")
