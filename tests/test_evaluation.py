"""Which env a checkpoint is evaluated in: read from its trial's params, with a one-line error when they
cannot be read (e.g. a pickle that names modules of another version of the code)."""

import json
import pickle

import pytest

from rllib_il.core.errors import ConfigError
from rllib_il.workflow.evaluation import trial_env


def test_env_comes_from_params_json(tmp_path):
    (tmp_path / "params.json").write_text(json.dumps({"env": "CartPole-v1", "env_config": {"a": 1}}))
    (tmp_path / "params.pkl").write_bytes(b"not read")
    assert trial_env(tmp_path / "checkpoint_000001") == ("CartPole-v1", {"a": 1})


def test_params_pkl_alone_still_works(tmp_path):
    (tmp_path / "params.pkl").write_bytes(pickle.dumps({"env": "flatland_sparse", "env_config": None}))
    assert trial_env(tmp_path / "checkpoint_000001") == ("flatland_sparse", {})


def test_unreadable_params_are_one_line_errors(tmp_path):
    # A pickle naming a module that no longer exists, as Tune stores callbacks of an older version.
    (tmp_path / "params.pkl").write_bytes(
        b"\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00\x8c\x0fno_such_module_x\x94\x8c\x01f\x94\x93\x94."
    )
    with pytest.raises(ConfigError, match="cannot read the trial's config .*pass --env"):
        trial_env(tmp_path / "checkpoint_000001")
    (tmp_path / "params.pkl").unlink()
    with pytest.raises(ConfigError, match="no Tune params.json"):
        trial_env(tmp_path / "checkpoint_000001")
