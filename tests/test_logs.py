"""Known-harmless library messages are dropped, everything else from the same loggers stays."""

import logging

from rllib_il.core.logs import KNOWN_NOISE, quiet_known_noise


def test_known_noise_dropped_other_messages_kept(caplog):
    quiet_known_noise()
    quiet_known_noise()  # idempotent: one filter per logger
    for name, fragments in KNOWN_NOISE.items():
        logger = logging.getLogger(name)
        assert len(logger.filters) == 1
        with caplog.at_level(logging.WARNING, logger=name):
            caplog.clear()
            logger.warning(f"You see: {fragments[0]} (and more)")
            logger.warning("a real problem")
        assert [r.getMessage() for r in caplog.records] == ["a real problem"], name


def test_exit_inside_del_is_silent_other_unraisables_are_not(capsys):
    import gc
    import sys

    quiet_known_noise()

    class ExitsOnDelete:
        def __del__(self):
            raise SystemExit(1)

    class FailsOnDelete:
        def __del__(self):
            raise RuntimeError("a real failure")

    try:
        ExitsOnDelete()
        FailsOnDelete()
        gc.collect()
    finally:
        sys.unraisablehook = sys.__unraisablehook__
    err = capsys.readouterr().err
    assert "SystemExit" not in err
    assert "RuntimeError: a real failure" in err
