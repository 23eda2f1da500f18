"""Read a landing file into text columns with line numbers, streaming (spec §1, §4 parsing).

CSV: UTF-8 (with or without BOM), falling back to Windows-1252. XLSX: one sheet per table, other
sheets ignored; Excel dates become ISO dates and numeric cells become text (``869``, not ``869.0``).
Values stay text here; typing and row rules are the normaliser's job.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ..contract import TABLES, normalise_header
from .errors import FileRejected

LINE, N_FIELDS = "_line", "_n_fields"
BATCH_ROWS = 50_000


@dataclass
class RawTable:
    """One table's text as read: normalised header names and an Arrow table of string columns
    (named by header) plus ``_line`` (header = line 1) and ``_n_fields`` (fields on the line)."""

    header: list[str]
    data: pa.Table

    @property
    def rows(self) -> int:
        return self.data.num_rows


def read_csv(path: Path) -> RawTable:
    with path.open("rb") as handle:
        head = handle.read(8192)
    if b"\x00" in head:
        raise FileRejected("F_UNREADABLE", detail="it looks like a binary file, not text")
    try:
        return _read_csv_text(path, "utf-8-sig")
    except UnicodeDecodeError:
        return _read_csv_text(path, "cp1252")  # Excel's "CSV" on Windows


def _read_csv_text(path: Path, encoding: str) -> RawTable:
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        line = 0

        def numbered() -> Iterator[tuple[int, list]]:
            nonlocal line
            for fields in reader:
                yield line + 1, fields
                line = reader.line_num

        try:
            rows = numbered()
            first = next(rows, None)
            header = _header([] if first is None else first[1])
            return RawTable(header, _to_arrow(header, rows))
        except csv.Error as exc:
            raise FileRejected("F_UNREADABLE", detail=f"line {line + 1}: {exc}") from exc


def read_xlsx(path: Path) -> dict[str, RawTable]:
    """Read every sheet named (case-insensitively) as a contract table."""
    from openpyxl import load_workbook  # imported lazily: only workbooks need it

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken or non-xlsx file
        raise FileRejected("F_UNREADABLE", detail=f"not a valid Excel workbook ({type(exc).__name__})") from exc
    try:
        tables = {}
        for sheet in workbook.worksheets:
            name = normalise_header(sheet.title)
            if name not in TABLES:
                continue
            rows = ((i, [_cell_text(v) for v in values]) for i, values in enumerate(sheet.iter_rows(values_only=True), 1))
            first = next(rows, None)
            header = _header([] if first is None else first[1])
            tables[name] = RawTable(header, _to_arrow(header, rows, short_rows_are_blank=True))
        if not tables:
            raise FileRejected("F_TABLE", detail=f"(no sheet named {', '.join(TABLES)})")
        return tables
    finally:
        workbook.close()


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header(fields: list) -> list[str]:
    header = [normalise_header(f) or f"unnamed_{i + 1}" for i, f in enumerate(fields)]
    seen = set()
    for name in header:
        if name in seen:
            raise FileRejected("F_DUPLICATE_COLUMN", column=name)
        seen.add(name)
    return header


def _to_arrow(header: list[str], rows: Iterable[tuple[int, list]], short_rows_are_blank: bool = False) -> pa.Table:
    """Stream data rows into Arrow batches; blank and comma-only lines are skipped. In a sheet a
    short row just has empty trailing cells; in a CSV it is ragged (``_n_fields`` tells)."""
    width = len(header)
    names = [LINE, N_FIELDS, *header]
    schema = pa.schema([(LINE, pa.int64()), (N_FIELDS, pa.int32())] + [(h, pa.string()) for h in header])
    batches, lines, counts, batch = [], [], [], []

    def flush() -> None:
        columns = list(zip(*batch)) if batch else [() for _ in range(width)]
        arrays = [pa.array(lines, pa.int64()), pa.array(counts, pa.int32())]
        arrays += [pa.array(col, pa.string()) for col in columns]
        batches.append(pa.RecordBatch.from_arrays(arrays, names=names))
        lines.clear(), counts.clear(), batch.clear()

    for line, fields in rows:
        n = len(fields)
        if n != width:
            while fields and (fields[-1] is None or fields[-1] == "") and len(fields) > width:
                fields = fields[:-1]  # trailing empty cells are not extra fields
            n = max(len(fields), width) if short_rows_are_blank else len(fields)
            fields = fields[:width] + [None] * (width - len(fields))
        if not any(fields) or not any(f is not None and str(f).strip() for f in fields):
            continue
        lines.append(line)
        counts.append(n)
        batch.append(fields)
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch or not batches:
        flush()
    return pa.Table.from_batches(batches, schema=schema)
