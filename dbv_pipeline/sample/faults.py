"""Fault injection: each fault class of spec §4, in files that are not part of the clean sample.

Faults go into an *earlier* return period than the sample's (so the clean, latest returns stay
clean): row faults and warnings into that period's file of one table for an LA, file-level faults
into their own files one period further back (or with a broken name). Each injected fault is listed
in a manifest with its file, expected outcome, rule and line numbers (header = line 1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from dbv_pipeline.contract import CONTRACT, TABLES

from .files import csv_name, write_csv
from .finance import ACTUAL, OUTTURN, UNMITIGATED
from .las import S_FAULTS, LocalAuthority, fy_label, la_params, load_las, rng
from .variations import format_table

FILE_REJECTED, ROW_REJECTED, WARNING = "file_rejected", "row_rejected", "warning"
FUTURE_DATE = "2035-07-31"  # after any received date
POSTCODE = "B33 8TH"


@dataclass(frozen=True)
class FaultClass:
    id: str
    table: str
    expected: str
    rule: str  # the contract's rule code where there is one, else what the rule checks
    column: str | None = None
    kind: str = "modify"  # modify | append | column | tail (row faults, applied in this order) | file


@dataclass
class Draft:
    """A fault file being built: the canonical text of a table plus its typed values."""

    table: str
    frame: pd.DataFrame
    typed: dict[str, np.ndarray]
    used_rows: set[int] = field(default_factory=set)
    used_children: set[str] = field(default_factory=set)
    tail: str = ""

    def pick(self, r: np.random.Generator, mask: np.ndarray | None = None) -> int:
        """A row not touched by another fault (nor its child, for placements) where ``mask`` holds."""
        n = len(self.typed["la_code"])
        ok = np.ones(n, dtype=bool) if mask is None else mask.copy()
        ok[list(self.used_rows)] = False
        if "child_id" in self.typed and self.used_children:
            ok &= ~np.isin(self.typed["child_id"], list(self.used_children))
        rows = np.flatnonzero(ok)
        if not len(rows):
            raise ValueError(f"no row of {self.table} can take this fault; use a larger multiplier")
        k = int(rows[r.integers(len(rows))])
        self.used_rows.add(k)
        if "child_id" in self.typed:
            self.used_children.add(self.typed["child_id"][k])
        return k

    def set(self, row: int, column: str, value: str) -> list[int]:
        self.frame.loc[row, column] = value
        return [row]

    def append(self, row: pd.Series) -> list[int]:
        self.frame.loc[len(self.frame)] = row.to_numpy()
        return [len(self.frame) - 1]


def _iso(d: np.datetime64) -> str:
    return str(np.datetime64(d, "D"))


def _days(days: int) -> np.timedelta64:
    return np.timedelta64(days, "D")


_ROW_FAULTS: dict[str, tuple[FaultClass, Callable]] = {}
_FILE_FAULTS: dict[str, tuple[FaultClass, Callable]] = {}


def _row_fault(fault_id, table, expected, rule, column=None, kind="modify"):
    """Register a row fault or warning: ``fn(draft, rng)`` changes the draft, returns rows touched."""

    def register(fn):
        _ROW_FAULTS[fault_id] = (FaultClass(fault_id, table, expected, rule, column, kind), fn)
        return fn

    return register


def _file_fault(fault_id, table, expected, rule, column=None):
    """Register a file fault: ``fn(la, base, period, rng)`` returns (file name, text or bytes, rows)."""

    def register(fn):
        _FILE_FAULTS[fault_id] = (FaultClass(fault_id, table, expected, rule, column, "file"), fn)
        return fn

    return register


# --- row faults and warnings: each returns the rows (0-based) it touched ----------------------


@_row_fault("bad_code", "placements", ROW_REJECTED, "value not in code list", "provision_type")
def _bad_code(d, r):
    return d.set(d.pick(r), "provision_type", "SPECIAL")


@_row_fault("bad_type", "placements", ROW_REJECTED, "value not of its type (money)", "annual_cost_gbp")
def _bad_type(d, r):
    return d.set(d.pick(r), "annual_cost_gbp", "twelve thousand")


@_row_fault("impossible_date", "placements", ROW_REJECTED, "impossible date (31 February)", "date_of_birth")
def _impossible_date(d, r):
    k = d.pick(r)
    return d.set(k, "date_of_birth", f"31/02/{str(d.typed['date_of_birth'][k])[:4]}")


@_row_fault("plan_end_before_start", "placements", ROW_REJECTED, "PL01", "ehcp_end_date")
def _plan_end_before_start(d, r):
    k = d.pick(r, ~np.isnat(d.typed["ehcp_end_date"]))
    return d.set(k, "ehcp_end_date", _iso(d.typed["ehcp_start_date"][k] - _days(30)))


@_row_fault("placement_end_before_start", "placements", ROW_REJECTED, "PL02", "placement_end_date")
def _placement_end_before_start(d, r):
    k = d.pick(r, ~np.isnat(d.typed["placement_end_date"]))
    return d.set(k, "placement_end_date", _iso(d.typed["placement_start_date"][k] - _days(10)))


@_row_fault("cease_reason_without_end", "placements", ROW_REJECTED, "PL03", "cease_reason")
def _cease_reason_without_end(d, r):
    return d.set(d.pick(r, np.isnat(d.typed["ehcp_end_date"])), "cease_reason", "2")


@_row_fault("end_without_cease_reason", "placements", ROW_REJECTED, "PL04", "cease_reason")
def _end_without_cease_reason(d, r):
    return d.set(d.pick(r, ~np.isnat(d.typed["ehcp_end_date"])), "cease_reason", "")


@_row_fault("age_out_of_range", "placements", ROW_REJECTED, "PL05", "date_of_birth")
def _age_out_of_range(d, r):
    k = d.pick(r)
    return d.set(k, "date_of_birth", _iso(d.typed["ehcp_start_date"][k] - _days(27 * 365 + 20)))


@_row_fault("future_date", "placements", ROW_REJECTED, "PL06", "placement_end_date")
def _future_date(d, r):
    return d.set(d.pick(r, np.isnat(d.typed["placement_end_date"])), "placement_end_date", FUTURE_DATE)


@_row_fault("placement_start_too_early", "placements", ROW_REJECTED, "PL07", "placement_start_date")
def _placement_start_too_early(d, r):
    ids = d.typed["child_id"]
    first = np.r_[True, ids[1:] != ids[:-1]]  # the child's earliest spell (rows are sorted by child, start)
    k = d.pick(r, first)
    return d.set(k, "placement_start_date", _iso(d.typed["ehcp_start_date"][k] - _days(400)))


@_row_fault("bad_setting_urn", "placements", ROW_REJECTED, "setting_urn not 6 digits", "setting_urn")
def _bad_setting_urn(d, r):
    return d.set(d.pick(r, d.typed["setting_urn"] > 0), "setting_urn", "12345")


@_row_fault("bad_child_id", "placements", ROW_REJECTED, "child_id does not match its pattern", "child_id")
def _bad_child_id(d, r):
    k = d.pick(r)
    return d.set(k, "child_id", "C#" + d.typed["child_id"][k][1:7])


@_row_fault("overlapping_spells", "placements", ROW_REJECTED, "overlapping spells of one child", "placement_start_date")
def _overlapping_spells(d, r):
    t = d.typed
    ids, start, end = t["child_id"], t["placement_start_date"], t["placement_end_date"]
    nxt = np.r_[ids[1:] == ids[:-1], False]  # the next row is the same child's next spell
    long_enough = ~np.isnat(end) & ((end - start) >= _days(60))
    k = d.pick(r, nxt & long_enough)
    d.used_rows.add(k + 1)
    return d.set(k + 1, "placement_start_date", _iso(end[k] - _days(20)))


@_row_fault("duplicate_row", "placements", ROW_REJECTED, "identical duplicate row", None, "append")
def _duplicate_row(d, r):
    return d.append(d.frame.loc[d.pick(r)])


@_row_fault(
    "duplicate_hnb_spend_key",
    "hnb_spend",
    ROW_REJECTED,
    "duplicate key (financial_year, provision_type, spend_type, s251_line)",
    None,
    "append",
)
def _duplicate_hnb_spend_key(d, r):
    row = d.frame.loc[d.pick(r)].copy()
    row["spend_gbp"] = str(int(row["spend_gbp"]) + 1000)
    return d.append(row)


@_row_fault("negative_spend", "hnb_spend", WARNING, "negative spend_gbp", "spend_gbp")
def _negative_spend(d, r):
    t = d.typed
    k = d.pick(r, (t["spend_type"] == OUTTURN) & (t["spend_gbp"] > 0))
    return d.set(k, "spend_gbp", str(-int(t["spend_gbp"][k])))


@_row_fault("dsg_in_year_mismatch", "dsg_plan", ROW_REJECTED, "DS01", "in_year_balance_gbp")
def _dsg_in_year_mismatch(d, r):
    k = d.pick(r, d.typed["scenario"] == ACTUAL)  # not the forecast row actual_future_year copies
    return d.set(k, "hnb_expenditure_gbp", str(int(d.typed["hnb_expenditure_gbp"][k]) + 5000))


@_row_fault(
    "cumulative_not_rolling", "dsg_plan", WARNING, "cumulative balance does not roll forward", "cumulative_balance_gbp"
)
def _cumulative_not_rolling(d, r):
    t = d.typed
    actual = t["scenario"] == ACTUAL
    k = d.pick(r, actual & (t["financial_year"] != min(t["financial_year"][actual])))
    later = t["financial_year"] >= t["financial_year"][k]  # shift from here on: only row k breaks
    shifted = t["cumulative_balance_gbp"][later] + 50_000
    d.frame.loc[later, "cumulative_balance_gbp"] = shifted.astype(np.int64).astype(str)
    return [k]


@_row_fault("actual_future_year", "dsg_plan", ROW_REJECTED, "DS02", "scenario", "append")
def _actual_future_year(d, r):
    t = d.typed
    forecast = t["scenario"] == UNMITIGATED
    k = d.pick(r, forecast & (t["financial_year"] == min(t["financial_year"][forecast], default="")))
    row = d.frame.loc[k].copy()
    row["scenario"] = ACTUAL
    return d.append(row)


@_row_fault(
    "duplicate_mitigation_key",
    "mitigations",
    ROW_REJECTED,
    "duplicate key (mitigation_id, financial_year)",
    None,
    "append",
)
def _duplicate_mitigation_key(d, r):
    row = d.frame.loc[d.pick(r)].copy()
    row["saving_gbp"] = str(int(row["saving_gbp"]) + 10_000)
    return d.append(row)


@_row_fault("extra_column", "placements", WARNING, "extra unknown column", "Comments", "column")
def _extra_column(d, r):
    d.frame["Comments"] = np.where(np.arange(len(d.frame)) % 5 == 0, "see covering email", "")
    return []


@_row_fault("ragged_last_line", "placements", ROW_REJECTED, "ragged row (truncated last line)", None, "tail")
def _ragged_last_line(d, r):
    d.tail = ",".join(d.frame.loc[d.pick(r)].iloc[:6])  # a truncated line, no newline
    return [len(d.frame)]


_KIND_ORDER = {"modify": 0, "append": 1, "column": 2, "tail": 3}


# --- file-level faults: each returns (file name, content, rows touched) -----------------------


def _text(columns: dict[str, np.ndarray], table: str) -> pd.DataFrame:
    return format_table(columns, TABLES[table]).to_pandas()


def _file_base(base: dict, table: str, rows: int = 50) -> pd.DataFrame:
    return _text(base[table], table).head(rows).copy()


@_file_fault("binary_file", "dsg_plan", FILE_REJECTED, "unreadable or binary file")
def _binary_file(la, base, period, r):
    blob = r.integers(0, 256, 2048, dtype=np.uint8).tobytes()
    return csv_name(la.la_code, "dsg_plan", period), b"\x00\x01PK\x03\x04" + blob, []


@_file_fault("unknown_table", "pupils", FILE_REJECTED, "unknown table name")
def _unknown_table(la, base, period, r):
    return f"{la.la_code}_pupils_{period}.csv", _file_base(base, "placements"), []


@_file_fault("malformed_filename", "placements", FILE_REJECTED, "malformed filename")
def _malformed_filename(la, base, period, r):
    return f"{la.la_code}_placements_{period}_FINAL.csv", _file_base(base, "placements"), []


@_file_fault("malformed_period", "placements", FILE_REJECTED, "malformed period")
def _malformed_period(la, base, period, r):
    return f"{la.la_code}_placements_{period.replace('-', '')}.csv", _file_base(base, "placements"), []


@_file_fault("missing_required_column", "placements", FILE_REJECTED, "required column missing", "sex")
def _missing_required_column(la, base, period, r):
    frame = _file_base(base, "placements").drop(columns="sex")
    return csv_name(la.la_code, "placements", period), frame, []


@_file_fault("no_data_rows", "hnb_spend", FILE_REJECTED, "no data rows")
def _no_data_rows(la, base, period, r):
    columns = TABLES["hnb_spend"].column_names
    empty = "," * (len(columns) - 1) + "\n"
    text = ",".join(columns) + "\n" + empty + "\n" + empty
    return csv_name(la.la_code, "hnb_spend", period), text.encode(), []


@_file_fault("la_code_mismatch", "hnb_spend", FILE_REJECTED, "la_code differs from the file's LA", "la_code")
def _la_code_mismatch(la, base, period, r):
    frame = _file_base(base, "hnb_spend")
    others = [x.la_code for x in load_las() if x.la_code != la.la_code]
    k = int(r.integers(len(frame)))
    frame.loc[k, "la_code"] = others[int(r.integers(len(others)))]
    return csv_name(la.la_code, "hnb_spend", period), frame, [k]


@_file_fault("personal_data_column", "placements", FILE_REJECTED, "personal data column (upn)", "UPN")
def _personal_data_column(la, base, period, r):
    frame = _file_base(base, "placements")
    frame.insert(2, "UPN", "")
    return csv_name(la.la_code, "placements", period), frame, []


@_file_fault("upn_value", "placements", FILE_REJECTED, "a UPN/ULN-like value", "child_id")
def _upn_value(la, base, period, r):
    frame = _file_base(base, "placements")
    k = int(r.integers(len(frame)))
    frame.loc[k, "child_id"] = "K" + "".join(map(str, r.integers(0, 10, 12)))
    return csv_name(la.la_code, "placements", period), frame, [k]


@_file_fault("ten_digit_child_id", "placements", FILE_REJECTED, "10-digit child_id (a ULN)", "child_id")
def _ten_digit_child_id(la, base, period, r):
    frame = _file_base(base, "placements")
    k = int(r.integers(len(frame)))
    frame.loc[k, "child_id"] = str(int(r.integers(1_000_000_000, 9_999_999_999)))
    return csv_name(la.la_code, "placements", period), frame, [k]


@_file_fault("postcode_value", "mitigations", FILE_REJECTED, "a full UK postcode in a text value", "title")
def _postcode_value(la, base, period, r):
    frame = _file_base(base, "mitigations")
    k = int(r.integers(len(frame)))
    frame.loc[k, "title"] = f"{frame.loc[k, 'title']} at the hub, {POSTCODE}"
    return csv_name(la.la_code, "mitigations", period), frame, [k]


FAULT_CLASSES: tuple[str, ...] = tuple(_FILE_FAULTS) + tuple(_ROW_FAULTS)
FAULTS: dict[str, FaultClass] = {k: v[0] for k, v in {**_FILE_FAULTS, **_ROW_FAULTS}.items()}


def resolve(faults) -> list[str]:
    """``True`` → every class; a list → those classes (validated); falsy → none."""
    if not faults:
        return []
    if faults is True:
        return list(FAULT_CLASSES)
    unknown = set(faults) - set(FAULT_CLASSES)
    if unknown:
        raise ValueError(f"unknown fault classes {sorted(unknown)}; known: {FAULT_CLASSES}")
    return [f for f in FAULT_CLASSES if f in set(faults)]


@dataclass(frozen=True)
class Assignment:
    fault: str
    la_code: str
    period: str


def plan_faults(fault_ids: list[str], las: list[LocalAuthority], seed: int, fault_year: int) -> list[Assignment]:
    """Spread faults over the LAs, largest first: row faults of one table go to different LAs
    (sharing a file only when there are fewer LAs than faults), file faults to their own files."""
    weight = la_params(seed).weight
    order = sorted(las, key=lambda la: (-weight[la.index], la.la_code))
    out, slot = [], 0
    for fault in fault_ids:
        if fault in _ROW_FAULTS:
            out.append(Assignment(fault, order[slot % len(order)].la_code, fy_label(fault_year)))
            slot += 1
    file_faults = [f for f in fault_ids if f in _FILE_FAULTS]
    for k, fault in enumerate(file_faults):
        la = order[(slot + k) % len(order)]
        out.append(Assignment(fault, la.la_code, fy_label(fault_year - 1 - k // len(order))))
    return out


def write_faults(
    landing_dir: Path,
    la: LocalAuthority,
    assignments: list[Assignment],
    base: dict[str, dict[str, np.ndarray]],
    seed: int,
) -> list[dict]:
    """Write this LA's fault files; ``base`` is its clean return for the fault period."""
    entries: list[dict] = []
    by_table: dict[str, list[Assignment]] = {}
    for a in assignments:
        if a.fault in _FILE_FAULTS:
            cls, fn = _FILE_FAULTS[a.fault]
            name, content, rows = fn(la, base, a.period, rng(seed, S_FAULTS, la.index, FAULT_CLASSES.index(a.fault)))
            path = landing_dir / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                write_csv(path, pa.Table.from_pandas(content, preserve_index=False))
            entries.append(_entry(cls, name, a, [k + 2 for k in rows] or None))
        else:
            by_table.setdefault(FAULTS[a.fault].table, []).append(a)
    for table, group in by_table.items():
        draft = Draft(table, _text(base[table], table), base[table])
        name = csv_name(la.la_code, table, group[0].period)
        for a in sorted(group, key=lambda a: _KIND_ORDER[FAULTS[a.fault].kind]):
            cls, fn = _ROW_FAULTS[a.fault]
            rows = fn(draft, rng(seed, S_FAULTS, la.index, FAULT_CLASSES.index(a.fault)))
            entries.append(_entry(cls, name, a, [k + 2 for k in rows] or None))
        write_csv(landing_dir / name, pa.Table.from_pandas(draft.frame, preserve_index=False), tail=draft.tail)
    return entries


def _entry(cls: FaultClass, name: str, a: Assignment, lines: list[int] | None) -> dict:
    return {
        "fault": cls.id,
        "file": name,
        "la_code": a.la_code,
        "period": a.period,
        "table": cls.table if cls.table in TABLES else None,
        "expected": cls.expected,
        "rule": cls.rule,
        "column": cls.column,
        "lines": lines,
    }


def write_manifest(path: Path, entries: list[dict], seed: int) -> Path:
    doc = {
        "synthetic": True,
        "spec_version": CONTRACT.spec_version,
        "seed": seed,
        "note": "Faults injected by dbv_pipeline.sample; lines count the header as line 1.",
        "faults": sorted(entries, key=lambda e: (FAULT_CLASSES.index(e["fault"]), e["file"])),
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
