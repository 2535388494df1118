"""Names every layer agrees on."""

# The one RLModule every agent of a multi-agent env maps to, in every phase and every algorithm
# (never RLlib's `default_policy`: docs/notes/rllib.md, "Module ids").
SHARED_MODULE_ID = "shared"
