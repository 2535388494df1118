"""Critic burn-in for learners that fine-tune an imitation policy (PPO_IL, mixed MARWIL_IL).

For the first `config.critic_burn_in_iterations` training iterations only the value function learns:
the policy's outputs reach the loss as constants, so the env runners keep acting with the Phase 1
policy while the critic learns its values. A module whose value function shares the policy's encoder
(MARWIL's) trains only its value head then. Iterations are counted by the learner: one `update` per
training iteration, as PPO and MARWIL_IL make it; a run restored from its own checkpoint counts from 0.
"""

from typing import Any, Dict

from ray.rllib.core.columns import Columns

from rllib_il.core.errors import ConfigError

CRITIC_BURN_IN_KEY = "critic_burn_in"  # logged per module: 1.0 while only the value function trains


class CriticBurnIn:
    """Learner mixin (before the RLlib learner class): `iterations_done`, `burning_in(config)` and
    `frozen_policy(module, fwd_out)`."""

    def build(self) -> None:
        super().build()
        self.iterations_done = 0

    def after_gradient_based_update(self, *, timesteps: Dict[str, Any]) -> None:
        super().after_gradient_based_update(timesteps=timesteps)
        self.iterations_done += 1

    def burning_in(self, config) -> bool:
        return self.iterations_done < config.critic_burn_in_iterations

    @staticmethod
    def frozen_policy(module, fwd_out: Dict[str, Any]) -> Dict[str, Any]:
        """`fwd_out` with the action logits detached and, when the value function shares the policy's
        encoder (no separate `critic_encoder`), the embeddings the value head reads detached too."""
        frozen = {**fwd_out, Columns.ACTION_DIST_INPUTS: fwd_out[Columns.ACTION_DIST_INPUTS].detach()}
        if not hasattr(getattr(module, "encoder", None), "critic_encoder") and Columns.EMBEDDINGS in fwd_out:
            frozen[Columns.EMBEDDINGS] = fwd_out[Columns.EMBEDDINGS].detach()
        return frozen


def check_burn_in(config) -> None:
    """The validate() check of `critic_burn_in_iterations`: an integer >= 0, on one learner."""
    burn_in = config.critic_burn_in_iterations
    if isinstance(burn_in, bool) or not isinstance(burn_in, int) or burn_in < 0:
        raise ConfigError(f"critic_burn_in_iterations: {burn_in!r} must be an integer >= 0")
    if burn_in and config.num_learners > 1:
        # DDP (torch_ddp_kwargs find_unused_parameters=False) fails on parameters without gradients.
        raise ConfigError("critic_burn_in_iterations: runs on one learner (num_learners 0 or 1)")
