"""Options the CLIs share: JSON objects on the command line."""

import json
from typing import Optional

from rllib_il.core.errors import ConfigError


def parse_json_option(flag: str, text: Optional[str]) -> dict:
    """A CLI option holding a JSON object ({} when absent)."""
    try:
        value = json.loads(text) if text else {}
    except ValueError as e:
        raise ConfigError(f"{flag} {text!r}: invalid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{flag} {text!r}: must be a JSON object")
    return value


def parse_env_config(text: Optional[str]) -> dict:
    """`--env-config`: a JSON object, or a bare preset name as shorthand for {"preset": NAME}."""
    if text and not text.lstrip().startswith("{"):
        return {"preset": text}
    return parse_json_option("--env-config", text)
