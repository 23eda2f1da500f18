"""Dagster assets of the playbook: forecasts, outcome indicators, evaluation, the HTML report, exports.

They read the warehouse read-only (dbt writes it, one writer at a time) and write files under
``reports/playbook/<asset>/``. Each declares the dbt models it reads as deps (``["warehouse",
<model>]``), so ingest → dbt → playbook is one lineage. With no DfE release loaded, the outcome and
evaluation assets write empty tables and a NOTE.txt instead of failing.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import pandas as pd

from ..automation import REFRESH_ON_UPSTREAM_UPDATE
from ..settings import DataPaths, PipelineSettings
from ..warehouse.reader import Warehouse, open_warehouse
from .data import PlaybookPaths, provenance, read_output, write_note, write_table
from .exports import collect, write_exports

# The forecasts, evaluation and report modules (scipy, matplotlib) are imported when their asset
# runs, not when the definitions load: every run's process loads these definitions.

GROUP = "playbook"
NO_PUBLIC_DATA = (
    "No DfE public data in the warehouse (no release loaded: set DBV_DFE_EHCP_SOURCE, see "
    "docs/public_data.md), so there are no outcome indicators."
)
OUTCOME_COLUMNS = ["geographic_level", "area_code", "area_name", "la_code", "year", "census_year", "indicator", "value"]
PLAYBOOK_MARTS = [
    "pb_metric_catalogue",
    "pb_la_year_metrics",
    "pb_la_year_metrics_wide",
    "pb_group_stats",
    "pb_benchmarks",
    "pb_benchmark_labels",
]


SIZE_SQL = """select la_code, avg(ehcp_count)::double as weight from marts.fct_public_ehcp_indicators
where geographic_level = 'Local authority' and ehcp_count is not null group by la_code"""


class EvaluationConfig(dg.Config):
    """How the evaluation is run (docs/forecast_method.md §5)."""

    permutations: int = 199  # randomisation draws (0: cluster-robust p-values only)
    weight_by_size: bool = False  # weight LAs by their average number of EHC plans
    seed: int = 20250601  # of the permutations: a rerun gives the same p-values


def warehouse_key(model: str) -> dg.AssetKey:
    return dg.AssetKey(["warehouse", model])


def playbook_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["playbook", name])


@contextmanager
def _context(settings: PipelineSettings) -> Iterator[tuple[DataPaths, PlaybookPaths, Warehouse]]:
    """The data folder, the playbook's folders and a reader of the warehouse, closed when the asset is done
    (on Spark, that ends its JVM: the next build's dbt opens the embedded metastore)."""
    paths = settings.paths
    with open_warehouse(paths, settings.spark_driver_memory) as warehouse:
        yield paths, PlaybookPaths.of(paths), warehouse


@dg.asset(
    key=playbook_key("forecasts"),
    group_name=GROUP,
    kinds={"python", "parquet"},
    deps=[
        warehouse_key(m)
        for m in ("fct_ehcp_census", "fct_hnb_spend", "fct_dsg_balance", "fct_mitigations", "fct_public_ehcp_history")
    ],
    automation_condition=REFRESH_ON_UPSTREAM_UPDATE,
)
def forecasts(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
    """Caseload by provision to January 2029, unit costs, HNB spend and the DSG balance (unmitigated and
    mitigated) to 2028-29 per LA, with 80% and 95% bands (docs/forecast_method.md); LA totals from the
    model backtested on DfE's history when that is loaded."""
    from .projections import CASELOAD_SQL, PUBLIC_HISTORY_SQL, TO_CENSUS, project

    with _context(settings) as (paths, out, warehouse):
        caseload = warehouse.query(CASELOAD_SQL)
        if caseload.census_year.nunique() < 4:
            note = "Fewer than four January censuses in the warehouse: no forecast (forecast_caseload needs four)."
            context.log.warning(note)
            write_note(out.forecasts, note)
            for name in ("caseload_forecast", "unit_cost_forecast", "spend_forecast", "dsg_balance_forecast"):
                write_table(pd.DataFrame(), out.forecasts, name)
            return dg.MaterializeResult(metadata={"las": 0, "note": note})
        result = project(
            caseload,
            warehouse.table("marts", "fct_hnb_spend"),
            warehouse.table("marts", "fct_dsg_balance"),
            warehouse.table("marts", "fct_mitigations"),
            TO_CENSUS,
            warehouse.query(PUBLIC_HISTORY_SQL) if warehouse.has_table("marts", "fct_public_ehcp_history") else None,
        )
        write_note(out.forecasts, None)
        for name, frame in result.tables().items():
            write_table(frame, out.forecasts, name, provenance(paths, warehouse))
        rows = {name: len(frame) for name, frame in result.tables().items()}
        totals = result.caseload[result.caseload.provision_type.eq("ALL") & result.caseload.census_year.eq(TO_CENSUS)]
        return dg.MaterializeResult(
            metadata={
                "las": int(result.caseload.la_code.nunique()),
                "rows": rows,
                "path": str(out.forecasts),
                "ehcps_january_2029": float(totals.forecast.sum()),
                "method": str(result.caseload[result.caseload.provision_type.eq("ALL")].method.iloc[0]),
            }
        )


@dg.asset(
    key=playbook_key("outcome_indicators"),
    group_name=GROUP,
    kinds={"python", "parquet"},
    deps=[warehouse_key("pb_outcome_indicators")],
    automation_condition=REFRESH_ON_UPSTREAM_UPDATE,
)
def outcome_indicators(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
    """DfE's outcome indicators per LA and England by calendar year (pb_outcome_indicators): 20-week
    timeliness incl./excl. exceptions, % in mainstream and INMSS, EHCP growth, % requests refused,
    tribunal appeal rate."""
    with _context(settings) as (paths, out, warehouse):
        frame = warehouse.table("playbook", "pb_outcome_indicators", OUTCOME_COLUMNS)
        if frame.empty:
            context.log.warning(NO_PUBLIC_DATA)
            write_note(out.outcome_indicators, NO_PUBLIC_DATA)
            frame = pd.DataFrame(columns=OUTCOME_COLUMNS)
        else:
            write_note(out.outcome_indicators, None)
        write_table(frame, out.outcome_indicators, "outcome_indicators", provenance(paths, warehouse))
        return dg.MaterializeResult(
            metadata={
                "rows": len(frame),
                "las": int(frame.la_code.nunique()),
                "indicators": sorted(frame.indicator.unique()),
                "path": str(out.outcome_indicators),
            }
        )


@dg.asset(
    key=playbook_key("evaluation"),
    group_name=GROUP,
    kinds={"python", "parquet"},
    deps=[playbook_key("outcome_indicators"), warehouse_key("dim_la")],
    automation_condition=REFRESH_ON_UPSTREAM_UPDATE,
)
def evaluation(
    context: dg.AssetExecutionContext, settings: PipelineSettings, config: EvaluationConfig
) -> dg.MaterializeResult:
    """Stacked difference-in-differences and event study of DBV LAs against comparison LAs, per outcome
    indicator (``evaluation.event_study``): randomisation p-values adjusted for the indicators tested,
    pre-trend flags; observational evidence, not causal."""
    from .evaluation import EVENT_COLUMNS, LABEL, SUMMARY_COLUMNS, event_study

    with _context(settings) as (paths, out, warehouse):
        indicators = read_output(out.outcome_indicators, "outcome_indicators")
        cohorts = warehouse.table("marts", "dim_la", ["la_code", "programme", "tranche", "diagnostic_start_date"])
        note = None
        if indicators.empty:
            note = NO_PUBLIC_DATA + " The evaluation is empty."
        elif not cohorts.programme.eq("DBV").any():
            note = "No DBV LAs in the programme cohorts (dim_la): nothing to evaluate."
        if note:
            context.log.warning(note)
            summary, events = pd.DataFrame(columns=SUMMARY_COLUMNS), pd.DataFrame(columns=EVENT_COLUMNS)
        else:
            las = indicators[indicators.la_code.notna()]
            # event_study compares tranches with ==: a nullable Int32 tranche (NA for non-DBV LAs) would
            # make every comparison LA's `treated` NA, so pass plain floats.
            weights = warehouse.query(SIZE_SQL) if config.weight_by_size else None
            summary, events = event_study(
                las[["la_code", "year", "indicator", "value"]],
                cohorts.astype({"tranche": float}),
                permutations=config.permutations,
                weights=weights,
                seed=config.seed,
            )
            if summary.empty:
                note = "No indicator has both DBV and comparison LAs in the event window."
        write_note(out.evaluation, note)
        source = provenance(paths, warehouse)
        write_table(summary, out.evaluation, "evaluation_summary", source)
        write_table(events.assign(label=LABEL), out.evaluation, "evaluation_event_study", source)
        return dg.MaterializeResult(
            metadata={
                "indicators": len(summary),
                "label": LABEL,
                "note": note or "",
                "path": str(out.evaluation),
                "estimates": {
                    r.indicator: [round(r.estimate, 3), round(r.ci_low, 3), round(r.ci_high, 3)]
                    for r in summary.itertuples()
                },
                "significant_after_adjustment": sorted(summary.indicator[summary.significant.astype(bool)]),
                "pretrend_flagged": sorted(summary.indicator[summary.pretrend_flag.fillna("").ne("")]),
            }
        )


@dg.asset(
    key=playbook_key("report"),
    group_name=GROUP,
    kinds={"html"},
    deps=[
        *(playbook_key(n) for n in ("forecasts", "outcome_indicators", "evaluation")),
        *(warehouse_key(m) for m in (*PLAYBOOK_MARTS, "dim_la", "dim_statistical_neighbours", "fct_dsg_balance")),
    ],
    automation_condition=REFRESH_ON_UPSTREAM_UPDATE,
)
def report(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
    """The evaluator's playbook as static HTML (opens from file://): national summary, one page per DBV
    tranche, one page per LA, with charts; a SYNTHETIC DATA banner when the data is synthetic."""
    from .report import ReportData, write_report

    with _context(settings) as (paths, out, warehouse):
        data = ReportData.load(paths, warehouse)
        summary = write_report(data, out.report)
        context.log.info(
            f"{len(summary.pages)} pages in {summary.seconds:.1f}s: {len(summary.written)} written, "
            f"{len(summary.pages) - len(summary.written)} unchanged, {len(summary.removed)} removed"
        )
        return dg.MaterializeResult(
            metadata={
                "index": dg.MetadataValue.path(str(summary.index)),
                "pages": len(summary.pages),
                "pages_written": len(summary.written),
                "pages_unchanged": len(summary.pages) - len(summary.written),
                "pages_removed": len(summary.removed),
                "seconds": round(summary.seconds, 1),
                "render_seconds": round(summary.render_seconds, 1),
                "synthetic": data.synthetic,
            }
        )


@dg.asset(
    key=playbook_key("exports"),
    group_name=GROUP,
    kinds={"csv", "parquet", "excel"},
    deps=[
        *(playbook_key(n) for n in ("forecasts", "outcome_indicators", "evaluation")),
        *(warehouse_key(m) for m in (*PLAYBOOK_MARTS, "pb_outcome_indicators", "dim_la")),  # dim_la: LA details
    ],
    automation_condition=REFRESH_ON_UPSTREAM_UPDATE,
)
def exports(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
    """Every playbook metric and output as CSV and Parquet, and the workbook dbv_playbook.xlsx; only what
    changed since the last run is rewritten."""
    with _context(settings) as (paths, out, warehouse):
        tables = collect(paths, warehouse)
        summary = write_exports(tables, out.exports, source=provenance(paths, warehouse))
        return dg.MaterializeResult(
            metadata={
                "rows": summary.rows,
                "path": str(out.exports),
                "tables_written": len(summary.written),
                "tables_unchanged": len(tables) - len(summary.written),
                "workbook_written": summary.workbook_written,
            }
        )


PLAYBOOK_ASSETS = [forecasts, outcome_indicators, evaluation, report, exports]
