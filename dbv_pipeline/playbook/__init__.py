"""Playbook: national metrics, benchmarks, forecasts, outcome indicators and the evaluator's report."""
