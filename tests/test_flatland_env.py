"""FlatlandEnv: spaces, who is emitted, termination vs truncation, skipped-step rewards, seeding,
presets, metrics from train states, RLlib sampling and GIF rendering."""

import numpy as np
import pytest
from flatland.envs.rewards import DefaultRewards
from flatland.envs.step_utils.states import TrainState
from ray.rllib.utils.pre_checks.env import check_multiagent_environments

from rllib_il.core.errors import ConfigError
from rllib_il.envs.flatland.agent_features import FEATURES
from rllib_il.envs.flatland.env import FlatlandEnv
from rllib_il.envs.flatland.presets import TIMETABLES
from rllib_il.envs.flatland.timetables import GENERATORS
from rllib_il.experts.flatland import FlatlandPlannerExpert

MIXED_SPEEDS = {"preset": "small_malfunction_v0", "malfunction_rate": 0.0}


def random_episode(env, seed, on_step=None):
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    while True:
        out = env.step({aid: int(rng.integers(5)) for aid in obs})
        if on_step:
            on_step(*out)
        obs, _, terminateds, truncateds, _ = out
        if terminateds["__all__"] or truncateds["__all__"]:
            return out


def test_passes_rllib_checks_and_declares_spaces():
    env = FlatlandEnv({"tree_depth": 1})
    check_multiagent_environments(env)
    assert env.possible_agents == ["0", "1", "2", "3", "4"]
    assert env.get_action_space("0").n == 5
    space = env.get_observation_space("0")
    assert space.dtype == np.float32 and space.shape == (60,) and space.low.min() == -1 and space.high.max() == 1


def test_observations_are_float32_inside_the_box_and_only_for_acting_agents():
    env = FlatlandEnv(MIXED_SPEEDS)
    space = env.get_observation_space("0")
    seen = []

    def check(obs, rewards, terminateds, truncateds, infos):
        assert set(obs) == set(rewards) == set(infos)
        for o in obs.values():
            assert o.dtype == np.float32 and space.contains(o)
        if truncateds["__all__"]:
            return
        required = env.rail_env.get_info_dict()["action_required"]
        for h, agent in enumerate(env.rail_env.agents):
            must_act = (required[h] or agent.state == TrainState.STOPPED) and agent.state != TrainState.DONE
            assert (str(h) in obs) == (must_act or str(h) in terminateds), (h, agent.state)
        seen.append(len(obs))

    random_episode(env, seed=3, on_step=check)
    assert min(seen) < env.config["number_of_agents"]  # slow trains are skipped between cells


def test_observation_radius_scales_the_distance_features():
    """flatland divides the distance features by `observation_radius` and clips them to 1: at its
    default 2 every train, branch or conflict 2+ cells away looks the same."""
    near, far = FlatlandEnv({"observation_radius": 2}), FlatlandEnv({"observation_radius": 20})
    obs_near, _ = near.reset(seed=4)
    obs_far, _ = far.reset(seed=4)
    for _ in range(5):  # a few steps on the map
        obs_near, *_ = near.step({aid: 2 for aid in obs_near})
        obs_far, *_ = far.step({aid: 2 for aid in obs_far})
    assert sorted(obs_near) == sorted(obs_far)
    n_data = near._tree._len_data
    near_data = np.stack([obs_near[a][:n_data] for a in sorted(obs_near)])
    far_data = np.stack([obs_far[a][:n_data] for a in sorted(obs_far)])
    np.testing.assert_allclose(near_data, np.clip(far_data * 10, -1, 1), atol=1e-5)
    assert ((far_data > 0.1) & (far_data < 1)).any()  # distances of 2-20 cells, all 1.0 at radius 2
    first = sorted(obs_near)[0]
    assert np.array_equal(obs_near[first][n_data:], obs_far[first][n_data:])  # the other groups are unchanged


def test_agent_features_append_schedule_waiting_time_and_departure_rank():
    """env_config agent_features: the tree unchanged, then off_map, waited, until_departure,
    until_latest_arrival, elapsed and departure_rank, checked against flatland's train state."""
    env, plain = FlatlandEnv({"agent_features": True}), FlatlandEnv({})
    assert env.get_observation_space("0").shape == (plain.get_observation_space("0").shape[0] + len(FEATURES),)
    obs, _ = env.reset(seed=3)
    plain_obs, _ = plain.reset(seed=3)
    rail = env.rail_env
    limit = rail._max_episode_steps

    def expected(handle, waited):
        agent, now = rail.agents[handle], rail._elapsed_steps
        running = sorted((a.earliest_departure, a.handle) for a in rail.agents if a.state != TrainState.DONE)
        return np.clip(
            [
                agent.state.is_off_map_state(),
                np.log1p(waited) / np.log1p(limit),
                (agent.earliest_departure - now) / limit,
                (agent.latest_arrival - now) / limit,
                now / limit,
                running.index((agent.earliest_departure, handle)) / 4,
            ],
            -1,
            1,
        )

    for aid in obs:
        np.testing.assert_array_equal(obs[aid][: -len(FEATURES)], plain_obs[aid])
        np.testing.assert_allclose(obs[aid][-len(FEATURES) :], expected(int(aid), 0), atol=1e-6)
    while not any(a.state.is_on_map_state() for a in rail.agents):  # depart
        obs, *_ = env.step({aid: 2 for aid in obs})
    train = next(a.handle for a in rail.agents if a.state.is_on_map_state())
    for waited in (1, 2, 3):  # the train stops; the others keep going
        obs, *_ = env.step({aid: 4 if aid == str(train) else 2 for aid in obs})
        np.testing.assert_allclose(obs[str(train)][-len(FEATURES) :], expected(train, waited), atol=1e-6)
    obs, *_ = env.step({aid: 2 for aid in obs})
    assert env._features.waited[train] == 0  # moving again


def test_flatland2_timetable_is_the_2020_time_limit_with_every_train_ready_at_step_0():
    """flatland 2.x: int(8 x (width + height + trains / cities)) steps; flatland 3's timetable
    spreads departures and ends the episode at about 1.5 x the longest journey."""
    assert set(GENERATORS) == set(TIMETABLES)
    env, today = FlatlandEnv({"timetable": "flatland2"}), FlatlandEnv({})
    env.reset(seed=5)
    today.reset(seed=5)
    assert [a.earliest_departure for a in env.rail_env.agents] == [0] * 5
    assert env.rail_env._max_episode_steps in {int(8 * (25 + 25 + 5 / cities)) for cities in (2, 3, 4)}  # 420, 413, 410
    assert today.rail_env._max_episode_steps < 100 and max(a.earliest_departure for a in today.rail_env.agents) > 0


def test_truncation_is_not_termination_and_metrics_count_train_states():
    env = FlatlandEnv({"tree_depth": 1})
    _, _, terminateds, truncateds, _ = random_episode(env, seed=0)
    assert truncateds["__all__"] and not terminateds["__all__"]
    assert env.rail_env._elapsed_steps == env.rail_env._max_episode_steps
    metrics = env.episode_metrics()
    arrived = sum(a.state == TrainState.DONE for a in env.rail_env.agents)
    assert metrics["percentage_complete"] == arrived / 5 < 1.0  # a random policy does not score 100 %
    assert metrics["episode_length"] == env.rail_env._max_episode_steps
    assert 0 <= metrics["deadlocked"] <= 5 - arrived


def test_all_arrived_is_termination():
    env = FlatlandEnv({})
    obs, _ = env.reset(seed=1)
    expert = FlatlandPlannerExpert(env)
    expert.reset(env, obs)
    terminated = set()
    while True:
        obs, _, terminateds, truncateds, _ = env.step(expert.act(obs)[0])
        assert not terminated & set(obs), "an agent got data after its termination"
        terminated |= {aid for aid, t in terminateds.items() if t and aid != "__all__"}
        if terminateds["__all__"] or truncateds["__all__"]:
            break
    assert terminateds["__all__"] and not truncateds["__all__"]
    assert terminated == set(env.possible_agents)
    assert env.episode_metrics()["percentage_complete"] == 1.0
    assert env.episode_metrics()["normalized_score"] == pytest.approx(1.0)


class OnePerStep(DefaultRewards):
    def step_reward(self, *args, **kwargs):
        return 1.0

    def end_of_episode_reward(self, *args, **kwargs):
        return 0.0


@pytest.mark.parametrize("decision_points", [False, True], ids=["cell-entries", "decision-points"])
def test_rewards_of_skipped_steps_reach_the_next_emitted_reward(decision_points):
    env = FlatlandEnv({**MIXED_SPEEDS, "decision_points": decision_points})
    obs, _ = env.reset(seed=3)
    env.rail_env.rewards = OnePerStep()
    start = env.rail_env._elapsed_steps  # rewards count from here, also for agents not emitted yet
    last_emitted = {}
    rng = np.random.default_rng(0)
    skipped = 0
    while True:
        before = env.rail_env._elapsed_steps
        obs, rewards, terminateds, truncateds, _ = env.step({aid: int(rng.integers(5)) for aid in obs})
        skipped += env.rail_env._elapsed_steps - before - 1
        for aid, r in rewards.items():
            assert r == env.rail_env._elapsed_steps - last_emitted.get(aid, start), aid
            last_emitted[aid] = env.rail_env._elapsed_steps
        if terminateds["__all__"] or truncateds["__all__"]:
            break
    assert skipped > 0


def test_shaped_reward_pays_arrivals_and_penalises_late_trains():
    env = FlatlandEnv({"reward": "shaped"})
    returns = {}
    random_episode(
        env, seed=0, on_step=lambda o, r, *_: [returns.__setitem__(a, returns.get(a, 0) + v) for a, v in r.items()]
    )
    arrived = {str(h) for h, a in enumerate(env.rail_env.agents) if a.state == TrainState.DONE}
    for aid, ret in returns.items():
        assert ret == (1.0 if aid in arrived else pytest.approx(-1.0 - (1.0 if int(aid) in env._deadlocked else 0.0)))


def test_reset_seed_reproduces_layouts_and_env_seed_the_sequence():
    a, b = FlatlandEnv({}), FlatlandEnv({})
    obs_a, _ = a.reset(seed=7)
    obs_b, _ = b.reset(seed=7)
    assert np.array_equal(a.rail_env.rail.grid, b.rail_env.rail.grid)
    assert obs_a.keys() == obs_b.keys() and all(np.array_equal(obs_a[k], obs_b[k]) for k in obs_a)
    b.reset(seed=8)
    assert not np.array_equal(a.rail_env.rail.grid, b.rail_env.rail.grid)

    def layouts(env):
        return [(env.reset(), env.rail_env.rail.grid.copy())[1] for _ in range(3)]

    first, second = layouts(FlatlandEnv({"seed": 3})), layouts(FlatlandEnv({"seed": 3}))
    assert all(np.array_equal(x, y) for x, y in zip(first, second))
    assert not np.array_equal(first[0], first[1])


def test_malfunctions_are_reproducible():
    def malfunctions(env):
        random_episode(env, seed=5)
        return [a.malfunction_handler.num_malfunctions for a in env.rail_env.agents]

    config = {"preset": "small_malfunction_v0", "malfunction_rate": 0.05, "tree_depth": 1}
    env = FlatlandEnv(config)
    first = malfunctions(env)
    assert sum(first) > 0
    assert malfunctions(env) == first  # the same instance again (a reused RailEnv re-rolls them)
    assert malfunctions(FlatlandEnv(config)) == first


@pytest.mark.parametrize(
    "env_config, named",
    [
        ({"preset": "huge_v9"}, ["huge_v9", "small_v0", "medium_v0"]),
        ({"tree_dept": 3}, ["tree_dept", "tree_depth"]),
        ({"reward": "dense"}, ["dense", "shaped"]),
        ({"agent_features": "yes"}, ["agent_features", "'yes'"]),
        ({"timetable": "flatland1"}, ["timetable", "flatland1", "flatland2", "flatland3"]),
        ({"tree_depth": True}, ["tree_depth", "True"]),
    ],
)
def test_bad_config_names_the_culprit_and_the_valid_choices(env_config, named):
    with pytest.raises(ConfigError) as error:
        FlatlandEnv(env_config)
    assert all(word in str(error.value) for word in named) and "\n" not in str(error.value)


def test_infeasible_network_is_a_config_error():
    with pytest.raises(ConfigError, match="width"):
        FlatlandEnv({"width": 20, "height": 20}).reset(seed=0)


def test_presets_build_their_networks():
    medium = FlatlandEnv({"preset": "medium_v0"})
    assert (medium.config["width"], len(medium.possible_agents)) == (60, 50)
    mixed = FlatlandEnv({"preset": "small_malfunction_v0"})
    assert mixed.config["malfunction_rate"] > 0 and len(mixed.config["speed_ratio_map"]) > 1


def test_metrics_reach_rllib_results(ray_session):
    from ray.rllib.algorithms.ppo import PPOConfig

    from rllib_il.envs import ensure_registered
    from rllib_il.envs.flatland.callbacks import FlatlandMetricsCallback

    ensure_registered("flatland_sparse")  # as the experiment layer does; not left to an earlier test
    config = (
        PPOConfig()
        .environment("flatland_sparse", env_config={"seed": 1})
        .multi_agent(policies={"shared"}, policy_mapping_fn=lambda aid, ep, **kw: "shared")
        .env_runners(num_env_runners=0)
        .callbacks(FlatlandMetricsCallback)
        .training(train_batch_size_per_learner=150, minibatch_size=50, num_epochs=1)
    )
    algo = config.build()
    try:
        for _ in range(2):
            results = algo.train()["env_runners"]
    finally:
        algo.stop()
    assert results["num_episodes"] >= 1
    for key in ("percentage_complete", "normalized_score", "episode_length", "deadlocked"):
        assert key in results, key
    assert 0.0 <= results["percentage_complete"] <= 1.0 and results["episode_length"] > 0


def test_render_episode_writes_a_readable_gif(tmp_path):
    import imageio.v2 as imageio

    from rllib_il.rollout.gif import render_episode

    env = FlatlandEnv({"number_of_agents": 2, "max_num_cities": 2})
    stats = render_episode(env, FlatlandPlannerExpert(env), tmp_path / "episode.gif", seed=0)
    frames = imageio.mimread(tmp_path / "episode.gif")
    assert len(frames) == stats.length + 1 and frames[0].shape[2] in (3, 4)  # the reset and every step
    assert env.episode_metrics()["episode_length"] >= stats.length > 0
