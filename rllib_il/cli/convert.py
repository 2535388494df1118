"""Convert old-stack RLlib JSON experience files into a saved_experiences episode dataset.

    python -m rllib_il.cli.convert /tmp/flatland-out --env flatland_sparse --env-config small_v0 \\
        --out saved_experiences/flatland_converted
"""

import argparse
import sys

from rllib_il.cli.options import parse_env_config
from rllib_il.core.errors import cli
from rllib_il.data.legacy import convert


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rllib_il.cli.convert", description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", metavar="IN", help="JSON files, directories or glob patterns")
    parser.add_argument("--out", required=True, help="dataset directory to write")
    parser.add_argument("--env", required=True, help="env the data comes from (for its spaces)")
    parser.add_argument("--env-config", help='JSON object, or a preset name as shorthand for {"preset": NAME}')
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    return parser.parse_args(argv)


@cli
def main(argv=None) -> int:
    args = parse_args(argv)

    meta = convert(args.inputs, args.out, args.env, parse_env_config(args.env_config), args.overwrite)
    print(
        f"{args.out}: {meta['num_episodes']} episodes, {meta['num_steps']} steps from {len(meta['source_files'])} files"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
