"""Convert old-stack RLlib JSON experience files (JsonWriter output) into rllib_il episode datasets.

Each line of such a file is one `SampleBatch` (or `MultiAgentBatch`) with columns like `obs`,
`new_obs`, `actions`, `rewards`, `dones`, `eps_id`, `agent_index`, `action_prob` / `action_logp`;
`obs` / `new_obs` are usually compressed. This is how the 2020 Flatland baselines stored expert data.
Rows are grouped by (eps_id, agent_index), ordered by `t` when present, into one episode each.
"""

import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.rllib.offline.json_reader import from_json_data
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

from rllib_il.core.constants import SHARED_MODULE_ID
from rllib_il.core.errors import ConfigError
from rllib_il.data.codec import build_episode, spaces_metadata
from rllib_il.data.layout import resolve_input_files
from rllib_il.data.writer import check_output_dir, write_dataset
from rllib_il.envs import agent_spaces, make_env

COLUMNS = (SampleBatch.OBS, SampleBatch.ACTIONS, SampleBatch.REWARDS, SampleBatch.EPS_ID)


def read_sample_batches(path: Path) -> List[SampleBatch]:
    """The SampleBatches of one JsonWriter file (the policy batches of MultiAgentBatch lines)."""
    batches = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                batch = from_json_data(json.loads(line), worker=None)
            except Exception as e:  # json / base64 / lz4 / SampleBatch errors alike
                raise ConfigError(f"{path}:{number}: not an RLlib JSON SampleBatch ({type(e).__name__}: {e})") from None
            parts = batch.policy_batches.values() if isinstance(batch, MultiAgentBatch) else [batch]
            for part in parts:
                missing = [c for c in COLUMNS if c not in part]
                if missing:
                    raise ConfigError(f"{path}:{number}: missing columns {missing}")
                batches.append(part)
    return batches


def _rows_by_episode(batches: List[SampleBatch]) -> Dict[Tuple, List[dict]]:
    """Rows grouped by (eps_id, agent_index) in file order (then by `t` if present)."""
    episodes = defaultdict(list)
    for batch in batches:
        agent_index = batch.get(SampleBatch.AGENT_INDEX, np.zeros(len(batch[SampleBatch.EPS_ID]), int))
        for i in range(len(batch[SampleBatch.EPS_ID])):
            row = {k: v[i] for k, v in batch.items() if isinstance(v, np.ndarray) and len(v) > i}
            episodes[(int(batch[SampleBatch.EPS_ID][i]), int(agent_index[i]))].append(row)
    for rows in episodes.values():
        if SampleBatch.T in rows[0]:
            rows.sort(key=lambda r: int(r[SampleBatch.T]))
    return episodes


def _logp(row: dict) -> float:
    if SampleBatch.ACTION_LOGP in row:
        return float(row[SampleBatch.ACTION_LOGP])
    if SampleBatch.ACTION_PROB in row:
        return float(np.log(max(float(row[SampleBatch.ACTION_PROB]), 1e-38)))
    return 0.0


def convert(inputs, out, env_name: str, env_config=None, overwrite: bool = False) -> dict:
    """Convert JSON experience files (file, directory, glob or list) into the dataset `out`.

    Observations are checked against the env's (per-agent) observation space; an episode whose last
    row is not done (a cut rollout fragment) is stored as truncated. Returns the metadata written.
    """
    check_output_dir(out, overwrite)
    env = make_env(env_name, env_config)
    obs_space, act_space = agent_spaces(env)
    multi_agent = isinstance(env, MultiAgentEnv)
    files = resolve_input_files(inputs, suffix=".json")
    episodes = []
    for path in files:
        for (eps_id, agent_index), rows in _rows_by_episode(read_sample_batches(path)).items():
            obs = [np.asarray(r[SampleBatch.OBS], obs_space.dtype) for r in rows]
            last = rows[-1]
            obs.append(np.asarray(last.get(SampleBatch.NEXT_OBS, last[SampleBatch.OBS]), obs_space.dtype))
            if obs[0].shape != obs_space.shape:
                raise ConfigError(f"{path}: obs shape {obs[0].shape} does not match env {env_name} {obs_space}")
            actions = [r[SampleBatch.ACTIONS] for r in rows]
            if not all(act_space.contains(np.asarray(a, act_space.dtype)) for a in actions):
                raise ConfigError(f"{path}: episode {eps_id} has actions outside env {env_name} {act_space}")
            terminated = bool(last.get(SampleBatch.TERMINATEDS, False)) and not bool(
                last.get(SampleBatch.TRUNCATEDS, False)
            )
            episodes.append(
                build_episode(
                    obs,
                    actions,
                    [float(r[SampleBatch.REWARDS]) for r in rows],
                    [_logp(r) for r in rows],
                    terminated,
                    obs_space,
                    act_space,
                    agent_id=str(agent_index) if multi_agent else None,
                    module_id=SHARED_MODULE_ID if multi_agent else None,
                    multi_agent_episode_id=str(eps_id) if multi_agent else None,
                )
            )
    metadata = {
        "env": env_name,
        "env_config": dict(env_config or {}),
        "expert": "converted",
        "source_files": [str(f) for f in files],
        "seeds": [],
        "multi_agent": multi_agent,
        "module_id": SHARED_MODULE_ID if multi_agent else None,
        "num_env_episodes": len({ep.multi_agent_episode_id or ep.id_ for ep in episodes}),
        **spaces_metadata(obs_space, act_space),
    }
    write_dataset(episodes, out, metadata, overwrite=overwrite)
    return metadata | {"num_episodes": len(episodes), "num_steps": sum(len(e) for e in episodes)}
