"""The rule registry: every assurance rule of spec §2 and §4, listed once, with its one home.

Every rule, its message and its threshold is written in the return contract; this module only
gathers them and says where each is checked:

- ``ingest``: the normaliser rejects files and rows (and warns of extra columns) as it loads them
  (the contract's ``file_rules``, ``row_check_rules`` and each table's ``row_rules``).
- ``gx``: Great Expectations suites (``expectations/*.json``) on what only GX checks: the loaded raw
  layer (post-load conformance ``C_*``, severity ``error``, which blocks; and the LA-facing in-table
  warnings) and the cross-source warnings, which the LA's feedback report lists (``assurance_rules``).
- ``dbt``: dbt tests on the marts (``M_*``: grain, blanks, codes and ranges; the contract's ``marts``
  says what each mart must hold). No mart rule is also in a GX suite (tests/test_rule_homes.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..contract import CONTRACT, TABLES, Column, MartRules

SEVERITIES = ("file_rejected", "row_rejected", "warning", "error")
HOMES = ("ingest", "gx", "dbt")


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str  # one of SEVERITIES
    home: str  # one of HOMES
    message: str  # plain words, for an LA data officer (thresholds filled in)
    fields: tuple[str, ...] = ()  # "table.column" (tables, marts or derived frames)
    threshold: float | None = None
    compares_with: str | None = None  # a cross-source warning's other source


# What each key mart must hold (rules M_*, tested by dbt), from the contract.
MARTS: dict[str, MartRules] = CONTRACT.marts


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
        return tuple(f"{m}.{c}" for m, mart in MARTS.items() for c in mart.columns)
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


def _assurance_rules() -> list[Rule]:
    """The contract's ``assurance_rules``: the GX warnings and errors and the dbt mart rules."""
    return [
        Rule(r.code, r.severity, r.home, r.text, r.fields or _fields(r.code), r.threshold, r.compares_with)
        for r in CONTRACT.assurance_rules.values()
    ]


def _registry() -> dict[str, Rule]:
    registry: dict[str, Rule] = {}
    for rule in _ingest_rules() + _assurance_rules():
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
