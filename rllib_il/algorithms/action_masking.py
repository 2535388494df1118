"""Action masking for envs whose observation vectors end with a 0/1 mask of the allowed actions
(`rllib_il.envs.action_mask_in_observation`, e.g. flatland_sparse with `decision_points`).

The pattern of RLlib's action-masking examples, for a flat Box observation: the module reads the
last `n` features (n = number of actions) and replaces the outputs of masked actions by `MASKED`
(a large finite negative, so softmax gives them probability 0 and maxima never pick them, while
sums and products over all actions stay finite). Everything downstream then respects the mask:
sampling and greedy actions, behaviour cloning's log-likelihood, DQfD's argmax, n-step targets and
large-margin loss. epsilon-greedy's random actions are redrawn among the allowed ones.

`with_action_masking(config)` swaps the default module of PPO-family algorithms (PPO, MARWIL, BC)
and DQN-family algorithms (DQN, DQfD) for the masked one when the config's env appends masks;
our algorithms apply it in their preparation step (rllib_il/algorithms/prepared.py).
"""

import torch
from ray.rllib.algorithms.dqn.default_dqn_rl_module import QF_PREDS
from ray.rllib.algorithms.dqn.torch.default_dqn_torch_rl_module import DefaultDQNTorchRLModule
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from rllib_il.core.errors import ConfigError
from rllib_il.envs import action_mask_in_observation, build_env

MASKED = -1e9


def allowed_actions(obs: torch.Tensor, num_actions: int) -> torch.Tensor:
    """Boolean [..., num_actions]: the mask at the end of each observation vector."""
    return obs[..., -num_actions:] > 0.5


def mask_outputs(values: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
    """`values` [..., n] (logits or Q-values) with the masked actions' entries set to MASKED."""
    return torch.where(allowed_actions(obs, values.shape[-1]), values, torch.full_like(values, MASKED))


class MaskedPPOTorchRLModule(DefaultPPOTorchRLModule):
    """RLlib's PPO / MARWIL module with masked action logits."""

    def _forward(self, batch, **kwargs):
        return self._masked(super()._forward(batch, **kwargs), batch)

    def _forward_train(self, batch, **kwargs):
        return self._masked(super()._forward_train(batch, **kwargs), batch)

    @staticmethod
    def _masked(output: dict, batch: dict) -> dict:
        output[Columns.ACTION_DIST_INPUTS] = mask_outputs(output[Columns.ACTION_DIST_INPUTS], batch[Columns.OBS])
        return output


class MaskedDQNTorchRLModule(DefaultDQNTorchRLModule):
    """RLlib's DQN module with masked Q-values (online and target network, training and acting)."""

    def _qf_forward_helper(self, batch, encoder, head):
        output = super()._qf_forward_helper(batch, encoder, head)
        output[QF_PREDS] = mask_outputs(output[QF_PREDS], batch[Columns.OBS])
        return output

    def _forward_exploration(self, batch, t):
        output = super()._forward_exploration(batch, t)
        allowed = allowed_actions(batch[Columns.OBS], self.action_space.n)
        actions = output[Columns.ACTIONS]
        # RLlib draws epsilon's random actions over all actions; a masked draw is replaced by a uniform
        # draw over the allowed ones, which makes the random action uniform over the allowed actions.
        redraw = torch.multinomial(allowed.float(), 1).squeeze(-1)
        output[Columns.ACTIONS] = torch.where(allowed.gather(-1, actions.unsqueeze(-1)).squeeze(-1), actions, redraw)
        return output


MASKED_MODULES = {DefaultPPOTorchRLModule: MaskedPPOTorchRLModule, DefaultDQNTorchRLModule: MaskedDQNTorchRLModule}


def env_appends_action_mask(config) -> bool:
    """Whether the config's env (a name or a class) ends its observations with an action mask."""
    if config.env is None:
        return False
    env = build_env(config.env, config.env_config)
    try:
        return action_mask_in_observation(env)
    finally:
        env.close()


def with_action_masking(config):
    """`config` with the masked module class of its algorithm when its env appends action masks;
    unchanged otherwise or when it already names the masked class. ConfigError for a module class
    with no masked form (a user's own module must read the mask itself)."""
    if not env_appends_action_mask(config):
        return config
    module_class = config.rl_module_spec.module_class
    if module_class in MASKED_MODULES.values():
        return config
    if module_class not in MASKED_MODULES:
        raise ConfigError(
            f"env {config.env} ends its observations with an action mask, but module class "
            f"{module_class.__name__} has no masked form (masked forms exist for "
            f"{', '.join(c.__name__ for c in MASKED_MODULES)})"
        )
    if getattr(config, "num_atoms", 1) > 1:
        raise ConfigError(f"num_atoms: {config.num_atoms}; action masks support expected Q-values only (num_atoms 1)")
    return config.rl_module(rl_module_spec=RLModuleSpec(module_class=MASKED_MODULES[module_class]))
