from rllib_il.algorithms.dqfd.dqfd import APEX_DQfD, APEXDQfDConfig, DQfD, DQfDConfig

__all__ = ["APEX_DQfD", "APEXDQfDConfig", "DQfD", "DQfDConfig"]
