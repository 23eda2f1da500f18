"""The assurance domain's Dagster definitions: GX asset checks on the raw tables (``conformance``
blocks, ``warnings`` does not) and on the key marts' cross-source comparisons (``warnings``; the marts'
own rules are dbt tests), the version ledger's ``latest_files_accepted`` check, and the LAs' feedback
reports."""

import dagster as dg

from .assets import feedback_reports
from .checks import MART_CHECKS, RAW_CHECKS
from .latest_files import latest_files_accepted

defs = dg.Definitions(assets=[feedback_reports], asset_checks=[*RAW_CHECKS, *MART_CHECKS, latest_files_accepted])
