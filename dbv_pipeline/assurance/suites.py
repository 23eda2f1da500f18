"""Great Expectations suites, generated from the contract and stored as JSON in ``expectations/``.

``python -m dbv_pipeline.assurance.suites`` writes them; ``--check`` exits 1 if a stored suite is out
of sync with the contract. The pipeline loads suites from the JSON (``load_suite``), never from
here. Every expectation's ``meta`` carries ``rule_code`` and ``severity`` (``error`` or
``warning``, see ``rules.py``). Building suites needs no GX import; loading them does.

GX holds only the rules whose home is ``gx``: the raw layer's conformance and in-table warnings, and
the cross-source warnings. The marts' rules (``M_*``) are dbt tests, not suites.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..contract import CONTRACT, TABLES, Column
from ..settings import EXPECTATIONS_DIR
from .rules import RULES, column_scope

# Lineage columns the ingest adds to every raw table (docs/raw_layer.md).
LINEAGE = ("source_file", "source_sha256", "source_line", "received_at", "return_period")
# A raw version is identified by these; keys must be unique within a version.
VERSION_KEY = ("la_code", "return_period", "source_sha256")

# Pandas types of each contract type once read from Parquet (data.read_raw): DATE is datetime64,
# DECIMAL is float64, and text is pandas' ``string`` dtype, named "StringDtype" in GX (data.read_raw;
# validate._gx_frame for other frames), so GX checks the column's dtype, not each value.
PANDAS_TYPES = {
    "text": ["StringDtype"],
    "code": ["StringDtype"],
    "la_code": ["StringDtype"],
    "financial_year": ["StringDtype"],
    "urn": ["StringDtype"],
    "date": ["datetime64[s]", "datetime64[ms]", "datetime64[us]", "datetime64[ns]"],
    "money": ["float64"],
}
FORMATS = {"la_code": "^[0-9]{3}$", "financial_year": "^[0-9]{4}-[0-9]{2}$", "urn": "^[0-9]{6}$"}
GX_SEVERITY = {"error": "critical", "warning": "warning"}


def expectation(type_: str, rule_code: str, description: str, **kwargs) -> dict:
    """One expectation in GX 1.x JSON form; severity comes from the rule."""
    severity = RULES[rule_code].severity
    return {
        "type": type_,
        "kwargs": kwargs,
        "meta": {"rule_code": rule_code, "severity": severity},
        "description": description,
        "severity": GX_SEVERITY[severity],
    }


def suite(name: str, description: str, expectations: list[dict]) -> dict:
    return {
        "name": name,
        "id": None,
        "expectations": expectations,
        "meta": {"description": description, "generated_from": f"contract spec v{CONTRACT.spec_version}"},
        "notes": None,
    }


def _column_expectations(col: Column) -> list[dict]:
    c = col.name
    out = [
        expectation("expect_column_to_exist", "C_COLUMN", f"{c} is present", column=c),
        expectation(
            "expect_column_values_to_be_in_type_list",
            "C_TYPE",
            f"{c} is loaded with the {col.type} type",
            column=c,
            type_list=PANDAS_TYPES[col.type],
        ),
    ]
    if column_scope("C_REQUIRED", col):
        out.append(expectation("expect_column_values_to_not_be_null", "C_REQUIRED", f"{c} is never blank", column=c))
    if column_scope("C_CODE", col):
        out.append(
            expectation(
                "expect_column_values_to_be_in_set",
                "C_CODE",
                f"{c} is in code list {col.code_list}",
                column=c,
                value_set=CONTRACT.codes(col.code_list),
            )
        )
    for regex in filter(None, (FORMATS.get(col.type), col.pattern)):
        out.append(
            expectation(
                "expect_column_values_to_match_regex", "C_FORMAT", f"{c} matches {regex}", column=c, regex=regex
            )
        )
    if col.max_length:
        out.append(
            expectation(
                "expect_column_value_lengths_to_be_between",
                "C_FORMAT",
                f"{c} is at most {col.max_length} characters",
                column=c,
                max_value=col.max_length,
            )
        )
    if column_scope("C_MIN", col):
        out.append(
            expectation(
                "expect_column_values_to_be_between", "C_MIN", f"{c} is at least {col.min}", column=c, min_value=col.min
            )
        )
    return out


def raw_suite(table_name: str) -> dict:
    """Post-load conformance of one raw table to the contract, plus its in-table warnings."""
    table = TABLES[table_name]
    exps = [e for col in table.columns for e in _column_expectations(col)]
    exps += [
        expectation("expect_column_to_exist", "C_COLUMN", f"lineage column {c} is present", column=c) for c in LINEAGE
    ]
    exps.append(
        expectation(
            "expect_compound_columns_to_be_unique",
            "C_KEY",
            "each source line loads once per version",
            column_list=[*VERSION_KEY, "source_line"],
            ignore_row_if="never",
        )
    )
    if table.unique:
        exps.append(
            expectation(
                "expect_compound_columns_to_be_unique",
                "C_KEY",
                f"({', '.join(table.unique)}) is unique within a version",
                column_list=[*VERSION_KEY, *table.unique],
                ignore_row_if="never",
            )
        )
    if table_name == "hnb_spend":
        exps.append(
            expectation(
                "expect_column_values_to_be_between",
                "W_NEGATIVE_SPEND",
                "spend_gbp is not negative",
                column="spend_gbp",
                min_value=0,
            )
        )
    return suite(f"raw_{table_name}", f"Loaded raw {table_name} conforms to the contract", exps)


def roll_forward_suite() -> dict:
    """On the derived frame of ``derive.dsg_roll_forward``: one row per dsg_plan row with a previous year."""
    tol = RULES["W_ROLL_FORWARD"].threshold
    return suite(
        "dsg_roll_forward",
        "DSG plan cumulative balances roll forward year to year",
        [
            expectation(
                "expect_column_values_to_be_between",
                "W_ROLL_FORWARD",
                f"cumulative balance = previous cumulative + in-year balance, within £{tol:,.0f}",
                column="roll_forward_gap_gbp",
                min_value=-tol,
                max_value=tol,
            ),
        ],
    )


def cross_source_suites() -> list[dict]:
    """On the derived frames of ``derive.caseload_vs_dfe``, ``hnb_vs_dsg`` and ``unit_cost_vs_median``."""
    caseload, spend, cost = (RULES[c].threshold for c in ("W_CASELOAD_DFE", "W_HNB_VS_DSG", "W_UNIT_COST"))
    return [
        suite(
            "caseload_vs_dfe",
            "LA caseload is close to DfE's published caseload for the same census",
            [
                expectation(
                    "expect_column_values_to_be_between",
                    "W_CASELOAD_DFE",
                    f"LA caseload within {caseload:.0%} of DfE's",
                    column="caseload_gap_ratio",
                    min_value=-caseload,
                    max_value=caseload,
                ),
            ],
        ),
        suite(
            "hnb_vs_dsg",
            "HNB outturn is close to the DSG plan's ACTUAL expenditure for the same year",
            [
                expectation(
                    "expect_column_values_to_be_between",
                    "W_HNB_VS_DSG",
                    f"HNB outturn within {spend:.0%} of DSG plan expenditure",
                    column="spend_gap_ratio",
                    min_value=-spend,
                    max_value=spend,
                ),
            ],
        ),
        suite(
            "unit_cost_vs_median",
            "Unit costs are not far above the national median for their provision",
            [
                expectation(
                    "expect_column_values_to_be_between",
                    "W_UNIT_COST",
                    f"unit cost at most {cost:g} times the national median",
                    column="unit_cost_ratio",
                    max_value=cost,
                ),
            ],
        ),
    ]


def build_suites() -> dict[str, dict]:
    """Every suite by name (the JSON file is ``<name>.json``)."""
    suites = [raw_suite(t) for t in TABLES]
    suites.append(roll_forward_suite())
    suites += cross_source_suites()
    return {s["name"]: s for s in suites}


def dumps(suite_dict: dict) -> str:
    return json.dumps(suite_dict, indent=2, ensure_ascii=False) + "\n"


def out_of_sync(directory: Path = EXPECTATIONS_DIR) -> list[str]:
    """Names of suites whose JSON differs from what the contract generates (or is missing/extra)."""
    built = build_suites()
    stale = [
        n
        for n, s in built.items()
        if not (directory / f"{n}.json").exists() or (directory / f"{n}.json").read_text(encoding="utf-8") != dumps(s)
    ]
    extra = [p.stem for p in directory.glob("*.json") if p.stem not in built]
    return sorted(stale + extra)


def write_suites(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, s in build_suites().items():
        path = directory / f"{name}.json"
        path.write_text(dumps(s), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the stored suites are out of sync")
    parser.add_argument("--dir", type=Path, default=EXPECTATIONS_DIR)
    args = parser.parse_args(argv)
    if args.check:
        stale = out_of_sync(args.dir)
        for name in stale:
            print(f"out of sync: {name}.json (run python -m dbv_pipeline.assurance.suites)")
        return 1 if stale else 0
    for path in write_suites(args.dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
