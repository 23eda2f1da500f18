"""Read a landing file into text columns with line numbers (spec §1, §4 parsing).

CSV: UTF-8 (with or without BOM), falling back to Windows-1252; Arrow's parser for the usual
file, the csv module (streaming, line by line) for anything unusual. XLSX: one sheet per table, other
sheets ignored; Excel dates become ISO dates and numeric cells become text (``869``, not ``869.0``).
Values stay text here; typing and row rules are the normaliser's job.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

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
        return _read_csv_arrow(path) or _read_csv_text(path, "utf-8-sig")
    except UnicodeDecodeError:
        return _read_csv_text(path, "cp1252")  # Excel's "CSV" on Windows


def _read_csv_arrow(path: Path) -> RawTable | None:
    """The usual file, read by Arrow's CSV parser (many times faster than the csv module): UTF-8
    and every line one row of exactly the header's fields. None for anything else (blank lines,
    line breaks inside quotes, ragged rows, another encoding): the csv module reads those."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = next(csv.reader(handle), None)
    if first is None:
        return None
    header = _header(first)
    names = [f"c{i}" for i in range(len(header))]
    content = path.read_bytes()  # parsed and its lines counted from one read
    try:
        table = pacsv.read_csv(
            pa.BufferReader(content),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows + 1 != _line_count(content):
        return None  # a value spans lines: line numbers need the csv module
    columns = [table.column(n).combine_chunks() for n in names]
    lines = pa.array(range(2, table.num_rows + 2), pa.int64())
    data = pa.table([lines, pa.repeat(pa.scalar(len(header), pa.int32()), table.num_rows), *columns],
                    names=[LINE, N_FIELDS, *header])
    if columns:  # blank and comma-only lines are skipped, as in the csv module's path
        filled = functools.reduce(pc.or_, (pc.not_equal(pc.utf8_trim_whitespace(c), "") for c in columns))
        data = data.filter(filled)
    return RawTable(header, data)


def _line_count(content: bytes) -> int:
    """Lines in a file's content: its line feeds, plus one for a last line without one."""
    return content.count(b"\n") + (content[-1:] not in (b"", b"\n"))


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
    """Read every sheet named (case-insensitively) as a contract table (calamine: Rust, fast)."""
    from python_calamine import CalamineWorkbook  # imported lazily: only workbooks need it

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheets = {normalise_header(name): workbook.get_sheet_by_name(name)
                  for name in workbook.sheet_names if normalise_header(name) in TABLES}
    except Exception as exc:  # calamine raises several types for a broken or non-xlsx file
        raise FileRejected("F_UNREADABLE", detail=f"not a valid Excel workbook ({type(exc).__name__})") from exc
    tables = {}
    for name, sheet in sheets.items():
        rows = ((i, [_cell_text(v) for v in values]) for i, values in enumerate(sheet.iter_rows(), 1))
        first = next(rows, None)
        header = _header([] if first is None else first[1])
        tables[name] = RawTable(header, _to_arrow(header, rows, short_rows_are_blank=True))
    if not tables:
        raise FileRejected("F_TABLE", detail=f"(no sheet named {', '.join(TABLES)})")
    return tables


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
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
