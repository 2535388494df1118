"""Read datasets, and check them before anything trains: metadata, every file's rows and spaces,
and the datasets of a multi-dataset input against each other."""

import functools
import json
from pathlib import Path
from typing import List, Optional

import pyarrow.parquet as pq
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils.serialization import gym_space_from_dict

from rllib_il.core.errors import ConfigError, one_line
from rllib_il.data.codec import cached_space, decode_episode
from rllib_il.data.layout import FORMAT, METADATA_FILE, Inputs, dataset_dir, resolve_input_files

REQUIRED_METADATA = ("env", "observation_space", "action_space", "num_episodes", "num_steps")


def read_metadata(inputs: Inputs) -> dict:
    """The `metadata.json` of the dataset(s) holding the input files, once the files are checked.

    Damaged data is named before anything trains: each file must be an episode parquet file whose
    first episode has its dataset's spaces (not truncated, not from another dataset), and a dataset
    given whole must hold the number of episodes its metadata states (no file missing or added).
    Several datasets must share env and spaces; their counts and seeds are summed / concatenated.
    """
    merged = None
    for d, (meta, files) in _datasets(inputs).items():
        _check_files(d, files, meta)
        if merged is None:
            merged = dict(meta, seeds=list(meta.get("seeds", [])))
            continue
        for key in ("env", "observation_space", "action_space", "multi_agent", "module_id"):
            if meta.get(key) != merged.get(key):
                raise ConfigError(f"{d / METADATA_FILE}: {key} differs from the other input datasets")
        merged["num_episodes"] += meta["num_episodes"]
        merged["num_steps"] += meta["num_steps"]
        merged["seeds"] += meta.get("seeds", [])
    return merged


def datasets_metadata(inputs: Inputs) -> dict:
    """{dataset directory: its own metadata.json} for the datasets holding the input files (unmerged:
    keys such as "expert" or "dagger" may differ between them; files not checked)."""
    return {d: meta for d, (meta, _) in _datasets(inputs).items()}


def _datasets(inputs: Inputs) -> dict:
    files_of = {}
    for file in resolve_input_files(inputs):
        files_of.setdefault(dataset_dir(file), []).append(file)
    return {d: (_load_metadata(d / METADATA_FILE), files) for d, files in files_of.items()}


def _load_metadata(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: missing dataset metadata (record with `python -m rllib_il.cli.record`)")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: unreadable metadata ({e})") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise ConfigError(f"{path}: format {meta.get('format')!r} is not {FORMAT!r}")
    missing = [k for k in REQUIRED_METADATA if k not in meta]
    if missing:
        raise ConfigError(f"{path}: missing {', '.join(missing)}")
    return meta


def _check_files(d: Path, files: List[Path], meta: dict) -> None:
    """ConfigError naming the first unreadable or foreign file, or a dataset whose files do not add up."""
    num_episodes = 0
    for path in files:
        try:
            stat = path.stat()
            rows, first_spaces = _probe(path, stat.st_size, stat.st_mtime_ns)
        except Exception as e:  # pyarrow / msgpack raise many types for damaged files.
            raise _unreadable(path, e) from None
        if not rows:
            raise ConfigError(f"{path}: holds no episodes")
        for key, space in zip(("observation_space", "action_space"), first_spaces):
            stored = cached_space(meta[key])
            if space is not None and space != stored:
                raise ConfigError(
                    f"{path}: episodes with {key} {one_line(space)}, but {d / METADATA_FILE} says "
                    f"{one_line(stored)} (a file from another dataset?)"
                )
        num_episodes += rows
    if sorted(files) == sorted(d.rglob("*.parquet")) and num_episodes != meta["num_episodes"]:
        raise ConfigError(
            f"{d}: its parquet files hold {num_episodes} episodes but {METADATA_FILE} says "
            f"{meta['num_episodes']} (a file is missing or does not belong to this dataset)"
        )


@functools.lru_cache(maxsize=None)
def _probe(path: Path, size: int, mtime_ns: int):
    """(rows, (observation_space, action_space) of the first episode) of one version of an episode
    parquet file; cached, since every grid trial's prepare() checks the same files."""
    parquet = pq.ParquetFile(path)
    if "item" not in parquet.schema_arrow.names:
        raise ValueError(f"no 'item' column, columns {parquet.schema_arrow.names}")
    batch = next(parquet.iter_batches(batch_size=1, columns=["item"]), None)
    if batch is None or not batch.num_rows:
        return 0, (None, None)
    first = decode_episode(batch.column(0)[0].as_py())
    return parquet.metadata.num_rows, (first.observation_space, first.action_space)


def _unreadable(path: Path, error: Exception) -> ConfigError:
    message = " ".join(str(error).split())
    return ConfigError(f"{path}: not a readable episode parquet file ({type(error).__name__}: {message})")


def read_episodes(inputs: Inputs) -> List[SingleAgentEpisode]:
    """All episodes stored in the input files (decoded exactly as RLlib's OfflinePreLearner does)."""
    episodes = []
    for path in resolve_input_files(inputs):
        try:
            items = pq.read_table(path, columns=["item"]).column("item").to_pylist()
            episodes += [decode_episode(item) for item in items]
        except Exception as e:  # pyarrow / msgpack raise many types for damaged files.
            raise _unreadable(path, e) from None
    return episodes


def check_spaces(metadata: dict, observation_space, action_space, where: str) -> None:
    """ConfigError naming `where` unless the dataset was recorded with these spaces."""
    for key, space in (("observation_space", observation_space), ("action_space", action_space)):
        stored = gym_space_from_dict(metadata[key])
        if stored != space:
            raise ConfigError(f"{where}: dataset {key} {one_line(stored)} does not match the env's {one_line(space)}")


def dagger_dataset(datasets: dict) -> Optional[Path]:
    """The first of `datasets` ({directory: metadata}, from `datasets_metadata`) holding DAgger
    labels (actions chosen by the expert, states and rewards by another policy), or None."""
    return next((d for d, meta in datasets.items() if "dagger" in meta), None)
