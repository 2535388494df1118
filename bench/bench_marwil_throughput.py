"""End-to-end training throughput of MARWIL_IL vs RLlib's MARWIL on the same data and config.

    python bench/bench_marwil_throughput.py --input saved_experiences/cartpole [--iters 10] [--runs memory stream rllib]
    python bench/bench_marwil_throughput.py --input saved_experiences/pendulum --beta 0 --runs memory rllib rllib_bc \
        --results marwil_throughput_pendulum
    python bench/bench_marwil_throughput.py --input saved_experiences/carracing --beta 0 --runs memory rllib_bc \
        --batch-size 256 --updates 10 --iters 3 --model-config '{"conv_filters": [[16, [8, 8], 4], [32, [4, 4], 2],
        [64, [3, 3], 2], [128, [6, 6], 1, "valid"]], "head_fcnet_hiddens": [128]}' --results bc_throughput_carracing

Each run (`--runs`: MARWIL_IL with the dataset in memory, MARWIL_IL streaming it through Ray Data,
RLlib's MARWIL, RLlib's BC (only with `--beta 0`)) trains on the same episode dataset (Discrete or Box
actions) with the same network, batch size, updates per iteration and beta. Samples/s = rows trained
(learner `num_module_steps_trained_lifetime`) divided by the wall time of the `train()` calls
(algorithm build excluded), so RLlib's Ray Data pipeline builds and rebuilds count, as they do in a
real run. The table also gives the dataset's stored bytes per step (parquet files over steps: one
observation, action and reward each; uint8 frames stay uint8, zstd-compressed). `--results NAME`
writes docs/results/NAME.json (MARWIL_IL in memory over the fastest of RLlib's runs, per round and
their mean).
"""

import argparse
import json
import sys
import time

import numpy as np
import ray
from ray.rllib.algorithms.bc import BCConfig
from ray.rllib.algorithms.bc.torch.default_bc_torch_rl_module import DefaultBCTorchRLModule
from ray.rllib.algorithms.marwil import MARWILConfig
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.utils.serialization import gym_space_from_dict

from rllib_il import data as dataset
from rllib_il.algorithms.image_observations import ImagePPOTorchRLModule, is_image, scaled
from rllib_il.algorithms.marwil.marwil import MARWILILConfig
from rllib_il.workflow.measured import write_measured


class ImageBCTorchRLModule(DefaultBCTorchRLModule):
    """RLlib's BC module reading uint8 frames as floats in [0, 1], as MARWIL_IL's module does: RLlib's CNN
    encoder takes float input only (uint8 frames fail in its first convolution)."""

    def _forward(self, batch, **kwargs):
        return super()._forward(scaled(batch), **kwargs)


RUNS = {
    "memory": ("MARWIL_IL in memory", lambda: MARWILILConfig().training(data_in_memory=True)),
    "stream": ("MARWIL_IL streamed", lambda: MARWILILConfig().training(data_in_memory=False)),
    "rllib": ("RLlib MARWIL", MARWILConfig),
    "rllib_bc": ("RLlib BC", BCConfig),
}


def configure(config, args, spaces):
    if is_image(spaces[0]) and not isinstance(config, MARWILILConfig):  # MARWIL_IL picks its image module itself
        module_class = ImageBCTorchRLModule if isinstance(config, BCConfig) else ImagePPOTorchRLModule
        config = config.rl_module(rl_module_spec=RLModuleSpec(module_class=module_class))
    return (
        config.environment(observation_space=spaces[0], action_space=spaces[1])
        .training(beta=args.beta, lr=5e-4, train_batch_size_per_learner=args.batch_size)
        .rl_module(model_config=args.model_config)
        .offline_data(
            input_=[str(f) for f in dataset.resolve_input_files(args.input)],
            input_read_episodes=True,
            dataset_num_iters_per_learner=args.updates,
        )
        .debugging(seed=0)
    )


def samples_per_second(config, iters):
    """Rows trained per second of wall time over `iters` train() calls, the first included."""
    algo = config.build_algo()
    try:
        start = time.perf_counter()
        for i in range(iters):
            algo.train()
            trained = algo.metrics.peek(("learners", DEFAULT_MODULE_ID, "num_module_steps_trained_lifetime"))
            elapsed = time.perf_counter() - start
            print(f"  {type(algo).__name__} iteration {i}: {trained:.0f} samples in {elapsed:.1f} s", flush=True)
        return trained / elapsed
    finally:
        algo.stop()


def bytes_per_step(inputs, metadata) -> float:
    """The dataset's parquet bytes on disk per stored step."""
    return sum(f.stat().st_size for f in dataset.resolve_input_files(inputs)) / metadata["num_steps"]


def print_table(args, metadata, rates):
    """The markdown row docs/marwil.md quotes, and the speed-up when both runs were made."""
    print(
        "| dataset | bytes / step | batch x updates | "
        + " | ".join(f"{RUNS[run][0]} samples/s" for run in rates)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(rates))
    print(
        f"| {args.input} ({metadata['num_steps']} steps) | {bytes_per_step(args.input, metadata):,.0f} | "
        f"{args.batch_size} x {args.updates} | " + " | ".join(f"{rate:,.0f}" for rate in rates.values()) + " |"
    )
    for other in ("rllib", "rllib_bc"):
        if {"memory", other} <= set(rates):
            print(f"speed-up in memory / {RUNS[other][0]}: {rates['memory'] / rates[other]:.1f}x")
    sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", default="saved_experiences/cartpole")
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--updates", type=int, default=20, help="minibatch updates per iteration")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument(
        "--model-config",
        type=json.loads,
        default={"fcnet_hiddens": [256, 256], "fcnet_activation": "relu"},
        help="JSON model_config of every run (e.g. conv_filters for image observations)",
    )
    p.add_argument(
        "--num-cpus",
        type=int,
        default=4,
        help="logical CPUs for Ray; with 2, RLlib's Ray Data pre-learner actors wait forever",
    )
    p.add_argument(
        "--runs",
        nargs="+",
        choices=RUNS,
        default=["memory", "rllib"],
        help="memory / stream: MARWIL_IL with data_in_memory true / false; rllib: RLlib's MARWIL; rllib_bc: RLlib's BC",
    )
    p.add_argument("--rounds", type=int, default=1, help="repeat every run; the table shows the medians")
    p.add_argument("--results", metavar="NAME", help="write docs/results/NAME.json")
    args = p.parse_args()
    if "rllib_bc" in args.runs and args.beta != 0:
        p.error("--runs rllib_bc compares behaviour cloning: give --beta 0")
    if args.results and not ("memory" in args.runs and {"rllib", "rllib_bc"} & set(args.runs)):
        p.error("--results needs the memory run and one of RLlib's (rllib, rllib_bc)")
    metadata = dataset.read_metadata(args.input)
    spaces = [gym_space_from_dict(metadata[k]) for k in ("observation_space", "action_space")]
    ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    per_round = {run: [] for run in args.runs}
    try:
        for _ in range(args.rounds):
            for run in args.runs:
                per_round[run].append(samples_per_second(configure(RUNS[run][1](), args, spaces), args.iters))
                print(f"{RUNS[run][0]}: {per_round[run][-1]:,.0f} samples/s", flush=True)
        rates = {run: float(np.median(r)) for run, r in per_round.items()}
        print_table(args, metadata, rates)  # before ray.shutdown(): one run's process ended there, its table lost
    finally:
        ray.shutdown()
    if args.results:
        write_results(args, metadata, per_round)


def write_results(args, metadata, per_round):
    """docs/results/NAME.json: MARWIL_IL in memory over the faster of RLlib's runs, per round."""
    theirs = [run for run in ("rllib", "rllib_bc") if run in per_round]
    speedups = [m / max(per_round[r][i] for r in theirs) for i, m in enumerate(per_round["memory"])]
    out = write_measured(
        args.results,
        {
            "command": "python " + " ".join(sys.argv),
            "metric": "end-to-end samples/s, MARWIL_IL in memory over the faster of "
            + ", ".join(RUNS[r][0] for r in theirs),
            "seeds": [0],
            "per_round": [round(v, 2) for v in speedups],
            "mean": round(float(np.mean(speedups)), 2),
            "std": round(float(np.std(speedups, ddof=1)), 2) if len(speedups) > 1 else 0.0,
            "episodes": metadata["num_episodes"],
            "eval_seeds": None,
            "samples_per_second": {RUNS[r][0]: [round(v) for v in rates] for r, rates in per_round.items()},
            "dataset": f"{args.input} ({metadata['num_steps']} steps)",
            "batch_x_updates": f"{args.batch_size} x {args.updates}",
            "model_config": args.model_config,
            "bytes_per_step": round(bytes_per_step(args.input, metadata), 1),
        },
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
