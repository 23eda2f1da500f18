"""Test harnesses (not shipped in the package): a hand-made raw layer and dbt runs on a copy of the
project (``harness.warehouse``), a small synthetic warehouse with the playbook built (``harness.playbook``)."""
