"""A trained RLlib checkpoint (new API stack) acting as the expert."""

from pathlib import Path

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchSquashedGaussian
from ray.rllib.core.rl_module.rl_module import RLModule

from rllib_il.core.checkpoints import MODULES_DIR, checkpoint_modules, trial_params
from rllib_il.core.distributions import greedy_distribution_class
from rllib_il.core.errors import ConfigError, one_line
from rllib_il.data import is_box, to_env_units
from rllib_il.envs import agent_spaces, is_multi_agent
from rllib_il.experts.base import Expert


class ModulePolicy(Expert):
    """Acts with an RLModule: `explore=False` takes the greedy action (logp = 0.0, a deterministic
    behaviour policy), `explore=True` samples a ~ pi(.|s) and reports log pi(a|s). Observations go to
    the module as the env gives them (no env-to-module connector). Box actions of a module trained with
    RLlib's `normalize_actions` (`normalized_actions`, RLlib's default) are mapped from [-1, 1] to the
    Box as RLlib's env runners do, with their log-densities (rllib_il/data/box_actions.py)."""

    def __init__(self, env, module: RLModule, explore=False, normalized_actions=True):
        super().__init__(env)
        self.multi_agent = is_multi_agent(env)
        self.module = module
        self.explore = explore
        self.action_space = agent_spaces(env)[1]
        self.normalized_actions = normalized_actions and is_box(self.action_space)

    def seed(self, seed):
        if self.explore:  # RLlib's distributions sample from torch's global generator; greedy draws nothing
            torch.manual_seed(seed)

    def act(self, obs):
        if not self.multi_agent:
            actions, logps = self._act_batch(np.asarray(obs)[None])
            return self._env_action(actions[0]), float(logps[0])
        ids = list(obs)
        if not ids:  # a multi-agent step in which no agent acts (flatland: every train done or waiting)
            return {}, {}
        actions, logps = self._act_batch(np.stack([obs[aid] for aid in ids]))
        return (
            {aid: self._env_action(a) for aid, a in zip(ids, actions)},
            {aid: float(lp) for aid, lp in zip(ids, logps)},
        )

    def _env_action(self, action: np.ndarray):
        """A Python int for a Discrete action, an array in the space's dtype otherwise."""
        return action.item() if action.ndim == 0 else action.astype(self.action_space.dtype)

    @torch.no_grad()
    def _act_batch(self, obs):
        # uint8 frames stay uint8: the module scales them (rllib_il/algorithms/image_observations.py).
        obs = torch.as_tensor(obs if obs.dtype == np.uint8 else obs.astype(np.float32))
        out = self.module.forward_inference({Columns.OBS: obs})
        if Columns.ACTION_DIST_INPUTS not in out:  # e.g. DQN: greedy actions only.
            actions = out[Columns.ACTIONS]
            return actions.numpy(), np.zeros(len(actions))
        dist_class = greedy_distribution_class(self.module.get_inference_action_dist_cls())  # SAC: tanh(mu)
        dist = dist_class.from_logits(out[Columns.ACTION_DIST_INPUTS])
        if self.explore:
            if isinstance(dist, TorchSquashedGaussian):  # exact: a sample saturated at +-1 has no one pre-image
                sampled, logps = dist.sample_and_logp()
            else:
                sampled = dist.sample()
                logps = dist.logp(sampled)
            actions, logps = sampled.numpy(), logps.numpy()
        else:
            actions, logps = dist.to_deterministic().sample().numpy(), np.zeros(len(obs))
        if self.normalized_actions:
            actions, env_logps = to_env_units(actions, logps, self.action_space)
            logps = env_logps if self.explore else logps  # greedy stays 0.0: deterministic
        return actions, logps


class CheckpointExpert(ModulePolicy):
    """Acts with the RLModule stored at `<checkpoint>/learner_group/learner/rl_module/<module_id>`
    (`ModulePolicy`). `module_id` may be omitted when the checkpoint holds exactly one module."""

    def __init__(self, env, checkpoint=None, module_id=None, explore=False):
        if not checkpoint:
            raise ConfigError("expert checkpoint needs --checkpoint PATH")
        # Box actions are in [-1, 1] unless the trial turned RLlib's normalize_actions off.
        normalized = (trial_params(Path(checkpoint)) or {}).get("normalize_actions", True)
        super().__init__(env, load_module(checkpoint, module_id), explore, normalized_actions=normalized)
        obs_space, act_space = agent_spaces(env)
        for what, mine, env_space in (
            ("observation", self.module.observation_space, obs_space),
            ("action", self.module.action_space, act_space),
        ):
            if mine != env_space:
                raise ConfigError(
                    f"checkpoint {checkpoint}: {what} space {one_line(mine)} "
                    f"does not match the env's {one_line(env_space)}"
                )


def load_module(checkpoint, module_id=None) -> RLModule:
    """The RLModule `module_id` of an Algorithm checkpoint (or of a single-module checkpoint)."""
    modules = checkpoint_modules(Path(checkpoint).expanduser())
    if not modules:
        raise ConfigError(
            f"checkpoint {checkpoint}: no module weights in {MODULES_DIR} (not an RLlib Algorithm checkpoint)"
        )
    found = sorted(modules)
    if module_id is None:
        if len(found) != 1:
            raise ConfigError(f"checkpoint {checkpoint}: holds modules {found}; choose one with module_id")
        module_id = found[0]
    if module_id not in modules:
        raise ConfigError(f"checkpoint {checkpoint}: no module {module_id!r} (found {found})")
    module = RLModule.from_checkpoint(modules[module_id].resolve())  # a relative path reads as a URI to pyarrow
    module.eval()
    return module
