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


class OffRoute(RuntimeError):
    """A train is not where its route says: someone else moved it (e.g. a learned policy acting
    while the planner labels, as in DAgger). The routes must be planned again from the current state."""


@dataclass
class Visit:
    cell: tuple
    direction: int
    enter: int  # planned time of entry
    leave: int  # planned last time in the cell


@dataclass
class Start:
    """Where a train is when planning starts: off the map (cell OFF_MAP) or in a cell it entered
    at `enter`; `ready` is the earliest time it can depart or leave the cell (malfunctions)."""

    cell: tuple
    direction: int
    enter: int
    ready: int


def steps_per_cell(agent) -> int:
    return ceil(1 / agent.speed_counter.max_speed)


def start_of(rail_env: RailEnv, agent) -> Start:
    now = rail_env._elapsed_steps  # private in flatland, no public form (docs/notes/flatland.md)
    broken = agent.malfunction_handler.malfunction_down_counter
    if agent.state.is_off_map_state():
        return Start(OFF_MAP, None, now, max(now + broken, agent.earliest_departure))
    cell, direction = agent.current_configuration
    return Start(cell, direction, now, now + broken)


class Reservations:
    """Which train holds each cell at each time step."""

    def __init__(self):
        self._held = {}  # cell -> {time: handle}

    def free(self, cell, start: int, end: int, handle: int) -> bool:
        held = self._held.get(cell)
        return held is None or all(held.get(t, handle) == handle for t in range(start, end + 1))

    def hold(self, handle: int, cell, start: int, end: int) -> None:
        self._held.setdefault(cell, {}).update(dict.fromkeys(range(start, end + 1), handle))

    def reserve(self, handle: int, visits) -> None:
        """A train holds each visited cell from its entry to one step after it left."""
        for v in visits:
            self.hold(handle, v.cell, v.enter, v.leave + 1)


def plan_agent(rail_env: RailEnv, handle: int, start: Start, reservations: Reservations, horizon: int, wait_cells=None):
    """Earliest-arrival route of one train around the reserved cells, as a list of Visits (None if
    it cannot arrive before `horizon`). Nodes are (cell, direction, time) with the train free to
    leave; OFF_MAP nodes wait before departure. With `wait_cells` (a set of cells) a train on the
    map may wait only in those cells (an env that asks trains only at decision cells)."""
    agent = rail_env.agents[handle]
    k = steps_per_cell(agent)
    distance = rail_env.distance_map.get()[handle]
    targets = {t[0] for t in agent.targets}
    start_cell, start_dir = agent.initial_configuration
    free = reservations.free

    def h(cell, direction):
        return k * (distance[start_cell][start_dir] if cell is OFF_MAP else distance[cell][direction])

    root = (start.cell, start.direction, start.ready)
    if start.cell is not OFF_MAP and not free(start.cell, start.enter, start.ready, handle):
        return None
    tie = itertools.count()  # f ties: deepest node first, then first pushed
    frontier = [(start.ready + h(start.cell, start.direction), -start.ready, next(tie), root)]
    parent = {root: None}
    while frontier:
        *_, node = heapq.heappop(frontier)
        cell, direction, t = node
        if cell in targets:
            return _visits(node, parent, start)
        if t >= horizon:
            continue
        if cell is OFF_MAP:
            moves = [
                ((OFF_MAP, None, t + 1), True),
                ((start_cell, start_dir, t + k), free(start_cell, t + 1, t + k, handle)),
            ]
        else:
            stay_ok = free(cell, t + 1, t + 1, handle)
            may_wait = wait_cells is None or cell in wait_cells
            moves = [((cell, direction, t + 1), stay_ok and may_wait)]
            for new_dir, allowed in enumerate(rail_env.rail.get_transitions((cell, direction))):
                if allowed:
                    new_cell = get_new_position(cell, new_dir)
                    last = t + 1 if new_cell in targets else t + k
                    moves.append(((new_cell, new_dir, last), stay_ok and free(new_cell, t + 1, last, handle)))
        for child, ok in moves:
            if ok and child not in parent:  # a node's cost is its time: the first parent is as good as any
                parent[child] = node
                heapq.heappush(frontier, (child[2] + h(child[0], child[1]), -child[2], next(tie), child))
    return None


def _visits(node, parent, start: Start) -> list:
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
            visits.append(Visit(cell, direction, start.enter if prev is None else prev[2] + 1, t))
    return visits


def plan_routes(rail_env: RailEnv, attempts: int = 3, wait_cells=None) -> dict:
    """{handle: [Visit] or None} for every train not yet arrived, planned from the current state
    (trains off the map must arrive before the time limit, trains on the map get a route anyway);
    `wait_cells`: the only cells where a train on the map may wait (None: any).

    Trains on the map are planned first (they hold their cells; the others must route around
    them), each group by earliest departure then shortest journey. When trains find no route, they
    move to the front of their group and planning restarts (up to `attempts` orders); the order
    that routes the most trains wins."""
    distance = rail_env.distance_map.get()
    agents = [a for a in rail_env.agents if a.state != TrainState.DONE]
    starts = {a.handle: start_of(rail_env, a) for a in agents}

    def key(a):
        journey = distance[a.handle][a.initial_configuration[0]][a.initial_configuration[1]]
        return a.current_configuration is None, a.earliest_departure, steps_per_cell(a) * journey

    order = [a.handle for a in sorted(agents, key=key)]
    # a train that cannot arrive in time stays at its depot; one on the map must get a route anyway
    # the step limit is private in flatland, no public form (docs/notes/flatland.md)
    horizon = {True: rail_env._max_episode_steps, False: 2 * rail_env._max_episode_steps}
    best = None
    for _ in range(attempts):
        reservations = Reservations()
        for h, s in starts.items():
            if s.cell is not OFF_MAP:
                reservations.hold(h, s.cell, s.enter, s.ready)
        routes = {}
        for h in order:
            limit = horizon[starts[h].cell is OFF_MAP]
            routes[h] = plan_agent(rail_env, h, starts[h], reservations, limit, wait_cells)
            if routes[h] is not None:
                reservations.reserve(h, routes[h])
        failed = [h for h in order if routes[h] is None]
        if best is None or len(failed) < best[0]:
            best = (len(failed), routes)
        if not failed:
            break
        on_map = {h for h in order if starts[h].cell is not OFF_MAP}
        order = sorted(order, key=lambda h: (h not in on_map, h not in failed))
    return best[1]


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
        # trains already on the map that the planner could not route: left alone, not off their route
        self._unrouted = {h for h, v in routes.items() if v is None and rail_env.agents[h].state.is_on_map_state()}

    def update(self) -> None:
        """Advances every train's progress along its route. Raises OffRoute when a train is not on
        the rest of its route, is on the map without one, or entered a cell before the train
        planned before it there (none of which happens while only this executor acts)."""
        for h, visits in self.routes.items():
            agent = self.rail_env.agents[h]
            if agent.state.is_off_map_state() or (visits is None and h in self._unrouted):
                continue
            if agent.state == TrainState.DONE:
                self.progress[h] = len(visits or [])
                continue
            cell = agent.current_configuration[0]
            rest = range(max(self.progress[h], 0), len(visits or []))
            i = next((i for i in rest if visits[i].cell == cell), None)
            if i is None:
                raise OffRoute(f"train {h}: cell {cell} is not on the rest of its route")
            self.progress[h] = i
        for h, i in self.progress.items():
            if i >= 0 and self.rail_env.agents[h].state.is_on_map_state() and not self.may_enter(h, i):
                raise OffRoute(f"train {h}: entered visit {i} before the train planned before it")

    def may_enter(self, handle: int, visit: int) -> bool:
        before = self._previous.get((handle, visit))
        return before is None or self.progress[before[0]] > before[1]

    def action(self, handle: int) -> RailEnvActions:
        visits = self.routes.get(handle)
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
        raise OffRoute(f"train {handle}: no action leads from {agent.current_configuration} to {target}")
