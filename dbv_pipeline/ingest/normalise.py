"""Type the text of one table and apply the spec's file- and row-level rules, set-based in DuckDB.

This module is the single home of every "File rejected" and "Row rejected" rule of spec §4 and of
the extra-column warning; the other warnings live in the GX suites (see docs/assurance.md).
Rules come from the contract: column types, code lists, patterns and minimums give the generic
checks; ``row_rules`` in the contract YAML give the cross-column ones.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from ..contract import CONTRACT, Column, Table
from . import raw_store
from .errors import FileRejected
from .readers import LINE, N_FIELDS, RawTable

MACROS = r"""
CREATE OR REPLACE MACRO dbv_date(s) AS CAST(coalesce(
    try_strptime(s, '%Y-%m-%d'), try_strptime(s, '%Y-%m-%d %H:%M:%S'), try_strptime(s, '%d/%m/%Y')) AS DATE);
CREATE OR REPLACE MACRO dbv_date_shaped(s) AS
    regexp_full_match(s, '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}( 00:00:00)?|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}');
CREATE OR REPLACE MACRO dbv_money_parts(s) AS regexp_extract(s,
    '^\s*(\()?\s*(-)?\s*£?\s*(-)?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(\))?\s*$',
    ['open', 'minus', 'minus2', 'num', 'close']);
CREATE OR REPLACE MACRO dbv_money_of(p) AS CASE
    WHEN p.num <> '' AND (p.open = '') = (p.close = '') AND (p.open = '' OR p.minus || p.minus2 = '')
         AND NOT (p.minus <> '' AND p.minus2 <> '')
    THEN CAST(TRY_CAST(replace(p.num, ',', '') AS DECIMAL(18,2))
              * CASE WHEN p.open || p.minus || p.minus2 <> '' THEN -1 ELSE 1 END AS DECIMAL(18,2)) END;
CREATE OR REPLACE MACRO dbv_money(s) AS dbv_money_of(dbv_money_parts(s));
CREATE OR REPLACE MACRO dbv_is_fy(s) AS coalesce(regexp_full_match(s, '[0-9]{4}-[0-9]{2}')
    AND (TRY_CAST(left(s, 4) AS INT) + 1) % 100 = TRY_CAST(right(s, 2) AS INT), false);
CREATE OR REPLACE MACRO fy_end_date(fy) AS make_date(TRY_CAST(left(fy, 4) AS INT) + 1, 3, 31);
CREATE OR REPLACE MACRO dbv_shape(s) AS regexp_replace(regexp_replace(s, '[0-9]', '9', 'g'), '[^0-9 .,/:-]', 'x', 'g');
"""


def _personal_sql(value_sql: str) -> str:
    """True when a value looks like personal data (any value or child_id pattern of the contract)."""
    patterns = [
        rx
        for _, rx in CONTRACT.personal_data_patterns
        + CONTRACT.personal_text_patterns
        + CONTRACT.child_id_personal_patterns
    ]
    return "(" + " OR ".join(f"coalesce(regexp_matches({value_sql}, {lit(rx)}), false)" for rx in patterns) + ")"


def shown_sql(value_sql: str) -> str:
    """A value as a finding may show it: masked to its shape (letters x, digits 9) when it looks like
    personal data, so a finding never echoes a UPN, NHS number, postcode or name."""
    return f"CASE WHEN {_personal_sql(value_sql)} THEN dbv_shape({value_sql}) ELSE {value_sql} END"


TYPE_WORDS = {
    "la_code": "a 3-digit DfE LA code",
    "date": "a date (YYYY-MM-DD or DD/MM/YYYY)",
    "money": "an amount in pounds (e.g. 1234.50, £1,234 or (1,234))",
    "financial_year": "a financial year like 2024-25",
    "urn": "a 6-digit URN",
}


@dataclass
class Normalised:
    """The outcome for one table of one file: loaded rows (typed) and row-level findings."""

    loaded: pa.Table
    findings: pa.Table  # FINDINGS_SCHEMA
    rows_in: int
    rows_rejected: int


FINDINGS_SCHEMA = pa.schema(
    [
        raw_store.FINDINGS_SCHEMA.field(name)
        for name in ("line", "column_name", "value", "rule_code", "message", "severity")
    ]
)


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: object) -> str:
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def message_sql(rule_code: str, column: str = "", value_sql: str = "''", detail_sql: str = "''") -> str:
    """A contract rule's message as a SQL expression, with the value and detail per row."""
    marker = {"column": column, "value": "\x00value\x00", "detail": "\x00detail\x00"}
    parts = re.split("\x00(value|detail)\x00", CONTRACT.rules[rule_code].message.format(**marker))
    sql = {"value": f"coalesce({value_sql}, '')", "detail": f"coalesce(CAST({detail_sql} AS VARCHAR), '')"}
    return "concat(" + ", ".join(sql[p] if i % 2 else lit(p) for i, p in enumerate(parts)) + ")"


def _rule_message_sql(message: str, column: str, value_sql: str) -> str:
    """A row rule's message with ``{column}`` and ``{value}`` filled in per row."""
    parts = re.split(r"\{(column|value)\}", message)
    sql = {"column": lit(column), "value": f"coalesce({value_sql}, '')"}
    return "concat(" + ", ".join(sql[part] if i % 2 else lit(part) for i, part in enumerate(parts)) + ")"


def check_header(table: Table, header: list[str]) -> list[str]:
    """File-level header rules; returns the extra (non-contract) columns."""
    for name in header:
        if CONTRACT.is_personal_column(name):
            raise FileRejected("F_PERSONAL_COLUMN", column=name)
    missing = [c for c in table.column_names if c not in header]
    if missing:
        raise FileRejected("F_COLUMN_MISSING", column=", ".join(missing))
    return [h for h in header if h not in table.column_names]


def _text(col: str) -> str:
    return f"nullif(trim({q(col)}), '')"


def _parsed(col: Column) -> str:
    t = _text(col.name)
    if col.type == "date":
        return f"dbv_date({t})"
    if col.type == "money":
        return f"dbv_money({t})"
    if col.type == "code":
        codes = ", ".join(lit(c) for c in CONTRACT.codes(col.code_list))
        return f"CASE WHEN upper({t}) IN ({codes}) THEN upper({t}) END"
    if col.type == "la_code":
        return f"CASE WHEN regexp_full_match({t}, '[0-9]{{3}}') THEN {t} END"
    if col.type == "urn":
        return f"CASE WHEN regexp_full_match({t}, '[0-9]{{6}}') THEN {t} END"
    if col.type == "financial_year":
        return f"CASE WHEN dbv_is_fy({t}) THEN {t} END"
    return t


def _column_checks(col: Column) -> list[tuple[str, str, str]]:
    """(rule_code, failing-row predicate, message SQL) for one column's generic rules."""
    t, p, name = _text("raw__" + col.name), q(col.name), col.name
    shown = shown_sql(t)
    checks = []
    if col.required:
        checks.append(("R_REQUIRED", f"{t} IS NULL", message_sql("R_REQUIRED", name)))
    if col.type == "date":
        checks.append(
            ("R_DATE", f"{t} IS NOT NULL AND {p} IS NULL AND dbv_date_shaped({t})", message_sql("R_DATE", name, shown))
        )
        checks.append(
            (
                "R_TYPE",
                f"{t} IS NOT NULL AND NOT dbv_date_shaped({t})",
                message_sql("R_TYPE", name, shown, lit(TYPE_WORDS["date"])),
            )
        )
    elif col.type == "code":
        codes = ", ".join(CONTRACT.codes(col.code_list))
        checks.append(("R_CODE", f"{t} IS NOT NULL AND {p} IS NULL", message_sql("R_CODE", name, shown, lit(codes))))
    elif col.type in TYPE_WORDS:
        checks.append(
            (
                "R_TYPE",
                f"{t} IS NOT NULL AND {p} IS NULL",
                message_sql("R_TYPE", name, shown, lit(TYPE_WORDS[col.type])),
            )
        )
    if col.pattern:
        checks.append(
            (
                "R_PATTERN",
                f"NOT regexp_full_match({p}, {lit(col.pattern)})",
                message_sql("R_PATTERN", name, shown, lit(col.pattern)),
            )
        )
    if col.max_length:
        checks.append(
            ("R_LENGTH", f"length({p}) > {col.max_length}", message_sql("R_LENGTH", name, "''", str(col.max_length)))
        )
    if col.min is not None:
        checks.append(("R_MIN", f"{p} < {col.min}", message_sql("R_MIN", name, shown, lit(col.min))))
    return checks


def check_file_values(con: duckdb.DuckDBPyConnection, table: Table, header: list[str], la_code: str) -> None:
    """File-level value rules: every la_code equals the file's LA; no personal data anywhere."""
    row = con.sql(
        f"SELECT trim(la_code) FROM raw_text WHERE {_text('la_code')} IS NOT NULL AND trim(la_code) <> {lit(la_code)} LIMIT 1"
    ).fetchone()
    if row:
        raise FileRejected(
            "F_LA_MISMATCH",
            value=row[0] if re.fullmatch(r"[0-9A-Za-z]{1,10}", row[0], re.ASCII) else "(not a code)",
            detail=la_code,
        )

    def found(column_sql: str, rx: str) -> str:
        return f"bool_or(regexp_matches({column_sql}, {lit(rx)}))"

    child_id_probes = (
        [("child_id", what, rx) for what, rx in CONTRACT.child_id_personal_patterns] if "child_id" in header else []
    )
    # Each value pattern once over a row's values joined (a unit separator between them); only a
    # file with a hit is probed column by column, to name the column. Text-only patterns (NHS
    # number, names) are probed in the text columns: the contract's and any extra column.
    text_columns = [h for h in header if h not in table.column_names or table.column(h).type == "text"]

    def joined(columns: list[str]) -> str:
        return "concat_ws(chr(31), " + ", ".join(f"trim({q(h)})" for h in columns) + ")"

    quick = [found(joined(header), rx) for _, rx in CONTRACT.personal_data_patterns]
    quick += [found(joined(text_columns), rx) for _, rx in CONTRACT.personal_text_patterns] if text_columns else []
    quick += [found(f"trim({q(h)})", rx) for h, _, rx in child_id_probes]
    if not any(con.sql("SELECT " + ", ".join(quick) + " FROM raw_text").fetchone()):
        return
    probes = child_id_probes + [(h, what, rx) for h in header for what, rx in CONTRACT.personal_data_patterns]
    probes += [(h, what, rx) for h in text_columns for what, rx in CONTRACT.personal_text_patterns]
    hits = con.sql(
        "SELECT " + ", ".join(found(f"trim({q(h)})", rx) for h, _, rx in probes) + " FROM raw_text"
    ).fetchone()
    for (column, what, _), hit in zip(probes, hits):
        if hit:
            raise FileRejected("F_PERSONAL_VALUE", column=column, detail=what)


def normalise(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    raw: RawTable,
    *,
    la_code: str,
    period_end: dt.date,
    received_at: dt.datetime,
) -> Normalised:
    """Type ``raw`` per the contract; raise FileRejected for file faults, else split rows into
    loaded and rejected. Rows in = rows loaded + rows rejected."""
    extra = check_header(table, raw.header)
    if raw.rows == 0:
        raise FileRejected("F_NO_ROWS")
    con.execute(MACROS)
    con.register("raw_text", raw.data)
    check_file_values(con, table, raw.header, la_code)

    extra = [h for h in extra if not (h.startswith("unnamed_") and _all_blank(con, h))]
    typed_cols = ", ".join(f"{_parsed(c)} AS {q(c.name)}" for c in table.columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE typed AS SELECT {LINE}, {N_FIELDS}, {typed_cols}, "
        + ", ".join(f"{q(c)} AS {q('raw__' + c)}" for c in table.column_names)
        + "".join(f", {_text(h)} AS {q(h)}" for h in extra)
        + f", DATE {lit(received_at.date())} AS received_date, DATE {lit(period_end)} AS period_end_date"
        + " FROM raw_text"
    )

    width = len(raw.header)
    ragged = f"{N_FIELDS} <> {width}"
    selects = [
        f"SELECT {LINE} AS line, '' AS column_name, CAST({N_FIELDS} AS VARCHAR) AS value, 'R_RAGGED' AS rule_code, "
        f"{message_sql('R_RAGGED', '', f'CAST({N_FIELDS} AS VARCHAR)', str(width))} AS message FROM suspect WHERE {ragged}"
    ]
    predicates = [ragged]
    whole = f"{N_FIELDS} = {width}"  # a ragged line gets that one reason: its fields are misplaced
    for col in table.columns:
        raw_col = q("raw__" + col.name)
        for code, predicate, message in _column_checks(col):
            predicates.append(predicate)
            selects.append(
                f"SELECT {LINE}, {lit(col.name)}, {shown_sql(f'trim({raw_col})')}, {lit(code)}, {message} "
                f"FROM suspect WHERE {whole} AND ({predicate})"
            )
    for rule in table.row_rules:
        predicates.append(rule.fails_when)
        if rule.column_fails_when:  # the finding names the first column that breaks the rule
            earlier = []
            for column in rule.columns:
                this = rule.column_fails_when.format(column=q(column))
                value = f"trim({q('raw__' + column)})"
                message = _rule_message_sql(rule.message, column, value)
                selects.append(
                    f"SELECT {LINE}, {lit(column)}, {value}, {lit(rule.code)}, {message} FROM suspect "
                    f"WHERE {whole} AND coalesce({this}, false)"
                    + "".join(f" AND NOT coalesce({e}, false)" for e in earlier)
                )
                earlier.append(this)
            continue
        column = rule.columns[0]
        value = shown_sql(f"trim({q('raw__' + column)})")
        selects.append(
            f"SELECT {LINE}, {lit(column)}, {value}, {lit(rule.code)}, "
            f"{lit(rule.message)} FROM suspect WHERE {whole} AND ({rule.fails_when})"
        )
    # One pass over every row finds the few that break any rule; each rule then reads only those.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE suspect AS SELECT * FROM typed WHERE " + " OR ".join(f"({p})" for p in predicates)
    )
    con.execute("CREATE OR REPLACE TEMP TABLE findings AS " + " UNION ALL ".join(selects))
    _reject_repeats(con, table, extra)

    warnings = pa.table(
        {
            "line": [1] * len(extra),
            "column_name": extra,
            "value": [None] * len(extra),
            "rule_code": ["W_EXTRA_COLUMN"] * len(extra),
            "message": [CONTRACT.rules["W_EXTRA_COLUMN"].explain(h) for h in extra],
            "severity": ["warning"] * len(extra),
        },
        schema=FINDINGS_SCHEMA,
    )
    rows = con.sql(
        "SELECT CAST(line AS BIGINT) AS line, column_name, value, rule_code, message, 'row_rejected' AS severity "
        "FROM findings ORDER BY line, rule_code"
    ).to_arrow_table()
    findings = pa.concat_tables([warnings, rows.cast(FINDINGS_SCHEMA)])
    rejected = con.sql("SELECT count(DISTINCT line) FROM findings").fetchone()[0]
    keep = (
        f" WHERE {LINE} NOT IN (SELECT line FROM findings) ORDER BY {LINE}" if rejected else ""
    )  # else in line order already
    loaded = con.sql(
        "SELECT " + ", ".join(q(c) for c in table.column_names + extra) + f", {LINE} AS source_line FROM typed{keep}"
    ).to_arrow_table()
    con.unregister("raw_text")
    return Normalised(loaded=loaded, findings=findings, rows_in=raw.rows, rows_rejected=rejected)


def _all_blank(con: duckdb.DuckDBPyConnection, column: str) -> bool:
    return con.sql(f"SELECT count({_text(column)}) = 0 FROM raw_text").fetchone()[0]


def _reject_repeats(con: duckdb.DuckDBPyConnection, table: Table, extra: list[str]) -> None:
    """Among rows not yet rejected: identical copies, repeated keys, then overlapping spells.
    The first row (by line, or by start date for spells) loads; each later one is rejected."""

    def reject_later(partition: list[str], rule_code: str, order: str = LINE, overlap: dict | None = None) -> None:
        by = ", ".join(q(c) for c in partition)
        if overlap:
            start, end = q(overlap["start"]), q(overlap["end"])
            found = (
                f"SELECT {LINE}, earlier FROM (SELECT {LINE}, {start} AS s, "
                f"max(coalesce({end}, DATE '9999-12-31')) OVER w AS earliest_end, "
                f"arg_max({LINE}, coalesce({end}, DATE '9999-12-31')) OVER w AS earlier "
                f"FROM typed WHERE {LINE} NOT IN (SELECT line FROM findings) "
                f"WINDOW w AS (PARTITION BY {by} ORDER BY {start}, {LINE} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) "
                f"WHERE s < earliest_end"
            )
            column = overlap["start"]
        else:
            found = (
                f"SELECT {LINE}, earlier FROM (SELECT {LINE}, first_value({LINE}) OVER (PARTITION BY {by} ORDER BY {order}) AS earlier "
                f"FROM typed WHERE {LINE} NOT IN (SELECT line FROM findings)) WHERE {LINE} <> earlier"
            )
            column = ", ".join(partition) if rule_code == "R_KEY" else ""
        con.execute(
            f"INSERT INTO findings SELECT {LINE}, {lit(column)}, NULL, {lit(rule_code)}, "
            f"{message_sql(rule_code, column, 'NULL', 'earlier')} FROM ({found})"
        )

    reject_later(table.column_names + extra, "R_DUPLICATE")
    if table.unique:
        reject_later(list(table.unique), "R_KEY")
    if table.no_overlap:
        reject_later([table.no_overlap["entity"]], "R_OVERLAP", overlap=table.no_overlap)
