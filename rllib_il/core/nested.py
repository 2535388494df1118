"""Paths into nested config dicts, as Tune names grid parameters ("env_config/preset")."""


def lookup(config: dict, path: str):
    """The value at a parameter path like "env_config/preset" (None when absent)."""
    value = config
    for part in path.split("/"):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
