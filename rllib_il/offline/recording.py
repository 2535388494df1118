"""Record expert demonstrations as RLlib episodes (see `python -m rllib_il.record`).

Each env episode becomes one `SingleAgentEpisode` (single-agent envs) or one per agent (multi-agent
envs, `agent_id` set and `module_id` = the shared module), every step carrying
`extra_model_outputs["action_logp"]` and `["return_to_go"]` (the undiscounted sum of the rewards from
that step to the episode end, G_t = sum_{k >= t} r_k).

DAgger (Ross, Gordon & Bagnell 2011, arXiv 1011.0686): with an acting policy (`act_with`, a
checkpoint), the expert only labels. At every step it is asked for its action at the current
observation, which is what the dataset stores, while the env is stepped with the acting policy's
greedy action, except, per agent and step with probability `expert_prob` (DAgger's beta_i), with the
expert's own. Observations and rewards are those of the acting trajectory.
"""

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from rich.table import Table
from tqdm import tqdm

from rllib_il import SHARED_MODULE_ID
from rllib_il.envs import DYNAMICS, ENVS, SETTINGS, env_settings, user_env_creator
from rllib_il.errors import ConfigError
from rllib_il.experts import make_expert
from rllib_il.user_code import is_user_code
from rllib_il.offline.dataset import build_episode, check_output_dir, spaces_metadata, write_dataset

DAGGER_SEED_SALT = 0xDA66E2  # the expert_prob draws of episode `seed` use default_rng([seed, salt])


@dataclass
class EpisodeStats:
    """What the statistics table reports for one env episode."""

    seed: int
    episode_return: float
    length: int
    percentage_complete: Optional[float] = None


def make_env(name: str, env_config: Optional[dict] = None):
    """An env by rllib_il name (`rllib_il.envs.ENVS`), a user's "module:make_env" or a gymnasium id,
    with one-line errors."""
    env_config = dict(env_config or {})
    if name in ENVS:
        return ENVS[name].creator(env_config)
    if is_user_code(name):
        return user_env_creator(name)(env_config)
    try:
        return gym.make(name, **env_config)
    except gym.error.DependencyNotInstalled as e:
        raise ConfigError(f"env {name}: a dependency is missing ({str(e).splitlines()[0]})") from None
    except gym.error.Error as e:
        raise ConfigError(f"env {name!r} is neither an rllib_il env {sorted(ENVS)} nor a gymnasium id ({e})") from None
    except TypeError as e:
        raise ConfigError(f"env {name}: bad env_config {env_config} ({e})") from None


def parse_json_option(flag: str, text: Optional[str]) -> dict:
    """A CLI option holding a JSON object ({} when absent)."""
    try:
        value = json.loads(text) if text else {}
    except ValueError as e:
        raise ConfigError(f"{flag} {text!r}: invalid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{flag} {text!r}: must be a JSON object")
    return value


def parse_env_config(text: Optional[str]) -> dict:
    """`--env-config`: a JSON object, or a bare preset name as shorthand for {"preset": NAME}."""
    if text and not text.lstrip().startswith("{"):
        return {"preset": text}
    return parse_json_option("--env-config", text)


def agent_spaces(env) -> Tuple[gym.Space, gym.Space]:
    """(observation, action) space of one agent; multi-agent envs here share them across agents."""
    if isinstance(env, MultiAgentEnv):
        aid = env.possible_agents[0]
        return env.get_observation_space(aid), env.get_action_space(aid)
    return env.observation_space, env.action_space


class _AgentTrack:
    """One agent's observations, actions, logps and rewards within an env episode.

    Rewards arriving while the agent waits for its next observation accumulate (like RLlib's
    MultiAgentEpisode), so reward i belongs to the transition obs_i --action_i--> obs_{i+1}.
    """

    def __init__(self, obs):
        self.observations, self.actions, self.logps, self.rewards = [obs], [], [], []
        self.pending_reward = 0.0
        self.end: Optional[str] = None  # "terminated" | "truncated"

    def observe(self, obs):
        if len(self.actions) == len(self.observations):  # closes the outstanding transition
            self.rewards.append(self.pending_reward)
            self.pending_reward = 0.0
            self.observations.append(obs)
        else:  # a fresher observation before the agent acted
            self.observations[-1] = obs

    def to_episode(self, obs_space, act_space, agent_id, module_id, episode_id) -> SingleAgentEpisode:
        if len(self.actions) == len(self.observations):
            # The env ended without a final observation for this agent: repeat its last one so the
            # transition (and its reward) is kept; the episode is then truncated, never terminated.
            self.observe(self.observations[-1])
            self.end = "truncated"
        return build_episode(
            self.observations, self.actions, self.rewards, self.logps, self.end == "terminated",
            obs_space, act_space, agent_id, module_id, episode_id,
        )


def rollout(
    env, expert, seed: int, actor=None, expert_prob: float = 0.0
) -> Tuple[List[SingleAgentEpisode], EpisodeStats]:
    """Run one env episode from `env.reset(seed=seed)`; returns its stored episodes.

    The stored actions are the expert's; the env is stepped with them, or, given an `actor`, with
    the actor's except per agent and step with probability `expert_prob` (draws seeded by `seed`)."""
    multi_agent = isinstance(env, MultiAgentEnv)
    as_dict = (lambda x: x) if multi_agent else (lambda x: {None: x})
    rng = np.random.default_rng([seed, DAGGER_SEED_SALT])
    policies = [p for p in (expert, actor) if p is not None]
    for policy in policies:
        policy.seed(seed)
    obs, _ = env.reset(seed=seed)
    for policy in policies:
        policy.reset(env, obs)
    tracks: Dict[object, _AgentTrack] = {aid: _AgentTrack(o) for aid, o in as_dict(obs).items()}
    episode_return, length = 0.0, 0
    while True:
        acting = {aid: o for aid, o in as_dict(obs).items() if tracks[aid].end is None}
        actions, logps = expert.act(acting if multi_agent else obs)
        actions, logps = as_dict(actions), as_dict(logps)
        for aid, action in actions.items():
            tracks[aid].actions.append(action)
            tracks[aid].logps.append(logps[aid])
        if actor is not None:
            acted = as_dict(actor.act(acting if multi_agent else obs)[0])
            actions = {aid: a if rng.random() < expert_prob else acted[aid] for aid, a in actions.items()}
        obs, rewards, terminateds, truncateds, _ = env.step(actions if multi_agent else actions[None])
        length += 1
        if not multi_agent:
            rewards = {None: rewards}
            terminateds = {None: terminateds, "__all__": terminateds}
            truncateds = {None: truncateds, "__all__": truncateds}
        for aid, reward in rewards.items():
            episode_return += reward
            if aid in tracks:
                tracks[aid].pending_reward += reward
        for aid, o in as_dict(obs).items():
            if aid in tracks:
                tracks[aid].observe(o)
            else:
                tracks[aid] = _AgentTrack(o)
        for aid, track in tracks.items():
            if track.end is None and terminateds.get(aid):
                track.end = "terminated"
            elif track.end is None and truncateds.get(aid):
                track.end = "truncated"
        if terminateds["__all__"] or truncateds["__all__"]:
            break
    obs_space, act_space = agent_spaces(env)
    module_id = SHARED_MODULE_ID if multi_agent else None
    episode_id = uuid.uuid4().hex if multi_agent else None
    episodes = [
        track.to_episode(obs_space, act_space, aid, module_id, episode_id)
        for aid, track in tracks.items()
        if track.actions
    ]
    metrics = env.episode_metrics() if hasattr(env, "episode_metrics") else {}
    return episodes, EpisodeStats(seed, float(episode_return), length, metrics.get("percentage_complete"))


def make_actor(env, act_with):
    """The acting policy of a DAgger recording: the checkpoint's greedy policy (None without one)."""
    if act_with is None:
        return None
    try:
        return make_expert("checkpoint", env, checkpoint=str(act_with))
    except ConfigError as e:
        raise ConfigError(f"--act-with: {e}") from None


class RecordingWorker:
    """Owns one env, one expert and an optional acting policy, and records the episodes of the seeds
    it is given."""

    def __init__(
        self, env_name: str, env_config: dict, expert: str, expert_config: dict, act_with=None, expert_prob=0.0
    ):
        self.env = make_env(env_name, env_config)
        self.expert = make_expert(expert, self.env, **expert_config)
        self.actor = make_actor(self.env, act_with)
        self.expert_prob = expert_prob

    def record(self, seeds: Sequence[int]):
        episodes, stats = [], []
        for seed in seeds:
            eps, st = rollout(self.env, self.expert, seed, self.actor, self.expert_prob)
            episodes += eps
            stats.append(st)
        return episodes, stats


def record(
    env_name: str,
    env_config: dict,
    expert: str,
    expert_config: dict,
    seeds: Sequence[int],
    num_workers: int = 1,
    progress: bool = True,
    act_with=None,
    expert_prob: float = 0.0,
    desc: Optional[str] = None,
) -> Tuple[List[SingleAgentEpisode], List[EpisodeStats]]:
    """Record one env episode per seed, in-process or on `num_workers` Ray actors.

    Each actor gets a disjoint contiguous block of seeds (fed in small chunks for the progress bar);
    results come back in seed order, so the dataset does not depend on `num_workers`. `act_with` and
    `expert_prob`: see `rollout` (DAgger). `desc` labels the progress bar.
    """
    worker_args = (env_name, env_config, expert, expert_config, act_with, expert_prob)
    bar = tqdm(total=len(seeds), desc=desc or f"recording {expert} on {env_name}", unit="ep", disable=not progress)
    results = []
    if num_workers <= 1:
        worker = RecordingWorker(*worker_args)
        for seed in seeds:
            results.append(worker.record([seed]))
            bar.update(1)
    else:
        import ray

        actor_cls = ray.remote(num_cpus=1)(RecordingWorker)
        actors = [actor_cls.remote(*worker_args) for _ in range(num_workers)]
        blocks = np.array_split(np.asarray(seeds), num_workers)
        chunk = max(1, len(seeds) // (num_workers * 20))
        jobs = [(a, b[i : i + chunk].tolist()) for a, b in zip(actors, blocks) for i in range(0, len(b), chunk)]
        futures = [actor.record.remote(job) for actor, job in jobs]
        pending, sizes = list(futures), {f: len(job) for f, (_, job) in zip(futures, jobs)}
        try:
            while pending:  # short waits keep Ctrl-C working
                done, pending = ray.wait(pending, num_returns=len(pending), timeout=0.5, fetch_local=False)
                bar.update(sum(sizes[f] for f in done))
            results = ray.get(futures)
        finally:
            for actor in actors:
                ray.kill(actor)
    bar.close()
    episodes = [e for eps, _ in results for e in eps]
    stats = [s for _, sts in results for s in sts]
    return episodes, stats


def summarize(stats: Sequence[EpisodeStats]) -> dict:
    """Episodes, steps, return mean/std/min/max and mean % arrived (multi-agent Flatland)."""
    returns = np.array([s.episode_return for s in stats])
    summary = {
        "episodes": len(stats),
        "steps": int(sum(s.length for s in stats)),
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "return_min": float(returns.min()),
        "return_max": float(returns.max()),
    }
    arrived = [s.percentage_complete for s in stats if s.percentage_complete is not None]
    if arrived:
        summary["percentage_complete"] = float(np.mean(arrived))
    return summary


def stats_table(summary: dict, title: str) -> Table:
    """The recording statistics as a rich table (percentage_complete shown as % arrived)."""
    table = Table(title=title)
    cells = []
    for key, value in summary.items():
        if key == "percentage_complete":
            key, value = "% arrived", 100 * value
        table.add_column(key.replace("_", " "), justify="right")
        cells.append(f"{value:.2f}" if isinstance(value, float) else str(value))
    table.add_row(*cells)
    return table


def record_dataset(
    env_name: str,
    expert: str,
    episodes: int,
    out,
    env_config: Optional[dict] = None,
    expert_config: Optional[dict] = None,
    seed: int = 0,
    num_workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    act_with=None,
    expert_prob: Optional[float] = None,
) -> dict:
    """Record `episodes` env episodes with seeds seed..seed+episodes-1 into the dataset `out`.

    With `act_with` (a checkpoint) the expert labels the states its greedy policy visits (DAgger,
    see the module docstring); metadata.json then holds {"dagger": {"act_with", "expert_prob"}}.
    Returns the summary statistics of the trajectories flown (also stored under "statistics").
    """
    env_config, expert_config = dict(env_config or {}), dict(expert_config or {})
    if episodes < 1:
        raise ConfigError(f"--episodes {episodes}: must be at least 1")
    if expert_prob is not None and act_with is None:
        raise ConfigError(f"--expert-prob {expert_prob}: only means something with --act-with")
    expert_prob = 0.0 if expert_prob is None else expert_prob
    if not 0.0 <= expert_prob <= 1.0:
        raise ConfigError(f"--expert-prob {expert_prob}: must lie in [0, 1]")
    act_with = None if act_with is None else str(Path(act_with).expanduser().resolve())  # for Ray workers too
    probe = make_env(env_name, env_config)
    make_expert(expert, probe, **expert_config)  # fail fast on a bad env/expert/checkpoint, before --out is made
    make_actor(probe, act_with)
    check_output_dir(out, overwrite)
    multi_agent = isinstance(probe, MultiAgentEnv)
    seeds = list(range(seed, seed + episodes))
    recorded, stats = record(
        env_name, env_config, expert, expert_config, seeds, num_workers, progress, act_with, expert_prob
    )
    summary = summarize(stats)
    metadata = {
        "env": env_name,
        "env_config": env_config,
        "expert": expert,
        "expert_config": expert_config,
        "seeds": seeds,
        "multi_agent": multi_agent,
        "module_id": SHARED_MODULE_ID if multi_agent else None,
        "num_env_episodes": len(stats),
        **spaces_metadata(*agent_spaces(probe)),
        "statistics": summary,
    }
    for kind in (*SETTINGS, DYNAMICS):
        settings = env_settings(env_name, env_config, (kind,))
        if settings:
            metadata[kind] = settings
    if act_with is not None:
        metadata["dagger"] = {"act_with": act_with, "expert_prob": expert_prob}
    write_dataset(recorded, out, metadata, overwrite=overwrite)
    return summary


def render_gif(env_name: str, env_config: dict, expert: str, expert_config: dict, seed: int, path) -> None:
    """Replay the episode of `seed` with the expert and save it as a GIF."""
    if env_name == "flatland_sparse":
        from rllib_il.envs.flatland.render import render_episode

        env = make_env(env_name, env_config)
        render_episode(env, make_expert(expert, env, **expert_config), path, seed=seed)
        return
    import imageio.v2 as imageio

    env = make_env(env_name, {**env_config, "render_mode": "rgb_array"})
    expert_ = make_expert(expert, env, **expert_config)
    obs, _ = env.reset(seed=seed)
    expert_.reset(env, obs)
    frames, done = [env.render()], False
    while not done:
        obs, _, terminated, truncated, _ = env.step(expert_.act(obs)[0])
        frames.append(env.render())
        done = terminated or truncated
    imageio.mimsave(path, frames, duration=1 / 30)
