"""DAgger (Ross, Gordon & Bagnell 2011, arXiv 1011.0686) around behaviour cloning (MARWIL_IL, beta 0).

    python -m rllib_il.cli.dagger -f EXPERIMENT.yaml --rounds R --episodes N [--expert-prob P] --out DIR

Round 0 trains the file as it is (DIR/round_0). Round k >= 1 records N episodes (seeds S + k N ...)
in which the round k-1 policy acts and the dataset's own expert labels every visited state
(DIR/round_k/data), then trains the same file on the original input plus every round's data
(DIR/round_k): D <- D u {(s, pi*(s)) : s visited by pi_{k-1}}, pi_k = BC(D).
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

from rich.table import Table

from rllib_il.algorithms.marwil.checks import NAME, is_behaviour_cloning
from rllib_il.algorithms.registry import default_config
from rllib_il.core.console import console
from rllib_il.core.errors import ConfigError, cli
from rllib_il.data.readers import datasets_metadata
from rllib_il.rollout.recording import record_dataset
from rllib_il.workflow.results import last_values, load_results
from rllib_il.workflow.summary import HEADLINE, format_headline, headline, summarize
from rllib_il.workflow.trials import load_all, validate_trials
from rllib_il.workflow.tune_run import init_ray, run_experiment

MARKER = "dagger.json"


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m rllib_il.cli.dagger", description=__doc__.splitlines()[0])
    p.add_argument("-f", "--file", required=True, help="experiment file with one MARWIL_IL trial, beta 0")
    p.add_argument("--rounds", type=int, required=True, help="DAgger rounds after round 0 (plain BC)")
    p.add_argument("--episodes", type=int, required=True, help="env episodes recorded per round")
    p.add_argument(
        "--expert-prob",
        type=float,
        default=0.0,
        help="per agent and step, act with the expert's action with probability P (DAgger's beta_i)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=100_000,
        help="round k records seeds SEED + k*EPISODES ... (default far from the shipped data's and evaluation's)",
    )
    p.add_argument("--out", required=True, help="output directory: round_0, round_1/{data,<experiment>}, ...")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier dagger output directory")
    p.add_argument("--stop-iters", type=int, help="override stop.training_iteration of every round")
    p.add_argument("--address", help="join a running Ray cluster (default: a new local Ray)")
    args = p.parse_args(argv)
    if args.rounds < 0 or args.episodes < 1:
        p.error(f"--rounds must be >= 0 and --episodes >= 1, got {args.rounds} and {args.episodes}")
    return args


def load_experiment(file: str, stop_iters=None):
    """The file's one experiment; ConfigError unless it is a single MARWIL_IL trial with beta 0."""

    experiments = load_all([file], stop_iters=stop_iters)
    if len(experiments) != 1 or len(experiments[0].trials) != 1 or experiments[0].run != NAME:
        raise ConfigError(f"{file}: DAgger needs exactly one experiment with one {NAME} trial (no grid)")
    exp = experiments[0]
    config = default_config(exp.run).update_from_dict(exp.trials[0]["config"])
    if not is_behaviour_cloning(config.beta):
        raise ConfigError(
            f"{exp.where('config.beta')}: DAgger trains behaviour cloning, beta must be 0, got {config.beta!r}"
        )
    if config.max_episodes is not None:
        raise ConfigError(
            f"{exp.where('config.max_episodes')}: would cut off the DAgger data (episodes are read in order)"
        )
    exp.checkpoint_config["checkpoint_at_end"] = True
    return exp, config


def labelling_expert(inputs):
    """(expert, expert_config) that recorded the input datasets: DAgger's labeller."""

    experts = {
        (m.get("expert"), json.dumps(m.get("expert_config") or {}, sort_keys=True))
        for m in datasets_metadata(inputs).values()
    }
    if len(experts) != 1 or None in next(iter(experts)):
        raise ConfigError(
            f"input {inputs}: DAgger needs the datasets of one recorded expert, found {sorted(map(str, experts))}"
        )
    expert, expert_config = experts.pop()
    return expert, json.loads(expert_config)


def prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(f"--out {out}: exists and is not empty (pass --overwrite to replace a dagger output)")
        if not (out / MARKER).is_file():
            raise ConfigError(f"--out {out}: holds no {MARKER}, so it is not a dagger output; refusing to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def train_round(exp, output_dir: Path, address):
    """Trains `exp` under `output_dir`; (headline metrics, last checkpoint path), or None if it failed."""

    init_ray(address)
    results, _ = run_experiment(exp, output_dir)
    if not summarize(exp, results, output_dir) or results[0].checkpoint is None:
        return None
    return headline(last_values(load_results(Path(results[0].path)))), results[0].checkpoint.path


@cli
def main(argv=None) -> int:
    args = parse_args(argv)
    exp, config = load_experiment(args.file, args.stop_iters)
    inputs = [config.input_] if isinstance(config.input_, str) else list(config.input_)  # absolute paths
    expert, expert_config = labelling_expert(inputs)
    out = Path(args.out)
    prepare_out(out, args.overwrite)
    log = {"file": args.file, "args": vars(args), "expert": expert, "rounds": []}
    (out / MARKER).write_text(json.dumps(log, indent=1))
    checkpoint = None  # the policy of the previous round, which flies round k's episodes
    for k in range(args.rounds + 1):
        if k:
            data = out / f"round_{k}" / "data"
            print(f"DAgger round {k}: {expert} labels {args.episodes} episodes flown by {checkpoint}", flush=True)
            record_dataset(
                exp.env,
                expert,
                args.episodes,
                data,
                config.env_config,
                expert_config,
                seed=args.seed + k * args.episodes,
                act_with=checkpoint,
                expert_prob=args.expert_prob,
            )
            inputs.append(str(data.absolute()))
            exp.config["input"] = list(inputs)
            exp.trials = validate_trials(exp)
        trained = train_round(exp, out / f"round_{k}", args.address)
        if trained is None:
            print(f"error: DAgger round {k}: training failed (see above)", file=sys.stderr)
            return 1
        shown, checkpoint = trained
        row = {"round": k, "input": list(inputs), **shown, "checkpoint": checkpoint}
        log["rounds"].append(row)
        (out / MARKER).write_text(json.dumps(log, indent=1))
        scores = ", ".join(f"{c} {format_headline(c, v)}" for c, v in shown.items()) or "no evaluation"
        print(f"DAgger round {k}: {scores}; checkpoint {checkpoint}", flush=True)
    print_table(log["rounds"])
    return 0


def print_table(rounds) -> None:

    table = Table(title="DAgger rounds (final evaluation of each round)")
    for column in ("round", "datasets", *HEADLINE, "checkpoint"):
        table.add_column(column)
    for row in rounds:
        table.add_row(
            str(row["round"]),
            str(len(row["input"])),
            *[format_headline(c, row.get(c)) for c in HEADLINE],
            row["checkpoint"],
        )
    console().print(table, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
