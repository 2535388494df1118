"""Datasets of demonstrations (`saved_experiences/<name>/`): layout, episode codec, readers with their
checks, the atomic writer, the recorded env settings, and Box actions in env and module units. The
public names are importable from here."""

from rllib_il.data.box_actions import check_dataset_actions, is_box, to_env_units, to_module_units, without_density
from rllib_il.data.codec import build_episode, decode_episode, encode_episode, spaces_metadata
from rllib_il.data.layout import FORMAT, METADATA_FILE, Inputs, dataset_dir, resolve_input_files
from rllib_il.data.readers import check_spaces, dagger_dataset, datasets_metadata, read_episodes, read_metadata
from rllib_il.data.settings import check_recorded_settings, recorded_settings
from rllib_il.data.writer import check_output_dir, write_dataset

__all__ = [
    "FORMAT",
    "METADATA_FILE",
    "Inputs",
    "build_episode",
    "check_dataset_actions",
    "check_output_dir",
    "check_recorded_settings",
    "check_spaces",
    "dagger_dataset",
    "dataset_dir",
    "datasets_metadata",
    "decode_episode",
    "encode_episode",
    "is_box",
    "read_episodes",
    "read_metadata",
    "recorded_settings",
    "resolve_input_files",
    "spaces_metadata",
    "to_env_units",
    "to_module_units",
    "without_density",
    "write_dataset",
]
