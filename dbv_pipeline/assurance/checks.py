"""Dagster asset checks that run the stored GX suites, blocking downstream assets on errors.

One check per raw table (``["raw", <table>]``, LA-partitioned: a partitioned run validates the
current versions of its LAs, any other run every LA, a chunk of versions at a time) and one per key mart
(``["warehouse", <mart>]``, read-only from the DuckDB warehouse). An error (or an expectation that
raised) fails the check with severity ERROR, which blocks downstream assets; warnings only fail it
with severity WARN, which does not block.
"""

from collections.abc import Iterable

import dagster as dg

from ..contract import TABLES
from ..settings import DataPaths, PipelineSettings
from . import data
from .rules import MARTS
from .validate import Result, validate

CHECK_NAME = "great_expectations"
# What a cross-source comparison also reads, so its check runs after it.
MART_INPUTS = {"fct_hnb_spend": [["warehouse", "fct_dsg_balance"]], "fct_ehcp_census": [["public", "caseload"]]}


def run_la_codes(context: dg.AssetCheckExecutionContext) -> list[str] | None:
    """The LAs of a partitioned run; None (every LA) otherwise."""
    if context.has_partition_key or context.has_partition_key_range:
        return list(context.partition_keys)
    return None


def check_result(result: Result) -> dg.AssetCheckResult:
    """ERROR if any error, WARN if only warnings, else passed; counts and failures as metadata."""
    if result.errors:
        passed, severity = False, dg.AssetCheckSeverity.ERROR
    else:
        passed, severity = not result.warnings, dg.AssetCheckSeverity.WARN
    meta = result.metadata()
    metadata = {
        "errors": meta["errors"],
        "warnings": meta["warnings"],
        "expectations": meta["expectations"],
        "rows": dg.MetadataValue.json(meta["rows"]),
        "failures": dg.MetadataValue.json(meta["failures"]),
        "summary": dg.MetadataValue.md("```\n" + result.summary() + "\n```"),
    }
    if result.data_docs:
        metadata["data_docs"] = dg.MetadataValue.path(str(result.data_docs))
    return dg.AssetCheckResult(passed=passed, severity=severity, metadata=metadata,
                               description=result.summary().splitlines()[0])


def validate_raw(paths: DataPaths, table: str, la_codes: Iterable[str] | None = None, *,
                 run_name: str | None = None) -> Result:
    """Validate the current versions of ``table`` for the given LAs (every LA if None), a chunk of
    at most ``data.CHUNK_ROWS`` rows at a time, with one Data Docs page per suite for the run."""
    la_codes = None if la_codes is None else list(la_codes)
    label = f"raw_{table}_" + ("all" if la_codes is None else "_".join(la_codes[:5]))
    return data.validate_versions(paths, table, data.current_files(paths, table, la_codes),
                                  data_docs=True, run_name=run_name, label=label)


def raw_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["raw", table]), name=CHECK_NAME, blocking=True,
        description=f"GX suite raw_{table}: the loaded {table} conforms to the contract (errors block); "
                    "in-table warnings of spec §4.",
    )
    def _check(context: dg.AssetCheckExecutionContext, settings: PipelineSettings) -> dg.AssetCheckResult:
        return check_result(validate_raw(settings.paths, table, run_la_codes(context), run_name=context.run.run_id))

    return _check


def mart_check(mart: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["warehouse", mart]), name=CHECK_NAME, blocking=True,
        additional_deps=[dg.AssetKey(k) for k in MART_INPUTS.get(mart, [])],
        description=f"GX suite {mart}: grain, codes and ranges (errors block); cross-source warnings of spec §4.",
    )
    def _check(context: dg.AssetCheckExecutionContext, settings: PipelineSettings) -> dg.AssetCheckResult:
        paths = settings.paths
        return check_result(validate(data.mart_frames(paths, mart), paths=paths, run_name=context.run.run_id, label=mart))

    return _check


RAW_CHECKS = [raw_check(t) for t in TABLES]
MART_CHECKS = [mart_check(m) for m in MARTS]
