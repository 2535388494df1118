"""Side by side: rllib_il's GAIL and SQIL against the imitation library's, same demonstrations and budget.

    bash bench/imitation_library/setup.sh                 # once: bench/.venv-imitation with imitation 1.0.1
    python bench/bench_imitation_library.py --algos gail sqil --env-steps 300000 --seeds 0 1 2 \
        --results lunarlander_imitation_library_5demos

The first `--demos` episodes of `--input` go to an npz; bench/imitation_library/run_imitation.py trains
imitation's GAIL / SQIL on them in bench/.venv-imitation (`--env-steps` env steps per seed) and evaluates
every seed's final policy greedily on the reset seeds `--eval-seed` .. `--eval-seed` + `--eval-episodes` - 1.
Ours come from the docs/results JSON files of `--ours` (scripts/phase2_results.py --vs-expert, evaluated on
the same seeds); a missing file leaves our row out. Without `--env-steps`, each algorithm gets the env
steps of our run. Scores are normalised, (R - R_random) / (R_expert - R_random), with the expert's and
random returns of our files (`reference_returns`) or else `--expert-return` / `--random-return`.
`--results NAME` writes docs/results/NAME.json. Nothing here starts Ray.
"""

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.table import Table

from rllib_il.core.console import console
from rllib_il.core.errors import ConfigError, cli, did_you_mean
from rllib_il.data import read_episodes, read_metadata
from rllib_il.workflow.measured import write_measured

ALGOS = ("gail", "sqil")
HERE = Path(__file__).resolve().parent
IMITATION_PYTHON = HERE / ".venv-imitation" / "bin" / "python"
RUNNER = HERE / "imitation_library" / "run_imitation.py"
DEFAULT_OURS = [f"{a}=docs/results/lunarlander_{a}_5demos_vs_expert.json" for a in ALGOS]


def export_demos(path: str, count: int, out: Path, algos) -> dict:
    """Writes the first `count` episodes of the dataset to the npz run_imitation.py reads; returns its metadata."""
    meta = read_metadata(path)
    if meta.get("multi_agent"):
        raise ConfigError(f"--input {path}: a multi-agent dataset; imitation trains single-agent envs")
    if meta.get("env_config"):
        raise ConfigError(f"--input {path}: recorded with env_config {meta['env_config']}; give a default-env dataset")
    if "sqil" in algos and meta["action_space"].get("space") != "discrete":
        raise ConfigError(f"--input {path}: SQIL (DQN) needs Discrete actions")
    episodes = read_episodes(path)[:count]
    if len(episodes) < count:
        raise ConfigError(f"--demos {count}: {path} holds only {len(episodes)} episodes")
    seeds = meta.get("seeds", [])
    np.savez_compressed(
        out,
        env=meta["env"],
        obs=np.concatenate([np.asarray(e.get_observations()) for e in episodes]),
        acts=np.concatenate([np.asarray(e.get_actions()) for e in episodes]),
        lengths=np.array([len(e) for e in episodes]),
        terminated=np.array([e.is_terminated for e in episodes]),
        # Reset seeds in stored order (the recorder's); empty when unknown, then run_imitation.py skips its replay.
        seeds=np.array(seeds[:count] if len(seeds) == meta["num_episodes"] else [], dtype=np.int64),
    )
    return {**meta, "demo_steps": sum(len(e) for e in episodes)}


def read_ours(pairs, algos, eval_seeds: str) -> dict:
    """{algo: our results JSON} for the `--ours ALGO=FILE` files that exist; they must use these eval seeds."""
    ours = {}
    for pair in pairs:
        algo, sep, file = pair.partition("=")
        if not sep or algo not in ALGOS:
            raise ConfigError(f"--ours {pair}: expected ALGO=FILE with ALGO one of {', '.join(ALGOS)}")
        if algo not in algos or not Path(file).is_file():
            continue
        found = json.loads(Path(file).read_text())
        if "last" not in found:
            raise ConfigError(f"--ours {pair}: no per-seed returns ('last'), not a scripts/phase2_results.py file")
        if found.get("eval_seeds") != eval_seeds:
            raise ConfigError(f"--ours {pair}: evaluated on seeds {found.get('eval_seeds')!r}, not {eval_seeds!r}")
        ours[algo] = {**found, "file": file}
    return ours


def references(ours: dict, expert_return, random_return):
    """(R_expert, R_random, where from): from our files' reference_returns, else the flags; (None, None, None)."""
    found = {json.dumps(o["reference_returns"], sort_keys=True) for o in ours.values() if "reference_returns" in o}
    if len(found) > 1:
        raise ConfigError(f"--ours files disagree on reference_returns: {' / '.join(sorted(found))}")
    if found:
        refs = json.loads(found.pop())
        expert = next(k for k in refs if k != "random")
        return refs[expert], refs["random"], f"{expert} and random on the eval seeds (our results files)"
    if expert_return is not None and random_return is not None:
        return expert_return, random_return, "--expert-return / --random-return"
    return None, None, None


def run_theirs(args, algo: str, demos: Path, env: str, env_steps: int, out: Path) -> dict:
    """run_imitation.py in the imitation venv; its JSON."""
    command = [str(IMITATION_PYTHON), str(RUNNER), "--algo", algo, "--demos", str(demos), "--env", env]
    command += ["--env-steps", str(env_steps), "--seeds", *map(str, args.seeds), "--eval-seed", str(args.eval_seed)]
    command += ["--eval-episodes", str(args.eval_episodes), "--n-envs", str(args.n_envs), "--out", str(out)]
    command += ["--policy-hiddens", *map(str, args.policy_hiddens), "--disc-hiddens", *map(str, args.disc_hiddens)]
    if subprocess.run(command).returncode != 0:
        raise ConfigError(f"the imitation library's {algo} run failed (its error is above)")
    return json.loads(out.read_text())


def sides(algo: str, ours: dict, theirs: dict, expert, random) -> dict:
    """{"ours" / "theirs": {returns, normalised, env_steps, wall_time_s} per seed} (ours only when measured)."""
    found = {}
    if algo in ours:
        found["ours"] = {
            "returns": ours[algo]["last"],
            "env_steps": ours[algo].get("env_steps"),
            "wall_time_s": ours[algo].get("wall_time_s"),
        }
    found["theirs"] = {key: [r[key] for r in theirs["runs"]] for key in ("env_steps", "wall_time_s")}
    found["theirs"]["returns"] = [r["mean_return"] for r in theirs["runs"]]
    for side in found.values():
        returns = np.array(side["returns"], dtype=float)
        side["normalised"] = None if expert is None else ((returns - random) / (expert - random)).round(4).tolist()
    return found


def spread(values, digits: int) -> str:
    """'mean ± std' over seeds, '-' when not measured."""
    if not values:
        return "-"
    std = np.std(values, ddof=1) if len(values) > 1 else 0.0
    return f"{np.mean(values):.{digits}f} ± {std:.{digits}f}"


def print_table(results: dict, refs_from) -> None:
    table = Table(
        title="GAIL / SQIL: rllib_il against the imitation library",
        caption=f"mean ± std over seeds; normalised with {refs_from or 'no references (give --expert-return)'}",
    )
    for column in ("algo", "library", "normalised", "return", "env steps / seed", "wall time / seed"):
        table.add_column(column, justify="left" if column in ("algo", "library") else "right")
    for algo, found in results.items():
        for side, label in (("ours", "rllib_il"), ("theirs", "imitation 1.0.1")):
            if side not in found:
                table.add_row(algo, label, "not measured yet", "-", "-", "-")
                continue
            s = found[side]
            steps = f"{np.mean(s['env_steps']):,.0f}" if s["env_steps"] else "-"
            wall = f"{np.mean(s['wall_time_s']):,.0f} s" if s["wall_time_s"] else "-"
            table.add_row(algo, label, spread(s["normalised"], 3), spread(s["returns"], 1), steps, wall)
    console().print(table)


def write_results(args, results: dict, ours: dict, theirs: dict, meta: dict, refs) -> None:
    """docs/results/NAME.json: per algo both sides' normalised scores per seed and ours / theirs of their means."""
    mean, std = {}, {}
    for algo, found in results.items():
        means = {side: float(np.mean(s["normalised"])) for side, s in found.items()}
        mean[algo] = {side: round(m, 4) for side, m in means.items()}
        # A ratio says nothing when theirs is at or below random.
        if "ours" in means and means["theirs"] > 0:
            mean[algo]["ours_over_theirs"] = round(means["ours"] / means["theirs"], 4)
        std[algo] = {
            side: round(float(np.std(s["normalised"], ddof=1)), 4) if len(s["normalised"]) > 1 else 0.0
            for side, s in found.items()
        }
    first = next(iter(theirs.values()))
    out = write_measured(
        args.results,
        {
            "command": shlex.join(["python", *sys.argv]),
            "metric": "normalised score ours / theirs at equal env steps: (R - R_random) / (R_expert - R_random), "
            "ours = rllib_il, theirs = the imitation library",
            "seeds": args.seeds,
            "per_seed": {algo: {side: s["normalised"] for side, s in found.items()} for algo, found in results.items()},
            "mean": mean,
            "std": std,
            "episodes": args.eval_episodes,
            "eval_seeds": first["eval_seeds"],
            "reference_returns": {"expert": refs[0], "random": refs[1], "from": refs[2]},
            "returns": {algo: {side: s["returns"] for side, s in found.items()} for algo, found in results.items()},
            "env_steps": {algo: {side: s["env_steps"] for side, s in found.items()} for algo, found in results.items()},
            "wall_time_s": {
                algo: {side: s["wall_time_s"] for side, s in found.items()} for algo, found in results.items()
            },
            "demonstrations": f"first {args.demos} episodes of {args.input} ({meta['demo_steps']} steps)",
            "ours_files": {algo: found["file"] for algo, found in ours.items()},
            "imitation_versions": first["versions"],
            "imitation_settings": {
                "n_envs": args.n_envs,
                "policy_hiddens": args.policy_hiddens,
                "disc_hiddens": args.disc_hiddens,
                "knobs": "bench/imitation_library/run_imitation.py (module docstring)",
            },
        },
    )
    print(f"wrote {out}")


@cli
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", default="saved_experiences/lunarlander", help="the demonstrations' dataset")
    p.add_argument("--demos", type=int, default=5, help="its first N episodes")
    p.add_argument("--algos", nargs="+", default=list(ALGOS), help=f"of {', '.join(ALGOS)}")
    p.add_argument("--env-steps", type=int, help="env steps per seed (default: our run's, per algorithm)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--eval-seed", type=int, default=20_000)
    p.add_argument("--eval-episodes", type=int, default=50)
    p.add_argument("--policy-hiddens", type=int, nargs="+", default=[256, 256])
    p.add_argument("--disc-hiddens", type=int, nargs="+", default=[64, 64])
    p.add_argument("--n-envs", type=int, default=8, help="envs of the imitation library's runs")
    p.add_argument("--ours", nargs="*", default=DEFAULT_OURS, metavar="ALGO=FILE", help="our docs/results files")
    p.add_argument("--expert-return", type=float, help="R_expert when our files have no reference_returns")
    p.add_argument("--random-return", type=float, help="R_random when our files have no reference_returns")
    p.add_argument("--results", metavar="NAME", help="write docs/results/NAME.json")
    args = p.parse_args(argv)
    for algo in args.algos:
        if algo not in ALGOS:
            raise ConfigError(f"--algos {algo}: unknown algorithm{did_you_mean(algo, ALGOS)}; use {', '.join(ALGOS)}")
    if args.demos < 1 or args.eval_episodes < 1 or args.n_envs < 1:
        raise ConfigError("--demos, --eval-episodes and --n-envs must be at least 1")
    if not Path(args.input).exists():
        raise ConfigError(f"--input {args.input}: no such dataset")
    if not IMITATION_PYTHON.is_file():
        raise ConfigError(f"{IMITATION_PYTHON}: missing; run bash bench/imitation_library/setup.sh first")
    eval_seeds = f"{args.eval_seed}-{args.eval_seed + args.eval_episodes - 1}, greedy"
    ours = read_ours(args.ours, args.algos, eval_seeds)
    refs = references(ours, args.expert_return, args.random_return)
    if args.results and refs[0] is None:
        raise ConfigError("--results needs R_expert and R_random: our results files or --expert-return/--random-return")
    budgets = {a: args.env_steps or (max(ours[a]["env_steps"]) if a in ours else None) for a in args.algos}
    missing = [a for a, steps in budgets.items() if not steps]
    if missing:
        raise ConfigError(f"--env-steps: needed for {', '.join(missing)} (no results of ours to take the budget from)")

    with tempfile.TemporaryDirectory() as tmp:
        demos = Path(tmp) / "demos.npz"
        meta = export_demos(args.input, args.demos, demos, args.algos)
        theirs = {a: run_theirs(args, a, demos, meta["env"], budgets[a], Path(tmp) / f"{a}.json") for a in args.algos}
    results = {a: sides(a, ours, theirs[a], refs[0], refs[1]) for a in args.algos}
    print_table(results, refs[2])
    if args.results:
        write_results(args, results, ours, theirs, meta, refs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
