"""How Flatland episodes ended: `FlatlandEnv.train_outcomes()` against the trains' states, its mean over
episodes in the evaluation summary, and the evaluation line that reports it beside % arrived."""

import numpy as np
import pytest
from flatland.envs.step_utils.states import TrainState

from rllib_il.envs.flatland.deadlocks import deadlocked_agents
from rllib_il.envs.flatland.env import FlatlandEnv
from rllib_il.rollout.rollout import EpisodeStats
from rllib_il.rollout.statistics import stats_table, summarize
from rllib_il.workflow.summary import evaluation_line


def test_outcomes_partition_the_trains_by_their_final_state():
    env = FlatlandEnv({"preset": "small_v0"})
    rng = np.random.default_rng(1)
    seen = set()
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:  # mostly forward, sometimes stop: trains deadlock, stay late or never leave
            obs, _, terminateds, truncateds, _ = env.step({aid: int(rng.choice([2, 2, 2, 4])) for aid in obs})
            done = terminateds["__all__"] or truncateds["__all__"]
        outcomes, agents = env.train_outcomes(), env.rail_env.agents
        n = len(agents)
        assert outcomes["arrived"] == sum(a.state == TrainState.DONE for a in agents) / n
        assert outcomes["deadlocked"] == len(deadlocked_agents(env.rail_env)) / n
        assert outcomes["never_departed"] == sum(a.state.is_off_map_state() for a in agents) / n
        assert sum(outcomes.values()) == pytest.approx(1.0)
        metrics = env.episode_metrics()
        assert metrics["percentage_complete"] == outcomes["arrived"]
        assert metrics["deadlocked"] == round(outcomes["deadlocked"] * n)
        seen |= {k for k, v in outcomes.items() if v > 0}
    assert {"arrived", "deadlocked"} <= seen


def test_summary_and_evaluation_line_report_the_mean_outcomes():
    first = {"arrived": 0.6, "deadlocked": 0.4, "never_departed": 0.0, "running_late": 0.0}
    second = {"arrived": 0.8, "deadlocked": 0.0, "never_departed": 0.0, "running_late": 0.2}
    summary = summarize([EpisodeStats(0, -1.0, 10, 0.6, first), EpisodeStats(1, -3.0, 20, 0.8, second)])
    assert summary["percentage_complete"] == pytest.approx(0.7)
    assert summary["train_outcomes"] == pytest.approx(
        {"arrived": 0.7, "deadlocked": 0.2, "never_departed": 0.0, "running_late": 0.1}
    )
    assert evaluation_line(summary) == (
        "70.0 % trains arrived (deadlocked 20.0 %, never departed 0.0 %, running late 10.0 %), return -2.0 ± 1.0"
    )
    columns = [c.header for c in stats_table(summary, "t").columns]
    assert columns[-3:] == ["% deadlocked", "% never departed", "% running late"]
    assert "train_outcomes" not in summarize([EpisodeStats(0, 1.0, 5)])
