"""Format variations of spec §1 and §4 that must load, not be rejected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from dbv_pipeline.ingest import ingest_landing, validate_file
from dbv_pipeline.ingest.raw_store import RawStore
from tests.conftest import PLACEMENT_HEADER, RECEIVED, placement, write_csv


def loaded_rows(paths, table: str, outcome) -> list[dict]:
    return pq.read_table(RawStore(paths).version_path(table, "869", "2024-25", outcome.sha256)).to_pylist()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2019-09-01", dt.date(2019, 9, 1)),
        ("2019-09-01 00:00:00", dt.date(2019, 9, 1)),
        ("1/9/2019", dt.date(2019, 9, 1)),
        ("01/09/2019", dt.date(2019, 9, 1)),
        (" 01/09/2019 ", dt.date(2019, 9, 1)),
    ],
)
def test_dates_in_iso_or_uk_order(data_paths, text, expected):
    write_csv(
        data_paths.landing / "869_placements_2024-25.csv", [placement(ehcp_start_date=text, placement_start_date=text)]
    )
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert outcome.rows_rejected == 0, outcome.findings.to_pylist()
    assert loaded_rows(data_paths, "placements", outcome)[0]["ehcp_start_date"] == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1234.5", Decimal("1234.50")),
        ("£1,234", Decimal("1234.00")),
        ("-£1,234", Decimal("-1234.00")),
        ("(1,234)", Decimal("-1234.00")),
        ("£-1,234.56", Decimal("-1234.56")),
        (" 12,345,678.9 ", Decimal("12345678.90")),
    ],
)
def test_money_with_pound_sign_separators_and_negatives(data_paths, text, expected):
    row = {
        "la_code": "869",
        "financial_year": "2023-24",
        "provision_type": "MSS",
        "spend_type": "OUTTURN",
        "spend_gbp": text,
        "s251_line": "",
    }
    write_csv(data_paths.landing / "869_hnb_spend_2024-25.csv", [row])
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert outcome.rows_rejected == 0, outcome.findings.to_pylist()
    assert loaded_rows(data_paths, "hnb_spend", outcome)[0]["spend_gbp"] == expected


def test_headers_are_normalised_and_codes_match_case_insensitively(data_paths):
    header = [
        " LA Code",
        "Child ID",
        "Date-of-Birth",
        "SEX",
        " Primary-Need ",
        "ehcp start date",
        "EHCP_End_Date",
        "cease reason",
        "Provision  Type",
        "setting-urn",
        "placement start date",
        "placement end date",
        "Annual Cost GBP",
    ]
    path = data_paths.landing / "869_placements_2024-25.csv"
    write_csv(
        path, [dict(zip(header, placement(sex="f", primary_need=" asd ", provision_type="mss").values()))], header
    )
    outcome = validate_file(path, RECEIVED)
    assert outcome.rows_loaded == 1, outcome.findings.to_pylist()
    row = outcome.loaded["placements"].to_pylist()[0]
    assert (row["sex"], row["primary_need"], row["provision_type"]) == ("F", "ASD", "MSS")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings_utf8_bom_and_windows_1252(data_paths, encoding):
    mitigation = {
        "la_code": "869",
        "mitigation_id": "M1",
        "line_of_enquiry": "3",
        "title": "Step down – £2m saving",
        "status": "ASSURED",
        "financial_year": "2025-26",
        "saving_gbp": "£2,000,000",
        "dbv_grant_gbp": "",
    }
    write_csv(data_paths.landing / "869_mitigations_2024-25.csv", [mitigation], encoding=encoding)
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert outcome.rows_loaded == 1, outcome.findings.to_pylist()
    assert loaded_rows(data_paths, "mitigations", outcome)[0]["title"] == "Step down – £2m saving"


def test_blank_and_comma_only_lines_are_skipped_and_not_counted(data_paths):
    path = data_paths.landing / "869_placements_2024-25.csv"
    body = [",".join(placement(f"C000{i}").values()) for i in (1, 2)]
    path.write_text(",".join(PLACEMENT_HEADER) + "\n" + body[0] + "\n\n,,,,\n" + body[1] + "\n,,\n")
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert (outcome.rows_in, outcome.rows_loaded) == (2, 2)
    assert [r["source_line"] for r in loaded_rows(data_paths, "placements", outcome)] == [2, 5]


def test_workbook_with_excel_dates_numeric_codes_and_a_guidance_sheet(data_paths):
    workbook = Workbook()
    workbook.active.title = "Guidance"
    workbook.active.append(["SYNTHETIC test workbook"])
    sheet = workbook.create_sheet("Placements")  # sheet names match case-insensitively
    sheet.append(PLACEMENT_HEADER)
    row = placement(cease_reason="2", ehcp_end_date="x", placement_end_date="x")
    values = [869 if h == "la_code" else row[h] for h in PLACEMENT_HEADER]
    values[PLACEMENT_HEADER.index("date_of_birth")] = dt.datetime(2012, 5, 1)
    values[PLACEMENT_HEADER.index("ehcp_end_date")] = dt.datetime(2023, 7, 31)
    values[PLACEMENT_HEADER.index("placement_end_date")] = dt.date(2023, 7, 31)
    values[PLACEMENT_HEADER.index("cease_reason")] = 2
    values[PLACEMENT_HEADER.index("annual_cost_gbp")] = 25000.5
    sheet.append(values)
    spend = workbook.create_sheet("hnb_spend")
    spend.append(["la_code", "financial_year", "provision_type", "spend_type", "spend_gbp", "s251_line"])
    spend.append([869, "2023-24", "central", "OUTTURN", -1500])  # trailing empty cell: a short row, not ragged
    workbook.save(data_paths.landing / "869_dbv_return_2024-25.xlsx")

    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert outcome.outcome == "loaded" and outcome.rows_rejected == 0, outcome.findings.to_pylist()
    assert sorted(e["table_name"] for e in outcome.events) == ["hnb_spend", "placements"]
    placed = loaded_rows(data_paths, "placements", outcome)[0]
    assert (placed["la_code"], placed["date_of_birth"], placed["cease_reason"]) == ("869", dt.date(2012, 5, 1), "2")
    assert placed["annual_cost_gbp"] == Decimal("25000.50") and placed["source_line"] == 2
    assert loaded_rows(data_paths, "hnb_spend", outcome)[0]["spend_gbp"] == Decimal("-1500.00")


def test_a_workbooks_empty_table_sheets_are_not_sent(data_paths):
    workbook = Workbook()
    workbook.active.title = "placements"
    workbook.active.append(PLACEMENT_HEADER)
    workbook.active.append(list(placement().values()))
    workbook.create_sheet("mitigations").append(["la_code", "mitigation_id"])  # header only: not filled in
    workbook.save(data_paths.landing / "869_dbv_return_2024-25.xlsx")
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert outcome.outcome == "loaded"
    assert [e["table_name"] for e in outcome.events] == ["placements"]
