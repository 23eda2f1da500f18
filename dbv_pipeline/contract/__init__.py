"""The DBV data return contract, loaded once from ``return_spec.yaml``.

Everything that needs a table, a column, a code list or a rule imports it from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

SPEC_PATH = Path(__file__).with_name("return_spec.yaml")

# The DuckDB type each contract type is stored as in the raw layer and the warehouse.
SQL_TYPES = {
    "la_code": "VARCHAR",
    "text": "VARCHAR",
    "date": "DATE",
    "code": "VARCHAR",
    "money": "DECIMAL(18,2)",
    "financial_year": "VARCHAR",
    "urn": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    required: bool = True
    code_list: str | None = None
    pattern: str | None = None
    max_length: int | None = None
    min: float | None = None

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class RowRule:
    code: str
    message: str
    columns: tuple[str, ...]
    fails_when: str
    column_fails_when: str | None = (
        None  # per-column predicate ("{column} > ..."): the finding names the first column that breaks it
    )


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    refresh: str  # "full" (whole history each return) or "by_year" (latest return per year)
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()
    year_column: str | None = None
    no_overlap: dict | None = None
    row_rules: tuple[RowRule, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Rule:
    """A file- or row-level rule derived from the columns; ``message`` has ``{column}``,
    ``{value}`` and ``{detail}`` placeholders."""

    code: str
    severity: str  # "file_rejected", "row_rejected" or "warning"
    message: str

    def explain(self, column: str = "", value: object = "", detail: object = "") -> str:
        return self.message.format(column=column, value=value, detail=detail)


@dataclass(frozen=True)
class AssuranceRule:
    """A rule of ``assurance_rules``: its home (``gx`` or ``dbt``), and for a cross-source or
    roll-forward warning its threshold, the measure compared with it and the other source."""

    code: str
    severity: str  # "warning" or "error"
    home: str
    message: str  # may hold ``{threshold}``; ``text`` fills it in
    fields: tuple[str, ...] = ()
    threshold: float | None = None
    measure: str | None = None  # "gap_gbp" or "gap_ratio" (breached beyond ±threshold), "ratio" (above it)
    compares_with: str | None = None

    @property
    def text(self) -> str:
        """The message in plain words, its threshold filled in."""
        return self.message.format(threshold=self.threshold) if self.threshold is not None else self.message


@dataclass(frozen=True)
class MartRules:
    """What a key mart must hold (rules ``M_*``, tested by dbt): see ``marts`` in the contract."""

    name: str
    source: str  # the contract table it is built from
    key: tuple[str, ...]
    measures: tuple[str, ...]  # present and never blank
    optional: tuple[str, ...] = ()  # present, may be blank
    codes: dict[str, str] = field(default_factory=dict)
    minimums: dict[str, float] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.key + self.measures + self.optional


@dataclass(frozen=True)
class CodeList:
    name: str
    description: str
    codes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Contract:
    spec_version: int
    tables: dict[str, Table]
    code_lists: dict[str, CodeList]
    personal_data_columns: frozenset[str]
    personal_data_patterns: tuple[tuple[str, str], ...]  # (what, regex) for any value
    personal_text_patterns: tuple[tuple[str, str], ...]  # (what, regex) for text columns only
    child_id_personal_patterns: tuple[tuple[str, str], ...]  # (what, regex) for child_id
    rules: dict[str, Rule]  # file and row check rules by code (table row rules live on Table)
    personal_column_parts: tuple[str, ...] = ()
    personal_column_tokens: frozenset[str] = frozenset()
    limits: dict[str, int] = field(default_factory=dict)
    reserved_columns: frozenset[str] = frozenset()
    assurance_rules: dict[str, AssuranceRule] = field(default_factory=dict)
    marts: dict[str, MartRules] = field(default_factory=dict)

    def is_personal_column(self, name: str) -> bool:
        """Whether a (normalised) header names personal data: exactly, by a part, or by a word."""
        squashed = name.replace("_", "")
        return (
            name in self.personal_data_columns
            or any(part in squashed for part in self.personal_column_parts)
            or bool(set(name.split("_")) & self.personal_column_tokens)
        )

    def is_reserved_column(self, name: str) -> bool:
        """Whether a (normalised) header collides with the pipeline's own columns."""
        return name in self.reserved_columns or name.startswith(("_", "raw__"))

    def codes(self, code_list: str) -> list[str]:
        return list(self.code_lists[code_list].codes)


def normalise_header(name: object) -> str:
    """Header names match after trim, lower-case, runs of spaces or hyphens → ``_``."""
    text = "" if name is None else str(name)
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


@cache
def load_contract(path: Path = SPEC_PATH) -> Contract:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    code_lists: dict[str, CodeList] = {}
    for name, spec in raw["code_lists"].items():
        codes = {}
        if "extends" in spec:
            codes.update(raw["code_lists"][spec["extends"]]["codes"])
        codes.update({str(k): v for k, v in spec["codes"].items()})
        code_lists[name] = CodeList(name, spec["description"], codes)

    tables = {}
    for name, spec in raw["tables"].items():
        rules = tuple(
            RowRule(r["code"], r["message"], tuple(r["columns"]), r["fails_when"], r.get("column_fails_when"))
            for r in raw.get("row_rules", {}).get(name, [])
        )
        tables[name] = Table(
            name=name,
            description=spec["description"],
            refresh=spec["refresh"],
            columns=tuple(Column(**c) for c in spec["columns"]),
            unique=tuple(spec.get("unique") or ()),
            year_column=spec.get("year_column"),
            no_overlap=spec.get("no_overlap"),
            row_rules=rules,
        )
        for col in tables[name].columns:
            if col.code_list and col.code_list not in code_lists:
                raise ValueError(f"{name}.{col.name}: unknown code list {col.code_list!r}")

    rules = {
        code: Rule(code, spec["severity"], spec["message"])
        for section in ("file_rules", "row_check_rules")
        for code, spec in raw[section].items()
    }
    assurance_rules = {
        code: AssuranceRule(
            code,
            spec["severity"],
            spec["home"],
            spec["message"],
            tuple(spec.get("fields") or ()),
            spec.get("threshold"),
            spec.get("measure"),
            spec.get("compares_with"),
        )
        for code, spec in raw["assurance_rules"].items()
    }
    marts = {
        name: MartRules(
            name,
            spec["source"],
            tuple(spec["key"]),
            tuple(spec["measures"]),
            tuple(spec.get("optional") or ()),
            dict(spec.get("codes") or {}),
            dict(spec.get("minimums") or {}),
        )
        for name, spec in raw["marts"].items()
    }
    pd = raw["personal_data"]
    return Contract(
        spec_version=raw["spec_version"],
        tables=tables,
        code_lists=code_lists,
        personal_data_columns=frozenset(pd["column_names"]),
        personal_data_patterns=tuple((p["what"], p["regex"]) for p in pd["value_patterns"] if not p.get("text_only")),
        personal_text_patterns=tuple((p["what"], p["regex"]) for p in pd["value_patterns"] if p.get("text_only")),
        child_id_personal_patterns=tuple((p["what"], p["regex"]) for p in pd["child_id_patterns"]),
        rules=rules,
        personal_column_parts=tuple(pd.get("column_name_parts", ())),
        personal_column_tokens=frozenset(pd.get("column_name_tokens", ())),
        limits={k: int(v) for k, v in raw["limits"].items()},
        reserved_columns=frozenset(raw["reserved_columns"]),
        assurance_rules=assurance_rules,
        marts=marts,
    )


CONTRACT = load_contract()
TABLES = CONTRACT.tables
