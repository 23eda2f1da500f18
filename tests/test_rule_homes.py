"""One owner per rule (issue 15): every rule of the contract has exactly one home, and no mart rule is
checked by both dbt and GX. dbt's side is read from the manifest (each mart test carries its rule code
in ``meta``), GX's from the stored suites (``expectations/*.json``)."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from dbv_pipeline.assurance.rules import MARTS, RULES, rules_for
from dbv_pipeline.contract import CONTRACT, TABLES
from dbv_pipeline.settings import EXPECTATIONS_DIR

FORMAT_TYPES = ("la_code", "financial_year")  # the contract types with a format the marts keep


def gx_suites() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXPECTATIONS_DIR.glob("*.json"))}


def test_gx_holds_no_mart_rule_and_validates_no_mart():
    suites = gx_suites()
    dbt_rules = {r.code for r in rules_for("dbt")}
    assert dbt_rules == {"M_COLUMN", "M_REQUIRED", "M_KEY", "M_CODE", "M_RANGE"}
    for name, suite in suites.items():
        assert name not in MARTS and not name.startswith(("fct_", "dim_")), name
        codes = {e["meta"]["rule_code"] for e in suite["expectations"]}
        assert not codes & dbt_rules, (name, codes & dbt_rules)
        assert {RULES[c].home for c in codes} == {"gx"}, name


def required_tests() -> dict[str, set[tuple[str, str]]]:
    """(mart, column) each mart rule must be tested on, from the contract's ``marts``."""
    need: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for name, mart in MARTS.items():
        source = {c.name: c for c in TABLES[mart.source].columns}
        need["M_COLUMN"] |= {(name, c) for c in mart.columns}
        need["M_REQUIRED"] |= {(name, c) for c in mart.key + mart.measures}
        need["M_KEY"] |= {(name, c) for c in mart.key}
        for c in mart.columns:
            col = source.get(c)
            if mart.codes.get(c) or (col is not None and (col.code_list or col.type in FORMAT_TYPES)):
                need["M_CODE"].add((name, c))
            if c in mart.minimums or (col is not None and col.min is not None):
                need["M_RANGE"].add((name, c))
    return need


def dbt_rule_tests(manifest: dict) -> dict[str, set[tuple[str, str]]]:
    """(model, column) each dbt test with a ``rule_code`` covers, per rule code."""
    covered: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for node in manifest["nodes"].values():
        code = node.get("config", {}).get("meta", {}).get("rule_code")
        if node["resource_type"] != "test" or not code:
            continue
        model = node["attached_node"].split(".")[-1]
        kwargs = node["test_metadata"]["kwargs"]
        columns = kwargs.get("columns") or kwargs.get("combination_of_columns") or [kwargs["column_name"]]
        covered[code] |= {(model, c) for c in columns}
    return covered


@pytest.mark.integration
def test_every_mart_rule_is_a_dbt_test_and_none_is_also_in_gx():
    from dbv_pipeline.warehouse.prepare import prepare_dbt_project

    project = prepare_dbt_project()
    manifest = json.loads(project.manifest_path.read_text(encoding="utf-8"))
    covered = dbt_rule_tests(manifest)
    # every rule a dbt test carries is a dbt rule, and every dbt rule is tested wherever the contract says
    assert set(covered) == {r.code for r in rules_for("dbt")}
    for code, needed in required_tests().items():
        assert needed <= covered[code], (code, sorted(needed - covered[code]))
    # no mart column rule is in both: GX validates no model dbt tests, and holds no dbt rule
    tested_models = {m for pairs in covered.values() for m, _ in pairs}
    suites = gx_suites()
    assert not tested_models & set(suites)
    gx_rules = {e["meta"]["rule_code"] for s in suites.values() for e in s["expectations"]}
    assert not gx_rules & set(covered)
    # and the code lists the dbt tests use are the contract's
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("config", {}).get("meta", {}).get("rule_code") == "M_CODE":
            kwargs = node["test_metadata"]["kwargs"]
            if "to" in kwargs:
                seed = kwargs["to"].split("'")[1]
                assert seed.removeprefix("code_") in CONTRACT.code_lists, seed
