"""The marts' dbt model contracts, column docs and exposures (issue 13): every mart enforces a contract
whose column types come from the return contract (``python -m dbv_pipeline.warehouse.model_contracts
--check`` is clean), every column of the marts and playbook is described, and the playbook's report and
exports are exposures on the models they read. Unit tests on the parsed manifest; the build that
enforces the contracts runs in test_warehouse_dbt, test_public_dfe_ehcp and the playbook sample."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from dbv_pipeline.contract import CONTRACT
from dbv_pipeline.playbook import assets as playbook_assets
from dbv_pipeline.settings import PROJECT_ROOT
from dbv_pipeline.warehouse import model_contracts
from dbv_pipeline.warehouse.prepare import prepare_dbt_project

PORTABLE_TYPES = {"string", "integer", "bigint", "double", "boolean", "date", "timestamp", "decimal(18,2)"}


@pytest.fixture(scope="module")
def manifest() -> dict:
    project = prepare_dbt_project()  # re-parses only when the project changed
    return json.loads(project.manifest_path.read_text(encoding="utf-8"))


def models(manifest: dict, folder: str) -> list[dict]:
    nodes = manifest["nodes"].values()
    found = [n for n in nodes if n["resource_type"] == "model" and n["path"].startswith(f"{folder}/")]
    assert found
    return found


def test_every_mart_enforces_a_contract_with_portable_types(manifest):
    for node in models(manifest, "marts"):
        assert node["config"]["contract"]["enforced"], node["name"]
        assert node["columns"], node["name"]
        for name, column in node["columns"].items():
            assert column["data_type"] in PORTABLE_TYPES, (node["name"], name, column["data_type"])


def test_contract_columns_take_the_return_contracts_type(manifest):
    spend = {c: col["data_type"] for c, col in _node(manifest, "fct_hnb_spend")["columns"].items()}
    assert spend["spend_gbp"] == "decimal(18,2)" and spend["la_code"] == "string"
    for node in models(manifest, "marts"):
        for name, column in node["columns"].items():
            for table in CONTRACT.tables.values():
                if name in table.column_names:
                    assert column["data_type"] == model_contracts.PORTABLE[table.column(name).sql_type]


def test_one_name_has_one_type_across_the_marts(manifest):
    types: dict[str, set[str]] = {}
    for node in models(manifest, "marts"):
        for name, column in node["columns"].items():
            types.setdefault(name, set()).add(column["data_type"])
    assert {name: t for name, t in types.items() if len(t) > 1} == {}


def test_the_generator_check_is_clean():
    done = subprocess.run(
        [sys.executable, "-m", "dbv_pipeline.warehouse.model_contracts", "--check"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_the_generator_follows_the_contract(tmp_path):
    """A contract change of a column's type is one edit: the generator writes it, --check flags the old."""
    marts = tmp_path / "marts"
    marts.mkdir()
    yml = model_contracts.MARTS_DIR / "fct_hnb_spend.yml"
    (marts / yml.name).write_text(yml.read_text(encoding="utf-8"), encoding="utf-8")
    assert model_contracts.check(marts) == []
    hnb = CONTRACT.tables["hnb_spend"]
    columns = tuple(dataclasses.replace(c, type="text") if c.name == "spend_gbp" else c for c in hnb.columns)
    contract = dataclasses.replace(
        CONTRACT,
        tables={
            **{n: t for n, t in CONTRACT.tables.items() if "spend_gbp" not in t.column_names},
            "hnb_spend": dataclasses.replace(hnb, columns=columns),
        },
    )
    assert [p.message for p in model_contracts.check(marts, contract)]
    assert model_contracts.write(marts, contract) == []
    text = (marts / yml.name).read_text(encoding="utf-8")
    assert "      - name: spend_gbp\n        data_type: string\n" in text
    assert model_contracts.check(marts, contract) == []


def test_an_untyped_column_is_reported(tmp_path):
    marts = tmp_path / "marts"
    marts.mkdir()
    (marts / "m.yml").write_text(
        "version: 2\n\nmodels:\n  - name: m\n    columns:\n      - name: la_code\n      - name: mystery\n",
        encoding="utf-8",
    )
    problems = model_contracts.check(marts)
    assert any("m.mystery: no type" in p.message for p in problems)


@pytest.mark.parametrize("folder", ["marts", "playbook"])
def test_every_column_is_described(manifest, folder):
    """Every column of every mart and playbook model has a description (the marts' contracts make the
    YAML list every column the model has; the playbook's are checked against the build elsewhere)."""
    undescribed = [
        f"{node['name']}.{name}"
        for node in models(manifest, folder)
        for name, column in node["columns"].items()
        if not column["description"].strip()
    ]
    assert undescribed == []
    assert all(node["columns"] for node in models(manifest, folder))


def test_every_playbook_column_of_a_built_warehouse_is_described(manifest, playbook_sample):
    """The playbook models have no contracts: their YAML is compared with the built tables."""
    import duckdb

    con = duckdb.connect(str(playbook_sample.paths.warehouse), read_only=True)
    try:
        built = con.sql(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('marts', 'playbook')"
        ).fetchall()
    finally:
        con.close()
    documented = {
        (node["name"], name)
        for folder in ("marts", "playbook")
        for node in models(manifest, folder)
        for name, column in node["columns"].items()
        if column["description"].strip()
    }
    missing = sorted(
        f"{schema}.{table}.{column}" for schema, table, column in built if (table, column) not in documented
    )
    assert missing == []


def _node(manifest: dict, name: str) -> dict:
    return manifest["nodes"][f"model.dbv.{name}"]


def test_the_report_and_exports_are_exposures_on_what_they_read(manifest):
    exposures = {e["name"]: set(e["depends_on"]["nodes"]) for e in manifest["exposures"].values()}
    assert set(exposures) == {"playbook_report", "playbook_exports"}
    playbook = {f"model.dbv.{m}" for m in (*playbook_assets.PLAYBOOK_MARTS, "pb_outcome_indicators")}
    assert (
        playbook | {"model.dbv.dim_la", "model.dbv.dim_statistical_neighbours", "model.dbv.fct_dsg_balance"}
        <= (exposures["playbook_report"])
    )
    assert playbook | {"model.dbv.dim_la"} <= exposures["playbook_exports"]


def test_the_exports_asset_depends_on_dim_la():
    """The exports read dim_la for each LA's name, region, programme and tranche."""
    deps = {key for dep in playbook_assets.exports.specs for key in (d.asset_key for d in dep.deps)}
    assert playbook_assets.warehouse_key("dim_la") in deps
