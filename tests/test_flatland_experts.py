"""Flatland experts: the planner's success rate and deadlock-freedom, flatland's shortest path."""

import numpy as np
import pytest

from rllib_il.envs.flatland.env import FlatlandEnv
from rllib_il.experts.flatland import FlatlandPlannerExpert, FlatlandShortestPathExpert
from rllib_il.experts.flatland_planner import plan_routes


def run_episode(env, expert, seed):
    obs, _ = env.reset(seed=seed)
    expert.reset(env, obs)
    while True:
        actions, logps = expert.act(obs)
        assert set(actions) == set(obs) and all(logps[aid] == 0.0 for aid in obs)
        assert all(env.get_action_space(aid).contains(a) for aid, a in actions.items())
        obs, _, terminateds, truncateds, _ = env.step(actions)
        if terminateds["__all__"] or truncateds["__all__"]:
            return env.episode_metrics()


def test_planner_brings_home_at_least_95_percent_of_small_v0_trains():
    env = FlatlandEnv({})
    expert = FlatlandPlannerExpert(env)
    arrived = [run_episode(env, expert, seed)["percentage_complete"] for seed in range(10)]
    assert np.mean(arrived) >= 0.95, arrived


def test_planner_never_deadlocks_under_malfunctions_and_mixed_speeds():
    env = FlatlandEnv({"preset": "small_malfunction_v0", "malfunction_rate": 0.02})
    expert = FlatlandPlannerExpert(env)
    for seed in range(3):
        metrics = run_episode(env, expert, seed)
        assert metrics["deadlocked"] == 0, (seed, metrics)
        assert sum(a.malfunction_handler.num_malfunctions for a in env.rail_env.agents) > 0


def test_planned_routes_never_share_a_cell_at_the_same_time():
    env = FlatlandEnv({"preset": "small_malfunction_v0", "malfunction_rate": 0.0})
    env.reset(seed=4)
    routes = plan_routes(env.rail_env)
    held = {}
    for handle, visits in routes.items():
        assert visits, f"train {handle} has no route"
        assert visits[0].cell == env.rail_env.agents[handle].initial_configuration[0]
        assert visits[-1].cell in {t[0] for t in env.rail_env.agents[handle].targets}
        for v in visits:
            for t in range(v.enter, v.leave + 2):  # held until one step after leaving
                assert held.setdefault((v.cell, t), handle) == handle, (v.cell, t)


def test_shortest_path_expert_brings_a_lone_train_home():
    env = FlatlandEnv({"number_of_agents": 1})
    for seed in range(3):
        assert run_episode(env, FlatlandShortestPathExpert(env), seed)["percentage_complete"] == 1.0


@pytest.mark.parametrize("expert_name", ["flatland_planner", "flatland_shortest_path"])
def test_experts_are_registered(expert_name):
    from rllib_il.experts import make_expert

    env = FlatlandEnv({})
    assert run_episode(env, make_expert(expert_name, env), seed=0)["episode_length"] > 0


def test_planner_replans_when_another_policy_moved_the_trains(monkeypatch):
    """DAgger: random actions for 15 steps push trains off their routes; the planner must still
    label every agent with a valid action (replanning from the current state) and, acting alone
    afterwards, bring every train home on seed 6."""
    plans = []
    plan = FlatlandPlannerExpert._plan
    monkeypatch.setattr(FlatlandPlannerExpert, "_plan", lambda self: plans.append(1) or plan(self))
    env = FlatlandEnv({})
    expert = FlatlandPlannerExpert(env)
    rng = np.random.default_rng(6)
    obs, _ = env.reset(seed=6)
    expert.reset(env, obs)
    for step in range(1000):
        actions, _ = expert.act(obs)
        assert set(actions) == set(obs) and all(env.get_action_space(aid).contains(a) for aid, a in actions.items())
        if step < 15:
            actions = {aid: int(rng.integers(5)) for aid in obs}
        obs, _, terminateds, truncateds, _ = env.step(actions)
        if terminateds["__all__"] or truncateds["__all__"]:
            break
    assert len(plans) > 1  # small_v0 has no breakdowns: every replan was a train off its route
    assert env.episode_metrics()["percentage_complete"] == 1.0
