"""Algorithms whose config has a `prepare()` step (dataset and env facts, resolved once before
`validate()`): run it wherever RLlib or Tune turns a config dict into a config and validates it."""

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

from rllib_il.algorithms.action_masking import with_action_masking
from rllib_il.algorithms.image_observations import with_image_observations


class PreparesConfig:
    """Mixin before an RLlib Algorithm class: its constructor and Tune's resource request
    (`Algorithm.default_resource_request`, which validates the trial's config) see prepared configs."""

    def __init__(self, config=None, **kwargs):
        super().__init__(config=self.prepared(config), **kwargs)

    @classmethod
    def default_resource_request(cls, config):
        return super().default_resource_request(cls.prepared(config))

    @classmethod
    def prepared(cls, config):
        """`config` (a dict or an AlgorithmConfig, None passes through) as a prepared copy, with the
        masked module when the env ends its observations with action masks (action_masking.py), and
        the image module for uint8 image observations (image_observations.py)."""
        if config is None:
            return None
        if not isinstance(config, AlgorithmConfig):
            default = cls.get_default_config()  # a checkpoint's state dict, or a Tune param dict
            config = default.from_state(config) if "class" in config else default.update_from_dict(config)
        return with_image_observations(with_action_masking(config.prepare()))
