"""Dagster definitions for the public data (DfE EHCP release)."""

import dagster as dg

from dbv_pipeline.public.assets import dfe_ehcp_release

defs = dg.Definitions(assets=[dfe_ehcp_release])
