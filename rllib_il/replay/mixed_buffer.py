"""Two replay buffers sampled as one, d3rlpy's `MixedReplayBuffer(primary, secondary, ratio)` on RLlib
episode buffers: new episodes go to the primary (simulation); every batch takes a fraction of its rows
from the secondary (demonstrations, loaded once) and the rest from the primary, secondary rows first.
Each part keeps its own priorities; TD errors come back in sampling order and are routed to the part
their rows came from. Ape-X DQfD's 25 % expert / 75 % simulation mix (arXiv 1805.11593) is fraction 0.25.
"""

from typing import Optional

import numpy as np

from rllib_il.replay.mixing import ExpertFraction


class MixedEpisodeReplayBuffer:
    def __init__(self, primary, secondary, fraction: float):
        """`primary`, `secondary`: buffers with `add`, `sample(num_items, **kwargs)`,
        `update_priorities(priorities)` and `get_num_timesteps()` (e.g. NStepPrioritizedEpisodeBuffer).
        `fraction`: share of every batch drawn from `secondary`; set `fraction` anew to change it."""
        self.primary, self.secondary, self.fraction = primary, secondary, fraction
        self._rounding = ExpertFraction(fraction)
        self._num_secondary_last = 0

    def add(self, episodes) -> None:
        self.primary.add(episodes)

    def get_num_timesteps(self) -> int:
        """Env steps held by both parts (the primary's alone: `primary.get_num_timesteps()`)."""
        return self.primary.get_num_timesteps() + self.secondary.get_num_timesteps()

    def sample(self, num_items: int, **kwargs) -> list:
        """`num_items` rows: the secondary's share first, then the primary's. With one part empty,
        all rows come from the other."""
        if self.primary.get_num_timesteps() == 0:
            num_secondary = num_items
        elif self.secondary.get_num_timesteps() == 0:
            num_secondary = 0
        else:
            num_secondary = self._rounding.split(self.fraction, num_items)
        self._num_secondary_last = num_secondary
        return self.secondary.sample(num_secondary, **kwargs) + self.primary.sample(num_items - num_secondary, **kwargs)

    def update_priorities(self, priorities, module_id: Optional[str] = None) -> None:
        """Priorities of the last batch's rows, in its order: the first rows go to the secondary."""
        priorities = np.asarray(priorities)
        k = self._num_secondary_last
        self.secondary.update_priorities(priorities[:k])
        self.primary.update_priorities(priorities[k:])
