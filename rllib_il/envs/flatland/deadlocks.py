"""Which trains can never move again."""

from flatland.core.grid.grid4_utils import get_new_position
from flatland.envs.rail_env import RailEnv
from flatland.envs.step_utils.states import TrainState


def deadlocked_agents(rail_env: RailEnv) -> set:
    """Handles of on-map trains that are stuck for good.

    A train is free if one of its rail exits leads to an empty cell or to a cell held by a free
    train (which may leave it); malfunctioning trains count as free (they recover). Freedom is
    propagated to a fixed point; the trains left over wait on each other in a cycle (head-on on a
    single track, or queued behind such a pair) and are deadlocked."""
    occupant = {}
    for agent in rail_env.agents:
        if agent.state.is_on_map_state() and agent.current_configuration is not None:
            occupant[agent.current_configuration[0]] = agent
    free = {a.handle for a in occupant.values() if a.state == TrainState.MALFUNCTION}
    exits = {
        a.handle: [
            get_new_position(a.current_configuration[0], d)
            for d, allowed in enumerate(rail_env.rail.get_transitions(a.current_configuration))
            if allowed
        ]
        for a in occupant.values()
    }
    changed = True
    while changed:
        changed = False
        for agent in occupant.values():
            if agent.handle in free:
                continue
            if any(cell not in occupant or occupant[cell].handle in free for cell in exits[agent.handle]):
                free.add(agent.handle)
                changed = True
    return {a.handle for a in occupant.values()} - free
