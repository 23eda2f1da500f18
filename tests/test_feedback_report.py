"""The LA feedback report: summary, every rejected file and row (line, column, value, reason) and
every warning, in HTML and XLSX."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from dbv_pipeline.assurance.feedback import build_report, write_feedback_report
from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.reporting import SYNTHETIC_MARKER
from tests.conftest import RECEIVED, placement, write_csv
from tests.test_assurance_gx_rules import DSG, HNB, mart


def ingest(paths, name: str, rows: list[dict], received: dt.datetime = RECEIVED):
    path = write_csv(paths.landing / name, rows)
    [outcome] = ingest_landing(paths, received_at=received).files
    return path, outcome


def xlsx_rows(path, sheet: str) -> list[list]:
    return [[c.value for c in row] for row in load_workbook(path)[sheet].iter_rows()]


def test_row_rejects_and_warnings_with_line_column_and_reason(data_paths):
    rows = [
        HNB,
        {**HNB, "provision_type": "CENTRAL", "spend_gbp": "-5000"},
        {**HNB, "provision_type": "MSX"},
        {**HNB, "provision_type": "AP", "spend_gbp": "lots"},
    ]
    _, outcome = ingest(data_paths, "869_hnb_spend_2024-25.csv", rows)
    html_path, xlsx_path = write_feedback_report(data_paths, "869", outcome.sha256)
    assert html_path.parent == xlsx_path.parent == data_paths.reports / "feedback" / "869"
    html = html_path.read_text(encoding="utf-8")
    assert "Loaded, with 2 row(s) rejected" in html and "West Berkshire" in html
    assert "869_hnb_spend_2024-25.csv" in html and "2024-25" in html and "4 / 2 / 2" in html
    assert "provision_type &#39;MSX&#39; is not in the code list" in html
    assert "spend_gbp &#39;lots&#39; is not an amount in pounds" in html
    assert '<td class="num">4</td><td>provision_type</td><td>MSX</td>' in html.replace("<td>hnb_spend</td>", "")
    assert "W_NEGATIVE_SPEND" in html and "check the sign" in html
    assert "SYNTHETIC" not in html and "<script" not in html

    rejected = xlsx_rows(xlsx_path, "Rejected")
    assert rejected[0] == ["Severity", "Table", "Line", "Column", "Value", "Rule", "Reason"]
    assert ["Row rejected", "hnb_spend", 4, "provision_type", "MSX", "R_CODE"] == rejected[1][:6]
    assert ["Row rejected", "hnb_spend", 5, "spend_gbp", "lots", "R_TYPE"] == rejected[2][:6]
    warnings = xlsx_rows(xlsx_path, "Warnings")
    assert [w[:6] for w in warnings[1:]] == [["Warning", "hnb_spend", 3, "spend_gbp", -5000, "W_NEGATIVE_SPEND"]]
    summary = dict((r[0], r[1]) for r in xlsx_rows(xlsx_path, "Summary") if r[0])
    assert (summary["Rows in"], summary["Rows loaded"], summary["Rows rejected"], summary["Warnings"]) == (4, 2, 2, 1)
    book = load_workbook(xlsx_path)  # readable as opened: dates not shown as ###, filters on the findings
    assert book["Summary"].column_dimensions["B"].width >= 64  # the SHA-256 and the received time fit
    assert book["Rejected"].auto_filter.ref == "A1:G3" and book["Warnings"].auto_filter.ref == "A1:G2"
    assert book["Rejected"].freeze_panes == "A2"


def test_a_rejected_file_says_nothing_loaded_and_never_echoes_personal_data(data_paths):
    upn = "A12345678901B"
    _, outcome = ingest(data_paths, "869_placements_2024-25.csv", [placement("C0001"), placement(upn)])
    html_path, xlsx_path = write_feedback_report(data_paths, "869", outcome.sha256)
    html = html_path.read_text(encoding="utf-8")
    assert "Rejected: nothing of this file was loaded" in html and "F_PERSONAL_VALUE" in html
    assert "child_id holds what looks like a UPN or ULN" in html
    assert upn not in html
    assert all(
        upn not in str(v)
        for sheet in ("Summary", "Rejected", "Warnings")
        for r in xlsx_rows(xlsx_path, sheet)
        for v in r
    )
    assert xlsx_rows(xlsx_path, "Rejected")[1][:2] == ["File rejected", "placements"]


def test_roll_forward_warning_shows_the_expected_balance(data_paths):
    rows = [DSG, {**DSG, "financial_year": "2024-25", "cumulative_balance_gbp": "-20000000"}]
    path, _ = ingest(data_paths, "869_dsg_plan_2024-25.csv", rows)
    report = build_report(data_paths, "869", path)  # the received file itself identifies it
    [warning] = report.warnings
    assert (warning["rule"], warning["line"], warning["column"]) == ("W_ROLL_FORWARD", 3, "cumulative_balance_gbp")
    assert "Expected -£14,000,000" in warning["reason"] and "difference is -£6,000,000" in warning["reason"]


def test_synthetic_data_is_stamped(data_paths):
    (data_paths.landing / SYNTHETIC_MARKER).write_text("synthetic")
    _, outcome = ingest(data_paths, "869_hnb_spend_2024-25.csv", [HNB])
    html_path, xlsx_path = write_feedback_report(data_paths, "869", outcome.sha256)
    assert html_path.read_text(encoding="utf-8").count("SYNTHETIC DATA") == 2  # top and bottom
    assert all(xlsx_rows(xlsx_path, s)[0][0].startswith("SYNTHETIC DATA") for s in ("Summary", "Rejected", "Warnings"))
    assert "SYNTHETIC" not in write_feedback_report(data_paths, "869", outcome.sha256, synthetic=False)[0].read_text()


def test_unchanged_resubmission_keeps_the_first_loads_findings(data_paths):
    path, first = ingest(data_paths, "869_hnb_spend_2024-25.csv", [HNB, {**HNB, "provision_type": "MSX"}])
    (data_paths.landing / "copy").mkdir()
    (data_paths.landing / "copy" / path.name).write_bytes(path.read_bytes())
    [again] = ingest_landing(data_paths, received_at=RECEIVED + dt.timedelta(days=1)).files
    assert again.outcome == "unchanged"
    report = build_report(data_paths, "869", first.sha256)
    assert report.received_at == RECEIVED + dt.timedelta(days=1)
    assert report.outcome.startswith("Unchanged") and [r["rule"] for r in report.rejected] == ["R_CODE"]


def test_cross_source_warnings_for_the_la_come_from_the_warehouse(data_paths):
    _, outcome = ingest(data_paths, "869_hnb_spend_2024-25.csv", [HNB])
    report = build_report(data_paths, "869", outcome.sha256)
    assert report.warnings == [] and "once the warehouse has been built" in report.notes[0]

    hnb = mart("fct_hnb_spend").assign(la_code=["869", "870"], spend_gbp=[1e6, 1e6])
    dsg = mart("fct_dsg_balance").assign(la_code=["869", "870"], scenario="ACTUAL", hnb_expenditure_gbp=[1.1e6, 1.1e6])
    # 869's 2022-23 also warns, but this file holds 2023-24 only: not in its report
    hnb = pd.concat([hnb, hnb.iloc[[0]].assign(financial_year="2022-23")], ignore_index=True)
    dsg = pd.concat([dsg, dsg.iloc[[0]].assign(financial_year="2022-23")], ignore_index=True)
    with duckdb.connect(str(data_paths.warehouse)) as con:
        con.execute("CREATE SCHEMA marts")
        for name, frame in (("fct_hnb_spend", hnb), ("fct_dsg_balance", dsg)):
            con.register("frame", frame)
            con.execute(f"CREATE TABLE marts.{name} AS SELECT * FROM frame")
    report = build_report(data_paths, "869", outcome.sha256)
    [warning] = report.warnings  # LA 869's only, not 870's
    assert warning["rule"] == "W_HNB_VS_DSG" and "2023-24" in warning["reason"] and "-9.1%" in warning["reason"]
    assert "Compared with the ACTUAL hnb_expenditure_gbp of your DSG management plan" in warning["reason"]
    assert any("may predate this file" in n for n in report.notes)


def test_unknown_submission_is_an_error(data_paths):
    with pytest.raises(ValueError, match="No submission"):
        build_report(data_paths, "869", "0" * 64)


def test_a_workbook_gets_one_report_covering_its_tables(data_paths, tmp_path):
    from dbv_pipeline.assurance.template import write_template
    from tests.test_template import fill

    path = fill(write_template(tmp_path / "template.xlsx"), data_paths.landing / "869_dbv_return_2024-25.xlsx")
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    html_path, xlsx_path = write_feedback_report(data_paths, "869", path)
    page = html_path.read_text(encoding="utf-8")
    assert "placements, hnb_spend, dsg_plan, mitigations" in page and "6 / 5 / 1" in page
    [reject] = xlsx_rows(xlsx_path, "Rejected")[1:]
    assert reject[:6] == ["Row rejected", "placements", 4, "sex", "X", "R_CODE"]  # the sheet's row number
    assert outcome.sha256 in page
