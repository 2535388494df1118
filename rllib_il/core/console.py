"""Terminal output shared by the CLIs: a rich console wide enough for tables in logs and CI."""

import sys

from rich.console import Console


def console(stderr: bool = False) -> Console:
    """Full width in a terminal; 200 columns when piped, so tables are not cut in logs."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else 200)
