"""The ingest domain's Dagster definitions."""

import dagster as dg

from .assets import landing_sensor, raw_returns

defs = dg.Definitions(assets=[raw_returns], sensors=[landing_sensor])
