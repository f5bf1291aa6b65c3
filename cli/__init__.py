"""The ``help-assistant`` command: the one place that wires every package (ingest, answering,
the API server, evaluation and benchmarks). Nothing imports it back (an import-linter contract
in pyproject.toml keeps it so)."""
