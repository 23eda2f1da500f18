"""The ingest domain's Dagster definitions."""

import dagster as dg

from .assets import ingest_job, landing_sensor, raw_returns

defs = dg.Definitions(assets=[raw_returns], jobs=[ingest_job], sensors=[landing_sensor])
