"""dbt seeds derived from the contract: one ``code_<list>.csv`` per code list, ``contract_columns.csv``,
``assurance_thresholds.csv`` (the thresholds of the cross-source and roll-forward warnings, which
``fct_cross_source_checks`` applies) and ``_contract__seeds.yml`` (their column types, docs and tests).

These files are generated (not committed): edit ``return_spec.yaml`` and the seeds, the dbt
``relationships`` tests that use them, and the dimensions all follow.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

from ..contract import CONTRACT, Contract
from ..settings import SEEDS_DIR

CONTRACT_COLUMNS_SEED = "contract_columns"
THRESHOLDS_SEED = "assurance_thresholds"
SEEDS_YAML = "_contract__seeds.yml"


def code_seed_name(code_list: str) -> str:
    return f"code_{code_list}"


def _csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def seed_files(contract: Contract = CONTRACT) -> dict[str, str]:
    """File name → content of every generated seed file."""
    files = {}
    for name, code_list in contract.code_lists.items():
        rows = [[code, label, i] for i, (code, label) in enumerate(code_list.codes.items(), start=1)]
        files[f"{code_seed_name(name)}.csv"] = _csv(["code", "label", "sort_order"], rows)

    columns = [
        [table.name, col.name, col.type, col.sql_type, col.code_list or "", str(col.required).lower()]
        for table in contract.tables.values()
        for col in table.columns
    ]
    files[f"{CONTRACT_COLUMNS_SEED}.csv"] = _csv(
        ["table_name", "column_name", "type", "sql_type", "code_list", "required"], columns
    )
    thresholds: list[list[object]] = [
        [r.code, r.severity, r.home, r.measure, r.threshold, r.compares_with, r.text]
        for r in contract.assurance_rules.values()
        if r.threshold is not None
    ]
    files[f"{THRESHOLDS_SEED}.csv"] = _csv(
        ["rule_code", "severity", "home", "measure", "threshold", "compares_with", "message"], thresholds
    )
    files[SEEDS_YAML] = _seeds_yaml(contract)
    return files


def _seeds_yaml(contract: Contract) -> str:
    code_seeds = [
        {
            "name": code_seed_name(name),
            "description": f"Contract code list `{name}`: {code_list.description}. Generated from return_spec.yaml.",
            "config": {"column_types": {"code": "string", "label": "string", "sort_order": "integer"}},
            "data_tests": [{"not_null_columns": {"arguments": {"columns": ["code", "label", "sort_order"]}}}],
            "columns": [
                {"name": "code", "description": "The code as it appears in the data", "data_tests": ["unique"]},
                {"name": "label", "description": "Plain-English label"},
                {"name": "sort_order", "description": "Display order (the contract's order)", "data_tests": ["unique"]},
            ],
        }
        for name, code_list in contract.code_lists.items()
    ]
    columns_seed = {
        "name": CONTRACT_COLUMNS_SEED,
        "description": "Every column of every contract table. Generated from return_spec.yaml.",
        "config": {
            "column_types": {
                "table_name": "string",
                "column_name": "string",
                "type": "string",
                "sql_type": "string",
                "code_list": "string",
                "required": "boolean",
            }
        },
        "data_tests": [
            {"unique_combination_of_columns": {"arguments": {"combination_of_columns": ["table_name", "column_name"]}}}
        ],
        "columns": [
            {"name": "table_name", "description": "Contract table"},
            {"name": "column_name", "description": "Column name"},
            {"name": "type", "description": "Contract type (la_code, text, date, code, money, financial_year, urn)"},
            {"name": "sql_type", "description": "DuckDB type in the raw layer and staging"},
            {"name": "code_list", "description": "Code list of a `code` column (seed code_<code_list>), else blank"},
            {"name": "required", "description": "False where the value may be blank"},
        ],
    }
    thresholds_seed = {
        "name": THRESHOLDS_SEED,
        "description": "The thresholds of the warnings that compare a value with another source or year "
        "(contract `assurance_rules`), one row per rule. Generated from return_spec.yaml.",
        "config": {
            "column_types": {
                "rule_code": "string",
                "severity": "string",
                "home": "string",
                "measure": "string",
                "threshold": "double",
                "compares_with": "string",
                "message": "string",
            }
        },
        "data_tests": [
            {
                "not_null_columns": {
                    "arguments": {"columns": ["rule_code", "severity", "home", "measure", "threshold", "message"]}
                }
            }
        ],
        "columns": [
            {"name": "rule_code", "description": "The rule (W_*)", "data_tests": ["unique"]},
            {"name": "severity", "description": "warning"},
            {"name": "home", "description": "Where the rule is checked for the LA (gx: its feedback report)"},
            {
                "name": "measure",
                "description": "What the threshold bounds: gap_gbp or gap_ratio (breached beyond ±threshold), "
                "ratio (breached above it)",
            },
            {"name": "threshold", "description": "The tolerance (pounds, a fraction, or a multiple)"},
            {"name": "compares_with", "description": "The other source the LA's value is compared with"},
            {"name": "message", "description": "The rule in plain words, as the LA's feedback report says it"},
        ],
    }
    header = "# Generated by dbv_pipeline.warehouse.seeds from return_spec.yaml; do not edit.\n"
    return header + yaml.safe_dump(
        {"version": 2, "seeds": [*code_seeds, columns_seed, thresholds_seed]}, sort_keys=False
    )


def write_contract_seeds(seeds_dir: Path = SEEDS_DIR, contract: Contract = CONTRACT) -> list[Path]:
    """Write the generated seed files; a file whose content is unchanged is left alone (so its
    modification time does not force a dbt re-parse). Stale ``code_*.csv`` files are removed."""
    files = seed_files(contract)
    seeds_dir.mkdir(parents=True, exist_ok=True)
    for stale in seeds_dir.glob("code_*.csv"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, content in files.items():
        path = seeds_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
