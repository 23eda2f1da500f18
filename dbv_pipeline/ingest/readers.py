"""Read a landing file into text columns with line numbers (spec §1, §4 parsing).

CSV: UTF-8 (with or without BOM), falling back to Windows-1252; Arrow's parser for the usual
file, the csv module (streaming, line by line) for anything unusual. XLSX: one sheet per table, other
sheets ignored; Excel dates become ISO dates and numeric cells become text (``869``, not ``869.0``).
Values stay text here; typing and row rules are the normaliser's job.

Limits (the contract's ``limits``) are checked before anything is allocated for them: the file's
size before it is read, the header line from a bounded prefix, a workbook's decompressed size,
compression ratio and every table sheet's dimensions (from its XML, streamed) before the workbook
is opened. A file over a limit is rejected (``F_LIMIT``) with the limit in plain words.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..contract import CONTRACT, TABLES, normalise_header
from .errors import FileRejected

LINE, N_FIELDS = "_line", "_n_fields"
BATCH_ROWS = 50_000
LIMITS = CONTRACT.limits
# The header line is read from a prefix this long: every field at its longest (4 bytes a character in
# UTF-8, quoted) for the most columns allowed.
HEADER_BYTES = LIMITS["max_columns"] * (4 * LIMITS["max_header_chars"] + 3) + 4


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def check_size(size: int) -> None:
    """A file's size on disk: empty, or over the limit, before anything is read."""
    if size == 0:
        raise FileRejected("F_EMPTY")
    if size > LIMITS["max_file_bytes"]:
        raise FileRejected("F_LIMIT", detail=f"it is {_mib(size)}, over the limit of {_mib(LIMITS['max_file_bytes'])}")


@contextlib.contextmanager
def _field_limit(limit: int):
    """The csv module's longest field, for the duration (it is process-wide)."""
    before = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _too_long(exc: csv.Error) -> bool:
    return "field larger than field limit" in str(exc)


def _field_over_limit(where: str) -> FileRejected:
    return FileRejected("F_LIMIT", detail=f"{where} has a value longer than {LIMITS['max_field_chars']:,} characters")


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
    check_size(path.stat().st_size)
    with path.open("rb") as handle:
        head = handle.read(max(8192, HEADER_BYTES))
    if b"\x00" in head[:8192]:
        raise FileRejected("F_UNREADABLE", detail="it looks like a binary file, not text")
    if b"\n" not in head and b"\r" not in head and len(head) == HEADER_BYTES:
        raise FileRejected(
            "F_LIMIT",
            detail=f"the header line is longer than {HEADER_BYTES:,} bytes "
            f"({LIMITS['max_columns']} columns of at most {LIMITS['max_header_chars']} characters)",
        )
    try:
        return _read_csv_arrow(path, head) or _read_csv_text(path, "utf-8-sig")
    except UnicodeDecodeError:
        return _read_csv_text(path, "cp1252")  # Excel's "CSV" on Windows


def _first_line(head: bytes, encoding: str) -> list[str] | None:
    """The header's fields, parsed from the file's bounded prefix."""
    import io

    text = head.decode(encoding, errors="strict" if encoding != "cp1252" else "replace")
    with _field_limit(LIMITS["max_header_chars"] * 4 + 2):
        try:
            return next(csv.reader(io.StringIO(text, newline="")), None)
        except csv.Error as exc:
            if _too_long(exc):
                raise FileRejected(
                    "F_LIMIT", detail=f"a header field is longer than {LIMITS['max_header_chars']} characters"
                ) from exc
            raise FileRejected("F_UNREADABLE", detail="line 1: the header cannot be parsed") from exc


def _read_csv_arrow(path: Path, head: bytes) -> RawTable | None:
    """The usual file, read by Arrow's CSV parser (many times faster than the csv module): UTF-8
    and every line one row of exactly the header's fields. None for anything else (blank lines,
    line breaks inside quotes, ragged rows, another encoding): the csv module reads those."""
    try:
        first = _first_line(head.split(b"\n", 1)[0] if b"\n" in head else head, "utf-8-sig")
    except UnicodeDecodeError:
        return None
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
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows + 1 != _line_count(content):
        return None  # a value spans lines: line numbers need the csv module
    if table.num_rows > LIMITS["max_rows"]:
        raise FileRejected("F_LIMIT", detail=f"it has more than {LIMITS['max_rows']:,} data rows")
    columns = [table.column(n).combine_chunks() for n in names]
    longest = max((pc.max(pc.utf8_length(c)).as_py() or 0 for c in columns), default=0)
    if longest > LIMITS["max_field_chars"]:
        raise _field_over_limit("a line")
    lines = pa.array(range(2, table.num_rows + 2), pa.int64())
    data = pa.table(
        [lines, pa.repeat(pa.scalar(len(header), pa.int32()), table.num_rows), *columns],
        names=[LINE, N_FIELDS, *header],
    )
    if columns:  # blank and comma-only lines are skipped, as in the csv module's path
        filled = functools.reduce(pc.or_, (pc.not_equal(pc.utf8_trim_whitespace(c), "") for c in columns))
        data = data.filter(filled)
    return RawTable(header, data)


def _line_count(content: bytes) -> int:
    """Lines in a file's content: its line feeds, plus one for a last line without one."""
    return content.count(b"\n") + (content[-1:] not in (b"", b"\n"))


def _read_csv_text(path: Path, encoding: str) -> RawTable:
    with path.open(encoding=encoding, newline="") as handle, _field_limit(LIMITS["max_field_chars"]):
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
            if _too_long(exc):
                raise _field_over_limit(f"line {line + 1}") from exc
            raise FileRejected("F_UNREADABLE", detail=f"line {line + 1}: {exc}") from exc


def table_sheets(names: list[str]) -> dict[str, str]:
    """The sheet of each contract table, by name (case- and space-insensitive); several sheets
    for one table (``placements`` and ``Placements ``) make the workbook ambiguous."""
    sheets: dict[str, list[str]] = {}
    for name in names:
        if normalise_header(name) in TABLES:
            sheets.setdefault(normalise_header(name), []).append(name)
    for table, found in sheets.items():
        if len(found) > 1:
            raise FileRejected("F_AMBIGUOUS_SHEETS", column=table, detail=", ".join(repr(n) for n in found))
    return {table: found[0] for table, found in sheets.items()}


_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\sr=\"([A-Z]{1,3})([0-9]{1,7})\"")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\sref=\"(?:[A-Z]{1,3}[0-9]{1,7}:)?([A-Z]{1,3})([0-9]{1,7})\"")
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\sname=\"([^\"]*)\"[^>]*?\s(?:\w+:)?id=\"([^\"]*)\"")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b(?=[^>]*?\sId=\"([^\"]*)\")(?=[^>]*?\sTarget=\"([^\"]*)\")")


def _column_number(letters: bytes) -> int:
    return functools.reduce(lambda n, c: n * 26 + c - 64, letters, 0)


def check_workbook(path: Path) -> None:
    """Limits of a workbook, from its zip directory and XML, before it is opened: decompressed size,
    compression ratio, one sheet per table, and each table sheet's dimensions (cells x columns)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected("F_UNREADABLE", detail="not a valid Excel workbook (not a zip archive)") from exc
    with archive:
        parts = archive.infolist()
        total = sum(p.file_size for p in parts)
        if total > LIMITS["max_xlsx_uncompressed_bytes"]:
            raise FileRejected(
                "F_LIMIT",
                detail=f"the workbook decompresses to {_mib(total)}, over the limit of "
                f"{_mib(LIMITS['max_xlsx_uncompressed_bytes'])}",
            )
        for part in parts:
            if part.file_size > 1 << 20 and part.file_size > LIMITS["max_xlsx_ratio"] * max(part.compress_size, 1):
                raise FileRejected(
                    "F_LIMIT",
                    detail=f"a part of the workbook is compressed more than "
                    f"{LIMITS['max_xlsx_ratio']} times (a zip bomb?)",
                )
        names = {p.filename for p in parts}
        if "xl/workbook.xml" not in names:
            raise FileRejected("F_UNREADABLE", detail="not a valid Excel workbook (no xl/workbook.xml)")
        sheets = [
            (n.decode("utf-8", "replace"), rid.decode())
            for n, rid in _SHEET.findall(_small_part(archive, "xl/workbook.xml"))
        ]
        rels = {}
        if "xl/_rels/workbook.xml.rels" in names:
            rels = {
                rid.decode(): target.decode()
                for rid, target in _RELATIONSHIP.findall(_small_part(archive, "xl/_rels/workbook.xml.rels"))
            }
        for table, sheet in table_sheets([n for n, _ in sheets]).items():
            target = rels.get(dict(sheets)[sheet], "")
            member = (
                target.lstrip("/") if target.startswith("/") else os.path.normpath("xl/" + target).replace(os.sep, "/")
            )
            if member in names:
                _check_sheet_dimensions(archive, member, table)


def _small_part(archive: zipfile.ZipFile, name: str, limit: int = 16 << 20) -> bytes:
    if archive.getinfo(name).file_size > limit:
        raise FileRejected("F_LIMIT", detail=f"the workbook's {name} is over {_mib(limit)}")
    return archive.read(name)


def _check_sheet_dimensions(archive: zipfile.ZipFile, member: str, table: str) -> None:
    """The sheet's declared dimension and its cells' positions, streamed: rows x columns within the limits."""
    max_row = max_col = 0
    declared = None
    tail = b""
    with archive.open(member) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            text = tail + chunk
            if declared is None:
                match = _DIMENSION.search(text)
                if match:
                    declared = (_column_number(match.group(1)), int(match.group(2)))
                    _check_cells(table, *declared)
            for letters, row in _CELL_REF.findall(text):
                max_col, max_row = max(max_col, _column_number(letters)), max(max_row, int(row))
            _check_cells(table, max_col, max_row)
            tail = text[-64:]


def _check_cells(table: str, columns: int, rows: int) -> None:
    if columns > LIMITS["max_columns"] or rows > LIMITS["max_rows"] + 1 or columns * rows > LIMITS["max_xlsx_cells"]:
        raise FileRejected(
            "F_LIMIT",
            detail=f"sheet {table} reaches column {columns:,} and row {rows:,}; a sheet may have at most "
            f"{LIMITS['max_columns']} columns, {LIMITS['max_rows']:,} rows and "
            f"{LIMITS['max_xlsx_cells']:,} cells",
        )


def read_xlsx(path: Path) -> dict[str, RawTable]:
    """Read every sheet named (case-insensitively) as a contract table (calamine: Rust, fast), once
    the workbook has passed ``check_workbook``."""
    from python_calamine import CalamineWorkbook  # imported lazily: only workbooks need it

    check_size(path.stat().st_size)
    check_workbook(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = list(workbook.sheet_names)
    except Exception as exc:  # calamine raises several types for a broken or non-xlsx file
        raise FileRejected("F_UNREADABLE", detail=f"not a valid Excel workbook ({type(exc).__name__})") from exc
    tables = {}
    for name, sheet_name in table_sheets(names).items():
        try:
            sheet = workbook.get_sheet_by_name(sheet_name)
        except Exception as exc:
            raise FileRejected("F_UNREADABLE", detail=f"sheet {name} cannot be read ({type(exc).__name__})") from exc
        rows = ((i, _sheet_row(i, values)) for i, values in enumerate(sheet.iter_rows(), 1))
        first = next(rows, None)
        fields = [] if first is None else list(first[1])
        while fields and fields[-1] is None:
            fields.pop()  # empty cells after the last header (formatting) are not columns
        header = _header(fields)
        tables[name] = RawTable(header, _to_arrow(header, rows, short_rows_are_blank=True))
    if not tables:
        raise FileRejected("F_TABLE", detail=f"(no sheet named {', '.join(TABLES)})")
    return tables


def _sheet_row(line: int, values: list) -> list[str | None]:
    fields = [_cell_text(v) for v in values]
    if any(f is not None and len(f) > LIMITS["max_field_chars"] for f in fields):
        raise _field_over_limit(f"row {line}")
    return fields


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
    """Normalised header names; the header's limits, reserved names and duplicates are file faults."""
    if len(fields) > LIMITS["max_columns"]:
        raise FileRejected(
            "F_LIMIT", detail=f"the header has {len(fields):,} columns; at most {LIMITS['max_columns']} are read"
        )
    if any(f is not None and len(str(f)) > LIMITS["max_header_chars"] for f in fields):
        raise FileRejected("F_LIMIT", detail=f"a header field is longer than {LIMITS['max_header_chars']} characters")
    header = [normalise_header(f) or f"unnamed_{i + 1}" for i, f in enumerate(fields)]
    for name in header:
        if CONTRACT.is_reserved_column(name):
            raise FileRejected("F_RESERVED_COLUMN", column=name)
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
    kept = 0

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
        kept += 1
        if kept > LIMITS["max_rows"]:
            raise FileRejected("F_LIMIT", detail=f"it has more than {LIMITS['max_rows']:,} data rows")
        lines.append(line)
        counts.append(n)
        batch.append(fields)
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch or not batches:
        flush()
    return pa.Table.from_batches(batches, schema=schema)
