"""The rule registry: every assurance rule of spec §2 and §4, listed once, with its home.

Home ``ingest``: the normaliser rejects files and rows (and warns of extra columns) as it loads them;
those rules and their messages come from the contract (``file_rules``, ``row_check_rules`` and each
table's ``row_rules``). Home ``gx``: Great Expectations suites (``expectations/*.json``) run on the
loaded raw layer and on the marts; they hold the remaining warnings of §4 and the post-load
conformance checks (severity ``error``, which block downstream assets).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..contract import CONTRACT, TABLES, Column

SEVERITIES = ("file_rejected", "row_rejected", "warning", "error")
HOMES = ("ingest", "gx")


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str  # one of SEVERITIES
    home: str  # one of HOMES
    message: str  # plain words, for an LA data officer
    fields: tuple[str, ...] = ()  # "table.column" (tables, marts or derived frames)
    threshold: float | None = None


# Thresholds of the GX warnings (spec §4).
ROLL_FORWARD_TOLERANCE_GBP = 1000
CASELOAD_TOLERANCE = 0.05
HNB_VS_DSG_TOLERANCE = 0.02
UNIT_COST_MULTIPLE = 3


@dataclass(frozen=True)
class Mart:
    """What a key mart must satisfy (rules M_*). Code lists, formats and minimums come from the contract for
    columns named as in the source table; ``codes`` adds others; ``counts`` are minimum counts."""

    source: str  # the contract table it is built from
    key: tuple[str, ...]
    measures: tuple[str, ...]  # present and never blank
    optional: tuple[str, ...] = ()  # present, may be blank
    codes: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


MARTS = {
    "fct_ehcp_census": Mart(
        "placements",
        ("la_code", "census_year", "provision_type", "primary_need", "age_group"),
        ("census_date", "ehcp_count"),
        codes={"age_group": "age_group"},
        counts={"ehcp_count": 1},
    ),
    "fct_hnb_spend": Mart(
        "hnb_spend",
        ("la_code", "financial_year", "provision_type", "spend_type"),
        ("spend_gbp", "line_count", "return_period"),
        counts={"line_count": 1},
    ),
    "fct_unit_cost": Mart(
        "hnb_spend",
        ("la_code", "financial_year", "provision_type", "spend_type"),
        ("spend_gbp", "costed_placements"),
        optional=(
            "start_census_ehcp_count",
            "end_census_ehcp_count",
            "average_ehcp_count",
            "unit_cost_gbp",
            "mean_placement_cost_gbp",
        ),
        codes={"provision_type": "provision_type"},
        counts={"start_census_ehcp_count": 0, "end_census_ehcp_count": 0, "costed_placements": 0},
    ),
    "fct_dsg_balance": Mart(
        "dsg_plan",
        ("la_code", "financial_year", "scenario"),
        ("hnb_income_gbp", "hnb_expenditure_gbp", "in_year_balance_gbp", "cumulative_balance_gbp", "return_period"),
        optional=("in_year_balance_pct_of_income", "cumulative_balance_pct_of_income"),
    ),
}


# Which contract columns each column-derived rule touches.
_COLUMN_SCOPE = {
    "F_COLUMN_MISSING": lambda c: True,
    "F_LA_MISMATCH": lambda c: c.type == "la_code",
    "F_PERSONAL_VALUE": lambda c: c.type == "text",
    "R_REQUIRED": lambda c: c.required,
    "R_TYPE": lambda c: c.type in ("date", "money", "la_code", "financial_year", "urn"),
    "R_DATE": lambda c: c.type == "date",
    "R_CODE": lambda c: c.type == "code",
    "R_PATTERN": lambda c: c.pattern is not None,
    "R_LENGTH": lambda c: c.max_length is not None,
    "R_MIN": lambda c: c.min is not None,
    "R_DUPLICATE": lambda c: True,
    "C_COLUMN": lambda c: True,
    "C_TYPE": lambda c: True,
    "C_REQUIRED": lambda c: c.required,
    "C_CODE": lambda c: c.type == "code",
    "C_FORMAT": lambda c: c.type in ("la_code", "financial_year", "urn") or bool(c.pattern or c.max_length),
    "C_MIN": lambda c: c.min is not None,
}


def _fields(code: str) -> tuple[str, ...]:
    """The contract fields a column-derived rule touches (key and overlap rules from the tables)."""
    if code == "M_KEY":
        return tuple(f"{m}.{c}" for m, mart in MARTS.items() for c in mart.key)
    if code in ("M_COLUMN", "M_REQUIRED", "M_CODE", "M_RANGE"):
        return tuple(f"{m}.{c}" for m, mart in MARTS.items() for c in mart.key + mart.measures + mart.optional)
    if code in ("R_KEY", "C_KEY"):
        return tuple(f"{t.name}.{c}" for t in TABLES.values() for c in t.unique)
    if code == "R_OVERLAP":
        return tuple(
            f"{t.name}.{t.no_overlap[k]}" for t in TABLES.values() if t.no_overlap for k in ("entity", "start", "end")
        )
    scope = _COLUMN_SCOPE.get(code)
    if scope is None:
        return ()
    return tuple(f"{t.name}.{c.name}" for t in TABLES.values() for c in t.columns if scope(c))


def _ingest_rules() -> list[Rule]:
    rules = [Rule(r.code, r.severity, "ingest", r.message, _fields(r.code)) for r in CONTRACT.rules.values()]
    rules += [
        Rule(r.code, "row_rejected", "ingest", r.message, tuple(f"{t.name}.{c}" for c in r.columns))
        for t in TABLES.values()
        for r in t.row_rules
    ]
    return rules


def _gx_rules() -> list[Rule]:
    def conformance(code: str, message: str) -> Rule:
        return Rule(code, "error", "gx", message, _fields(code))

    return [
        # Warnings (spec §4): loaded, and listed in the LA's feedback report.
        Rule(
            "W_NEGATIVE_SPEND",
            "warning",
            "gx",
            "spend_gbp is negative; that is expected only for recoupment or income lines, so check the sign",
            ("hnb_spend.spend_gbp",),
        ),
        Rule(
            "W_ROLL_FORWARD",
            "warning",
            "gx",
            "cumulative_balance_gbp does not roll forward: it should be the previous year's cumulative balance "
            "plus this year's in_year_balance_gbp (within £1,000; forecasts continue from the last ACTUAL year)",
            ("dsg_plan.cumulative_balance_gbp", "dsg_plan.in_year_balance_gbp"),
            ROLL_FORWARD_TOLERANCE_GBP,
        ),
        Rule(
            "W_CASELOAD_DFE",
            "warning",
            "gx",
            "The number of EHC plans active at the January census in your placements return differs from "
            "DfE's published caseload for that census by more than 5%",
            ("placements.ehcp_start_date", "placements.ehcp_end_date", "fct_ehcp_census.ehcp_count"),
            CASELOAD_TOLERANCE,
        ),
        Rule(
            "W_HNB_VS_DSG",
            "warning",
            "gx",
            "Total OUTTURN spend in hnb_spend for the year differs from the DSG plan's ACTUAL "
            "hnb_expenditure_gbp for the same year by more than 2%",
            ("hnb_spend.spend_gbp", "dsg_plan.hnb_expenditure_gbp"),
            HNB_VS_DSG_TOLERANCE,
        ),
        Rule(
            "W_UNIT_COST",
            "warning",
            "gx",
            "The unit cost for this provision type is more than three times the national median",
            ("placements.annual_cost_gbp", "fct_unit_cost.unit_cost_gbp"),
            UNIT_COST_MULTIPLE,
        ),
        # Post-load conformance of the raw layer to the contract: errors, which block.
        conformance("C_COLUMN", "A contract or lineage column is missing from the loaded data"),
        conformance("C_TYPE", "A column was loaded with the wrong type"),
        conformance("C_REQUIRED", "A required value is blank in the loaded data"),
        conformance("C_CODE", "A loaded value is not in its code list"),
        conformance("C_FORMAT", "A loaded value does not have its format (LA code, year, URN, pattern or length)"),
        conformance("C_MIN", "A loaded value is below its minimum"),
        conformance("C_KEY", "A key repeats within one version of a table"),
        # Marts: errors, which block.
        conformance("M_COLUMN", "A mart column is missing"),
        conformance("M_REQUIRED", "A mart key or measure is blank"),
        conformance("M_KEY", "A mart's grain is not unique"),
        conformance("M_CODE", "A mart value is not in its code list or format"),
        conformance("M_RANGE", "A mart count or amount is below its minimum"),
    ]


def _registry() -> dict[str, Rule]:
    registry: dict[str, Rule] = {}
    for rule in _ingest_rules() + _gx_rules():
        if rule.code in registry:
            raise ValueError(f"Rule {rule.code} is defined twice")
        if rule.severity not in SEVERITIES or rule.home not in HOMES:
            raise ValueError(f"Rule {rule.code}: bad severity {rule.severity!r} or home {rule.home!r}")
        registry[rule.code] = rule
    return registry


RULES: dict[str, Rule] = _registry()


def rules_for(home: str) -> list[Rule]:
    return [r for r in RULES.values() if r.home == home]


def column_scope(code: str, column: Column) -> bool:
    """Whether a column-derived rule applies to a contract column."""
    return _COLUMN_SCOPE[code](column)
