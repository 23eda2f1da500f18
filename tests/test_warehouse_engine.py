"""The warehouse engine is a setting: DBV_WAREHOUSE_ENGINE picks the dbt target Dagster builds with and
the reader the assurance and playbook read through."""

from __future__ import annotations

import json

import pytest

from dbv_pipeline.settings import PipelineSettings
from dbv_pipeline.warehouse.assets import dbt_vars
from dbv_pipeline.warehouse.reader import DuckDBWarehouse, SparkWarehouse, open_warehouse, spark_conf


def test_the_engine_comes_from_the_environment_and_picks_the_reader(tmp_path, monkeypatch):
    assert isinstance(open_warehouse(PipelineSettings(data_dir=str(tmp_path)).paths), DuckDBWarehouse)
    monkeypatch.setenv("DBV_WAREHOUSE_ENGINE", "spark")
    monkeypatch.setenv("DBV_SPARK_DRIVER_MEMORY", "2g")
    settings = PipelineSettings.from_env()
    assert settings.paths.engine == "spark"
    assert isinstance(open_warehouse(settings.paths), SparkWarehouse)
    assert json.loads(dbt_vars(settings)[1])["spark_driver_memory"] == "2g"
    monkeypatch.setenv("DBV_WAREHOUSE_ENGINE", "postgres")
    with pytest.raises(ValueError, match="warehouse_engine must be one of duckdb, spark"):
        _ = PipelineSettings.from_env().paths


def test_the_spark_reader_uses_the_dbt_profiles_settings_for_its_data_folder(tmp_path):
    paths = PipelineSettings(data_dir=str(tmp_path), warehouse_engine="spark").paths
    conf = spark_conf(paths, "3g")
    assert conf["spark.sql.warehouse.dir"] == f"{tmp_path}/spark/warehouse"
    assert (
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"]
        == f"jdbc:derby:;databaseName={tmp_path}/spark/metastore_db;create=true"
    )
    assert (conf["spark.driver.memory"], conf["spark.master"]) == ("3g", "local[2]")


def test_readers_are_closed_as_context_managers(tmp_path):
    """``with open_warehouse(paths) as warehouse``: on Spark, leaving it stops the session and its JVM (the
    embedded metastore's lock goes with the JVM: tests/test_warehouse_spark.py); with no Spark started,
    closing does nothing."""
    with open_warehouse(PipelineSettings(data_dir=str(tmp_path)).paths) as warehouse:
        assert isinstance(warehouse, DuckDBWarehouse) and not warehouse.has_table("marts", "dim_la")
    with open_warehouse(PipelineSettings(data_dir=str(tmp_path), warehouse_engine="spark").paths) as warehouse:
        assert isinstance(warehouse, SparkWarehouse)
    warehouse.close()  # again: nothing to stop
