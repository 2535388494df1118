"""The one exception type for user mistakes, and how every CLI reports it."""

import difflib
import functools
import sys

from rllib_il.core.logs import quiet_known_noise


class ConfigError(ValueError):
    """Bad user input (experiment file, dataset, flag), with a message naming what is wrong."""


def cli(main):
    """Wraps a CLI `main(argv)`: a ConfigError becomes one line `error: ...` on stderr and exit code 2;
    known-harmless library messages are filtered out (`rllib_il.core.logs`)."""

    @functools.wraps(main)
    def run(argv=None) -> int:
        quiet_known_noise()
        try:
            return main(argv)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2

    return run


def did_you_mean(word: str, candidates) -> str:
    """' (did you mean 'x'?)' for the closest of `candidates`, '' when none is close: for error messages."""
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def one_line(value) -> str:
    """`str(value)` on one line (numpy wraps the bounds of long spaces) for one-line error messages."""
    return " ".join(str(value).split())
