"""Episode layouts: the RailEnv of one seed (rail network, trains, timetable, malfunctions), built and
reset, here or ahead of time in a worker process.

Generating a small_v0 layout (sparse rail generator, timetable, distance map) costs ~150 ms, about
as much as all the steps of an ~80-step episode. `LayoutPrefetcher` builds the layouts of the seeds
an env will reset with next in one worker process while the env steps: a reset then only unpickles
a ready RailEnv (~25 KB, ~1 ms). The worker builds each layout from its seed exactly as `build`
does here, so a seed gives the same episode with or without prefetching.
"""

import os
import pickle
import struct
import subprocess
import sys
import warnings
from collections import deque
from typing import Iterable

from flatland.core.env_observation_builder import DummyObservationBuilder
from flatland.envs.line_generators import sparse_line_generator
from flatland.envs.malfunction_generators import MalfunctionParameters, ParamMalfunctionGen
from flatland.envs.rail_env import RailEnv
from flatland.envs.rail_generators import sparse_rail_generator

from rllib_il.core.errors import ConfigError
from rllib_il.envs.flatland.timetables import GENERATORS


def build(config: dict, seed: int) -> RailEnv:
    """The reset RailEnv of `seed` under a resolved env config (presets.resolve_env_config); observations
    are left to the caller (DummyObservationBuilder). ValueError when flatland cannot build the map."""
    c = config
    malfunctions = None
    if c["malfunction_rate"] > 0:
        malfunctions = ParamMalfunctionGen(
            MalfunctionParameters(c["malfunction_rate"], c["malfunction_min_duration"], c["malfunction_max_duration"])
        )
    rail_env = RailEnv(
        width=c["width"],
        height=c["height"],
        rail_generator=sparse_rail_generator(
            max_num_cities=c["max_num_cities"],
            grid_mode=c["grid_mode"],
            max_rails_between_cities=c["max_rails_between_cities"],
            max_rail_pairs_in_city=c["max_rail_pairs_in_city"],
        ),
        line_generator=sparse_line_generator({float(k): float(v) for k, v in c["speed_ratio_map"].items()}),
        number_of_agents=c["number_of_agents"],
        malfunction_generator=malfunctions,
        obs_builder_object=DummyObservationBuilder(),
        timetable_generator=GENERATORS[c["timetable"]],
        random_seed=seed,
    )
    with warnings.catch_warnings():  # "Could not set all required cities!": expected on small maps
        warnings.simplefilter("ignore", UserWarning)
        rail_env.reset(random_seed=seed)
    return rail_env


def build_or_explain(config: dict, seed: int, user_config: dict) -> RailEnv:
    """`build`, with flatland's ValueError (e.g. "Cannot fit more than one city in this map") as a
    ConfigError naming the user's env_config."""
    try:
        return build(config, seed)
    except ValueError as error:
        raise _explained(error, user_config) from error


def _explained(error: ValueError, user_config: dict) -> ConfigError:
    return ConfigError(f"flatland env_config {user_config}: {error}")


class LayoutPrefetcher:
    """Layouts of upcoming seeds, built in order by one worker process (`python -m` this module,
    started on first use: not forked, since env runners are threaded processes, and not through
    multiprocessing's spawn, which re-imports the user's main script)."""

    def __init__(self, config: dict, user_config: dict):
        self._config, self._user_config = config, user_config
        self._worker = None
        self._asked = deque()  # seeds asked for, in the order the worker answers
        self._wanted = set()  # the asked seeds still wanted (an unwanted answer is dropped)
        self._ready = {}  # seed -> pickled answer read ahead

    def get(self, seed: int) -> RailEnv:
        """The layout of `seed`: the worker's if it was asked for it, else built here."""
        if seed not in self._wanted:
            return build_or_explain(self._config, seed, self._user_config)
        self._wanted.discard(seed)
        while seed not in self._ready:
            asked = self._asked.popleft()
            answer = _read(self._worker.stdout)
            if asked in self._wanted or asked == seed:
                self._ready[asked] = answer
        answer = pickle.loads(self._ready.pop(seed))
        if isinstance(answer, ValueError):
            raise _explained(answer, self._user_config)
        return answer

    def prepare(self, seeds: Iterable[int]) -> None:
        """Asks the worker for the layouts of `seeds` not asked for yet; forgets the other asked ones."""
        seeds = list(seeds)
        self._wanted &= set(seeds)
        self._ready = {s: a for s, a in self._ready.items() if s in self._wanted}
        if self._worker is None:
            self._worker = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
            )
        for seed in seeds:
            if seed not in self._wanted:
                _write(self._worker.stdin, pickle.dumps((self._config, seed)))
                self._asked.append(seed)
                self._wanted.add(seed)
        self._worker.stdin.flush()

    def close(self) -> None:
        if self._worker is not None:  # its unread answers may fill the pipe: stop it rather than wait
            self._worker.kill()
            self._worker.wait()
            self._worker.stdin.close()
            self._worker.stdout.close()
            self._worker = None
        self._asked.clear()
        self._wanted.clear()
        self._ready.clear()


def _write(stream, payload: bytes) -> None:
    stream.write(struct.pack("<Q", len(payload)))
    stream.write(payload)


def _read(stream) -> bytes:
    header = stream.read(8)
    if len(header) < 8:
        raise RuntimeError("flatland layout worker: exited without an answer")
    return stream.read(struct.unpack("<Q", header)[0])


def _serve(requests, answers) -> None:
    """The worker: (config, seed) requests in, pickled RailEnvs (or flatland's ValueError) out, in order."""
    while header := requests.read(8):
        config, seed = pickle.loads(requests.read(struct.unpack("<Q", header)[0]))
        try:
            answer = build(config, seed)
        except ValueError as error:
            answer = error
        _write(answers, pickle.dumps(answer))
        answers.flush()


if __name__ == "__main__":
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # anything flatland prints goes to stderr
    _serve(sys.stdin.buffer, answers)
