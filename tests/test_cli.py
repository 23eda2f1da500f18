"""`dbv` as a data engineer runs it: exit codes (0 clean, 1 rejections, 2 usage or environment), one-line
errors without tracebacks, options before or after the command, help that documents every option."""

from __future__ import annotations

import pytest

from dbv_pipeline.cli import build_parser, main
from tests.conftest import placement, write_csv


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_missing_data_folder_is_an_error_unless_asked_to_create_it(tmp_path, capsys):
    missing = tmp_path / "no" / "such"
    code, _, err = run(capsys, "ingest", "--data-dir", str(missing))  # the option after the command
    assert code == 2 and "does not exist" in err and "--create" in err and "Traceback" not in err
    assert not missing.exists()
    code, _, err = run(capsys, "--data-dir", str(missing), "ingest")  # and before it
    assert code == 2 and str(missing) in err
    code, _, err = run(capsys, "--data-dir", str(missing), "ingest", "--create")
    assert missing.is_dir() and code == 2 and "no landing folder" in err


def test_validate_reports_missing_files_and_checks_a_folder(tmp_path, capsys):
    code, _, err = run(capsys, "validate", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in err and "Traceback" not in err
    folder = tmp_path / "returns"
    write_csv(folder / "869_placements_2024-25.csv", [placement()])
    code, out, _ = run(capsys, "validate", str(folder))
    assert code == 0 and "869_placements_2024-25.csv: LOADED" in out
    write_csv(
        folder / "870_placements_2024-25.csv", [placement(la_code="870"), placement("C0002", la_code="870", sex="Q")]
    )
    code, out, _ = run(capsys, "validate", str(folder))
    assert code == 1 and "rows in 2 = loaded 1 + rejected 1" in out


def test_sample_never_overwrites_returns_unless_asked(tmp_path, capsys):
    data = str(tmp_path / "data")
    code, out, _ = run(
        capsys, "sample", "--data-dir", data, "--la", "869", "--faults", "--multiplier", "0.02", "--quiet"
    )
    assert code == 0 and "SYNTHETIC" in out  # one LA with every fault class: no crash
    landing = tmp_path / "data" / "landing"
    stamps = {p.name: p.stat().st_mtime_ns for p in landing.iterdir()}
    code, _, err = run(
        capsys, "sample", "--data-dir", data, "--la", "869", "--seed", "7", "--multiplier", "0.02", "--quiet"
    )
    assert code == 2 and "--overwrite" in err
    assert {p.name: p.stat().st_mtime_ns for p in landing.iterdir()} == stamps
    assert not [p for p in (tmp_path / "data").iterdir() if p.name.startswith(".sample-")]  # nothing left behind
    code, _, _ = run(
        capsys,
        "sample",
        "--data-dir",
        data,
        "--la",
        "869",
        "--seed",
        "7",
        "--multiplier",
        "0.02",
        "--quiet",
        "--overwrite",
    )
    assert code == 0 and {p.name: p.stat().st_mtime_ns for p in landing.iterdir()} != stamps


def test_ingest_names_rejected_files_writes_their_feedback_and_exits_1(data_paths, capsys):
    write_csv(data_paths.landing / "869_placements_2024-25.csv", [placement()])
    write_csv(
        data_paths.landing / "870_placements_2024-25.csv",
        [{k: v for k, v in placement(la_code="870").items() if k != "sex"}],
    )
    code, out, _ = run(capsys, "ingest", "--data-dir", str(data_paths.root), "--quiet")
    assert code == 1
    assert "REJECTED 870_placements_2024-25.csv: Required column sex is missing" in out
    assert len(list((data_paths.reports / "feedback" / "870").glob("*.html"))) == 1
    assert len(list((data_paths.reports / "feedback" / "869").glob("*.html"))) == 1
    code, out, _ = run(capsys, "ingest", "--data-dir", str(data_paths.root), "--quiet")  # nothing new
    assert code == 0 and "0 files processed (2 unchanged and skipped)" in out


@pytest.mark.parametrize("command", ["sample", "ingest", "validate", "template", "demo"])
def test_help_describes_every_option_and_the_exit_codes(command):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    assert sub.description and "exit codes: 0 clean, 1" in sub.format_help()
    for action in sub._actions:
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"


def test_validate_shows_every_warning_the_feedback_report_will(data_paths, capsys):
    """In-table GX warnings (negative spend) come with the ingest's findings, as in the LA's report."""
    from dbv_pipeline.assurance.feedback import build_report
    from dbv_pipeline.ingest import ingest_landing
    from tests.test_assurance_gx_rules import HNB

    path = write_csv(
        data_paths.landing / "869_hnb_spend_2024-25.csv",
        [HNB, {**HNB, "provision_type": "CENTRAL", "spend_gbp": "-5000"}, {**HNB, "provision_type": "MSX"}],
    )
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1 and "W_NEGATIVE_SPEND line 3, spend_gbp" in out and "R_CODE" in out
    [outcome] = ingest_landing(data_paths).files
    report = build_report(data_paths, "869", outcome.sha256)
    for row in report.warnings + report.rejected:
        assert f"{row['rule']:<16} line {row['line']}" in out
