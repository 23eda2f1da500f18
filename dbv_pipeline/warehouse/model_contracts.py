"""dbt model contracts of the marts: ``contract: {enforced: true}`` and a ``data_type`` on every column,
written into the marts' YAML from the return contract (issue 13).

A column that comes from the return contract (``la_code``, ``financial_year``, ``spend_gbp``, …) takes
the contract's type (``return_spec.yaml`` → ``contract.SQL_TYPES``); every other column takes its type
from ``WAREHOUSE_TYPES``, by name: one name has one meaning and one type in every mart. Types are
written in names DuckDB and Spark SQL both accept (``string``, not ``varchar``), and the models cast
computed columns to them, so both engines build the declared types.

    python -m dbv_pipeline.warehouse.model_contracts          # write data_type and the contract config
    python -m dbv_pipeline.warehouse.model_contracts --check  # exit 1 if a YAML disagrees (tests, CI)

Edit the return contract or ``WAREHOUSE_TYPES`` and rerun; never edit a mart's ``data_type`` by hand.
A type change of an incremental mart (fct_ehcp_census, fct_ehcp_flows) needs ``dbt build
--full-refresh`` of it on an existing warehouse (``on_schema_change: fail``), on DuckDB and Spark.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..contract import CONTRACT, Contract
from ..settings import DBT_PROJECT_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"

# The contract's SQL types (DuckDB names) in names both engines accept.
PORTABLE = {"VARCHAR": "string", "DATE": "date", "DECIMAL(18,2)": "decimal(18,2)"}

# Columns of the marts that are not in the return contract, by name (one type per name).
WAREHOUSE_TYPES = {
    # keys and labels
    "ons_la_code": "string",
    "la_name": "string",
    "region_code": "string",
    "region_name": "string",
    "programme": "string",
    "tranche": "integer",
    "diagnostic_start_date": "date",
    "cohort_source": "string",
    "neighbour_la_code": "string",
    "neighbour_ons_la_code": "string",
    "neighbour_la_name": "string",
    "neighbour_rank": "integer",
    "proximity": "string",
    "age_group": "string",
    "label": "string",
    "sort_order": "integer",
    "is_placement_provision": "boolean",
    "line_of_enquiry_label": "string",
    # years and periods
    "return_period": "string",
    "census_year": "bigint",
    "census_date": "date",
    "calendar_year": "integer",
    "time_period": "string",
    "flow_year": "bigint",
    "flow_period_start": "date",
    "flow_period_end": "date",
    # counts
    "ehcp_count": "bigint",
    "total_ehcp_count": "bigint",
    "start_census_ehcp_count": "bigint",
    "end_census_ehcp_count": "bigint",
    "average_ehcp_count": "double",
    "flow_count": "bigint",
    "flow_type": "string",
    "from_provision_type": "string",
    "to_provision_type": "string",
    "line_count": "bigint",
    "mitigation_count": "bigint",
    "costed_placements": "bigint",
    "statements": "bigint",
    "all_plans": "bigint",
    "new_plans": "bigint",
    "plans_by_placement": "bigint",
    "requests_received": "bigint",
    "requests_refused": "bigint",
    "assessments": "bigint",
    "plans_issued": "bigint",
    "plans_issued_within_20_weeks": "bigint",
    "plans_issued_excl_exceptions": "bigint",
    "plans_issued_within_20_weeks_excl_exceptions": "bigint",
    "tribunal_appeals": "bigint",
    "tribunal_appealable_decisions": "bigint",
    # money and ratios
    "unit_cost_gbp": "double",
    "mean_placement_cost_gbp": "double",
    "in_year_balance_pct_of_income": "double",
    "cumulative_balance_pct_of_income": "double",
    "pct_of_plans_by_placement": "double",
    "pct_in_mainstream": "double",
    "pct_in_inmss": "double",
    "pct_requests_refused": "double",
    "pct_issued_within_20_weeks": "double",
    "pct_issued_within_20_weeks_excl_exceptions": "double",
    "tribunal_appeal_rate_pct": "double",
    # public areas
    "geographic_level": "string",
    "area_code": "string",
    "area_name": "string",
    "harmonised": "boolean",
    "la_codes": "string",
    # the ledger and findings
    "submission_id": "string",
    "table_name": "string",
    "source_file": "string",
    "source_sha256": "string",
    "received_at": "timestamp",
    "ledger_sequence": "bigint",
    "outcome": "string",
    "reason": "string",
    "is_current_version": "boolean",
    "rows_in": "bigint",
    "rows_loaded": "bigint",
    "rows_rejected": "bigint",
    "warnings": "bigint",
    "file_rejected_findings": "bigint",
    "row_rejected_findings": "bigint",
    "rejected_lines": "bigint",
    "warning_findings": "bigint",
    "line": "bigint",
    "column_name": "string",
    "value": "string",
    "rule_code": "string",
    "message": "string",
    # cross-source checks (fct_cross_source_checks)
    "la_value": "double",
    "compares_with": "string",
    "compared_value": "double",
    "difference": "double",
    "measure": "string",
    "measured_value": "double",
    "threshold": "double",
    "is_breached": "boolean",
}


class ContractTypeConflict(ValueError):
    """One column name with two types (in the return contract, or between it and WAREHOUSE_TYPES)."""


def contract_types(contract: Contract = CONTRACT) -> dict[str, str]:
    """Column name → portable type, for every column of the return contract."""
    types: dict[str, str] = {}
    for table in contract.tables.values():
        for column in table.columns:
            portable = PORTABLE[column.sql_type]
            if types.setdefault(column.name, portable) != portable:
                raise ContractTypeConflict(f"{column.name}: {types[column.name]} and {portable} in the contract")
    return types


def column_types(contract: Contract = CONTRACT) -> dict[str, str]:
    """Column name → the type every mart declares for it."""
    from_contract = contract_types(contract)
    clash = sorted(n for n in from_contract.keys() & WAREHOUSE_TYPES.keys() if from_contract[n] != WAREHOUSE_TYPES[n])
    if clash:
        raise ContractTypeConflict(f"typed differently in WAREHOUSE_TYPES and the return contract: {clash}")
    return {**WAREHOUSE_TYPES, **from_contract}


@dataclass
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(DBT_PROJECT_DIR)}: {self.message}"


MODEL = re.compile(r"^  - name: (\w+)\s*$")
COLUMNS = re.compile(r"^    columns:\s*$")
COLUMN = re.compile(r"^      - name: (\w+)\s*$")
DATA_TYPE = re.compile(r"^        data_type: .*$")
CONTRACT_CONFIG = ["    config:", "      contract: {enforced: true}"]


def with_contract(text: str, types: dict[str, str], path: Path, problems: list[Problem]) -> str:
    """The YAML ``text`` of mart models with the contract config right before each model's columns and
    each column's data_type right after its name (a generated line already there is replaced)."""
    out: list[str] = []
    model = None
    in_columns = False
    for line in text.split("\n"):
        if DATA_TYPE.match(line) and in_columns:
            continue
        if m := MODEL.match(line):
            model, in_columns = m.group(1), False
        elif model and COLUMNS.match(line):
            if out[-len(CONTRACT_CONFIG) :] == CONTRACT_CONFIG:
                del out[-len(CONTRACT_CONFIG) :]
            elif "    config:" in _model_lines(out):
                problems.append(Problem(path, f"{model}: has its own config block; add the contract to it"))
            out += [*CONTRACT_CONFIG, line]
            in_columns = True
            continue
        out.append(line)
        if in_columns and (m := COLUMN.match(line)):
            if m.group(1) in types:
                out.append(f"        data_type: {types[m.group(1)]}")
            else:
                problems.append(Problem(path, f"{model}.{m.group(1)}: no type (add it to WAREHOUSE_TYPES)"))
    return "\n".join(out)


def _model_lines(out: list[str]) -> list[str]:
    """The lines of the model being read so far (from its `- name:` on)."""
    for k in range(len(out) - 1, -1, -1):
        if MODEL.match(out[k]):
            return out[k:]
    return out


def mart_yaml_files(marts_dir: Path = MARTS_DIR) -> list[Path]:
    return sorted(marts_dir.rglob("*.yml"))


def _generated(marts_dir: Path, contract: Contract) -> tuple[dict[Path, str], list[Problem]]:
    """The generated text of every mart YAML that differs from it, and the problems that need a hand."""
    problems: list[Problem] = []
    stale: dict[Path, str] = {}
    types = column_types(contract)
    for path in mart_yaml_files(marts_dir):
        current = path.read_text(encoding="utf-8")
        text = with_contract(current, types, path, problems)
        if text != current:
            stale[path] = text
    return stale, problems


def write(marts_dir: Path = MARTS_DIR, contract: Contract = CONTRACT) -> list[Problem]:
    """Write the contracts into every mart YAML that differs; the problems that need a hand."""
    stale, problems = _generated(marts_dir, contract)
    for path, text in stale.items():
        path.write_text(text, encoding="utf-8")
    return problems


def check(marts_dir: Path = MARTS_DIR, contract: Contract = CONTRACT) -> list[Problem]:
    """The mart YAMLs that disagree with the return contract and WAREHOUSE_TYPES (none: all agree)."""
    stale, problems = _generated(marts_dir, contract)
    return problems + [Problem(path, "data_type or contract config differs from the generated one") for path in stale]


def main(argv: list[str]) -> int:
    problems = check() if "--check" in argv else write()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems and "--check" in argv:
        print("run `python -m dbv_pipeline.warehouse.model_contracts` to regenerate", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
