"""Replay buffers of rllib_il."""

from rllib_il.replay.mixed_episode_buffer import MixedPrioritizedEpisodeReplayBuffer

__all__ = ["MixedPrioritizedEpisodeReplayBuffer"]
