"""Streaming offline data for MARWIL_IL: datasets larger than memory flow through Ray Data.

`InMemoryOfflineData` decodes every episode up front (peak ~3.2x the parquet files' uncompressed
size, measured on flatland_small_v0). `StreamingOfflineData` holds only the validation episodes (the
same seeded split, read once, skipped by the stream) and a shuffle buffer: each pass (epoch) over
the train episodes is one Ray Data execution over the parquet row groups, in a new random order
every epoch. One task at a time, reserving no CPU (no deadlock on 2 CPUs nor beside other trials),
decodes the episodes and flattens them with `dataset_arrays` (Monte-Carlo returns
R_t = sum_{k>=t} gamma^(k-t) r_k over whole episodes, as in memory); rows are drawn through a local
shuffle buffer of one iteration's rows.

`config.data_in_memory` ("auto", True, False) picks the class (`offline_data_class`).
"""

from typing import Dict, Iterator, List, NamedTuple, Tuple

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import ray.data
from ray.rllib.core.columns import Columns
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.offline.offline_data import OfflineData
from ray.rllib.utils.serialization import gym_space_from_dict
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from rllib_il import data as dataset
from rllib_il.algorithms.marwil.in_memory_data import (
    InMemoryOfflineData,
    check_complete,
    dataset_arrays,
    split_episodes,
)
from rllib_il.core.errors import ConfigError

# Peak memory of InMemoryOfflineData / uncompressed parquet bytes: measured 3.2 on flatland_small_v0.
IN_MEMORY_PEAK_FACTOR = 4
# Share of the available memory one in-memory dataset may take (Tune trials each load their own).
IN_MEMORY_SHARE = 0.5
# Stored episodes decoded per Ray Data output block: at most EPISODES_PER_BLOCK, and fewer when their
# stored bytes would pass BLOCK_BYTES (a CarRacing episode of uint8 frames is ~25 MB decoded).
EPISODES_PER_BLOCK = 32
BLOCK_BYTES = 64 * 2**20


def offline_data_class(config) -> type:
    """InMemoryOfflineData or StreamingOfflineData as `config.data_in_memory` says; "auto" loads
    the dataset into memory when its estimated peak fits, decided from parquet metadata alone."""
    in_memory = config.data_in_memory
    if in_memory == "auto":
        in_memory = in_memory_peak_bytes(config.input_) <= IN_MEMORY_SHARE * available_memory()
    return InMemoryOfflineData if in_memory else StreamingOfflineData


def in_memory_peak_bytes(inputs) -> int:
    """Estimated peak memory of loading the input files whole: IN_MEMORY_PEAK_FACTOR x their
    uncompressed size from the parquet footers (`read_episodes` reads every file, even with
    `max_episodes`)."""
    return IN_MEMORY_PEAK_FACTOR * sum(
        metadata.row_group(g).total_byte_size
        for metadata in (pq.ParquetFile(path).metadata for path in dataset.resolve_input_files(inputs))
        for g in range(metadata.num_row_groups)
    )


def available_memory() -> int:
    return psutil.virtual_memory().available


def row_groups(inputs, max_episodes) -> List[dict]:
    """The first `max_episodes` (all when None) stored episodes as parquet row groups:
    path, row_group, first (global index of its first episode), num_rows (used rows), per_block
    (episodes decoded at a time: EPISODES_PER_BLOCK, fewer for large episodes, see BLOCK_BYTES)."""
    groups, first = [], 0
    for path in dataset.resolve_input_files(inputs):
        metadata = pq.ParquetFile(path).metadata
        for g in range(metadata.num_row_groups):
            num_rows = metadata.row_group(g).num_rows
            per_block = BLOCK_BYTES * num_rows // max(1, metadata.row_group(g).total_byte_size)
            if max_episodes is not None:
                num_rows = min(num_rows, max_episodes - first)
            if num_rows <= 0:
                return groups
            groups.append(
                {
                    "path": str(path),
                    "row_group": g,
                    "first": first,
                    "num_rows": num_rows,
                    "per_block": int(np.clip(per_block, 1, EPISODES_PER_BLOCK)),
                }
            )
            first += num_rows
    return groups


def read_episodes(group: dict, held_out: bool) -> Iterator[List[Tuple[int, SingleAgentEpisode]]]:
    """(global index, episode) of the row group's held-out episodes (`held_out`, indices in
    group["skip"]) or of the others, group["per_block"] stored episodes at a time."""
    skip, index, end = set(group["skip"]), group["first"], group["first"] + group["num_rows"]
    parquet = pq.ParquetFile(group["path"])
    for batch in parquet.iter_batches(group["per_block"], row_groups=[group["row_group"]], columns=["item"]):
        items = batch.column(0).to_pylist()[: end - index]
        yield [(i, dataset.decode_episode(item)) for i, item in enumerate(items, index) if (i in skip) == held_out]
        index += len(items)
        if index >= end:
            return


class RowSettings(NamedTuple):
    """What `dataset_arrays` reads of the config, shipped to the Ray Data tasks instead of the config."""

    gamma: float
    normalize_actions: bool
    action_space: object  # the dataset's


def train_rows(groups: pa.Table, config, inputs) -> Iterator[Dict[str, np.ndarray]]:
    """Ray Data UDF: learner rows of the train episodes of the given row groups, one block per
    group["per_block"] stored episodes."""
    for group in groups.to_pylist():
        for block in read_episodes(group, held_out=False):
            episodes = [episode for _, episode in block]
            check_complete(episodes, inputs)
            if episodes:
                yield dataset_arrays(episodes, config, config.action_space).batch(slice(None))


class StreamingOfflineData(OfflineData):
    """Drop-in for RLlib's `OfflineData` streaming the train rows through Ray Data; `sample`,
    `rng` and `validation` behave as in `InMemoryOfflineData`."""

    def __init__(self, config):  # no super().__init__(): it would build RLlib's Ray Data pipeline
        inputs = config.input_
        self.metadata = dataset.read_metadata(inputs)
        self._groups = row_groups(inputs, config.max_episodes)
        self.rng, validation, _ = split_episodes(sum(g["num_rows"] for g in self._groups), config)
        held_out = np.sort(validation)
        for g in self._groups:
            start, end = np.searchsorted(held_out, [g["first"], g["first"] + g["num_rows"]])
            g["skip"] = held_out[start:end].tolist()
        episodes = dict(pair for g in self._groups if g["skip"] for block in read_episodes(g, True) for pair in block)
        space = gym_space_from_dict(self.metadata["action_space"])
        check_complete(episodes.values(), inputs)
        self.validation = dataset_arrays([episodes[i] for i in validation], config, space) if len(validation) else None
        self._inputs, self._settings = inputs, RowSettings(config.gamma, config.normalize_actions, space)
        self._batch_size = config.train_batch_size_per_learner
        self._shuffle_buffer_rows = config.train_batch_size_per_learner * config.dataset_num_iters_per_learner
        self._batches = (batch for batch in ())  # no epoch yet
        self._pending: List[Dict[str, np.ndarray]] = []

    def sample(self, num_samples: int) -> dict:
        """`num_samples` train rows from the stream; a new epoch starts when it ends."""
        num_pending = sum(len(b[Columns.VALUE_TARGETS]) for b in self._pending)
        while num_pending < num_samples:
            batch = next(self._batches, None)
            if batch is None:  # the epoch ended (or none started yet): start the next one.
                self._batches = self._epoch()
                batch = next(self._batches, None)
                if batch is None:
                    raise ConfigError(f"input {self._inputs}: the train episodes hold no steps")
            self._pending.append(batch)
            num_pending += len(batch[Columns.VALUE_TARGETS])
        rows = {k: np.concatenate([b[k] for b in self._pending]) for k in self._pending[0]}
        self._pending = [{k: v[num_samples:] for k, v in rows.items()}]
        return {k: v[:num_samples] for k, v in rows.items()}

    def stop(self) -> None:
        """Ends the running epoch's Ray Data execution (one left running hangs the interpreter's exit)."""
        self._batches.close()

    def _epoch(self) -> Iterator[Dict[str, np.ndarray]]:
        """One pass over the train rows: row groups in a new random order, a local shuffle buffer."""
        groups = ray.data.from_items([self._groups[i] for i in self.rng.permutation(len(self._groups))])
        stream = groups.map_batches(
            train_rows,
            batch_size=1,
            batch_format="pyarrow",
            fn_kwargs={"config": self._settings, "inputs": self._inputs},
            compute=ray.data.TaskPoolStrategy(size=1),
            num_cpus=0,
            # The files are named by local paths: decode on this node (on a cluster too).
            scheduling_strategy=NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False),
        )
        stream.context.enable_progress_bars = False  # this dataset's copy: no progress log every epoch
        return iter(
            stream.iter_batches(
                batch_size=self._batch_size,
                batch_format="numpy",
                local_shuffle_buffer_size=self._shuffle_buffer_rows,
                local_shuffle_seed=int(self.rng.integers(2**31)),
            )
        )
