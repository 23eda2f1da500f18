"""The rule registry: every rule once, with one home, a severity, and at least one test."""

from __future__ import annotations

import re
from pathlib import Path

from dbv_pipeline.assurance.rules import HOMES, MARTS, RULES, SEVERITIES, rules_for
from dbv_pipeline.assurance.suites import build_suites
from dbv_pipeline.contract import CONTRACT, SPEC_PATH, TABLES, load_contract
from dbv_pipeline.warehouse.seeds import seed_files

TESTS = Path(__file__).parent


def test_every_rule_has_one_home_and_a_severity():
    for rule in RULES.values():
        assert rule.home in HOMES and rule.severity in SEVERITIES, rule
        assert rule.message.strip(), rule
    assert sorted(r.code for h in HOMES for r in rules_for(h)) == sorted(RULES)


def test_ingest_owns_every_contract_rule_and_every_reject():
    assert {r.code for r in rules_for("ingest")} == contract_codes()
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


def test_every_contract_rule_has_exactly_one_home():
    """The contract lists each rule once (a YAML mapping cannot repeat a key unnoticed: it is read
    here again and counted), with one home: gx for the raw checks and the cross-source warnings, dbt
    for the marts' rules."""
    text = SPEC_PATH.read_text(encoding="utf-8")
    section = text[text.index("\nassurance_rules:") : text.index("\nmarts:")]
    codes = re.findall(r"^  ([A-Z][A-Z0-9_]+):", section, re.M)
    assert len(codes) == len(set(codes)) == len(CONTRACT.assurance_rules)
    homes = {code: rule.home for code, rule in CONTRACT.assurance_rules.items()}
    assert {c for c, h in homes.items() if h == "dbt"} == {c for c in homes if c.startswith("M_")}
    assert {c for c, h in homes.items() if h == "gx"} == {c for c in homes if c[:2] in ("W_", "C_")}
    for code, rule in CONTRACT.assurance_rules.items():
        assert RULES[code].home == rule.home and RULES[code].severity == rule.severity, code
    assert set(CONTRACT.assurance_rules).isdisjoint(contract_codes())


def contract_codes() -> set[str]:
    return set(CONTRACT.rules) | {r.code for t in TABLES.values() for r in t.row_rules}


def test_thresholds_are_in_the_contract_not_in_python():
    source = (TESTS.parent / "dbv_pipeline" / "assurance" / "rules.py").read_text(encoding="utf-8")
    assert not re.search(r"^[A-Z_]+ = [0-9.]+$", source, re.M), "a threshold constant in rules.py"
    thresholds = {c: r.threshold for c, r in RULES.items() if r.threshold is not None}
    assert thresholds == {c: r.threshold for c, r in CONTRACT.assurance_rules.items() if r.threshold is not None}
    # messages say their threshold, filled in from it
    assert "within £1,000" in RULES["W_ROLL_FORWARD"].message
    assert "by more than 5%" in RULES["W_CASELOAD_DFE"].message
    assert "by more than 2%" in RULES["W_HNB_VS_DSG"].message
    assert "more than 3 times the national median" in RULES["W_UNIT_COST"].message
    for code in ("W_ROLL_FORWARD", "W_CASELOAD_DFE", "W_HNB_VS_DSG", "W_UNIT_COST"):
        assert RULES[code].compares_with and "{" not in RULES[code].message, code


def test_a_changed_threshold_reaches_the_rule_and_the_seed(tmp_path):
    text = SPEC_PATH.read_text(encoding="utf-8").replace("threshold: 0.05", "threshold: 0.1")
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    contract = load_contract(tmp_path / "spec.yaml")
    assert contract.assurance_rules["W_CASELOAD_DFE"].threshold == 0.1
    assert "by more than 10%" in contract.assurance_rules["W_CASELOAD_DFE"].text
    assert "W_CASELOAD_DFE,warning,gx,gap_ratio,0.1," in seed_files(contract)["assurance_thresholds.csv"]


def test_every_mart_rule_names_real_contract_columns():
    for name, mart in MARTS.items():
        assert mart.source in TABLES, name
        assert set(mart.codes.values()) <= set(CONTRACT.code_lists), name
        assert set(mart.minimums) <= set(mart.columns), name


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
    rows = dict(re.findall(r"^\| `([A-Z0-9_]+)` \| (ingest|gx|dbt) \|", doc, re.M))
    assert rows == {code: rule.home for code, rule in RULES.items()}
