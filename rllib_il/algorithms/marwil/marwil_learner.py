"""Framework-independent part of the MARWIL_IL learner: the per-module beta Scheduler.

Like PPO's `entropy_coeff` (ray/rllib/algorithms/ppo/ppo_learner.py), `beta` is a fixed value or a
piecewise-linear schedule kept per module in a `Scheduler`. Its timestep is the number of samples
trained so far (passed by the algorithm as `timesteps[NUM_ENV_STEPS_SAMPLED_LIFETIME]`), and it is
updated before each iteration's gradient updates, so the logged `curr_beta` is the one used.
"""

import abc
from typing import Any, Dict

from ray.rllib.algorithms.marwil.marwil_learner import MARWILLearner
from ray.rllib.core.learner.learner import Learner
from ray.rllib.utils.annotations import override
from ray.rllib.utils.lambda_defaultdict import LambdaDefaultDict
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME
from ray.rllib.utils.schedules.scheduler import Scheduler
from ray.rllib.utils.typing import ModuleID

LEARNER_RESULTS_CURR_BETA_KEY = "curr_beta"
LEARNER_RESULTS_ACTION_ACCURACY_KEY = "action_accuracy"
LEARNER_RESULTS_ACTION_MAE_KEY = "action_mae"
LEARNER_RESULTS_ACTION_MSE_KEY = "action_mse"


class MARWILILLearner(MARWILLearner):
    @override(MARWILLearner)
    def build(self) -> None:
        super().build()
        self.beta_schedulers_per_module: Dict[ModuleID, Scheduler] = LambdaDefaultDict(
            lambda module_id: Scheduler(
                fixed_value_or_schedule=self.config.get_config_for_module(module_id).beta,
                framework=self.framework,
                device=self._device,
            )
        )

    @override(MARWILLearner)
    def remove_module(self, module_id: ModuleID, **kwargs):
        marl_spec = super().remove_module(module_id, **kwargs)
        self.beta_schedulers_per_module.pop(module_id, None)
        return marl_spec

    @override(Learner)
    def before_gradient_based_update(self, *, timesteps: Dict[str, Any]) -> None:
        super().before_gradient_based_update(timesteps=timesteps)
        for module_id in self.module.keys():
            beta = self.beta_schedulers_per_module[module_id].update(
                timestep=timesteps.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, 0)
            )
            self.metrics.log_value((module_id, LEARNER_RESULTS_CURR_BETA_KEY), beta, window=1)

    @abc.abstractmethod
    def validation_metrics(self, module_id: ModuleID, batch: Dict[str, Any]) -> Dict[str, Any]:
        """Policy loss (NLL), action accuracy (Discrete) or action MAE / MSE (Box), entropy and IS/WIS
        estimates on held-out episodes."""
