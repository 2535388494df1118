"""The one exception type for user mistakes, and how every CLI reports it."""

import functools
import sys


class ConfigError(ValueError):
    """Bad user input (experiment file, dataset, flag), with a message naming what is wrong."""


def cli(main):
    """Wraps a CLI `main(argv)`: a ConfigError becomes one line `error: ...` on stderr and exit code 2."""

    @functools.wraps(main)
    def run(argv=None) -> int:
        try:
            return main(argv)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2

    return run
