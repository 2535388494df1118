"""rllib_il: imitation learning for Ray RLlib (new API stack, torch).

Layers, bottom to top (docs/ARCHITECTURE.md): core, losses, envs, data, experts, rollout, replay,
algorithms, workflow, cli. Importing the package imports nothing else; envs and algorithms are
registered with Tune when an experiment names them.
"""
