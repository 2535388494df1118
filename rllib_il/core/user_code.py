"""A user's own code named in a flag or an experiment file as "module:attr" (an expert, an env)."""

import importlib

from rllib_il.core.errors import ConfigError


def import_attr(spec: str, what: str):
    """The attribute `attr` of module `module` named by "module:attr"; ConfigError naming `what` and
    `spec` when the module does not import or has no such attribute. The module must be importable
    where it runs: on PYTHONPATH or installed (Ray workers see PYTHONPATH, not `sys.path` edits)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{what} {spec!r}: expected 'module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # ImportError, or any error the user's module raises while importing
        raise ConfigError(
            f"{what} {spec!r}: module '{module_name}' does not import ({type(e).__name__}: {e})"
        ) from None
    if not hasattr(module, attr):
        raise ConfigError(f"{what} {spec!r}: module '{module_name}' has no attribute '{attr}'")
    return getattr(module, attr)


def is_user_code(name: str) -> bool:
    """True for names of the form "module:attr"."""
    return ":" in name
