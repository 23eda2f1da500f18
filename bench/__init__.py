"""National-scale benchmark of the pipeline: ``python -m bench.run`` (see bench/README.md)."""
