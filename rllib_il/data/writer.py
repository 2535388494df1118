"""Write a dataset atomically: a hidden working directory renamed into place when complete, so an
error, interrupt or kill never leaves a partial dataset, and a replaced dataset is never lost."""

import contextlib
import glob
import hashlib
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from rllib_il.core.errors import ConfigError
from rllib_il.data.codec import encode_episode
from rllib_il.data.layout import EPISODES_PER_FILE, FORMAT, METADATA_FILE

# Names a dataset writer's hidden working directories: its pid, and its host (8 hex digits, no "-").
HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


_WRITING = set()  # this process's working directories while it writes


def write_dataset(episodes: Iterable[SingleAgentEpisode], out_dir, metadata: dict, overwrite: bool = False) -> Path:
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
    writer = f"{os.getpid()}-{HOST}"
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
        if kind not in ("tmp", "old") or host != HOST or not pid.isdigit():
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
