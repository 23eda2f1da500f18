"""The Excel return template: derived from the contract, and a filled-in copy loads through ingest."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from dbv_pipeline.assurance.template import LISTS, write_template
from dbv_pipeline.contract import CONTRACT, TABLES
from dbv_pipeline.ingest import ingest_landing, validate_file
from tests.conftest import RECEIVED


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_template(tmp_path_factory.mktemp("template") / "dbv_return_template.xlsx")


def test_one_sheet_per_table_with_the_contract_header(template):
    wb = load_workbook(template)
    assert wb.sheetnames == ["Guidance", *TABLES, LISTS]
    assert wb[LISTS].sheet_state == "hidden"
    for name, table in TABLES.items():
        assert [c.value for c in wb[name][1]] == table.column_names


def test_every_column_is_validated_by_its_type_on_every_row_the_sheet_holds(template):
    wb = load_workbook(template)
    lists = wb[LISTS]
    for name, table in TABLES.items():
        ws = wb[name]
        validations = {
            str(dv.sqref).split(":")[0].rstrip("0123456789"): dv for dv in ws.data_validations.dataValidation
        }
        assert all(
            str(dv.sqref).endswith(":" + str(dv.sqref).split(":")[0].rstrip("0123456789") + "1048576")
            for dv in validations.values()
        )  # to the sheet's last row, not row 5001
        for i, col in enumerate(table.columns, 1):
            letter = ws.cell(1, i).column_letter
            dv = validations.get(letter)
            if col.code_list:
                assert dv.type == "list" and dv.showErrorMessage and dv.allow_blank == (not col.required)
                ref = dv.formula1.split("!")[1].replace("$", "")
                assert [c.value for row in lists[ref] for c in row] == CONTRACT.codes(col.code_list)
            elif col.type == "date":
                assert dv.type == "date" and dv.showErrorMessage
            elif col.type == "money":
                assert dv.type == "decimal" and (col.min is None or float(dv.formula1) == col.min)
            elif col.type in ("la_code", "urn", "financial_year"):
                assert dv.type == "textLength" and dv.operator == "equal"
            elif col.max_length:
                assert dv.type == "textLength" and int(dv.formula1) == col.max_length
            else:
                assert dv is None, (name, col.name)


def test_number_formats_follow_the_column_types(template):
    wb = load_workbook(template)
    ws = wb["placements"]
    formats = {
        ws.cell(1, i).value: ws.column_dimensions[ws.cell(1, i).column_letter].number_format
        for i in range(1, ws.max_column + 1)
    }
    assert formats["date_of_birth"] == "yyyy-mm-dd"
    assert formats["annual_cost_gbp"].startswith("#,##0.00")
    assert formats["la_code"] == formats["setting_urn"] == formats["sex"] == "@"


def test_guidance_describes_every_column_and_code(template):
    ws = load_workbook(template)["Guidance"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    described = {(r[0], r[1]) for r in rows if r[0] in TABLES}
    assert {(t, c) for t, table in TABLES.items() for c in table.column_names} <= described
    sex = next(r for r in rows if r[:2] == ["placements", "sex"])
    assert sex[4] == "yes" and "F = Female" in sex[5]
    end = next(r for r in rows if r[:2] == ["placements", "ehcp_end_date"])
    assert end[4] == "no"
    assert any("rule PL01" == r[6] for r in rows)


def fill(template, path):
    """Fill a few rows in each table sheet, as an LA officer would, with one bad code."""
    wb = load_workbook(template)
    ws = wb["placements"]
    d = dt.date
    ws.append(
        [
            "869",
            "C0001",
            d(2012, 5, 1),
            "F",
            "ASD",
            d(2019, 9, 1),
            None,
            None,
            "MSS",
            "123456",
            d(2019, 9, 1),
            None,
            25000,
        ]
    )
    ws.append(
        [
            869,
            "C0002",
            d(2010, 1, 2),
            "m",
            "SEMH",
            d(2018, 1, 1),
            d(2023, 7, 31),
            2,
            "INMSS",
            None,
            d(2018, 1, 1),
            d(2023, 7, 31),
            61000.5,
        ]
    )
    ws.append(
        [
            "869",
            "C0003",
            d(2011, 3, 3),
            "X",
            "MLD",
            d(2020, 2, 2),
            None,
            None,
            "MAINSTREAM",
            None,
            d(2020, 2, 2),
            None,
            None,
        ]
    )
    wb["hnb_spend"].append(["869", "2023-24", "MSS", "OUTTURN", 1_000_000, None])
    wb["dsg_plan"].append(["869", "2023-24", "ACTUAL", 5e7, 5.5e7, -5e6, -9e6])
    wb["mitigations"].append(["869", "M1", 2, "Inclusion in mainstream", "ASSESSED", "2025-26", 250000, None])
    wb.save(path)
    return path


def test_a_filled_in_template_round_trips_through_ingest(template, data_paths):
    path = fill(template, data_paths.landing / "869_dbv_return_2024-25.xlsx")
    checked = validate_file(path, received_at=RECEIVED)
    assert checked.outcome == "loaded"
    [summary] = ingest_landing(data_paths, received_at=RECEIVED).files
    loaded = {e["table_name"]: (e["rows_in"], e["rows_loaded"], e["rows_rejected"]) for e in summary.events}
    assert loaded == {"placements": (3, 2, 1), "hnb_spend": (1, 1, 0), "dsg_plan": (1, 1, 0), "mitigations": (1, 1, 0)}
    [reject] = [f for f in summary.findings.to_pylist() if f["severity"] == "row_rejected"]
    assert (reject["rule_code"], reject["line"], reject["column_name"]) == ("R_CODE", 4, "sex")
