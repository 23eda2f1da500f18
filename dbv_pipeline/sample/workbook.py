"""Writing a return as one workbook: SpreadsheetML written directly (fast, same bytes every time).

A Guidance sheet (saying the data is SYNTHETIC) comes first, then one sheet per table named as the
table. Dates are Excel date cells; money, URNs, la_code and all-digit codes are number cells.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from dbv_pipeline.contract import CONTRACT, Column, Table

from .files import CHUNK_ROWS, SYNTHETIC_NOTICE

ZIP_TIME = (2025, 1, 1, 0, 0, 0)  # fixed entry times: reproducible bytes
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_ML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_RELS}"><Relationship Id="rId1" '
    f'Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
# Cell style 1 is a date (yyyy-mm-dd); everything else uses style 0.
_STYLES = (
    f'{_XML}<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_SHEET_HEAD = f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"


def write_workbook(
    path: Path, tables: dict[str, dict[str, np.ndarray]], la_code: str, la_name: str, period: str
) -> None:
    """The LA's return for ``period`` as ``path`` (typed columns per table, as for CSV)."""
    guidance = [
        f"DBV data return – {la_name} ({la_code}), {period} – SYNTHETIC SAMPLE",
        SYNTHETIC_NOTICE,
        "Fill in one sheet per table. Sheet names and column headers must not change.",
        *(f"{name}: {CONTRACT.tables[name].description}" for name in tables),
    ]
    sheets = ["Guidance", *tables]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:

        def put(name: str, text: str) -> None:
            z.writestr(zipfile.ZipInfo(name, ZIP_TIME), text.encode("utf-8"), zipfile.ZIP_DEFLATED)

        put("[Content_Types].xml", _content_types(len(sheets)))
        put("_rels/.rels", _ROOT_RELS)
        put("xl/workbook.xml", _workbook(sheets))
        put("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
        put("xl/styles.xml", _STYLES)
        put(
            "xl/worksheets/sheet1.xml",
            _SHEET_HEAD
            + "".join(f'<row r="{k}">{_text_cell("A", k, line)}</row>' for k, line in enumerate(guidance, 1))
            + _SHEET_TAIL,
        )
        for k, (name, columns) in enumerate(tables.items(), 2):
            with z.open(zipfile.ZipInfo(f"xl/worksheets/sheet{k}.xml", ZIP_TIME), "w") as f:
                for chunk in _sheet_xml(columns, CONTRACT.tables[name]):
                    f.write(chunk.encode("utf-8"))


def _content_types(n_sheets: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="{_SHEET_ML}.worksheet+xml"/>'
        for k in range(1, n_sheets + 1)
    )
    return (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_ML}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_SHEET_ML}.styles+xml"/>{sheets}</Types>'
    )


def _workbook(sheets: list[str]) -> str:
    entries = "".join(f'<sheet name="{n}" sheetId="{k}" r:id="rId{k}"/>' for k, n in enumerate(sheets, 1))
    return f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><sheets>{entries}</sheets></workbook>'


def _workbook_rels(n_sheets: int) -> str:
    items = [
        f'<Relationship Id="rId{k}" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet{k}.xml"/>'
        for k in range(1, n_sheets + 1)
    ]
    items.append(f'<Relationship Id="rId{n_sheets + 1}" Type="{_DOC_RELS}/styles" Target="styles.xml"/>')
    return f'{_XML}<Relationships xmlns="{_PKG_RELS}">{"".join(items)}</Relationships>'


def _text_cell(col: str, row: int, text: str) -> str:
    return f'<c r="{col}{row}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def _column_letter(k: int) -> str:
    return chr(ord("A") + k) if k < 26 else "A" + chr(ord("A") + k - 26)


def _is_number(col: Column) -> bool:
    """Money, URNs, la_code and all-digit code lists (cease_reason, line_of_enquiry) are numbers."""
    digit_codes = col.type == "code" and all(c.isdigit() for c in CONTRACT.codes(col.code_list))
    return col.type in ("money", "urn", "la_code") or digit_codes


def _sheet_xml(columns: dict[str, np.ndarray], table: Table) -> Iterator[str]:
    """The worksheet XML in chunks: a header row of text, then typed cells (blank cells omitted)."""
    yield (
        _SHEET_HEAD
        + '<row r="1">'
        + "".join(_text_cell(_column_letter(k), 1, name) for k, name in enumerate(table.column_names))
        + "</row>"
    )
    n = len(columns["la_code"])
    for lo in range(0, n, CHUNK_ROWS):
        rows = pd.Series(np.arange(lo + 2, min(lo + CHUNK_ROWS, n) + 2).astype(str), dtype=str)
        line = '<row r="' + rows + '">'
        for k, col in enumerate(table.columns):
            v = columns[col.name][lo : lo + CHUNK_ROWS]
            ref = '<c r="' + _column_letter(k) + rows
            if col.type == "date":
                serial = (v.astype("datetime64[D]") - _EXCEL_EPOCH).astype(np.int64).astype(str)
                cell = (ref + '" s="1"><v>' + pd.Series(serial, dtype=str) + "</v></c>").where(~np.isnat(v), "")
            elif _is_number(col):
                if col.type in ("money", "urn"):
                    blank = np.isnan(v) if col.type == "money" else v == 0
                    v = np.where(blank, 0, v).astype(np.int64).astype(str)
                else:
                    blank = v == ""
                cell = (ref + '"><v>' + pd.Series(v, dtype=str) + "</v></c>").where(~blank, "")
            else:
                text = pd.Series(v, dtype=str)
                escaped = text.str.replace("&", "&amp;").str.replace("<", "&lt;").str.replace(">", "&gt;")
                cell = (ref + '" t="inlineStr"><is><t>' + escaped + "</t></is></c>").where(text != "", "")
            line = line + cell
        yield "\n".join(line + "</row>") + "\n"
    yield _SHEET_TAIL
