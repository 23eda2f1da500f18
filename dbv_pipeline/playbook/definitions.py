"""Dagster definitions of the playbook (merged into the pipeline's definitions)."""

import dagster as dg

from .assets import PLAYBOOK_ASSETS

defs = dg.Definitions(assets=PLAYBOOK_ASSETS)
