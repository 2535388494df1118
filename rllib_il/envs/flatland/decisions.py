"""Decision points of a Flatland rail network and the actions a train can take at them.

A train has a real choice only at a switch (which branch) and on a cell next to a switch (enter it
now or wait, which decides who passes first); on plain track "forward" is the only sensible move.
These are the cells the 2020 Flatland RLlib baselines asked their policies about (their
`SkipNoChoiceCellsWrapper`); docs/flatland.md draws them.

Masks list, per train, the actions that lead somewhere distinct: DO_NOTHING and STOP_MOVING always;
of MOVE_FORWARD, MOVE_LEFT, MOVE_RIGHT (in this order) each one that reaches a next cell no action
before it reaches. flatland corrects a turn that has no rail to "forward" and lets "forward" follow
a curve, so on plain track only MOVE_FORWARD remains and at a switch one action per branch. Before
departure a train can wait (DO_NOTHING, STOP_MOVING) or depart (MOVE_FORWARD).
"""

from typing import FrozenSet, Tuple

import numpy as np
from flatland.core.grid.grid4_utils import get_new_position
from flatland.envs.rail_env import RailEnv
from flatland.envs.rail_env_action import RailEnvActions
from flatland.envs.step_utils.states import TrainState

Cell = Tuple[int, int]
ALWAYS = (RailEnvActions.DO_NOTHING, RailEnvActions.STOP_MOVING)
MOVES = (RailEnvActions.MOVE_FORWARD, RailEnvActions.MOVE_LEFT, RailEnvActions.MOVE_RIGHT)
NUM_ACTIONS = len(RailEnvActions)


def switches(rail) -> FrozenSet[Cell]:
    """Cells where a train travelling in some direction has more than one way out."""
    return frozenset(
        (row, col)
        for row in range(rail.height)
        for col in range(rail.width)
        if any(sum(rail.get_transitions(((row, col), d))) > 1 for d in range(4))
    )


def decision_cells(rail) -> FrozenSet[Cell]:
    """Switches and every cell one rail transition away from a switch (in any travel direction)."""
    found = switches(rail)
    neighbours = {
        get_new_position(cell, out)
        for cell in found
        for d in range(4)
        for out, allowed in enumerate(rail.get_transitions((cell, d)))
        if allowed
    }
    return found | frozenset(neighbours)


def action_mask(rail_env: RailEnv, handle: int) -> np.ndarray:
    """float32 0/1 vector over flatland's 5 actions: 1 where the action is possible and distinct
    (module docstring). An arrived train gets all ones (its final observation has no decision)."""
    agent = rail_env.agents[handle]
    if agent.state == TrainState.DONE:
        return np.ones(NUM_ACTIONS, dtype=np.float32)
    mask = np.zeros(NUM_ACTIONS, dtype=np.float32)
    mask[[a.value for a in ALWAYS]] = 1.0
    if agent.state.is_off_map_state():
        mask[RailEnvActions.MOVE_FORWARD.value] = 1.0
        return mask
    reached = set()
    for action in MOVES:
        moved = rail_env.rail.apply_action_independent(action, agent.current_configuration)
        if moved is not None and moved[0] not in reached:
            reached.add(moved[0])
            mask[action.value] = 1.0
    return mask
