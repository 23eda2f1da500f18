"""Every fault of spec §4: the outcome, the plain message, and the row accounting (nothing lost)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dbv_pipeline.contract import CONTRACT, TABLES
from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.ingest.filenames import is_safe_name
from dbv_pipeline.ingest.raw_store import RawStore
from tests.conftest import PLACEMENT_HEADER, RECEIVED, placement, write_csv

HNB = {
    "la_code": "869",
    "financial_year": "2023-24",
    "provision_type": "MSS",
    "spend_type": "OUTTURN",
    "spend_gbp": "1000000",
    "s251_line": "",
}
DSG = {
    "la_code": "869",
    "financial_year": "2023-24",
    "scenario": "ACTUAL",
    "hnb_income_gbp": "50000000",
    "hnb_expenditure_gbp": "55000000",
    "in_year_balance_gbp": "-5000000",
    "cumulative_balance_gbp": "-9000000",
}
MIT = {
    "la_code": "869",
    "mitigation_id": "M1",
    "line_of_enquiry": "2",
    "title": "Inclusion in mainstream",
    "status": "ASSESSED",
    "financial_year": "2025-26",
    "saving_gbp": "250000",
    "dbv_grant_gbp": "",
}


def ingest_one(paths, name: str, rows: list[dict], header: list[str] | None = None):
    write_csv(paths.landing / name, rows, header)
    summary = ingest_landing(paths, received_at=RECEIVED)
    [outcome] = summary.files
    assert outcome.rows_in == outcome.rows_loaded + outcome.rows_rejected, "rows in must equal rows loaded + rejected"
    return outcome


def findings(outcome, severity: str) -> list[dict]:
    return [f for f in outcome.findings.to_pylist() if f["severity"] == severity]


def good_rows(n: int = 3) -> list[dict]:
    return [placement(f"C{i:04d}") for i in range(1, n + 1)]


ROW_FAULTS = [
    # (fault id, name of file, rows (the faulty row last), rule code, words the message must contain)
    (
        "bad_code",
        "placements",
        good_rows() + [placement("C0009", sex="Q")],
        "R_CODE",
        "sex 'Q' is not in the code list",
    ),
    (
        "lower_case_code_is_fine_but_unknown_code_not",
        "placements",
        good_rows() + [placement("C0009", provision_type="special")],
        "R_CODE",
        "provision_type 'special'",
    ),
    (
        "bad_money",
        "placements",
        good_rows() + [placement("C0009", annual_cost_gbp="twelve")],
        "R_TYPE",
        "not an amount in pounds",
    ),
    (
        "impossible_date",
        "placements",
        good_rows() + [placement("C0009", date_of_birth="31/02/2012")],
        "R_DATE",
        "'31/02/2012' is not a real date",
    ),
    (
        "not_a_date",
        "placements",
        good_rows() + [placement("C0009", ehcp_start_date="Sept 2019")],
        "R_TYPE",
        "is not a date",
    ),
    (
        "us_order_date",
        "placements",
        good_rows() + [placement("C0009", date_of_birth="12/31/2012")],
        "R_DATE",
        "not a real date",
    ),
    (
        "blank_required",
        "placements",
        good_rows() + [placement("C0009", primary_need="")],
        "R_REQUIRED",
        "primary_need is blank",
    ),
    (
        "plan_ends_before_start",
        "placements",
        good_rows()
        + [
            placement(
                "C0009",
                ehcp_end_date="2019-08-01",
                cease_reason="2",
                placement_end_date="2019-08-01",
                placement_start_date="2019-07-01",
            )
        ],
        "PL01",
        "plan ends before it starts",
    ),
    (
        "placement_ends_before_start",
        "placements",
        good_rows() + [placement("C0009", placement_end_date="2019-08-01")],
        "PL02",
        "placement ends before it starts",
    ),
    (
        "cease_reason_without_end",
        "placements",
        good_rows() + [placement("C0009", cease_reason="2")],
        "PL03",
        "cease_reason is given but ehcp_end_date is blank",
    ),
    (
        "end_without_cease_reason",
        "placements",
        good_rows() + [placement("C0009", ehcp_end_date="2023-07-31", placement_end_date="2023-07-31")],
        "PL04",
        "ehcp_end_date is given but cease_reason is blank",
    ),
    (
        "age_over_25",
        "placements",
        good_rows() + [placement("C0009", date_of_birth="1990-01-01")],
        "PL05",
        "outside 0 to 25",
    ),
    (
        "date_after_received",
        "placements",
        good_rows() + [placement("C0009", ehcp_start_date="2025-09-01", placement_start_date="2025-09-01")],
        "PL06",
        "after the date the file was received",
    ),
    (
        "placement_long_before_plan",
        "placements",
        good_rows() + [placement("C0009", placement_start_date="2017-01-01")],
        "PL07",
        "more than one year before",
    ),
    (
        "bad_urn",
        "placements",
        good_rows() + [placement("C0009", setting_urn="12345")],
        "R_TYPE",
        "is not a 6-digit URN",
    ),
    ("bad_child_id", "placements", good_rows() + [placement("C 9")], "R_PATTERN", "child_id 'C 9' does not match"),
    ("identical_duplicate", "placements", good_rows() + [placement("C0002")], "R_DUPLICATE", "exact copy of line 3"),
    (
        "overlapping_spell",
        "placements",
        good_rows()
        + [placement("C0002", provision_type="INMSS", placement_start_date="2020-01-01", setting_urn="654321")],
        "R_OVERLAP",
        "overlaps the child's spell on line 3",
    ),
    (
        "duplicate_hnb_key",
        "hnb_spend",
        [HNB, {**HNB, "provision_type": "INMSS"}, {**HNB, "spend_gbp": "5"}],
        "R_KEY",
        "repeats line 2",
    ),
    (
        "duplicate_mitigation_key",
        "mitigations",
        [MIT, {**MIT, "mitigation_id": "M2"}, {**MIT, "title": "Again"}],
        "R_KEY",
        "repeats line 2",
    ),
    (
        "title_too_long",
        "mitigations",
        [MIT, {**MIT, "mitigation_id": "M2", "title": "x" * 201}],
        "R_LENGTH",
        "longer than 200",
    ),
    (
        "negative_saving",
        "mitigations",
        [MIT, {**MIT, "mitigation_id": "M2", "saving_gbp": "-5"}],
        "R_MIN",
        "below the minimum",
    ),
    (
        "bad_financial_year",
        "mitigations",
        [MIT, {**MIT, "mitigation_id": "M2", "financial_year": "2025-27"}],
        "R_TYPE",
        "not a financial year",
    ),
    (
        "in_year_balance_mismatch",
        "dsg_plan",
        [DSG, {**DSG, "financial_year": "2024-25", "in_year_balance_gbp": "-4990000"}],
        "DS01",
        "is not hnb_income_gbp minus hnb_expenditure_gbp",
    ),
    (
        "actual_for_future_year",
        "dsg_plan",
        [DSG, {**DSG, "financial_year": "2025-26"}],
        "DS02",
        "ACTUAL is only for closed years",
    ),
]


@pytest.mark.parametrize("fault, table, rows, rule_code, words", ROW_FAULTS, ids=[f[0] for f in ROW_FAULTS])
def test_row_fault_rejects_the_row_and_loads_the_rest(data_paths, fault, table, rows, rule_code, words):
    outcome = ingest_one(data_paths, f"869_{table}_2024-25.csv", rows)
    assert outcome.outcome == "loaded"
    rejected = findings(outcome, "row_rejected")
    assert [f["rule_code"] for f in rejected] == [rule_code], rejected
    assert words in rejected[0]["message"]
    assert rejected[0]["line"] == len(rows) + 1  # header = line 1, the faulty row is last
    assert (outcome.rows_loaded, outcome.rows_rejected) == (len(rows) - 1, 1)
    loaded = pq.read_table(RawStore(data_paths).version_path(table, "869", "2024-25", outcome.sha256))
    assert loaded.num_rows == len(rows) - 1
    assert len(rows) + 1 not in loaded.column("source_line").to_pylist()


def test_ragged_truncated_last_line_is_rejected(data_paths):
    path = write_csv(data_paths.landing / "869_placements_2024-25.csv", good_rows())
    with path.open("a") as handle:
        handle.write("869,C0009,2012-05-01,F")  # cut off mid-row
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    rejected = findings(outcome, "row_rejected")
    [ragged] = rejected  # one plain reason for the line, not one per misplaced field
    assert ragged["rule_code"] == "R_RAGGED" and ragged["line"] == 5
    assert "This line has 4 fields, the header has 13" in ragged["message"]
    assert (outcome.rows_in, outcome.rows_loaded, outcome.rows_rejected) == (4, 3, 1)


FILE_FAULTS = [
    ("unknown_table", "869_pupils_2024-25.csv", good_rows(), None, "F_TABLE", "Unknown table 'pupils'"),
    ("malformed_filename", "placements_final.csv", good_rows(), None, "F_FILENAME", "does not follow"),
    ("malformed_period", "869_placements_2024-26.csv", good_rows(), None, "F_PERIOD", "2024-26"),
    (
        "missing_column",
        "869_placements_2024-25.csv",
        good_rows(),
        [h for h in PLACEMENT_HEADER if h != "sex"],
        "F_COLUMN_MISSING",
        "Required column sex is missing",
    ),
    (
        "la_code_differs",
        "869_placements_2024-25.csv",
        good_rows() + [placement("C0009", la_code="870")],
        None,
        "F_LA_MISMATCH",
        "la_code 870 differs",
    ),
    (
        "personal_column",
        "869_placements_2024-25.csv",
        [dict(r, upn="A12345678901B") for r in good_rows()],
        PLACEMENT_HEADER + ["UPN"],
        "F_PERSONAL_COLUMN",
        "Column upn holds personal data",
    ),
    (
        "personal_column_name",
        "869_placements_2024-25.csv",
        [dict(r, forename="Sam") for r in good_rows()],
        PLACEMENT_HEADER + ["Forename"],
        "F_PERSONAL_COLUMN",
        "Column forename",
    ),
    (
        "upn_value",
        "869_placements_2024-25.csv",
        good_rows() + [placement("A12345678901B")],
        None,
        "F_PERSONAL_VALUE",
        "looks like a UPN or ULN",
    ),
    (
        "uln_child_id",
        "869_placements_2024-25.csv",
        good_rows() + [placement("1234567890")],
        None,
        "F_PERSONAL_VALUE",
        "10-digit ULN",
    ),
    (
        "postcode_value",
        "869_mitigations_2024-25.csv",
        [MIT, {**MIT, "mitigation_id": "M2", "title": "Hub at RG14 5LD"}],
        None,
        "F_PERSONAL_VALUE",
        "full UK postcode",
    ),
    (
        "duplicate_column",
        "869_placements_2024-25.csv",
        good_rows(),
        PLACEMENT_HEADER + ["Sex"],
        "F_DUPLICATE_COLUMN",
        "Column sex appears more than once",
    ),
    (
        "lineage_column",
        "869_placements_2024-25.csv",
        good_rows(),
        PLACEMENT_HEADER + ["Source SHA256"],
        "F_RESERVED_COLUMN",
        "Column source_sha256 has a name the pipeline keeps",
    ),
    (
        "internal_column",
        "869_placements_2024-25.csv",
        good_rows(),
        PLACEMENT_HEADER + ["_line"],
        "F_RESERVED_COLUMN",
        "Column _line",
    ),
    (
        "raw_prefix_column",
        "869_placements_2024-25.csv",
        good_rows(),
        PLACEMENT_HEADER + ["raw__sex"],
        "F_RESERVED_COLUMN",
        "Column raw__sex",
    ),
    (
        "period_after_received",
        "869_placements_2042-43.csv",
        good_rows(),
        None,
        "F_PERIOD_FUTURE",
        "2042-43 in the file name starts after",
    ),
    (
        "full_width_digits",
        "869_placements_\uff12\uff10\uff12\uff14-\uff12\uff15.csv",
        good_rows(),
        None,
        "F_PERIOD",
        "not a financial year",
    ),
    (
        "final_suffix",
        "869_placements_2024-25_FINAL.csv",
        good_rows(),
        None,
        "F_FILENAME",
        "869_placements_2024-25_FINAL.csv",
    ),
    ("period_without_dash", "869_placements_202425.csv", good_rows(), None, "F_PERIOD", "202425"),
    ("trailing_space", "869_placements_2024-25.csv ", good_rows(), None, "F_FILENAME", "does not follow"),
    (
        "name_too_long",
        "869_placements_" + "x" * 225 + "_2024-25.csv",
        good_rows(),
        None,
        "F_FILENAME",
        "does not follow",
    ),
    (
        "child_forename_column",
        "869_placements_2024-25.csv",
        [dict(r, child_forename="Sam") for r in good_rows()],
        PLACEMENT_HEADER + ["Child Forename"],
        "F_PERSONAL_COLUMN",
        "Column child_forename",
    ),
    (
        "lowercase_upn",
        "869_placements_2024-25.csv",
        good_rows() + [placement("a12345678901b")],
        None,
        "F_PERSONAL_VALUE",
        "looks like a UPN or ULN",
    ),
    (
        "spaced_nhs_number_in_child_id",
        "869_placements_2024-25.csv",
        good_rows() + [placement("943 476 5919")],
        None,
        "F_PERSONAL_VALUE",
        "ULN or NHS number in child_id",
    ),
    (
        "name_in_child_id",
        "869_placements_2024-25.csv",
        good_rows() + [placement("Zebedee Quartermaine")],
        None,
        "F_PERSONAL_VALUE",
        "a person's name in child_id",
    ),
    (
        "nhs_number_in_title",
        "869_mitigations_2024-25.csv",
        [MIT, {**MIT, "mitigation_id": "M2", "title": "Support for 943-476-5919"}],
        None,
        "F_PERSONAL_VALUE",
        "an NHS number",
    ),
    (
        "lowercase_postcode_in_title",
        "869_mitigations_2024-25.csv",
        [MIT, {**MIT, "mitigation_id": "M2", "title": "Hub at rg14 5ld"}],
        None,
        "F_PERSONAL_VALUE",
        "full UK postcode",
    ),
    (
        "name_in_title",
        "869_mitigations_2024-25.csv",
        [MIT, {**MIT, "mitigation_id": "M2", "title": "Package for Oliver Twistleton"}],
        None,
        "F_PERSONAL_VALUE",
        "a person's name",
    ),
    (
        "honorific_name_in_extra_column",
        "869_mitigations_2024-25.csv",
        [dict(MIT, note="Mrs Quartermaine agreed")],
        list(MIT) + ["note"],
        "F_PERSONAL_VALUE",
        "Column note holds what looks like a person's name",
    ),
]


@pytest.mark.parametrize("fault, name, rows, header, rule_code, words", FILE_FAULTS, ids=[f[0] for f in FILE_FAULTS])
def test_file_fault_rejects_the_whole_file_into_quarantine(data_paths, fault, name, rows, header, rule_code, words):
    outcome = ingest_one(data_paths, name, rows, header)
    assert outcome.outcome == "rejected"
    [finding] = findings(outcome, "file_rejected")
    assert finding["rule_code"] == rule_code and words in finding["message"], finding
    assert outcome.rows_loaded == 0
    # rows in = rows rejected: every row the file holds, or 0 when its header stopped the reading
    read = 0 if rule_code in ("F_DUPLICATE_COLUMN", "F_RESERVED_COLUMN") else len(rows)
    assert (outcome.rows_in, outcome.rows_rejected) == (read, read)
    assert not [p for t in TABLES for p in data_paths.raw.glob(f"{t}/*/*__*.parquet")]  # no version written
    [kept] = [p.name.split("__", 1)[1] for p in data_paths.quarantine.rglob("*") if p.is_file()]
    assert kept == name if is_safe_name(name) else kept == outcome.sha256[:16] + ".quarantined"
    if rule_code.startswith("F_PERSONAL"):
        shown = finding["message"] + (finding["value"] or "")
        for token in ("A12345678901B", "a12345678901b", "5919", "Quartermaine", "Twistleton", "5ld", "Sam"):
            assert token not in shown  # personal data is not echoed back


def test_binary_file_is_rejected_as_unreadable(data_paths):
    (data_paths.landing / "869_placements_2024-25.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert outcome.outcome == "rejected"
    assert "binary" in outcome.findings.column("message")[0].as_py()


def test_broken_workbook_is_rejected_as_unreadable(data_paths):
    (data_paths.landing / "869_dbv_return_2024-25.xlsx").write_text("not a workbook")
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert outcome.outcome == "rejected"
    assert outcome.findings.column("rule_code")[0].as_py() == "F_UNREADABLE"


def test_no_data_rows_is_rejected_and_the_current_version_stays(data_paths):
    first = ingest_one(data_paths, "869_placements_2024-25.csv", good_rows())
    path = data_paths.landing / "869_placements_2024-25.csv"
    path.write_text(",".join(PLACEMENT_HEADER) + "\n,,,\n\n")
    [second] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert second.outcome == "rejected"
    assert second.findings.column("rule_code")[0].as_py() == "F_NO_ROWS"
    assert "no data rows" in second.findings.column("message")[0].as_py()
    assert RawStore(data_paths).ledger("869").current_sha("869", "placements", "2024-25") == first.sha256


def test_extra_column_is_a_warning_and_kept_in_the_raw_layer(data_paths):
    rows = [dict(r, **{"School name note": "kept"}) for r in good_rows()]
    outcome = ingest_one(data_paths, "869_placements_2024-25.csv", rows, PLACEMENT_HEADER + ["School name note"])
    assert outcome.outcome == "loaded" and outcome.rows_loaded == 3
    [warning] = findings(outcome, "warning")
    assert warning["rule_code"] == "W_EXTRA_COLUMN" and warning["column_name"] == "school_name_note"
    loaded = pq.read_table(RawStore(data_paths).version_path("placements", "869", "2024-25", outcome.sha256))
    assert loaded.column("school_name_note").to_pylist() == ["kept"] * 3


def test_every_contract_rule_has_a_test_here():
    """A new rule in the contract needs its own fault test in this module."""
    from dbv_pipeline.contract import CONTRACT, TABLES

    codes = set(CONTRACT.rules) | {r.code for t in TABLES.values() for r in t.row_rules}
    source = Path(__file__).read_text()
    untested = sorted(c for c in codes if f'"{c}"' not in source)
    assert not untested, f"rules without a fault test: {untested}"


# Hostile inputs: each is contained (rejected with a plain reason, quarantined), nothing is allocated
# for it beyond the limits (see tests/test_hostile_inputs.py for the bulk run and the memory bound).


def only_outcome(paths):
    [outcome] = ingest_landing(paths, received_at=RECEIVED).files
    assert outcome.rows_in == outcome.rows_loaded + outcome.rows_rejected
    [finding] = findings(outcome, "file_rejected")
    return outcome, finding


def test_empty_file_is_reported_as_empty(data_paths):
    (data_paths.landing / "869_placements_2024-25.csv").write_bytes(b"")
    outcome, finding = only_outcome(data_paths)
    assert finding["rule_code"] == "F_EMPTY" and "empty (0 bytes)" in finding["message"]
    assert "missing" not in finding["message"]


def test_file_over_the_size_limit_is_rejected_before_reading(data_paths):
    path = data_paths.landing / "869_placements_2024-25.csv"
    with path.open("wb") as handle:
        handle.truncate(CONTRACT.limits["max_file_bytes"] + 1)  # sparse: nothing is written or read
    outcome, finding = only_outcome(data_paths)
    assert finding["rule_code"] == "F_LIMIT" and "over the limit of 256 MiB" in finding["message"]


def test_csv_with_16000_columns_is_rejected_quickly(data_paths):
    path = data_paths.landing / "869_placements_2024-25.csv"
    path.write_text(",".join(PLACEMENT_HEADER + [f"x{i}" for i in range(16_000)]) + "\n" + "1," * 16_012 + "1\n")
    outcome, finding = only_outcome(data_paths)
    assert finding["rule_code"] == "F_LIMIT" and "64 columns" in finding["message"]


def test_header_field_over_128_kb_is_rejected(data_paths):
    path = data_paths.landing / "869_placements_2024-25.csv"
    path.write_text(",".join(PLACEMENT_HEADER) + "," + "h" * 140_000 + "\n" + ",".join(placement().values()) + ",x\n")
    outcome, finding = only_outcome(data_paths)
    assert finding["rule_code"] == "F_LIMIT" and "header" in finding["message"]


def test_data_field_over_the_limit_is_rejected(data_paths):
    rows = good_rows() + [placement("C0009", setting_urn="9" * 5000)]
    write_csv(data_paths.landing / "869_placements_2024-25.csv", rows)
    outcome, finding = only_outcome(data_paths)
    assert finding["rule_code"] == "F_LIMIT" and "longer than 4,000 characters" in finding["message"]


def test_workbook_with_two_sheets_for_one_table_is_ambiguous(data_paths):
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(data_paths.landing / "869_dbv_return_2024-25.xlsx"))
    for sheet_name, rows in (("placements", good_rows(1)), ("Placements ", good_rows(20))):
        sheet = workbook.add_worksheet(sheet_name)
        sheet.write_row(0, 0, PLACEMENT_HEADER)
        for i, row in enumerate(rows, 1):
            sheet.write_row(i, 0, [row[h] for h in PLACEMENT_HEADER])
    workbook.close()
    outcome, finding = only_outcome(data_paths)
    assert finding["rule_code"] == "F_AMBIGUOUS_SHEETS"
    assert "more than one sheet for table placements ('placements', 'Placements ')" in finding["message"]


def test_unexpected_fault_is_the_files_rejection_without_its_values(data_paths, monkeypatch, caplog):
    """A bug met while normalising one file (simulated: the normaliser raises with a row's value in its
    message) rejects that file with the fault's type only; the other file loads."""
    from dbv_pipeline.ingest import process

    real = process.normalise

    def broken(con, table, raw, **kwargs):
        if kwargs["la_code"] == "869":
            raise ValueError("Could not convert 'Zebedee Quartermaine' to DATE")
        return real(con, table, raw, **kwargs)

    monkeypatch.setattr(process, "normalise", broken)
    write_csv(data_paths.landing / "869_placements_2024-25.csv", good_rows())
    write_csv(data_paths.landing / "870_placements_2024-25.csv", [placement(la_code="870")])
    summary = ingest_landing(data_paths, received_at=RECEIVED, workers=1)
    by_file = {f.source_file: f for f in summary.files}
    bad, good = by_file["869_placements_2024-25.csv"], by_file["870_placements_2024-25.csv"]
    assert bad.outcome == "rejected" and good.outcome == "loaded"
    [finding] = findings(bad, "file_rejected")
    assert finding["rule_code"] == "F_FAULT" and "(ValueError)" in finding["message"]
    recorded = str(bad.findings.to_pylist()) + str(bad.events) + caplog.text
    assert "Quartermaine" not in recorded
    assert (bad.rows_in, bad.rows_rejected) == (3, 3)


def test_period_after_received_and_a_real_period(data_paths):
    """A typo'd future period is rejected, so it cannot shadow the LA's real returns (F_PERIOD_FUTURE)."""
    write_csv(data_paths.landing / "869_hnb_spend_2042-43.csv", [HNB])
    write_csv(data_paths.landing / "869_hnb_spend_2024-25.csv", [HNB])
    summary = ingest_landing(data_paths, received_at=RECEIVED)
    assert {f.source_file: f.outcome for f in summary.files} == {
        "869_hnb_spend_2042-43.csv": "rejected",
        "869_hnb_spend_2024-25.csv": "loaded",
    }
