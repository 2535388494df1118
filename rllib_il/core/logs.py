"""Known-harmless messages of Ray, RLlib and gymnasium, kept out of what a user reads.

Each entry names the logger that emits the message and a piece of its text; nothing else is
touched, so real warnings and errors stay visible. `quiet_known_noise` runs in the driver and,
through Ray's `worker_process_setup_hook`, in every Ray worker (trials, env runners, learners).
"""

import logging
import sys
import warnings

KNOWN_NOISE = {
    # Every new-stack algorithm says it runs on the new stack (the only stack this project uses).
    "ray.rllib.algorithms.algorithm_config": ("on the new API stack!",),
    # RLlib's own module constructors still use the deprecated RLModuleConfig (RLlib 2.60).
    "ray._common.deprecation": ("`RLModule(config=[RLModuleConfig object])` has been deprecated",),
    # Tune's trainables probe for GPU monitoring on CPU-only machines.
    "ray.tune.utils.util": ("Install gputil for GPU system monitoring",),
    # A local Ray says that it enabled token authentication (its safe default).
    "ray._private.authentication.authentication_token_setup": ("Token authentication is enabled for this Ray",),
}
# gymnasium warns each time RLlib registers its multi-agent env wrapper again in a process.
KNOWN_WARNINGS = (r".*Overriding environment rllib-multi-agent-env",)


def drop_exit_during_shutdown(unraisable) -> None:
    """`sys.unraisablehook`: a Ray worker told to exit (`SystemExit`) while the garbage collector runs a
    `__del__` (e.g. RLlib's `EnvRunner.__del__` as Ray shuts the job down) printed a traceback that
    says nothing about the run; every other unraisable exception goes to Python's default hook."""
    if isinstance(unraisable.exc_value, SystemExit) and getattr(unraisable.object, "__name__", "") == "__del__":
        return
    sys.__unraisablehook__(unraisable)


class DropKnownNoise(logging.Filter):
    """Drops records whose message contains one of `fragments`."""

    def __init__(self, fragments):
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(fragment in message for fragment in self.fragments)


def quiet_known_noise() -> None:
    """Installs the filters of KNOWN_NOISE and KNOWN_WARNINGS in this process (idempotent)."""
    for name, fragments in KNOWN_NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropKnownNoise) for f in logger.filters):
            logger.addFilter(DropKnownNoise(fragments))
    for pattern in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    sys.unraisablehook = drop_exit_during_shutdown


# The same filters in every Ray worker of a job started with this runtime env.
RUNTIME_ENV = {"worker_process_setup_hook": f"{__name__}.{quiet_known_noise.__name__}"}
