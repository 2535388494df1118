"""Write, read and validate `saved_experiences/<name>/` datasets.

A dataset is a directory with `metadata.json` and `episodes-NNNNN.parquet` files whose one binary
column `item` holds `msgpack(SingleAgentEpisode.get_state(), default=msgpack_numpy.encode)` -- the
format RLlib's own `offline_data(input_read_episodes=True)` reads (see docs/ARCHITECTURE.md).
"""

import contextlib
import functools
import glob
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Union

import msgpack
import msgpack_numpy as mnp
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils.serialization import gym_space_from_dict, gym_space_to_dict

from rllib_il.errors import ConfigError

FORMAT = "rllib_il.episodes/v1"
METADATA_FILE = "metadata.json"
EPISODES_PER_FILE = 1000
logger = logging.getLogger(__name__)
REQUIRED_METADATA = ("env", "observation_space", "action_space", "num_episodes", "num_steps")
# Names a dataset writer's hidden working directories: its pid, and its host (8 hex digits, no "-").
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_WRITING = set()  # this process's working directories while it writes

Inputs = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]]


def resolve_input_files(inputs: Inputs, suffix: str = ".parquet") -> List[Path]:
    """Files named by a directory (searched recursively for `*<suffix>`), a glob, a file, or a list of
    those, like the 2020 configs' `input: /tmp/flatland-out`."""
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    if not items:
        raise ConfigError("input: empty list of datasets")
    files = []
    for item in items:
        item = os.path.expanduser(str(item))
        matches = sorted(glob.glob(item, recursive=True)) if glob.has_magic(item) else [item]
        if not matches:
            raise ConfigError(f"input {item}: the pattern matches no file")
        found = []
        for match in map(Path, matches):
            if match.is_dir():
                found += sorted(match.rglob(f"*{suffix}"))
            elif match.is_file():
                found += [match] if match.suffix == suffix or not glob.has_magic(item) else []
            else:
                raise ConfigError(f"input {item}: no such file or directory")
        if not found:
            raise ConfigError(f"input {item}: no {suffix} files found")
        files += found
    return list(dict.fromkeys(files))


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
        files_of.setdefault(_dataset_dir(file), []).append(file)
    return {d: (_load_metadata(d / METADATA_FILE), files) for d, files in files_of.items()}


def _load_metadata(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: missing dataset metadata (record with `python -m rllib_il.record`)")
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
            stored = _cached_space(meta[key])
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
    parquet file; cached, since every grid trial's validate() checks the same files."""
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


def check_recorded_settings(datasets: dict, env: str, env_config: dict, where: str, rewards: bool) -> None:
    """ConfigError naming `where`, the dataset and the setting when one of `datasets` ({directory:
    metadata}, from `datasets_metadata`) was recorded in `env` with other observation settings (equal
    spaces, other meaning) or, with `rewards`, other reward settings (another task's returns). A
    warning when it was recorded with other dynamics (e.g. another Flatland preset: the demonstrations
    show another task, which may be meant). Settings a dataset does not store are judged by its
    env_config under today's defaults."""
    from rllib_il.envs import DYNAMICS, SETTINGS

    kinds = SETTINGS if rewards else ("observation_config",)
    for d, meta in datasets.items():
        if meta.get("env") != env:
            continue
        wanted, stored = _settings_pair(d, meta, env, env_config, kinds, where)
        for key, value in wanted.items():
            if stored.get(key) != value:
                raise ConfigError(
                    f"{where}: dataset {d} was recorded with env_config {key}={stored.get(key)!r}, the env has {key}={value!r}"
                )
        try:
            wanted, stored = _settings_pair(d, meta, env, env_config, (DYNAMICS,), where)
        except ConfigError as e:  # e.g. an env_config that today's presets no longer accept
            _warn_once(f"{e}; its env dynamics were not compared")
            continue
        differing = [f"{key}={stored.get(key)!r} (env: {value!r})" for key, value in wanted.items() if stored.get(key) != value]
        if differing:
            _warn_once(f"{where}: dataset {d} was recorded with other env dynamics: {', '.join(differing)}; "
                       "its demonstrations show another task")


@functools.lru_cache(maxsize=None)
def _warn_once(message: str) -> None:
    """A config is validated more than once per run (e.g. before and after Tune resolves it)."""
    logger.warning(message)


def _settings_pair(d, meta: dict, env: str, env_config: dict, kinds, where: str):
    """(the env's settings of `kinds`, those dataset `d` was recorded with: stored, else derived from
    its env_config), both as metadata.json stores them (e.g. float dict keys become strings)."""
    from rllib_il.envs import env_settings

    def as_stored(settings):
        return json.loads(json.dumps(settings, default=str))

    wanted = as_stored(env_settings(env, env_config, kinds))
    stored = {key: value for kind in kinds for key, value in (meta.get(kind) or {}).items()}
    if any(key not in stored for key in wanted):
        try:
            stored = {**as_stored(env_settings(env, meta.get("env_config"), kinds)), **stored}
        except ConfigError as e:
            raise ConfigError(f"{where}: dataset {d}: {e}") from None
    return wanted, stored


def one_line(space) -> str:
    """A space's repr on one line (numpy wraps long bounds) for one-line error messages."""
    return " ".join(str(space).split())


def spaces_metadata(observation_space, action_space) -> dict:
    return {
        "observation_space": gym_space_to_dict(observation_space),
        "action_space": gym_space_to_dict(action_space),
    }


def build_episode(
    observations, actions, rewards, logps, terminated: bool, observation_space, action_space,
    agent_id=None, module_id=None, multi_agent_episode_id=None,
) -> SingleAgentEpisode:
    """A complete numpy episode in the stored layout: T+1 observations, T actions/rewards, and per step
    `action_logp` and `return_to_go` G_t = sum_{k >= t} r_k (undiscounted) in extra_model_outputs."""
    rewards = np.asarray(rewards, np.float32)
    return SingleAgentEpisode(
        observations=list(observations),
        actions=list(actions),
        rewards=list(rewards),
        extra_model_outputs={
            "action_logp": list(np.asarray(logps, np.float32)),
            "return_to_go": list(np.cumsum(rewards[::-1])[::-1].astype(np.float32)),
        },
        terminated=terminated,
        truncated=not terminated,
        observation_space=observation_space,
        action_space=action_space,
        len_lookback_buffer=0,
        agent_id=agent_id,
        module_id=module_id,
        multi_agent_episode_id=multi_agent_episode_id,
    ).to_numpy()


def encode_episode(episode: SingleAgentEpisode) -> bytes:
    return msgpack.packb(episode.get_state(), default=mnp.encode)


def decode_episode(item: bytes) -> SingleAgentEpisode:
    """`SingleAgentEpisode.from_state(msgpack.unpackb(item))`, with the spaces deserialized once per
    distinct space instead of five times per episode (85 % of the decoding time on Flatland)."""
    state = msgpack.unpackb(item, object_hook=mnp.decode)
    buffers = [state[k] for k in ("observations", "actions", "rewards", "infos")]
    buffers += list((state["extra_model_outputs"] or {}).values())
    buffer_spaces = [_cached_space(b.pop("space")) for b in buffers]
    episode_spaces = [_cached_space(state.pop(k)) for k in ("_observation_space", "_action_space")]
    for b in buffers:
        b["space"] = None
    state["_observation_space"] = state["_action_space"] = None
    episode = SingleAgentEpisode.from_state(state)
    episode._observation_space, episode._action_space = episode_spaces
    episode_buffers = [episode.observations, episode.actions, episode.rewards, episode.infos]
    for buffer, space in zip(episode_buffers + list(episode.extra_model_outputs.values()), buffer_spaces):
        if space is not None:
            buffer.space = space
    return episode


_SPACES = {}


def _cached_space(space_dict):
    if space_dict is None:
        return None
    key = repr(space_dict)
    if key not in _SPACES:
        _SPACES[key] = gym_space_from_dict(space_dict)
    return _SPACES[key]


def write_dataset(
    episodes: Iterable[SingleAgentEpisode], out_dir, metadata: dict, overwrite: bool = False
) -> Path:
    """Write `episodes` and `metadata` (completed with format and counts) to `out_dir`.

    Files go to a hidden sibling `.<name>.tmp-<pid>-<host>-*` that is renamed to `out_dir` only when
    complete, so an error, interrupt or kill never leaves a partial dataset. An existing `out_dir` is
    replaced only with `overwrite=True`: it is renamed to `.<name>.old-<pid>-<host>` first and deleted after
    the new one is in place, so a kill in between loses nothing (`check_output_dir` puts it back).
    """
    out_dir = Path(out_dir)
    check_output_dir(out_dir, overwrite)
    episodes = list(episodes)
    if not episodes:
        raise ConfigError(f"{out_dir}: no episodes to write")
    if not all(e.is_done for e in episodes):
        raise ConfigError(f"{out_dir}: every stored episode must be terminated or truncated")
    metadata = {
        "format": FORMAT,
        **metadata,
        "num_episodes": len(episodes),
        "num_steps": sum(len(e) for e in episodes),
    }
    writer = f"{os.getpid()}-{_HOST}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{writer}-", dir=out_dir.parent))
    old = out_dir.parent / f".{out_dir.name}.old-{writer}"
    _WRITING.update((tmp, old))
    try:
        for i in range(0, len(episodes), EPISODES_PER_FILE):
            items = [encode_episode(e) for e in episodes[i : i + EPISODES_PER_FILE]]
            table = pa.table({"item": pa.array(items, pa.binary())})
            pq.write_table(table, tmp / f"episodes-{i // EPISODES_PER_FILE:05d}.parquet", compression="zstd")
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=1, default=str))
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            check_output_dir(out_dir, overwrite)  # again: another writer may have finished meanwhile
            os.rename(out_dir, old)
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out_dir.exists():
            with contextlib.suppress(OSError):  # keep the original error
                os.rename(old, out_dir)
        raise
    finally:
        _WRITING.difference_update((tmp, old))
    shutil.rmtree(old, ignore_errors=True)
    return out_dir


def _recover_killed_writes(out_dir: Path) -> None:
    """Undo what a `write_dataset` of `out_dir` killed by a signal on this host left behind: its
    unfinished new dataset (`.<name>.tmp-<pid>-<host>-*`) is deleted; the dataset it was replacing
    (`.<name>.old-<pid>-<host>`) is put back if nothing replaced it, else deleted. Leftovers of a
    running writer, or of a writer on another host (shared file system), are not touched; one with
    this process's pid but not written by it is an earlier process's (e.g. pid 1 in a container)."""
    for leftover in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.*-*"):
        kind, pid, host, *_ = leftover.name[len(out_dir.name) + 2 :].split("-") + ["", ""]
        if kind not in ("tmp", "old") or host != _HOST or not pid.isdigit():
            continue
        if (leftover in _WRITING) if int(pid) == os.getpid() else _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):  # another process may be recovering it at the same time
            if kind == "old" and not out_dir.exists():
                os.rename(leftover, out_dir)
            else:
                shutil.rmtree(leftover)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


def check_output_dir(out_dir, overwrite: bool = False) -> None:
    """ConfigError unless `out_dir` can be (re)written; call before spending time on recording.
    First undoes what a killed earlier write of `out_dir` left behind (`_recover_killed_writes`)."""
    out_dir = Path(out_dir)
    if out_dir.parent.is_dir():
        _recover_killed_writes(out_dir)
    if out_dir.exists() and not overwrite:
        raise ConfigError(f"{out_dir}: already exists (pass --overwrite / overwrite=True to replace it)")
    if out_dir.exists() and not (out_dir / METADATA_FILE).is_file():
        raise ConfigError(f"{out_dir}: exists and is not a dataset; refusing to replace it")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{out_dir}: cannot create the output directory ({e.strerror})") from None
    if not os.access(out_dir.parent, os.W_OK):
        raise ConfigError(f"{out_dir}: output directory {out_dir.parent} is not writable")


def _dataset_dir(file: Path) -> Path:
    """The dataset directory of a parquet file: the nearest ancestor holding metadata.json."""
    for d in file.parents:
        if (d / METADATA_FILE).is_file():
            return d
    return file.parent
