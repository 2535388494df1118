"""The bottom layer: errors and how CLIs report them, log filters, constants, user code by
"module:attr", RLlib checkpoint layout. Imports nothing else of rllib_il."""
