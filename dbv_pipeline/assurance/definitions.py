"""The assurance domain's Dagster definitions: GX asset checks on the raw tables and key marts,
and the LAs' feedback reports."""

import dagster as dg

from .assets import feedback_reports
from .checks import MART_CHECKS, RAW_CHECKS

defs = dg.Definitions(assets=[feedback_reports], asset_checks=[*RAW_CHECKS, *MART_CHECKS])
