"""Flatland decision points: decision cells of a hand-built rail, action masks on switch, plain and
off-map cells, the env asking trains only there (masks at the end of the observation, skipped
steps' rewards summed: test_flatland_env.py), the planner waiting only there, and datasets recorded
with the other setting refused. The env's speed-ups change nothing: remembered shortest paths are
flatland's, prefetched layouts are those of the same seeds."""

from types import SimpleNamespace

import numpy as np
import pytest
from flatland.envs.rail_env_action import RailEnvActions as A
from flatland.envs.step_utils.states import TrainState
from flatland.utils.simple_rail import make_simple_rail

from rllib_il.algorithms.marwil.marwil import MARWILILConfig
from rllib_il.core.errors import ConfigError
from rllib_il.envs.flatland.decisions import action_mask, decision_cells, switches
from rllib_il.envs.flatland.env import FlatlandEnv
from rllib_il.experts import make_expert
from rllib_il.experts.flatland_planner import steps_per_cell

# flatland's simple rail (7 x 10): a vertical track from (0, 3) and one from (6, 6) join a horizontal
# track along row 3 at the switches (3, 3) and (3, 6).
SWITCHES = {(3, 3), (3, 6)}
NEIGHBOURS = {(2, 3), (3, 2), (3, 4), (3, 5), (3, 7), (4, 6)}
PLAIN = {(0, 3), (1, 3), (3, 0), (3, 1), (3, 8), (3, 9), (5, 6), (6, 6)}
NORTH, EAST, SOUTH, WEST = range(4)


def allowed(mask):
    return {A(i).name for i in np.flatnonzero(mask)}


def rail_env_with(rail, state, configuration):
    agent = SimpleNamespace(state=state, current_configuration=configuration)
    return SimpleNamespace(rail=rail, agents=[agent])


def test_decision_cells_are_switches_and_their_neighbours():
    rail, _, _ = make_simple_rail()
    assert switches(rail) == SWITCHES
    assert decision_cells(rail) == SWITCHES | NEIGHBOURS
    on_rail = {(r, c) for r in range(rail.height) for c in range(rail.width) if rail.get_full_transitions(r, c)}
    assert on_rail == SWITCHES | NEIGHBOURS | PLAIN


def test_masks_on_switch_plain_and_off_map_cells():
    rail, _, _ = make_simple_rail()
    branching = [d for d in range(4) if sum(rail.get_transitions(((3, 3), d))) > 1]
    assert branching  # a train entering (3, 3) in this direction chooses between two ways out
    at_switch = action_mask(rail_env_with(rail, TrainState.MOVING, ((3, 3), branching[0])), 0)
    assert allowed(at_switch) in (
        {"DO_NOTHING", "STOP_MOVING", "MOVE_FORWARD", "MOVE_LEFT"},
        {"DO_NOTHING", "STOP_MOVING", "MOVE_FORWARD", "MOVE_RIGHT"},
    )
    plain = action_mask(rail_env_with(rail, TrainState.MOVING, ((3, 1), EAST)), 0)
    assert allowed(plain) == {"DO_NOTHING", "STOP_MOVING", "MOVE_FORWARD"}
    stopped = action_mask(rail_env_with(rail, TrainState.STOPPED, ((1, 3), SOUTH)), 0)
    assert allowed(stopped) == {"DO_NOTHING", "STOP_MOVING", "MOVE_FORWARD"}
    depot = action_mask(rail_env_with(rail, TrainState.READY_TO_DEPART, None), 0)
    assert allowed(depot) == {"DO_NOTHING", "STOP_MOVING", "MOVE_FORWARD"}
    assert action_mask(rail_env_with(rail, TrainState.DONE, None), 0).tolist() == [1.0] * 5


def test_env_asks_trains_only_at_decision_cells_with_their_masks_last():
    plain_env = FlatlandEnv({"decision_points": False})
    env = FlatlandEnv({"decision_points": True})
    assert env.get_observation_space("0").shape[0] == plain_env.get_observation_space("0").shape[0] + 5
    assert env.action_mask_in_observation and not plain_env.action_mask_in_observation
    rng = np.random.default_rng(0)
    asked = {True: 0, False: 0}
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            for aid, o in obs.items():
                agent = env.rail_env.agents[int(aid)]
                if agent.state == TrainState.DONE:
                    continue
                cell = None if agent.current_configuration is None else agent.current_configuration[0]
                assert cell is None or cell in env.decision_cells or agent.state == TrainState.STOPPED, (seed, aid)
                np.testing.assert_array_equal(o[-5:], action_mask(env.rail_env, int(aid)))
                asked[cell is not None] += 1
            actions = {aid: int(rng.choice(np.flatnonzero(o[-5:]))) for aid, o in obs.items()}
            obs, _, terminateds, truncateds, _ = env.step(actions)
            done = terminateds["__all__"] or truncateds["__all__"]
    assert asked[True] > 0 and asked[False] > 0
    assert env.decision_cells < {
        (r, c)
        for r in range(env.rail_env.height)
        for c in range(env.rail_env.width)
        if env.rail_env.rail.get_full_transitions(r, c)
    }


def test_planner_plans_waits_only_at_decision_cells_and_acts_within_the_masks():
    """Planned visits of plain cells last exactly a train's steps per cell (flatland itself may still
    stop a train whose next cell is occupied; the env then asks it, STOPPED, and the mask lets it wait)."""
    env = FlatlandEnv({"preset": "small_malfunction_v0", "malfunction_rate": 0.0, "decision_points": True})
    expert = make_expert("flatland_planner", env)
    arrived, waits = [], 0
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        expert.reset(env, obs)
        for handle, visits in expert.executor.routes.items():
            k = steps_per_cell(env.rail_env.agents[handle])
            for visit in (visits or [])[:-1]:
                assert visit.cell in env.decision_cells or visit.leave - visit.enter == k - 1, (seed, handle, visit)
                waits += visit.leave - visit.enter > k - 1
        done = False
        while not done:
            actions = expert.act(obs)[0]
            for aid, action in actions.items():
                assert obs[aid][-5:][action] == 1.0, (seed, aid, action)
            obs, _, terminateds, truncateds, _ = env.step(actions)
            done = terminateds["__all__"] or truncateds["__all__"]
        arrived.append(env.episode_metrics()["percentage_complete"])
    assert waits > 0 and np.mean(arrived) >= 0.9


@pytest.mark.parametrize(
    "dataset, decision_points",
    [("saved_experiences/flatland_small_v0", True), ("saved_experiences/flatland_small_v0_dp", False)],
)
def test_dataset_recorded_with_the_other_setting_is_refused(dataset, decision_points):
    config = (
        MARWILILConfig()
        .environment("flatland_sparse", env_config={"preset": "small_v0", "decision_points": decision_points})
        .offline_data(input_=dataset)
    )
    with pytest.raises(ConfigError, match=dataset.split("/")[-1]) as error:
        config.prepare()
    assert "\n" not in str(error.value)


def test_remembered_shortest_paths_equal_flatlands_at_every_step():
    env = FlatlandEnv({"preset": "small_malfunction_v0"})
    rng = np.random.default_rng(0)
    compared = 0
    for seed in range(2):
        obs, _ = env.reset(seed=seed)
        distance_map = env.rail_env.distance_map
        done = False
        while not done:
            for depth in (30, None):
                assert distance_map.get_shortest_paths(depth) == type(distance_map).get_shortest_paths(
                    distance_map, depth
                )
                compared += 1
            obs, _, terminateds, truncateds, _ = env.step({aid: int(rng.integers(5)) for aid in obs})
            done = terminateds["__all__"] or truncateds["__all__"]
    assert compared > 50


@pytest.mark.parametrize("seeded", [True, False], ids=["seeded-resets", "env-seed-sequence"])
def test_prefetched_layouts_are_the_layouts_of_the_same_seeds(seeded):
    """A worker process builds the next layouts ahead; the episodes are those built in place."""

    def layouts(env_config):
        env = FlatlandEnv({"preset": "small_malfunction_v0", "seed": 3, **env_config})
        found = []
        try:
            for i in range(4):
                env.reset(seed=100 + i) if seeded else env.reset()
                rail = env.rail_env
                agents = [
                    (a.initial_configuration, a.targets, a.earliest_departure, a.speed_counter.max_speed)
                    for a in rail.agents
                ]
                found.append((env.episode_seed, rail.rail.grid.tobytes(), agents, rail._max_episode_steps))
                for _ in range(30):  # malfunctions come from the RailEnv's own random state
                    env.rail_env.step({h: 2 for h in range(len(agents))})
                found.append([a.malfunction_handler.num_malfunctions for a in env.rail_env.agents])
        finally:
            env.close()
        return found

    assert layouts({"prefetch_layouts": 2}) == layouts({})
