"""The Excel return template, derived from the contract (``dbv template``).

A Guidance sheet, one sheet per table (named as the table, header row from the contract) with a
validation on every column for every row the sheet can hold: drop-downs for code-list columns, dates,
amounts (with the contract's minimum), lengths of codes and text; date, money and text formats; and a
hidden Lists sheet that the drop-downs reference. The ingest reads the table sheets and ignores
Guidance and Lists. Excel enforces these on typing; a pasted value bypasses them, so ingest still checks.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from ..contract import CONTRACT, TABLES, Column

LAST_ROW = 1_048_576  # every row a sheet can hold is validated (a large LA sends ~14k placement rows)
LISTS = "Lists"
NUMBER_FORMATS = {"date": "yyyy-mm-dd", "money": "#,##0.00;-#,##0.00"}
TEXT = "@"  # codes, LA codes, URNs and years stay text (869, not 869.0)
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TYPE_WORDS = {
    "la_code": "3-digit LA code",
    "text": "text",
    "date": "date (YYYY-MM-DD or DD/MM/YYYY)",
    "code": "code from the list",
    "money": "amount in pounds",
    "financial_year": "financial year, YYYY-YY",
    "urn": "6-digit URN",
}


def _rule_words(col: Column) -> str:
    parts = []
    if col.pattern:
        parts.append(f"pattern {col.pattern}")
    if col.max_length:
        parts.append(f"at most {col.max_length} characters")
    if col.min is not None:
        parts.append(f"at least {col.min:g}")
    return "; ".join(parts)


def _codes_words(col: Column) -> str:
    if not col.code_list:
        return ""
    return "; ".join(f"{code} = {label}" for code, label in CONTRACT.code_lists[col.code_list].codes.items())


def _guidance(ws) -> None:
    ws.append([f"DBV data return template (spec v{CONTRACT.spec_version})"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(
        [
            "Save as <la_code>_dbv_return_<period>.xlsx, e.g. 869_dbv_return_2024-25.xlsx. "
            "Fill one sheet per table, one row per record, from row 2; do not rename sheets or headers."
        ]
    )
    ws.append(
        [
            "Pick codes from the drop-downs. Leave a cell blank only where 'Required' says no. "
            "Never include names, addresses, postcodes, UPNs, ULNs or NHS numbers."
        ]
    )
    ws.append([])
    header = ["Table", "Column", "Description", "Type", "Required", "Allowed codes", "Other rules"]
    ws.append(header)
    for cell in ws[ws.max_row]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for table in TABLES.values():
        for col in table.columns:
            ws.append(
                [
                    table.name,
                    col.name,
                    col.description,
                    TYPE_WORDS[col.type],
                    "yes" if col.required else "no",
                    _codes_words(col),
                    _rule_words(col),
                ]
            )
        if table.unique:
            ws.append([table.name, ", ".join(table.unique), "Together these must not repeat", "", "", "", "unique key"])
        for rule in table.row_rules:
            ws.append([table.name, ", ".join(rule.columns), rule.message, "", "", "", f"rule {rule.code}"])
    for letter, width in zip("ABCDEFG", (14, 26, 70, 22, 10, 60, 30)):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=6):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A6"


def _lists(ws) -> dict[str, str]:
    """One column per code list; returns each list's absolute range for the drop-downs."""
    ranges = {}
    for i, (name, code_list) in enumerate(CONTRACT.code_lists.items(), 1):
        letter = get_column_letter(i)
        ws.cell(1, i, name).font = Font(bold=True)
        for j, code in enumerate(code_list.codes, 2):
            ws.cell(j, i, code).number_format = TEXT
        ranges[name] = f"{quote_sheetname(LISTS)}!${letter}$2:${letter}${len(code_list.codes) + 1}"
    ws.sheet_state = "hidden"
    return ranges


FIXED_LENGTHS = {"la_code": 3, "urn": 6, "financial_year": 7}  # 869, 123456, 2024-25


def _validation(col: Column, ranges: dict[str, str]) -> DataValidation | None:
    """Excel's check for a column, from its contract type and rules (None for free text)."""
    common = {
        "allow_blank": not col.required,
        "showErrorMessage": True,
        "promptTitle": col.name[:32],
        "prompt": col.description[:255],
        "showInputMessage": True,
    }
    if col.code_list:
        return DataValidation(
            type="list",
            formula1=f"={ranges[col.code_list]}",
            errorTitle="Not in the code list",
            error=f"{col.name} must be one of: {', '.join(CONTRACT.codes(col.code_list))}"[:255],
            **common,
        )
    if col.type == "date":
        return DataValidation(
            type="date",
            operator="between",
            formula1="DATE(1900,1,1)",
            formula2="DATE(2100,12,31)",
            errorTitle="Not a date",
            error=f"{col.name} must be a date (YYYY-MM-DD)",
            **common,
        )
    if col.type == "money":
        minimum = f"{col.min:g}" if col.min is not None else "-1000000000000"
        return DataValidation(
            type="decimal",
            operator="between",
            formula1=minimum,
            formula2="1000000000000",
            errorTitle="Not an amount",
            error=f"{col.name} must be an amount in pounds"
            + (f", at least {col.min:g}" if col.min is not None else ""),
            **common,
        )
    if col.type in FIXED_LENGTHS:
        n = FIXED_LENGTHS[col.type]
        return DataValidation(
            type="textLength",
            operator="equal",
            formula1=str(n),
            errorTitle="Wrong length",
            error=f"{col.name} must be {n} characters ({TYPE_WORDS[col.type]})",
            **common,
        )
    if col.max_length:
        return DataValidation(
            type="textLength",
            operator="lessThanOrEqual",
            formula1=str(col.max_length),
            errorTitle="Too long",
            error=f"{col.name} must be at most {col.max_length} characters",
            **common,
        )
    return None


def _table_sheet(ws, columns: tuple[Column, ...], ranges: dict[str, str]) -> None:
    ws.append([c.name for c in columns])
    for i, col in enumerate(columns, 1):
        letter = get_column_letter(i)
        cell = ws.cell(1, i)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        dim = ws.column_dimensions[letter]
        dim.width = max(14, len(col.name) + 4)
        dim.number_format = NUMBER_FORMATS.get(col.type, TEXT)
        validation = _validation(col, ranges)
        if validation is not None:
            validation.add(f"{letter}2:{letter}{LAST_ROW}")
            ws.add_data_validation(validation)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}1"


def write_template(path: Path) -> Path:
    """Write the return template workbook to ``path``."""
    wb = Workbook()
    _guidance(wb.active)
    wb.active.title = "Guidance"
    sheets = {name: wb.create_sheet(name) for name in TABLES}
    ranges = _lists(wb.create_sheet(LISTS))
    for name, ws in sheets.items():
        _table_sheet(ws, TABLES[name].columns, ranges)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
