"""The one exception type for user mistakes: CLIs print its one-line message and exit 2."""


class ConfigError(ValueError):
    """Bad user input (experiment file, dataset, flag), with a message naming what is wrong."""
