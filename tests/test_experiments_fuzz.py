"""YAML fuzz: malformed experiment files get a one-line ConfigError, never a traceback from deep inside.

Mutations of every shipped experiment file (seeded, so failures reproduce): wrong value types,
unknown keys, removed keys, bad grid specs, bad schedules, truncated text.
"""

import copy
import random
from pathlib import Path

import pytest
import yaml

from rllib_il.core.errors import ConfigError
from rllib_il.workflow.trials import load_all

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "experiments").rglob("*.yaml"))
WRONG_VALUES = [
    None,
    "text",
    -1,
    3.5,
    True,
    [],
    [1, "a"],
    {},
    {"x": 1},
    {"grid_search": 3},
    {"grid_search": []},
    {"grid_search": [1], "extra": 2},
    [[1, 0.5], [0, 0.2]],
    [[0, 2.0]],
]


def paths(node, prefix=()):
    """Every key path of a nested mapping."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from paths(value, prefix + (key,))


def mutate(data: dict, rng: random.Random) -> dict:
    data = copy.deepcopy(data)
    path = rng.choice(list(paths(data)))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    kind = rng.choice(["value", "value", "delete", "unknown"])
    if kind == "value":
        parent[path[-1]] = copy.deepcopy(rng.choice(WRONG_VALUES))
    elif kind == "delete":
        del parent[path[-1]]
    else:
        parent[f"{path[-1]}_typo"] = 1
    return data


def check(text: str, tmp_path: Path) -> None:
    file = tmp_path / "fuzz.yaml"
    file.write_text(text)
    try:
        load_all([str(file)], output_dir=str(tmp_path / "out"))
    except ConfigError as e:
        message = str(e)
        assert message.startswith(str(file)) and "\n" not in message, message


@pytest.mark.parametrize("file", FILES, ids=[str(f.relative_to(ROOT)) for f in FILES])
def test_mutated_files_fail_cleanly(file, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    rng = random.Random(str(file.relative_to(ROOT)))
    original = yaml.safe_load(file.read_text())
    for _ in range(25):
        check(yaml.safe_dump(mutate(original, rng)), tmp_path)
    text = file.read_text()
    for _ in range(5):
        check(text[: rng.randrange(1, len(text))], tmp_path)
