"""Writing returns as CSV (in chunks, in a style), file names, and the SYNTHETIC notice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..reporting import SYNTHETIC_MARKER
from .variations import CANONICAL, Style

CHUNK_ROWS = 50_000
SYNTHETIC_NOTICE = (
    "SYNTHETIC: this is generated sample data (dbv_pipeline.sample), not a real return. "
    "No child, setting or local authority figure in it is real."
)


def csv_name(la_code: str, table: str, period: str) -> str:
    return f"{la_code}_{table}_{period}.csv"


def xlsx_name(la_code: str, period: str) -> str:
    return f"{la_code}_dbv_return_{period}.xlsx"


def write_csv(path: Path, table: pa.Table, style: Style = CANONICAL, tail: str = "") -> None:
    """Write a text table in chunks; ``blank_lines`` adds a blank and a comma-only line between
    chunks and at the end; ``tail`` is appended as is (a ragged last line)."""
    n = table.num_rows
    bounds = np.linspace(0, n, 4).astype(int) if style.blank_lines else np.r_[np.arange(0, n, CHUNK_ROWS), n]
    fillers = [style.newline, "," * (table.num_columns - 1) + style.newline]
    header = ",".join(_quote(name) for name in table.column_names) + style.newline
    with open(path, "wb") as f:
        f.write(_encode(header, style, first=True))
        for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            body = _lines(table.slice(lo, hi - lo), style.newline)
            f.write(body.decode("utf-8").encode(style.encoding) if style.encoding == "cp1252" else body)
            if style.blank_lines:
                f.write(_encode(fillers[k % 2], style))
        f.write(_encode(tail, style))


def _quote(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\r\n') else text


def _lines(table: pa.Table, newline: str) -> bytes:
    """CSV lines of a text table, built in Arrow: fields quoted only where needed."""
    if table.num_rows == 0:
        return b""
    fields = []
    for column in table.itercolumns():
        text = column.combine_chunks().cast(pa.string())
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        fields.append(pc.if_else(pc.match_substring_regex(text, '[,"\r\n]'), quoted, text))
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*fields, ","), "", newline)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    return lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def _encode(text: str, style: Style, first: bool = False) -> bytes:
    """Encode in the style's encoding; a BOM only at the start of the file."""
    if style.encoding == "utf-8-sig":
        return text.encode("utf-8-sig" if first else "utf-8")
    return text.encode(style.encoding)


def write_readme(landing_dir: Path, text: str) -> Path:
    path = landing_dir / SYNTHETIC_MARKER
    path.write_text(text, encoding="utf-8")
    return path
