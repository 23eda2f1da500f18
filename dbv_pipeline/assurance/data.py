"""Read the raw layer and the warehouse into pandas for validation (read-only).

Raw tables are read a chunk of files at a time (``CHUNK_ROWS``), so validating every LA needs the
memory of one chunk, not of the whole table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..ingest.raw_store import ACCEPTED, RawStore
from ..settings import DataPaths
from ..warehouse.reader import Warehouse, open_warehouse
from . import derive
from .validate import TEXT, Result, Validation, validate

# Rows validated at once; a version (one file) is never split, as every raw rule holds within a version.
CHUNK_ROWS = 500_000


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def ledger(paths: DataPaths, la_codes: Iterable[str] | None = None) -> pd.DataFrame:
    """The submissions ledger of the given LAs (all LAs if None)."""
    files = sorted((paths.raw / "submissions").glob("*.parquet"))
    if la_codes is not None:
        wanted = set(la_codes)
        files = [f for f in files if f.stem in wanted]
    if not files:
        return pd.DataFrame(
            columns=["la_code", "table_name", "return_period", "source_sha256", "received_at", "outcome"]
        )
    with duckdb.connect() as con:
        events = con.sql(
            f"SELECT * FROM read_parquet([{_sql_list(map(str, files))}], union_by_name = true) "
            "ORDER BY received_at, la_code"
        ).df()
    events["pending"] = events["pending"].fillna(False).astype(bool) if "pending" in events else False
    return events


def current_versions(paths: DataPaths, table: str, la_codes: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
    """(la_code, return_period, sha256) of the latest accepted version of ``table`` for each (LA,
    return period) of the given LAs, pending or not: what is, or becomes once checked, current."""
    events = ledger(paths, la_codes)
    events = events[(events["table_name"] == table) & events["outcome"].isin(ACCEPTED)]
    current = events.groupby(["la_code", "return_period"], sort=True).tail(1)
    return [(e.la_code, e.return_period, e.source_sha256) for e in current.itertuples()]


def current_files(paths: DataPaths, table: str, la_codes: Iterable[str] | None = None) -> list[Path]:
    """The file of each of ``current_versions``."""
    store = RawStore(paths)
    return [store.version_path(table, *v) for v in current_versions(paths, table, la_codes)]


def versions_to_check(
    paths: DataPaths, table: str, la_codes: Iterable[str] | None = None
) -> list[tuple[str, str, str]]:
    """What a raw check validates: ``current_versions`` and every pending version of ``table``."""
    events = ledger(paths, la_codes)
    pending = events[(events["table_name"] == table) & events["pending"]]
    versions = dict.fromkeys(current_versions(paths, table, la_codes))
    versions.update(dict.fromkeys((e.la_code, e.return_period, e.source_sha256) for e in pending.itertuples()))
    return sorted(versions)


def mark_assured(paths: DataPaths, table: str, versions: Iterable[tuple[str, str, str]]) -> int:
    """After ``table``'s blocking checks passed on ``versions``: their pending ledger events become
    assured (visible to the warehouse). Each LA's ledger is changed under its lock."""
    by_la: dict[str, set] = {}
    for la_code, period, sha in versions:
        by_la.setdefault(la_code, set()).add((la_code, table, period, sha))
    store, marked = RawStore(paths), 0
    for la_code, wanted in by_la.items():
        with store.la_lock(la_code):
            ledger_ = store.ledger(la_code)
            n = ledger_.mark_assured(wanted)
            if n:
                ledger_.save()
            marked += n
    return marked


def chunks(files: list[Path]) -> Iterator[list[Path]]:
    """The files in consecutive groups of at most ``CHUNK_ROWS`` rows (a larger file alone); one
    empty group if there are no files."""
    group, size = [], 0
    for path in files:
        n = pq.read_metadata(path).num_rows
        if group and size + n > CHUNK_ROWS:
            yield group
            group, size = [], 0
        group.append(path)
        size += n
    if group or not files:
        yield group


def _read(path: Path) -> pa.Table:
    """One Parquet file, its text columns dictionary-encoded (cheaper to read and to convert)."""
    text = [f.name for f in pq.read_schema(path) if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    return pq.read_table(path, read_dictionary=text)


def _column(array: pa.ChunkedArray) -> pd.Series:
    """One Arrow column as validated: text as ``validate.TEXT`` (pandas' ``string``), money as
    float64, dates as datetime64. GX checks a typed text column's type once, from its dtype; an
    ``object`` column it checked value by value (most of a placements check's time)."""
    if pa.types.is_dictionary(array.type) or pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array.cast(pa.string()).to_pandas(types_mapper={pa.string(): TEXT}.get)
    if pa.types.is_decimal(array.type):
        return pd.Series(pc.cast(array, pa.float64()).to_numpy(), dtype="float64")
    return array.to_pandas(date_as_object=False)


def read_raw(paths: DataPaths, table: str, files: list[Path]) -> pd.DataFrame:
    """The rows of the given versions of ``table`` (columns united by name; the table's empty schema
    if there are none)."""
    files = files or [paths.raw / table / "_schema" / "empty.parquet"]
    rows = pa.concat_tables([_read(f) for f in files], promote_options="default")
    return pd.DataFrame({name: _column(rows.column(name)) for name in rows.column_names}, copy=False)


def read_mart(paths: DataPaths, name: str, schema: str = "marts", warehouse: Warehouse | None = None) -> pd.DataFrame:
    """A warehouse table, read-only, on the warehouse's engine (``WarehouseMissing`` if it is not built),
    through ``warehouse`` or a reader opened and closed for it."""
    if warehouse is not None:
        return warehouse.query(f"select * from {schema}.{name}")
    with open_warehouse(paths) as opened:
        return opened.query(f"select * from {schema}.{name}")


def dfe_caseload(paths: DataPaths) -> pd.DataFrame:
    """DfE's published LA caseload per January census (``la_code, census_year, dfe_caseload``),
    from the public data; empty if it has not been loaded."""
    path = paths.public / "caseload.parquet"
    if not path.exists():
        return pd.DataFrame(
            {
                "la_code": pd.Series(dtype=object),
                "census_year": pd.Series(dtype="int64"),
                "dfe_caseload": pd.Series(dtype="float64"),
            }
        )
    with duckdb.connect() as con:
        return con.sql(
            "SELECT old_la_code AS la_code, census_year, max(ehcplans) AS dfe_caseload "
            f"FROM read_parquet('{path}') WHERE geographic_level = 'Local authority' "
            "AND ehcplans IS NOT NULL GROUP BY ALL"
        ).df()


def raw_suites(table: str) -> list[str]:
    """The suites a raw table is validated with (the frames of ``raw_frames``)."""
    return [f"raw_{table}", *(["dsg_roll_forward"] if table == "dsg_plan" else [])]


def raw_frames(table: str, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The suites a raw table is validated with, and their frames: the rows of some of its versions,
    plus the roll-forward frame for ``dsg_plan``."""
    frames = {f"raw_{table}": frame}
    if table == "dsg_plan":
        frames["dsg_roll_forward"] = derive.dsg_roll_forward(frame)
    return frames


def raw_chunks(paths: DataPaths, table: str, files: list[Path]) -> Iterator[dict[str, pd.DataFrame]]:
    """``raw_frames`` of the given versions of ``table``, one group of ``chunks`` at a time."""
    for group in chunks(files):
        yield raw_frames(table, read_raw(paths, table, group))


def validate_versions(
    paths: DataPaths,
    table: str,
    files: list[Path],
    suites: list[str] | None = None,
    *,
    data_docs: bool = False,
    **options,
) -> Result:
    """Run ``table``'s suites (or only ``suites``) over the given versions, a chunk at a time, as
    one result, with Data Docs under ``paths`` if asked; ``options`` go to ``Validation``."""
    suites = suites or raw_suites(table)
    validation = Validation(suites, paths=paths if data_docs else None, **options)
    for frames in raw_chunks(paths, table, files):
        validation.add({name: frames[name] for name in suites})
        del frames  # free this chunk before the next is read
    return validation.result()


def validate_rows(table: str, rows: pa.Table) -> Result:
    """``table``'s suites over rows not stored yet (``dbv validate``): the warnings the feedback
    report will show for them, cross-source comparisons apart."""
    frame = pd.DataFrame({name: _column(rows.column(name)) for name in rows.column_names}, copy=False)
    return validate(raw_frames(table, frame), max_examples=None)


def mart_frames(paths: DataPaths, mart: str, la_codes: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """The suites a mart is validated with, and their frames: its cross-source comparison, if it has
    one (the mart's own rules are dbt tests). Cross-source frames compare every LA (national medians
    need them all) and are then limited to ``la_codes``."""
    with open_warehouse(paths) as warehouse:
        df = read_mart(paths, mart, warehouse=warehouse)
        dsg = read_mart(paths, "fct_dsg_balance", warehouse=warehouse) if mart == "fct_hnb_spend" else None
    frames: dict[str, pd.DataFrame] = {}
    if mart == "fct_ehcp_census":
        frames["caseload_vs_dfe"] = derive.caseload_vs_dfe(df, dfe_caseload(paths))
    elif mart == "fct_hnb_spend":
        frames["hnb_vs_dsg"] = derive.hnb_vs_dsg(df, dsg)
    elif mart == "fct_unit_cost":
        frames["unit_cost_vs_median"] = derive.unit_cost_vs_median(df)
    if la_codes is not None:
        wanted = set(la_codes)
        frames = {name: f[f["la_code"].isin(wanted)] for name, f in frames.items()}
    return frames


def assure_pending(paths: DataPaths, la_codes: Iterable[str] | None = None) -> dict[str, Result]:
    """What the raw tables' blocking checks do, outside a Dagster run (``dbv ingest``, tests): each
    table's suites over its versions to check; if no blocking expectation failed, its pending
    versions become assured. Returns each table's result (no Data Docs)."""
    from ..contract import TABLES

    results = {}
    store = RawStore(paths)
    for table in TABLES:
        versions = versions_to_check(paths, table, la_codes)
        if not versions:
            continue
        results[table] = validate_versions(paths, table, [store.version_path(table, *v) for v in versions])
        if results[table].passed:
            mark_assured(paths, table, versions)
    return results
