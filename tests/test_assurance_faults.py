"""Every fault class of the sample generator: the file's outcome, the rule that caught it, and the
LA's feedback report (HTML and XLSX) showing it with its line, column and reason."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dbv_pipeline.assurance.feedback import write_feedback_reports
from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.ingest.filenames import la_of
from dbv_pipeline.sample import FAULT_CLASSES, generate_sample
from dbv_pipeline.settings import DataPaths

# The rule each fault class must trip (the generator's manifest names the expected outcome).
FAULT_RULES = {
    "binary_file": "F_UNREADABLE",
    "unknown_table": "F_TABLE",
    "malformed_filename": "F_FILENAME",
    "malformed_period": "F_PERIOD",
    "missing_required_column": "F_COLUMN_MISSING",
    "no_data_rows": "F_NO_ROWS",
    "la_code_mismatch": "F_LA_MISMATCH",
    "personal_data_column": "F_PERSONAL_COLUMN",
    "upn_value": "F_PERSONAL_VALUE",
    "ten_digit_child_id": "F_PERSONAL_VALUE",
    "postcode_value": "F_PERSONAL_VALUE",
    "bad_code": "R_CODE",
    "bad_type": "R_TYPE",
    "impossible_date": "R_DATE",
    "ragged_last_line": "R_RAGGED",
    "plan_end_before_start": "PL01",
    "placement_end_before_start": "PL02",
    "cease_reason_without_end": "PL03",
    "end_without_cease_reason": "PL04",
    "age_out_of_range": "PL05",
    "future_date": "PL06",
    "placement_start_too_early": "PL07",
    "bad_setting_urn": "R_TYPE",
    "bad_child_id": "R_PATTERN",
    "duplicate_row": "R_DUPLICATE",
    "overlapping_spells": "R_OVERLAP",
    "duplicate_hnb_spend_key": "R_KEY",
    "duplicate_mitigation_key": "R_KEY",
    "dsg_in_year_mismatch": "DS01",
    "actual_future_year": "DS02",
    "extra_column": "W_EXTRA_COLUMN",
    "negative_spend": "W_NEGATIVE_SPEND",
    "cumulative_not_rolling": "W_ROLL_FORWARD",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A small synthetic sample with every fault class, ingested, with a feedback report per file."""
    paths = DataPaths(tmp_path_factory.mktemp("faults") / "data")
    summary = generate_sample(
        paths.landing,
        la_codes=["869", "870", "871", "872"],
        multiplier=0.05,
        faults=True,
        xlsx_share=0,
        variations=False,
    )
    manifest = json.loads(summary.manifest_path.read_text(encoding="utf-8"))["faults"]
    outcomes = {o.source_file: o for o in ingest_landing(paths).files}
    names: dict[str, list[str]] = {}  # every LA's files, reported together as the Dagster asset does
    for name in outcomes:
        names.setdefault(la_of(Path(name)), []).append(name)
    written = write_feedback_reports(paths, {la: [outcomes[n].sha256 for n in files] for la, files in names.items()})
    reports = dict(zip([n for files in names.values() for n in files], written))
    return {
        "manifest": {f["fault"]: f for f in manifest},
        "outcomes": outcomes,
        "reports": reports,
        "faulty": {f["file"] for f in manifest},
    }


def test_every_fault_class_is_covered():
    assert set(FAULT_RULES) == set(FAULT_CLASSES)


@pytest.mark.parametrize("fault", FAULT_CLASSES)
def test_fault_outcome_and_feedback_report(sample, fault):
    entry = sample["manifest"][fault]
    outcome = sample["outcomes"][entry["file"]]
    rule = FAULT_RULES[fault]
    assert outcome.rows_in == outcome.rows_loaded + outcome.rows_rejected
    if entry["expected"] == "file_rejected":
        assert outcome.outcome == "rejected" and outcome.rows_loaded == 0
    else:
        assert outcome.outcome == "loaded"

    html_path, xlsx_path = sample["reports"][entry["file"]]
    page = html_path.read_text(encoding="utf-8")
    sheet = "Warnings" if entry["expected"] == "warning" else "Rejected"
    rows = [[c.value for c in r] for r in load_workbook(xlsx_path)[sheet].iter_rows(min_row=2)]
    hits = [r for r in rows if r[5] == rule]
    assert hits, f"{fault}: {rule} not in the {sheet} sheet of {xlsx_path.name}"
    severity = {"file_rejected": "File rejected", "row_rejected": "Row rejected", "warning": "Warning"}[
        entry["expected"]
    ]
    assert all(r[0] == severity and r[6] for r in hits)
    if entry["expected"] == "row_rejected" or (entry["expected"] == "warning" and entry["lines"]):
        assert set(entry["lines"]) <= {r[2] for r in hits}, (fault, entry["lines"], hits)
        line = entry["lines"][0]
        assert f'<td class="num">{line}</td>' in page
    for r in hits:
        assert r[6] in html.unescape(page)  # the plain reason is in the HTML too
    if entry["expected"] == "file_rejected":
        assert "Rejected: nothing of this file was loaded" in page
    assert page.count("SYNTHETIC DATA") == 2  # the generator marks its landing folder


def test_clean_files_have_no_findings_and_no_warnings(sample):
    clean = [name for name in sample["outcomes"] if name not in sample["faulty"]]
    assert clean
    for name in clean:
        _, xlsx_path = sample["reports"][name]
        wb = load_workbook(xlsx_path)
        assert wb["Rejected"].max_row == 2 and wb["Warnings"].max_row == 2, name  # stamp and header only
