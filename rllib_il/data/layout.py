"""Where a dataset's files are: `saved_experiences/<name>/metadata.json` beside `episodes-NNNNN.parquet`
files whose one binary column `item` holds one msgpack'd `SingleAgentEpisode` each (data/codec.py).
Inputs name datasets by directory, glob, file or a list of those."""

import glob
import os
from pathlib import Path
from typing import List, Sequence, Union

from rllib_il.core.errors import ConfigError

FORMAT = "rllib_il.episodes/v1"


METADATA_FILE = "metadata.json"


EPISODES_PER_FILE = 1000


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


def dataset_dir(file: Path) -> Path:
    """The dataset directory of a parquet file: the nearest ancestor holding metadata.json."""
    for d in file.parents:
        if (d / METADATA_FILE).is_file():
            return d
    return file.parent
