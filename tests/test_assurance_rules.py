"""The rule registry: every rule once, with one home, a severity, and at least one test."""

from __future__ import annotations

import re
from pathlib import Path

from dbv_pipeline.assurance.rules import HOMES, RULES, SEVERITIES, rules_for
from dbv_pipeline.assurance.suites import build_suites
from dbv_pipeline.contract import CONTRACT, TABLES

TESTS = Path(__file__).parent


def test_every_rule_has_one_home_and_a_severity():
    for rule in RULES.values():
        assert rule.home in HOMES and rule.severity in SEVERITIES, rule
        assert rule.message.strip(), rule
    assert sorted(r.code for h in HOMES for r in rules_for(h)) == sorted(RULES)


def test_ingest_owns_every_contract_rule_and_every_reject():
    contract_codes = set(CONTRACT.rules) | {r.code for t in TABLES.values() for r in t.row_rules}
    assert {r.code for r in rules_for("ingest")} == contract_codes
    for rule in RULES.values():
        if rule.severity in ("file_rejected", "row_rejected"):
            assert rule.home == "ingest", rule


def test_gx_owns_the_warnings_of_spec_section_4_and_the_errors():
    gx = {r.code: r for r in rules_for("gx")}
    assert {c for c, r in gx.items() if r.severity == "warning"} == {
        "W_NEGATIVE_SPEND",
        "W_ROLL_FORWARD",
        "W_CASELOAD_DFE",
        "W_HNB_VS_DSG",
        "W_UNIT_COST",
    }
    assert {r.severity for r in gx.values()} == {"warning", "error"}
    assert (
        gx["W_ROLL_FORWARD"].threshold,
        gx["W_CASELOAD_DFE"].threshold,
        gx["W_HNB_VS_DSG"].threshold,
        gx["W_UNIT_COST"].threshold,
    ) == (1000, 0.05, 0.02, 3)


def test_every_gx_rule_is_in_a_suite_and_every_suite_rule_is_gx():
    used = {e["meta"]["rule_code"] for s in build_suites().values() for e in s["expectations"]}
    assert used == {r.code for r in rules_for("gx")}


def test_fields_name_real_columns():
    for rule in RULES.values():
        for f in rule.fields:
            assert re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", f), (rule.code, f)


def test_every_rule_is_referenced_by_a_test():
    text = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.glob("test_*.py") if p.name != Path(__file__).name)
    missing = [code for code in RULES if not re.search(rf"\b{code}\b", text)]
    assert not missing, f"rules without a test: {missing}"


def test_docs_list_every_rule_with_its_home():
    doc = (TESTS.parent / "docs" / "assurance.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([A-Z0-9_]+)` \| (ingest|gx) \|", doc, re.M))
    assert rows == {code: rule.home for code, rule in RULES.items()}
