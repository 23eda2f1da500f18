"""Reading the warehouse, on either engine (``DataPaths.engine``): the one interface of its readers
(assurance, playbook). Queries are SQL both engines accept (docs/warehouse.md, "Engines"); frames come
back alike: decimals as floats, dates and timestamps as datetime64."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import duckdb
import pandas as pd
import yaml
from jinja2 import Template

from ..settings import DBT_PROJECT_DIR, DataPaths


class WarehouseMissing(LookupError):
    """The warehouse has no such table (it has not been built yet)."""


class Warehouse:
    """Read-only queries on the warehouse; ``open_warehouse`` picks the engine's reader. A context manager:
    ``with open_warehouse(paths) as warehouse: ...`` lets go of the warehouse at the end (``close``)."""

    def close(self) -> None:
        """Let go of the warehouse, so that another process (dbt) can write it."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        raise NotImplementedError

    def has_table(self, schema: str, table: str) -> bool:
        raise NotImplementedError

    def columns(self) -> list[tuple[str, str, str, str]]:
        """(schema, table, column, type) of every column of every table and view, in column order."""
        raise NotImplementedError

    def table(self, schema: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The whole table (or ``columns``); an empty frame (with ``columns``) if it does not exist."""
        if not self.has_table(schema, table):
            return pd.DataFrame(columns=columns or [])
        return self.query(f"select {', '.join(columns) if columns else '*'} from {schema}.{table}")


class DuckDBWarehouse(Warehouse):
    """The DuckDB file, opened read-only for each query; waits while the one writer (dbt) holds its lock."""

    def __init__(self, path: Path, attempts: int = 5):
        self.path, self.attempts = path, attempts

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        for attempt in range(self.attempts):
            try:
                with duckdb.connect(str(self.path), read_only=True) as con:
                    return con.execute(sql, params or []).df()
            except duckdb.CatalogException as e:
                raise WarehouseMissing(str(e)) from e
            except duckdb.IOException as e:
                if "lock" not in str(e).lower() or attempt == self.attempts - 1:
                    raise
            time.sleep(1 + attempt)

    def has_table(self, schema: str, table: str) -> bool:
        if not self.path.exists():
            return False
        found = self.query(
            "select count(*) as n from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        )
        return bool(found.n.iloc[0])

    def columns(self) -> list[tuple[str, str, str, str]]:
        return list(
            self.query(
                "select table_schema, table_name, column_name, data_type from information_schema.columns "
                "order by table_schema, table_name, ordinal_position"
            ).itertuples(index=False, name=None)
        )


class SparkWarehouse(Warehouse):
    """The Spark warehouse through a local Spark session with the dbt profile's settings, started at the
    first query. Its catalog is an embedded Derby metastore that one process at a time can open: read
    after the build has ended, and ``close`` the reader before the next build (dbt's own Spark)."""

    def __init__(self, paths: DataPaths, driver_memory: str = "1g"):
        self.paths, self.driver_memory = paths, driver_memory

    def session(self):
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.enableHiveSupport()
        for key, value in spark_conf(self.paths, self.driver_memory).items():
            builder = builder.config(key, value)
        return builder.getOrCreate()

    def close(self) -> None:
        """Stop the Spark session and end its JVM. Stopping the session alone leaves the JVM running
        with Derby loaded, and Derby keeps the metastore's lock until its JVM exits: the next build's
        dbt could not open the catalog. (Any other reader of this process shares the session, as
        ``getOrCreate`` gives; a later query starts a new one.)"""
        stop_spark()

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        from pyspark.errors import AnalysisException

        try:
            frame = self.session().sql(sql, args=params or None)
        except AnalysisException as e:
            if "TABLE_OR_VIEW_NOT_FOUND" in str(e):
                raise WarehouseMissing(str(e)) from e
            raise
        return like_duckdb(frame)

    def has_table(self, schema: str, table: str) -> bool:
        return self.paths.spark.exists() and self.session().catalog.tableExists(f"{schema}.{table}")

    def columns(self) -> list[tuple[str, str, str, str]]:
        catalog = self.session().catalog
        return [
            (db.name, t.name, c.name, c.dataType)
            for db in catalog.listDatabases()
            for t in catalog.listTables(db.name)
            if not t.isTemporary
            for c in catalog.listColumns(t.name, db.name)
        ]


def stop_spark() -> None:
    """Stop this process's Spark session, if any, and shut down its JVM (pyspark's gateway), so that
    the embedded metastore's lock is released; a later ``getOrCreate`` launches a new JVM."""
    if "pyspark" not in sys.modules:  # no Spark was ever started here
        return
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if (session := SparkSession._instantiatedSession or SparkSession.getActiveSession()) is not None:
        session.stop()
    elif SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    process = getattr(gateway, "proc", None)  # spark-submit's JVM: it exits when its stdin closes
    if process is not None:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    SparkContext._gateway = None
    SparkContext._jvm = None


def like_duckdb(frame) -> pd.DataFrame:
    """A Spark frame as pandas the way DuckDB's ``.df()`` gives it: decimals as float64, dates and
    timestamps as datetime64."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, DecimalType

    frame = frame.select(
        [
            F.col(f"`{f.name}`").cast("double").alias(f.name)
            if isinstance(f.dataType, DecimalType)
            else F.col(f"`{f.name}`")
            for f in frame.schema.fields
        ]
    )
    out = frame.toPandas()
    for field in frame.schema.fields:
        if isinstance(field.dataType, DateType):
            out[field.name] = pd.to_datetime(out[field.name])
    return out


def spark_conf(paths: DataPaths, driver_memory: str = "1g") -> dict[str, str]:
    """The Spark settings of the dbt profile's ``spark`` target, rendered for ``paths``' data folder."""
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    values = {"data_dir": str(paths.root), "spark_driver_memory": driver_memory}
    var = lambda name, default=None: values.get(name, default)  # noqa: E731  dbt's var() in the profile
    parameters = profile["dbv"]["outputs"]["spark"]["server_side_parameters"]
    return {key: Template(str(value)).render(var=var) for key, value in parameters.items()}


def open_warehouse(paths: DataPaths, spark_driver_memory: str = "1g") -> Warehouse:
    """The reader of the warehouse of ``paths`` on its engine."""
    if paths.engine == "spark":
        return SparkWarehouse(paths, spark_driver_memory)
    return DuckDBWarehouse(paths.warehouse)
