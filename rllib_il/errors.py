"""The one exception type for user mistakes, and how every CLI reports it."""

import functools
import sys

from rllib_il.logs import quiet_known_noise


class ConfigError(ValueError):
    """Bad user input (experiment file, dataset, flag), with a message naming what is wrong."""


def cli(main):
    """Wraps a CLI `main(argv)`: a ConfigError becomes one line `error: ...` on stderr and exit code 2;
    known-harmless library messages are filtered out (`rllib_il.logs`)."""

    @functools.wraps(main)
    def run(argv=None) -> int:
        quiet_known_noise()
        try:
            return main(argv)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2

    return run
