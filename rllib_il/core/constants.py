"""Names every layer agrees on."""

# The one RLModule every agent of a multi-agent env maps to, in every phase and every algorithm
# (never RLlib's `default_policy`: docs/notes/rllib.md, "Module ids").
SHARED_MODULE_ID = "shared"

# First episode seed of evaluations (in training, closing, `rllib_il.cli.evaluate`), away from
# the seeds demonstrations are recorded with.
DEFAULT_EVAL_SEED = 10_000
