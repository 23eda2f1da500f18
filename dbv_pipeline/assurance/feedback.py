"""The feedback report an LA gets for each submission, as printable HTML and as XLSX.

It says what was received and what happened to it (per table: outcome, rows in, loaded, rejected),
then lists every rejected file and row (line, column, value, reason, from the ingest's findings)
and every warning: the ingest's, the GX warnings on the loaded version, and the cross-source
warnings for the LA from the warehouse (when it has been built) that involve the file's own rows: its
tables, and for a table sent by year, the years it holds. A cross-source warning names the other source.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import xlsxwriter

from .. import reporting
from ..contract import TABLES
from ..ingest.filenames import is_safe_name
from ..ingest.process import sha256_of
from ..ingest.raw_store import PRIVATE_DIR, PRIVATE_FILE, RawStore, private_dir
from ..reporting import formats
from ..settings import EXPECTATIONS_DIR, SEEDS_DIR, DataPaths
from ..warehouse.reader import WarehouseMissing
from . import data
from .rules import RULES
from .validate import Outcome, validate

SEVERITY_WORDS = {"file_rejected": "File rejected", "row_rejected": "Row rejected", "warning": "Warning"}
OUTCOME_WORDS = {
    "loaded": "Loaded",
    "unchanged": "Unchanged: identical to the current version, nothing changed",
    "reverted": "Reverted: identical to an earlier version, which is current again",
    "rejected": "Rejected: nothing loaded, your current version stays",
}
NEXT_STEPS = {
    "file_rejected": "Fix the file and send it again; until then your previous version stays in place.",
    "row_rejected": "Correct these rows and send the whole file again: a new file replaces the previous "
    "version whole, so include every row, not only the corrected ones.",
    "warning": "Check these values. If they are right, nothing needs to be done; if not, correct them and "
    "send the file again.",
}
# Cross-source comparisons (suite → the mart it is derived from, and the tables it concerns).
# The rule of each comparison names the other source (``Rule.compares_with``, from the contract).
CROSS_SOURCE = {
    "caseload_vs_dfe": ("fct_ehcp_census", {"placements"}),
    "hnb_vs_dsg": ("fct_hnb_spend", {"hnb_spend", "dsg_plan"}),
    "unit_cost_vs_median": ("fct_unit_cost", {"hnb_spend", "placements"}),
}
STAMP = "SYNTHETIC DATA · NOT A REAL LA RETURN"  # top and bottom of the page, top of each sheet
COLUMNS = ["severity", "table", "line", "column", "value", "rule", "reason"]


def _explain(rule_code: str, row: dict) -> str:
    """The rule's message, with the numbers of this row where the rule compares values."""
    message = RULES[rule_code].message
    if rule_code == "W_ROLL_FORWARD":
        return (
            f"{message}. Expected {formats.money(row['expected_cumulative_gbp'])} ({row['previous_year']} "
            f"{row['previous_scenario']} {formats.money(row['previous_cumulative_gbp'])} plus "
            f"{formats.money(row['in_year_balance_gbp'])}); the difference is "
            f"{formats.money(row['roll_forward_gap_gbp'])}."
        )
    compared = f" Compared with {RULES[rule_code].compares_with}."
    if rule_code == "W_CASELOAD_DFE":
        return (
            f"{message}. January {row['census_year']}: {formats.count(row['la_caseload'])} plans in your return, "
            f"{formats.count(row['dfe_caseload'])} published by DfE "
            f"({formats.percent(row['caseload_gap_ratio'] * 100, sign=True)}).{compared}"
        )
    if rule_code == "W_HNB_VS_DSG":
        return (
            f"{message}. {row['financial_year']}: OUTTURN spend {formats.money(row['hnb_outturn_gbp'])}, DSG plan "
            f"ACTUAL expenditure {formats.money(row['dsg_actual_expenditure_gbp'])} "
            f"({formats.percent(row['spend_gap_ratio'] * 100, sign=True)}).{compared}"
        )
    if rule_code == "W_UNIT_COST":
        return (
            f"{message}. {row['financial_year']} {row['provision_type']} {row['spend_type']}: "
            f"{formats.money(row['unit_cost_gbp'])} per plan, {row['unit_cost_ratio']:.1f} times the median "
            f"{formats.money(row['national_median_gbp'])} of {row['las_in_median']} LAs.{compared}"
        )
    return message


# The column and value shown for a derived-frame warning.
SHOWN = {
    "W_ROLL_FORWARD": ("dsg_plan", "cumulative_balance_gbp", "cumulative_balance_gbp"),
    "W_CASELOAD_DFE": ("placements", "caseload", "la_caseload"),
    "W_HNB_VS_DSG": ("hnb_spend", "spend_gbp (OUTTURN total)", "hnb_outturn_gbp"),
    "W_UNIT_COST": ("hnb_spend", "unit cost", "unit_cost_gbp"),
}


def gx_rows(outcomes: list[Outcome], table: str | None) -> list[dict]:
    """GX outcomes as report rows: severity, table, line, column, value, rule and a plain reason per example."""
    rows = []
    for o in outcomes:
        shown_table, column, value_column = SHOWN.get(o.rule_code, (table, o.column, o.column))
        for example in o.examples:
            rows.append(
                {
                    "severity": "Warning",
                    "table": shown_table,
                    "line": example.get("source_line"),
                    "column": column,
                    "value": example.get(value_column),
                    "rule": o.rule_code,
                    "reason": _explain(o.rule_code, example),
                }
            )
    return rows


@dataclass
class Report:
    """Everything the report shows."""

    la_code: str
    la_name: str
    source_file: str
    source_sha256: str
    received_at: dt.datetime
    return_period: str | None
    synthetic: bool
    tables: list[dict]  # ledger events of this receipt, one per table
    rejected: list[dict] = field(default_factory=list)  # COLUMNS
    warnings: list[dict] = field(default_factory=list)  # COLUMNS
    pipeline_errors: int = 0  # post-load conformance failures (the DBV team's to fix)
    notes: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        outcomes = {t["outcome"] for t in self.tables}
        if "rejected" in outcomes:
            return "Rejected: nothing of this file was loaded; your current version stays"
        if outcomes <= {"unchanged"}:
            return OUTCOME_WORDS["unchanged"]
        if outcomes <= {"reverted", "unchanged"}:
            return OUTCOME_WORDS["reverted"]
        rejected = sum(t["rows_rejected"] for t in self.tables)
        return f"Loaded, with {rejected} row(s) rejected" if rejected else "Loaded: every row was accepted"

    def totals(self) -> dict[str, int]:
        return {k: int(sum(t[k] for t in self.tables)) for k in ("rows_in", "rows_loaded", "rows_rejected")}


@cache
def _la_names() -> dict[str, str]:
    with (SEEDS_DIR / "la_lookup.csv").open(encoding="utf-8") as handle:
        return {r["la_code"]: r["la_name"] for r in csv.DictReader(handle)}


def _blank(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and pd.isna(value)) or value is pd.NA


def _receipts(paths: DataPaths, sources: Mapping[str, Iterable[str | Path | tuple]]) -> list[list[dict]]:
    """The ledger events (one per table) of the latest receipt of each file (or of the receipt
    given as ``(sha256, received_at)``), in the order given."""
    by_file: dict[tuple[str, str], list[dict]] = {}
    for event in data.ledger(paths, sources).to_dict("records"):
        by_file.setdefault((event["la_code"], event["source_sha256"]), []).append(
            {k: None if _blank(v) else v for k, v in event.items()}
        )
    receipts = []
    for la_code, files in sources.items():
        for source in files:
            received = None
            if isinstance(source, tuple):
                source, received = source
            if isinstance(source, Path):
                source = sha256_of(source)
            events = by_file.get((la_code, source))
            if events is None:
                raise ValueError(f"No submission of LA {la_code} with SHA-256 {source} in the ledger")
            latest = received if received is not None else max(e["received_at"] for e in events)
            receipts.append([e for e in events if e["received_at"] == latest])
    return receipts


def _findings(con: duckdb.DuckDBPyConnection, paths: DataPaths, la_code: str, sha256: str) -> list[dict]:
    """The findings of the latest processing of this file (an unchanged or reverted file keeps those
    of its first load)."""
    files = sorted((paths.raw / "findings" / la_code).glob(f"*__{sha256}.parquet"))
    if not files:
        return []
    rows = con.sql(f"SELECT * FROM read_parquet('{files[-1]}') ORDER BY table_name, line NULLS FIRST")
    return [dict(zip(rows.columns, row)) for row in rows.fetchall()]


def _finding_rows(findings: list[dict], severities: set[str]) -> list[dict]:
    return [
        {
            "severity": SEVERITY_WORDS[f["severity"]],
            "table": None if _blank(f["table_name"]) else f["table_name"],
            "line": f["line"],
            "column": None if _blank(f["column_name"]) else f["column_name"],
            "value": None if _blank(f["value"]) else f["value"],
            "rule": f["rule_code"],
            "reason": f["message"],
        }
        for f in findings
        if f["severity"] in severities
    ]


@cache
def _warning_suites() -> frozenset[str]:
    """The stored suites that hold at least one warning-severity expectation."""
    return frozenset(
        path.stem
        for path in EXPECTATIONS_DIR.glob("*.json")
        if any(e.get("meta", {}).get("severity") == "warning" for e in json.loads(path.read_text())["expectations"])
    )


def _by(outcome: Outcome, key: str) -> dict[str, Outcome]:
    """The outcome split by the ``key`` column of its failing rows."""
    examples: dict[str, list[dict]] = {}
    for example in outcome.examples:
        examples.setdefault(example.get(key), []).append(example)
    return {value: replace(outcome, examples=rows, unexpected_count=len(rows)) for value, rows in examples.items()}


def _loaded_warnings(paths: DataPaths, loaded: list[dict]) -> tuple[dict[tuple[str, str], list[dict]], Counter]:
    """GX warnings on the loaded versions of the given ledger events, as report rows per (SHA-256,
    table), and post-load errors per SHA-256. Each table's suites with warnings run once over all
    the versions, a chunk at a time; an error not tied to rows counts for every file."""
    rows, errors, store = {}, Counter(), RawStore(paths)
    for table in TABLES:
        suites = [s for s in data.raw_suites(table) if s in _warning_suites()]
        versions = {(e["la_code"], e["return_period"], e["source_sha256"]) for e in loaded if e["table_name"] == table}
        files = [f for f in sorted(store.version_path(table, *v) for v in versions) if f.exists()]
        if not suites or not files:
            continue
        result = data.validate_versions(paths, table, files, suites, max_examples=None)
        for outcome in result.warnings:
            for sha, part in _by(outcome, "source_sha256").items():
                rows.setdefault((sha, table), []).extend(gx_rows([part], table))
        shas = {v[2] for v in versions}
        for outcome in result.errors:
            errors.update(shas & {e.get("source_sha256") for e in outcome.examples} or shas)
    return rows, errors


def _cross_source(
    paths: DataPaths, la_codes: set[str], tables: set[str]
) -> tuple[dict[str, dict[str, list[Outcome]]], dict[str, str]] | None:
    """The cross-source warnings from the warehouse as last built, per suite and LA, and a note for
    each comparison it cannot make yet, for the comparisons that concern ``tables``; None if it has
    not been built. Each suite runs once for all the LAs."""
    if not paths.warehouse.exists():
        return None
    frames, missing = {}, {}
    for suite, (mart, concerns) in CROSS_SOURCE.items():
        if not concerns & tables:
            continue
        try:
            frames[suite] = data.mart_frames(paths, mart, la_codes=la_codes)[suite]
        except WarehouseMissing:
            missing[suite] = (
                f"The {suite.replace('_', ' ')} check is not in this report: the warehouse has no {mart} yet."
            )
    warnings = validate(frames, max_examples=None).warnings if frames else []
    by_la = {suite: {} for suite in frames}
    for outcome in warnings:
        for la_code, part in _by(outcome, "la_code").items():
            by_la[outcome.suite].setdefault(la_code, []).append(part)
    return by_la, missing


def _file_years(paths: DataPaths, con: duckdb.DuckDBPyConnection, events: list[dict]) -> dict[str, set[str] | None]:
    """The tables a file loaded, each with the years its version holds (a table sent by year), or None
    (a table sent whole, such as placements: every year is the file's)."""
    store = RawStore(paths)
    years: dict[str, set[str] | None] = {}
    for e in events:
        column = TABLES[e["table_name"]].year_column
        path = store.version_path(e["table_name"], e["la_code"], e["return_period"], e["source_sha256"])
        if column is None or not path.exists():
            years[e["table_name"]] = None
            continue
        rows = con.sql(f"SELECT DISTINCT {column} FROM read_parquet('{path}')").fetchall()
        years[e["table_name"]] = {str(y) for (y,) in rows if y is not None}
    return years


def _involves(suite: str, example: dict, years: Mapping[str, set[str] | None]) -> bool:
    """Whether a comparison involves the file's rows: a table it concerns is the file's, sent whole
    or holding the comparison's year."""
    year = example.get("financial_year")
    for table in CROSS_SOURCE[suite][1] & set(years):
        held = years[table]
        if held is None or (year is not None and str(year) in held):
            return True
    return False


def _cross_source_rows(cross, la_code: str, years: Mapping[str, set[str] | None]) -> tuple[list[dict], list[str]]:
    """The LA's cross-source warning rows and notes, for the comparisons that involve the file's
    tables and years (``_file_years``)."""
    tables = set(years)
    suites = [s for s, (_, concerns) in CROSS_SOURCE.items() if concerns & tables]
    if not suites:
        return [], []
    if cross is None:
        return [], [
            "Cross-source checks (against DfE's caseload, your DSG plan and national unit costs) "
            "run once the warehouse has been built; they are not in this report."
        ]
    by_la, missing = cross
    made = [s for s in suites if s not in missing]
    notes = ["Cross-source checks use the warehouse as last built, which may predate this file."] if made else []
    notes += [missing[s] for s in suites if s in missing]
    outcomes = []
    for s in made:
        for o in by_la[s].get(la_code, []):
            examples = [e for e in o.examples if _involves(s, e, years)]
            if examples:
                outcomes.append(replace(o, examples=examples, unexpected_count=len(examples)))
    return gx_rows(outcomes, None), notes


def build_reports(
    paths: DataPaths, sources: Mapping[str, Iterable[str | Path]], *, synthetic: bool | None = None
) -> Iterator[Report]:
    """The report of each received file (``{la_code: [SHA-256 or the file, ...]}``), in that order.

    Rejects and ingest warnings come from the ingest's findings; the GX warnings on the loaded
    versions and the cross-source warnings are validated once for all the files, not per file.
    """
    receipts = _receipts(paths, sources)
    if synthetic is None:
        synthetic = reporting.returns_synthetic(paths.landing)
    loaded = [
        [e for e in events if e["outcome"] not in ("rejected", "unchanged") and e["table_name"] in TABLES]
        for events in receipts
    ]
    warning_rows, gx_errors = _loaded_warnings(paths, [e for events in loaded for e in events])
    cross = (
        _cross_source(
            paths,
            {events[0]["la_code"] for events in loaded if events},
            {e["table_name"] for events in loaded for e in events},
        )
        if any(loaded)
        else None
    )
    with duckdb.connect() as con:
        for events, loaded_events in zip(receipts, loaded):
            first = events[0]
            la_code, sha = first["la_code"], first["source_sha256"]
            report = Report(
                la_code=la_code,
                la_name=_la_names().get(la_code, ""),
                source_file=first["source_file"],
                source_sha256=sha,
                received_at=first["received_at"],
                return_period=first["return_period"],
                synthetic=synthetic,
                tables=events,
            )
            if all(e["outcome"] == "unchanged" for e in events):  # a re-send: a short report that it arrived
                report.notes.append(
                    "This file is identical to the version you sent before, which stays current: "
                    "nothing changed. Its rejected rows are listed again; its warnings are in that "
                    "version's report."
                )
            findings = _findings(con, paths, la_code, sha)
            report.rejected = _finding_rows(findings, {"file_rejected", "row_rejected"})
            report.warnings = (
                _finding_rows(findings, {"warning"})
                if loaded_events or not any(e["outcome"] == "unchanged" for e in events)
                else []
            )
            for event in loaded_events:
                report.warnings += warning_rows.get((sha, event["table_name"]), [])
            report.pipeline_errors = gx_errors[sha] if loaded_events else 0
            if loaded_events:
                rows, notes = _cross_source_rows(cross, la_code, _file_years(paths, con, loaded_events))
                report.warnings += rows
                report.notes += notes
            yield report


def build_report(paths: DataPaths, la_code: str, source: str | Path, *, synthetic: bool | None = None) -> Report:
    """Collect the report's content for one received file (its SHA-256, or the file itself)."""
    return next(build_reports(paths, {la_code: [source]}, synthetic=synthetic))


# ---------------------------------------------------------------------------------------------
# HTML


def render_html(report: Report) -> str:
    """The printable page (``reporting/templates/feedback.html``)."""
    totals = report.totals()
    summary = {
        "Local authority": f"{report.la_code} {report.la_name}".strip(),
        "File": report.source_file,
        "Return period": report.return_period or "",
        "Received": f"{formats.date(report.received_at)} UTC",
        "Tables": ", ".join(t["table_name"] or "?" for t in report.tables),
        "Rows in / loaded / rejected": f"{totals['rows_in']} / {totals['rows_loaded']} / {totals['rows_rejected']}",
        "Warnings": str(len(report.warnings)),
        "SHA-256": report.source_sha256,
    }
    sections = []
    for title, rows, kinds in (
        ("Rejected files and rows", report.rejected, ("file_rejected", "row_rejected")),
        ("Warnings", report.warnings, ("warning",)),
    ):
        shown = {r["severity"] for r in rows}
        sections.append((title, rows, [NEXT_STEPS[k] for k in kinds if SEVERITY_WORDS[k] in shown]))
    return reporting.render(
        "feedback.html",
        report=report,
        stamp=STAMP,
        summary=summary,
        sections=sections,
        columns=COLUMNS,
        outcome_words=OUTCOME_WORDS,
    )


# ---------------------------------------------------------------------------------------------
# XLSX

WIDTHS = [16, 14, 8, 24, 24, 18, 90]  # the Rejected and Warnings sheets
SUMMARY_WIDTHS = [22, 70]  # wide enough for the received time and the SHA-256
WRAP = {"text_wrap": True, "valign": "top"}


def _sheet(
    wb: xlsxwriter.Workbook,
    styles: dict,
    title: str,
    report: Report,
    header: list[str],
    rows: list[list],
    widths: list[int] = WIDTHS,
    filters: bool = True,
) -> None:
    """One sheet: the stamp, a bold frozen header (with filters), then the rows; their text wraps."""
    ws = wb.add_worksheet(title)
    for i, width in enumerate(widths[: len(header)]):
        ws.set_column(i, i, width)
    line = 0
    if report.synthetic:
        ws.set_header("&CSYNTHETIC DATA")
        ws.write(0, 0, STAMP, styles["stamp"])
        line = 1
    ws.write_row(line, 0, header, styles["header"])
    ws.freeze_panes(line + 1, 0)
    if filters:
        ws.autofilter(line, 0, line + len(rows), len(header) - 1)
    for values in rows:
        line += 1
        for col, value in enumerate(values):
            if not _blank(value):
                ws.write(line, col, value, styles["date" if isinstance(value, dt.datetime) else "cell"])


def write_xlsx(report: Report, path: Path) -> Path:
    """The report as a workbook (Summary, Rejected, Warnings). Values are written as data, never as
    formulas or links, whatever an LA sent."""
    totals = report.totals()
    summary = [
        ["Outcome", report.outcome],
        ["Local authority", f"{report.la_code} {report.la_name}".strip()],
        ["File", report.source_file],
        ["Return period", report.return_period],
        ["Received (UTC)", report.received_at],
        ["Rows in", totals["rows_in"]],
        ["Rows loaded", totals["rows_loaded"]],
        ["Rows rejected", totals["rows_rejected"]],
        ["Warnings", len(report.warnings)],
        ["SHA-256", report.source_sha256],
        [],
        ["Table", "Outcome", "Rows in", "Loaded", "Rejected", "Reason"],
        *[
            [
                t["table_name"],
                OUTCOME_WORDS[t["outcome"]],
                t["rows_in"],
                t["rows_loaded"],
                t["rows_rejected"],
                t["reason"],
            ]
            for t in report.tables
        ],
        [],
        *[[n] for n in report.notes],
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    styles = {
        "stamp": wb.add_format({"bold": True, "font_color": "#D4351C", "font_size": 14}),
        "header": wb.add_format({"bold": True, **(WRAP if report.synthetic else {})}),
        "cell": wb.add_format(WRAP),
        "date": wb.add_format({**WRAP, "num_format": "yyyy-mm-dd h:mm:ss"}),
    }
    _sheet(wb, styles, "Summary", report, ["Item", "Value"], summary, widths=SUMMARY_WIDTHS, filters=False)
    _sheet(
        wb,
        styles,
        "Rejected",
        report,
        [c.capitalize() for c in COLUMNS],
        [[r[c] for c in COLUMNS] for r in report.rejected],
    )
    _sheet(
        wb,
        styles,
        "Warnings",
        report,
        [c.capitalize() for c in COLUMNS],
        [[r[c] for c in COLUMNS] for r in report.warnings],
    )
    wb.close()
    return path


def _write(paths: DataPaths, report: Report) -> tuple[Path, Path]:
    name = Path(report.source_file).stem
    name = name if is_safe_name(name) else report.source_sha256[:16]  # a rejected name may be too long or not ASCII
    stem = f"{report.received_at:%Y%m%dT%H%M%S%fZ}__{name}"
    folder = paths.reports / "feedback" / report.la_code
    private_dir(folder)  # rejected rows are child-level data: the LA's folder is the owner's only, as raw is
    os.chmod(folder, PRIVATE_DIR)
    html_path = folder / f"{stem}.html"
    html_path.write_text(render_html(report), encoding="utf-8")
    written = html_path, write_xlsx(report, folder / f"{stem}.xlsx")
    for path in written:
        os.chmod(path, PRIVATE_FILE)
    return written


def write_feedback_reports(
    paths: DataPaths, sources: Mapping[str, Iterable[str | Path]], *, synthetic: bool | None = None
) -> list[tuple[Path, Path]]:
    """Write the feedback report of each received file (``{la_code: [SHA-256 or the file, ...]}``)
    into ``reports/feedback/<la_code>/``; returns (html_path, xlsx_path) of each. ``synthetic``
    defaults to whether the landing folder holds the sample generator's README_SYNTHETIC.txt."""
    return [_write(paths, report) for report in build_reports(paths, sources, synthetic=synthetic)]


def write_feedback_report(
    paths: DataPaths, la_code: str, source: str | Path, *, synthetic: bool | None = None
) -> tuple[Path, Path]:
    """Write the feedback report for one received file (its SHA-256, or the file); see
    ``write_feedback_reports``."""
    return write_feedback_reports(paths, {la_code: [source]}, synthetic=synthetic)[0]
