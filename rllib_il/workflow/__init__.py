"""Experiments from YAML to results: strict loading and validation, Tune runs, the Phase 1 -> Phase 2
handoff, evaluation of checkpoints, results, curves and summaries."""
