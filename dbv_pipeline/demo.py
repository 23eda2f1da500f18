"""``dbv demo``: synthetic sample → every asset materialised with Dagster, in this process.

It prints a line per stage and a short summary; Dagster's and dbt's full logs go to
``<data>/logs/demo-<time>.log``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from .ingest import files_by_la
from .ingest.assets import la_partitions
from .reporting import returns_synthetic
from .settings import PipelineSettings


def dagster_instance() -> dg.DagsterInstance:
    """The instance under $DAGSTER_HOME (so `dagster dev` shows the demo's runs), else a temporary one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


@contextlib.contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Send everything written to stdout and stderr (Dagster's and dbt's logs included) to ``log``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("a") as file:
        os.dup2(file.fileno(), 1)
        os.dup2(file.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def say(text: str) -> None:
    print(text, flush=True)


def checks_not_passed(result: dg.ExecuteInProcessResult) -> list[str]:
    """Each asset check of the run that did not pass: asset, check and what it said."""
    return [
        f"{e.asset_key.to_user_string()} {e.check_name} ({e.severity.value.lower()}): "
        f"{(e.description or '').splitlines()[0][:110] if e.description else 'failed'}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]


def run_all(settings: PipelineSettings, instance: dg.DagsterInstance, log: Path) -> list[str]:
    """Ingest every LA in the landing folder as one run, then build the warehouse and playbook; returns
    the checks that did not pass."""
    from .definitions import build_defs

    # the demo wrote the landing files itself, whole: no settle interval before ingesting them
    settings = PipelineSettings(**{**settings.model_dump(), "landing_settle_seconds": 0})
    defs, paths = build_defs(settings), settings.paths
    la_codes = sorted(files_by_la(paths.landing))
    known = set(instance.get_dynamic_partitions(la_partitions.name))
    instance.add_dynamic_partitions(la_partitions.name, [la for la in la_codes if la not in known])
    partitions = instance.get_dynamic_partitions(la_partitions.name)
    started = time.perf_counter()
    say(f"[2/3] Ingest and assurance: {len(la_codes)} LAs (raw layer, GX checks, feedback reports) …")
    with output_to(log):
        ingest = defs.resolve_job_def("ingest_job").execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={
                "dagster/asset_partition_range_start": partitions[0],
                "dagster/asset_partition_range_end": partitions[-1],
            },
        )
    if not ingest.success:
        raise RuntimeError(f"The ingest run failed; its log: {log}")
    meta = next((m.metadata for m in ingest.asset_materializations_for_node("raw_returns")), {})
    counts = {k: getattr(meta.get(k), "value", 0) for k in ("files", "files_rejected", "rows_loaded", "rows_rejected")}
    say(
        f"      {counts['files']} files ({counts['files_rejected']} rejected), {counts['rows_loaded']:,} rows loaded, "
        f"{counts['rows_rejected']:,} rejected, in {time.perf_counter() - started:.0f} s"
    )
    started = time.perf_counter()
    say("[3/3] Warehouse (dbt build and tests) and playbook (forecasts, evaluation, report, exports) …")
    with output_to(log):
        warehouse = defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance, raise_on_error=False)
    if not warehouse.success:
        raise RuntimeError(f"The warehouse run failed; its log: {log}")
    say(f"      built in {time.perf_counter() - started:.0f} s")
    return checks_not_passed(ingest) + checks_not_passed(warehouse)


def warehouse_counts(warehouse: Path) -> str:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        year, las, plans = con.sql(
            "SELECT census_year, count(DISTINCT la_code), sum(ehcp_count) FROM marts.fct_ehcp_census "
            "GROUP BY ALL ORDER BY census_year DESC LIMIT 1"
        ).fetchone() or (None, 0, 0)
    return f"{las} LAs, {int(plans or 0):,} EHCPs at the January {year} census"


def public_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    caseload = folder / "caseload.parquet"
    return pq.read_metadata(caseload).num_rows if caseload.exists() else 0


def run_demo(settings: PipelineSettings, *, multiplier: float, la_count: int | None) -> int:
    from .sample import generate_sample

    paths = settings.paths
    started = time.perf_counter()
    log = paths.root / "logs" / f"demo-{dt.datetime.now():%Y%m%dT%H%M%S}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if not any(paths.landing.glob("*.*")):
        from .sample.las import load_las

        codes = [la.la_code for la in load_las()][:la_count] if la_count else None
        say(f"[1/3] Sample: generating SYNTHETIC returns into {paths.landing} …")
        say(f"      {generate_sample(paths.landing, la_codes=codes, multiplier=multiplier)}")
    else:
        say(f"[1/3] Sample: the landing folder already holds returns ({paths.landing}); using them")
    not_passed = run_all(settings, dagster_instance(), log)
    bin_dir = Path(sys.executable).parent
    report = paths.reports / "playbook" / "report" / "index.html"
    say(
        f"\nDone in {time.perf_counter() - started:.0f} s: {warehouse_counts(paths.warehouse)}."
        + (" Everything here is SYNTHETIC sample data." if returns_synthetic(paths.landing) else "")
    )
    if public_rows(paths.public) == 0:
        say(
            f"No DfE public data was loaded ({settings.release_source or 'DBV_DFE_EHCP_SOURCE=none'}; see the log): "
            "outcome indicators and the evaluation are empty. Set DBV_DFE_EHCP_SOURCE to the release zip to add them."
        )
    if not_passed:
        say(f"{len(not_passed)} checks did not pass (warnings do not block; see the UI or the log):")
        for line in not_passed[:8]:
            say(f"  - {line}")
        if len(not_passed) > 8:
            say(f"  … and {len(not_passed) - 8} more")
    say("Outputs:")
    for name, path in [
        ("warehouse (DuckDB)", paths.warehouse),
        ("raw layer (Parquet)", paths.raw),
        ("LA feedback reports", paths.reports / "feedback"),
        ("GX Data Docs", paths.reports / "data_docs" / "index.html"),
        ("playbook report", report),
        ("playbook exports", paths.reports / "playbook" / "exports"),
        ("full log", log),
    ]:
        say(f"  {name + ':':<22}{path}")
    say("Next:")
    say(f"  query the warehouse:  {bin_dir / 'duckdb'} -readonly {paths.warehouse}")
    say("  open the Dagster UI:  make dev, then http://127.0.0.1:3000")
    say("  dbt docs, Data Docs:  make docs-serve, then http://127.0.0.1:8080 and :8081")
    return 0
