"""The tanh-squashed Gaussian policy's greedy action, agreed on by the modules that act with it and the
code that evaluates them.

RLlib's `TorchSquashedGaussian` (SAC's actor distribution, u = tanh(x), x ~ N(mu, sigma)) gives mu as
its greedy action, which the env runner then clips to the Box; the mode's image inside the Box is
tanh(mu) (docs/notes/rllib.md, "Box actions"). `TanhGaussian` is that distribution with tanh(mu).
"""

from ray.rllib.core.distribution.torch.torch_distribution import TorchDeterministic, TorchSquashedGaussian


class TanhGaussian(TorchSquashedGaussian):
    """RLlib's squashed Gaussian whose greedy action is tanh(mu), scaled to its bounds."""

    def to_deterministic(self) -> TorchDeterministic:
        return TorchDeterministic(loc=self._squash(self.loc))


def greedy_distribution_class(dist_class: type) -> type:
    """`TanhGaussian` for RLlib's squashed Gaussian, the class itself otherwise."""
    return TanhGaussian if dist_class is TorchSquashedGaussian else dist_class
