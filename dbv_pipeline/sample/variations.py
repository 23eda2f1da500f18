"""How a return is written: the canonical CSV style and the format variations of spec §1/§4.

A deterministic minority of LAs writes every file in one variation (an encoding, a date or money
format, messy headers, …); a few LAs send one workbook per period instead of CSVs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dbv_pipeline.contract import CONTRACT, Table, normalise_header

from .las import S_LAYOUT, la_params, load_las, rng


@dataclass(frozen=True)
class Style:
    encoding: str = "utf-8"  # or "utf-8-sig" (BOM), "cp1252" (Excel "CSV")
    newline: str = "\n"
    dates: str = "iso"  # "iso_midnight" (YYYY-MM-DD 00:00:00), "dmy" (D/M/YYYY), "ddmmyyyy" (DD/MM/YYYY)
    money: str = "plain"  # "pound" (£1,234.00, -£1,234.00), "brackets" (1,234 and (1,234))
    messy_headers: bool = False  # `Child ID`, ` Primary-Need `
    lower_codes: bool = False  # `mss`
    blank_lines: bool = False  # blank and comma-only lines between and after rows
    extra_column: bool = False  # an unknown `Notes` column (a warning)


CANONICAL = Style()
XLSX = "xlsx"  # Excel date cells, numeric la_code and code cells, a Guidance sheet
VARIATIONS = {
    "windows_1252": Style(encoding="cp1252", newline="\r\n", dates="ddmmyyyy", money="pound"),
    "utf8_bom_dmy": Style(encoding="utf-8-sig", dates="dmy"),
    "iso_midnight": Style(dates="iso_midnight"),
    "money_pound": Style(money="pound"),
    "money_brackets": Style(money="brackets"),
    "messy_headers": Style(messy_headers=True),
    "lower_case_codes": Style(lower_codes=True),
    "blank_lines": Style(blank_lines=True),
    "extra_column": Style(extra_column=True),
}
LAS_PER_VARIATION = 3
EXTRA_COLUMN = "Notes"
_ACRONYMS = {"la", "id", "ehcp", "urn", "gbp", "hnb", "dsg", "dbv", "s251"}
_MESSY = {"primary_need": " Primary-Need ", "financial_year": "Financial-Year"}


def sample_layout(seed: int, xlsx_share: float = 0.05, variations: bool = True) -> dict[str, str]:
    """la_code → ``"xlsx"`` or a variation name, for the LAs that are not canonical CSV.

    Workbooks go to smaller-than-median LAs (keeping workbooks modest); each variation to three LAs.
    """
    las = load_las()
    r = rng(seed, S_LAYOUT)
    weight = la_params(seed).weight
    small = [la for la in las if weight[la.index] < np.median(weight)]
    n_xlsx = int(round(xlsx_share * len(las)))
    layout = {la.la_code: XLSX for la in (small[k] for k in r.permutation(len(small))[:n_xlsx])}
    if variations:
        rest = [la for la in las if la.la_code not in layout]
        order = r.permutation(len(rest))
        for k, name in enumerate(VARIATIONS):
            for j in order[k * LAS_PER_VARIATION : (k + 1) * LAS_PER_VARIATION]:
                layout[rest[j].la_code] = name
    return layout


def messy_header(name: str) -> str:
    """`child_id` → `Child ID`, `primary_need` → ` Primary-Need ` (same after normalising)."""
    if name in _MESSY:
        return _MESSY[name]
    return " ".join(w.upper() if w in _ACRONYMS else w.capitalize() for w in name.split("_"))


assert all(normalise_header(messy_header(c)) == c for t in CONTRACT.tables.values() for c in t.column_names)


def format_dates(values: np.ndarray, style: str) -> pa.Array:
    """Dates (``datetime64[D]``, NaT blank) as text in a spec date format."""
    dates = pa.array(values.astype("datetime64[D]"))
    if style == "iso":
        text = pc.cast(dates, pa.string())
    elif style == "iso_midnight":
        text = pc.strftime(dates, format="%Y-%m-%d 00:00:00")
    elif style == "ddmmyyyy":
        text = pc.strftime(dates, format="%d/%m/%Y")
    elif style == "dmy":
        text = pc.replace_substring_regex(pc.strftime(dates, format="%d/%m/%Y"), pattern=r"(^|/)0", replacement=r"\1")
    else:
        raise ValueError(style)
    return pc.fill_null(text, "")


def format_money(values: np.ndarray, style: str) -> pa.Array:
    """Whole-pound amounts (NaN blank) as text: plain, ``£1,234.00``/``-£1,234.00``, or ``1,234``/``(1,234)``."""
    blank = np.isnan(values)
    whole = np.where(blank, 0, values).astype(np.int64)
    if style == "plain":
        text = pc.cast(pa.array(whole), pa.string())
    elif style == "pound":
        text = pa.array([f"-£{-v:,.2f}" if v < 0 else f"£{v:,.2f}" for v in whole.tolist()], pa.string())
    elif style == "brackets":
        text = pa.array([f"({-v:,})" if v < 0 else f"{v:,}" for v in whole.tolist()], pa.string())
    else:
        raise ValueError(style)
    return pc.if_else(pa.array(blank), "", text)


def format_table(columns: dict[str, np.ndarray], table: Table, style: Style = CANONICAL) -> pa.Table:
    """The table as text (blank = ``""``), header and values written in ``style``."""
    out = {}
    for col in table.columns:
        v = columns[col.name]
        if col.type == "date":
            text = format_dates(v, style.dates)
        elif col.type == "money":
            text = format_money(v, style.money)
        elif col.type == "urn":
            text = pc.if_else(pa.array(v == 0), "", pc.cast(pa.array(v), pa.string()))
        else:
            text = pa.array(v, pa.string())
            if col.type == "code" and style.lower_codes:
                text = pc.utf8_lower(text)
        if style.encoding == "cp1252" and col.name == "title" and len(text):
            text = _with_pound_and_dash(text)
        out[messy_header(col.name) if style.messy_headers else col.name] = text
    if style.extra_column:
        out[EXTRA_COLUMN] = pa.array(np.where(np.arange(len(v)) % 7 == 3, "Checked by data team", ""))
    return pa.table(out)


def _with_pound_and_dash(titles: pa.Array) -> pa.Array:
    """Windows-1252 files carry a title with `£` and an en dash (bytes A3 and 96)."""
    both = pc.and_(pc.match_substring(titles, "£"), pc.match_substring(titles, "–"))
    if pc.any(both).as_py():
        return titles
    first = titles[0].as_py()
    return pc.if_else(pc.equal(titles, first), first + " – £ savings tracked monthly", titles)
