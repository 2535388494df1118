"""Learning-curve CLI on hand-written Tune result files."""

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from rllib_il.cli.plot import main
from rllib_il.workflow.plots import curve
from rllib_il.workflow.results import last_values, load_results, run_label
from rllib_il.workflow.summary import headline, summarize


def write_trial(directory, returns, resumed_at=None):
    directory.mkdir(parents=True)
    rows = [{"training_iteration": i + 1, "env_runners": {"episode_return_mean": r}} for i, r in enumerate(returns)]
    if resumed_at:  # a resumed run reports the iterations after its checkpoint again
        rows += rows[resumed_at:]
    (directory / "result.json").write_text("\n".join(json.dumps(r) for r in rows))


def test_results_are_flattened_and_resumed_iterations_deduplicated(tmp_path):
    write_trial(tmp_path / "exp" / "trial_a", [1.0, 2.0, 3.0], resumed_at=1)
    frame = load_results(tmp_path / "exp" / "trial_a")
    assert frame["training_iteration"].tolist() == [1, 2, 3]
    assert frame["env_runners/episode_return_mean"].tolist() == [1.0, 2.0, 3.0]


def test_plot_several_experiments_on_one_png(tmp_path, capsys):
    write_trial(tmp_path / "scratch" / "trial_a", [1.0, 2.0])
    write_trial(tmp_path / "pretrained" / "trial_b", [5.0, 6.0])
    out = tmp_path / "curves.png"
    assert main([str(tmp_path / "scratch"), str(tmp_path / "pretrained"), "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_metric_and_empty_dir_are_errors(tmp_path, capsys):
    write_trial(tmp_path / "exp" / "trial_a", [1.0])
    assert main([str(tmp_path / "exp"), "--metric", "nope", "-o", str(tmp_path / "c.png")]) == 2
    assert "metric 'nope' is in none of the runs" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "-o", str(tmp_path / "c.png")]) == 2
    assert "no Tune trial results" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_a_metric_reported_every_k_iterations_is_one_line_of_its_points():
    frame = pd.DataFrame({"it": [1, 2, 3, 4], "eval": [float("nan"), 5.0, float("nan"), 7.0]})
    points = curve(frame, "it", "eval")
    assert points["it"].tolist() == [2, 4] and points["eval"].tolist() == [5.0, 7.0]


def test_lines_are_labelled_by_experiment_and_grid_params():
    exp = Path("lunarlander-marwil-mixed")
    grid = "MARWIL_IL_LunarLander-v3_8db28_00003_3_beta=1,seed=1_2026-11-22_06-16-05"
    plain = "PPO_LunarLander-v3_cb7ba_00000_0_2026-11-22_07-47-01"
    assert run_label(exp, exp / grid) == "lunarlander-marwil-mixed beta=1,seed=1"
    assert run_label(exp, exp / plain) == "lunarlander-marwil-mixed cb7ba_00000"
    assert run_label(exp, exp / "trial_a") == "lunarlander-marwil-mixed/trial_a"


def test_the_summary_shows_the_last_evaluation_not_the_last_iterations_nan(tmp_path, capsys):
    """A run of 112 iterations evaluating every 10 ends on an iteration without evaluation metrics
    (RLlib reports NaN or nothing there); the end-of-run table showed "nan %" before `last_values`."""
    rows = [
        {"training_iteration": 1, "env_runners": {"episode_return_mean": -9.0}},
        {
            "training_iteration": 2,
            "env_runners": {"episode_return_mean": -8.0},
            "evaluation": {"env_runners": {"percentage_complete": 0.6, "episode_return_mean": -5.0}},
        },
        {
            "training_iteration": 3,
            "env_runners": {"episode_return_mean": -7.0},
            "evaluation": {"env_runners": {"percentage_complete": float("nan"), "episode_return_mean": float("nan")}},
        },
        {"training_iteration": 4, "env_runners": {"episode_return_mean": -6.0}},
    ]
    trial_dir = tmp_path / "exp" / "trial_a"
    trial_dir.mkdir(parents=True)
    (trial_dir / "result.json").write_text("\n".join(json.dumps(r) for r in rows))
    assert headline(last_values(load_results(trial_dir))) == {"return": -5.0, "% arrived": 0.6}
    assert headline({"env_runners/episode_return_mean": float("nan")}) == {}
    assert headline({"env_runners/episode_return_mean": "null"}) == {}

    exp = SimpleNamespace(name="exp", trials=[{"params": {}}])
    result = SimpleNamespace(
        path=str(trial_dir), metrics={**rows[-1], "trial_id": "a"}, error=None, checkpoint=None, config={}
    )
    assert summarize(exp, [result], tmp_path)
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("│ a "))
    assert [cell.strip() for cell in row.split("│")[3:6]] == ["4", "-5.00", "60.0 %"]


def test_one_point_per_evaluation(tmp_path):
    """Evaluations ran at iterations 2 and 4 of 5; RLlib repeats their values at 3 and 5 without the
    marker an evaluation that ran leaves. The curve has exactly the 2 evaluations; the summary's
    last value is the last evaluation's."""
    trial = tmp_path / "exp" / "trial_a"
    trial.mkdir(parents=True)
    rows = []
    for i, (value, ran) in enumerate([(None, False), (10.0, True), (10.0, False), (30.0, True), (30.0, False)]):
        row = {"training_iteration": i + 1}
        if value is not None:
            row["evaluation"] = {
                "env_runners": {"episode_return_mean": value},
                **({"num_healthy_workers": 0} if ran else {}),
            }
        rows.append(row)
    (trial / "result.json").write_text("\n".join(json.dumps(r) for r in rows))
    frame = load_results(trial)
    points = curve(frame, "training_iteration", "evaluation/env_runners/episode_return_mean")
    assert points["training_iteration"].tolist() == [2, 4]
    assert points["evaluation/env_runners/episode_return_mean"].tolist() == [10.0, 30.0]
    assert last_values(frame)["evaluation/env_runners/episode_return_mean"] == 30.0


def test_a_phase2_summary_shows_start_best_last_and_the_start_line(tmp_path, capsys, monkeypatch):
    """A Phase 2 row reads 'start -> best -> last' of the metric that chose its start; the PNG gets the
    start as a dashed reference line on that metric's panel."""
    from rllib_il.workflow import summary
    from rllib_il.workflow.handoff import StartCheckpoint

    metric = "evaluation/env_runners/episode_return_mean"
    trial_dir = tmp_path / "exp" / "trial_a"
    trial_dir.mkdir(parents=True)
    rows = [
        {
            "training_iteration": i + 1,
            "evaluation": {"num_healthy_workers": 0, "env_runners": {"episode_return_mean": r}},
        }
        for i, r in enumerate([240.0, 262.5, 251.0])
    ]
    (trial_dir / "result.json").write_text("\n".join(json.dumps(r) for r in rows))
    drawn = {}
    monkeypatch.setattr(
        summary, "plot_learning_curves", lambda curves, metrics, out, references=(): drawn.update(refs=references)
    )
    exp = SimpleNamespace(name="exp", trials=[{"params": {}}])
    result = SimpleNamespace(
        path=str(trial_dir), metrics={**rows[-1], "trial_id": "a"}, error=None, checkpoint=None, config={}
    )
    assert summarize(exp, [result], tmp_path, start=StartCheckpoint(tmp_path, metric, 249.7))
    out = capsys.readouterr().out
    assert "249.7 -> 262.5 -> 251" in out
    assert drawn["refs"] == [(metric, 249.7, "start (Phase 1)")]


def test_plot_cli_draws_reference_lines(tmp_path):
    write_trial(tmp_path / "exp" / "trial_a", [1.0, 2.0])
    out = tmp_path / "curves.png"
    assert main([str(tmp_path / "exp"), "--reference", "Phase 1=1.5", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit) as exit_code:
        main([str(tmp_path / "exp"), "--reference", "Phase 1=high", "-o", str(out)])
    assert exit_code.value.code == 2
