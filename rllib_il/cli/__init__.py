"""The commands (`python -m rllib_il.cli.<name>`): train, record, evaluate, dagger, convert, plot. Each
parses its flags, calls the layers below and reports user mistakes as one line with exit code 2."""
