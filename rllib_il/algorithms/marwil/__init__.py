from rllib_il.algorithms.marwil.marwil import MARWILIL, MARWILILConfig

__all__ = ["MARWILIL", "MARWILILConfig"]
