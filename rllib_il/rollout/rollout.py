"""One env episode with an expert, the loop shared by recording, evaluation, DAgger and GIF rendering.

Each env episode becomes one `SingleAgentEpisode` (single-agent envs) or one per agent (multi-agent
envs, `agent_id` set and `module_id` = the shared module), every step carrying
`extra_model_outputs["action_logp"]` and `["return_to_go"]` (data/codec.py `build_episode`).

Labelling (DAgger, Ross, Gordon & Bagnell 2011, arXiv 1011.0686): with an acting policy (`actor`), the
expert only labels. At every step it is asked for its action at the current observation, which is what
the episode stores, while the env is stepped with the actor's action, except, per agent and step with
probability `expert_prob` (DAgger's beta_i), with the expert's own. Observations and rewards are those
of the acting trajectory. Frames: `on_step(env)` runs after the reset and after every step.
"""

import uuid
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from rllib_il.core.constants import SHARED_MODULE_ID
from rllib_il.data.codec import build_episode
from rllib_il.envs import agent_spaces, is_multi_agent

DAGGER_SEED_SALT = 0xDA66E2  # the expert_prob draws of episode `seed` use default_rng([seed, salt])


@dataclass
class EpisodeStats:
    """What the statistics table reports for one env episode."""

    seed: int
    episode_return: float
    length: int
    percentage_complete: Optional[float] = None
    outcomes: Optional[dict] = None  # fractions of agents per final outcome (Flatland: `train_outcomes()`)


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
            self.observations,
            self.actions,
            self.rewards,
            self.logps,
            self.end == "terminated",
            obs_space,
            act_space,
            agent_id,
            module_id,
            episode_id,
        )


def rollout(
    env, expert, seed: int, actor=None, expert_prob: float = 0.0, on_step: Optional[Callable] = None
) -> Tuple[List[SingleAgentEpisode], EpisodeStats]:
    """Run one env episode from `env.reset(seed=seed)`; returns its stored episodes and statistics.

    The stored actions are the expert's; the env is stepped with them, or, given an `actor`, with
    the actor's except per agent and step with probability `expert_prob` (draws seeded by `seed`).
    `on_step(env)` runs after the reset and after every step (e.g. to draw frames)."""
    multi_agent = is_multi_agent(env)
    on_step = on_step or (lambda env: None)
    as_dict = (lambda x: x) if multi_agent else (lambda x: {None: x})
    rng = np.random.default_rng([seed, DAGGER_SEED_SALT])
    policies = [p for p in (expert, actor) if p is not None]
    for policy in policies:
        policy.seed(seed)
    obs, _ = env.reset(seed=seed)
    for policy in policies:
        policy.reset(env, obs)
    on_step(env)
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
        on_step(env)
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
    outcomes = env.train_outcomes() if hasattr(env, "train_outcomes") else None
    return episodes, EpisodeStats(seed, float(episode_return), length, metrics.get("percentage_complete"), outcomes)
