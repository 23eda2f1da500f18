"""Read the raw layer and the warehouse into pandas for validation (DuckDB, read-only)."""

from __future__ import annotations

import time
from collections.abc import Iterable

import duckdb
import pandas as pd

from ..settings import DataPaths
from . import derive

ACCEPTED = ("loaded", "reverted")


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def ledger(paths: DataPaths, la_codes: Iterable[str] | None = None) -> pd.DataFrame:
    """The submissions ledger of the given LAs (all LAs if None)."""
    files = sorted((paths.raw / "submissions").glob("*.parquet"))
    if la_codes is not None:
        wanted = set(la_codes)
        files = [f for f in files if f.stem in wanted]
    if not files:
        return pd.DataFrame(columns=["la_code", "table_name", "return_period", "source_sha256", "received_at", "outcome"])
    with duckdb.connect() as con:
        return con.sql(f"SELECT * FROM read_parquet([{_sql_list(map(str, files))}]) ORDER BY received_at").df()


def _read_parquet(paths: DataPaths, table: str, files: list[str]) -> pd.DataFrame:
    if not files:
        files = [str(paths.raw / table / "_schema" / "empty.parquet")]
    with duckdb.connect() as con:
        return con.sql(f"SELECT * FROM read_parquet([{_sql_list(files)}], union_by_name = true)").df()


def current_versions(paths: DataPaths, table: str, la_codes: Iterable[str] | None = None) -> pd.DataFrame:
    """Rows of the current version of ``table`` for each (LA, return period) of the given LAs."""
    events = ledger(paths, la_codes)
    events = events[(events["table_name"] == table) & events["outcome"].isin(ACCEPTED)]
    current = events.groupby(["la_code", "return_period"], sort=True).tail(1)
    files = [
        paths.raw / table / e.la_code / f"{e.return_period}__{e.source_sha256}.parquet"
        for e in current.itertuples()
    ]
    return _read_parquet(paths, table, [str(f) for f in files])


def version(paths: DataPaths, table: str, la_code: str, period: str, sha256: str) -> pd.DataFrame:
    """The rows of one accepted version (empty, with the table's schema, if it was not loaded)."""
    path = paths.raw / table / la_code / f"{period}__{sha256}.parquet"
    return _read_parquet(paths, table, [str(path)] if path.exists() else [])


def read_mart(paths: DataPaths, name: str, schema: str = "marts", attempts: int = 5) -> pd.DataFrame:
    """A warehouse table, read-only; waits while the one writer (dbt) holds the file's lock."""
    for attempt in range(attempts):
        try:
            with duckdb.connect(str(paths.warehouse), read_only=True) as con:
                return con.sql(f'SELECT * FROM "{schema}"."{name}"').df()
        except duckdb.IOException as e:
            if "lock" not in str(e).lower() or attempt == attempts - 1:
                raise
        time.sleep(1 + attempt)


def dfe_caseload(paths: DataPaths) -> pd.DataFrame:
    """DfE's published LA caseload per January census (``la_code, census_year, dfe_caseload``),
    from the public data; empty if it has not been loaded."""
    path = paths.public / "caseload.parquet"
    if not path.exists():
        return pd.DataFrame({"la_code": pd.Series(dtype=object), "census_year": pd.Series(dtype="int64"),
                             "dfe_caseload": pd.Series(dtype="float64")})
    with duckdb.connect() as con:
        return con.sql(
            "SELECT old_la_code AS la_code, census_year, max(ehcplans) AS dfe_caseload "
            f"FROM read_parquet('{path}') WHERE geographic_level = 'Local authority' "
            "AND ehcplans IS NOT NULL GROUP BY ALL"
        ).df()


def raw_frames(paths: DataPaths, table: str, frame: pd.DataFrame | None = None,
               la_codes: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """The suites a raw table is validated with, and their frames: its current versions (or the
    given frame), plus the roll-forward frame for ``dsg_plan``."""
    df = current_versions(paths, table, la_codes) if frame is None else frame
    frames = {f"raw_{table}": df}
    if table == "dsg_plan":
        frames["dsg_roll_forward"] = derive.dsg_roll_forward(df)
    return frames


def mart_frames(paths: DataPaths, mart: str, la_codes: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """The suites a mart is validated with, and their frames (the mart, and its cross-source
    comparison). Cross-source frames compare every LA (national medians need them all) and are
    then limited to ``la_codes``."""
    df = read_mart(paths, mart)
    frames = {mart: df}
    if mart == "fct_ehcp_census":
        frames["caseload_vs_dfe"] = derive.caseload_vs_dfe(df, dfe_caseload(paths))
    elif mart == "fct_hnb_spend":
        frames["hnb_vs_dsg"] = derive.hnb_vs_dsg(df, read_mart(paths, "fct_dsg_balance"))
    elif mart == "fct_unit_cost":
        frames["unit_cost_vs_median"] = derive.unit_cost_vs_median(df)
    if la_codes is not None:
        wanted = set(la_codes)
        frames = {name: f[f["la_code"].isin(wanted)] for name, f in frames.items()}
    return frames
