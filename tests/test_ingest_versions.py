"""Version rules of spec §1: supersede whole, identical = no-op, revert, history kept, atomic writes."""

from __future__ import annotations

import datetime as dt

import pytest

from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.ingest.raw_store import Ledger, RawStore
from tests.conftest import RECEIVED, placement, write_csv

NAME = "869_placements_2024-25.csv"


def submit(paths, rows, name=NAME, at=RECEIVED):
    write_csv(paths.landing / name, rows)
    return ingest_landing(paths, received_at=at)


def current(paths) -> str | None:
    return RawStore(paths).ledger("869").current_sha("869", "placements", "2024-25")


def test_later_submission_supersedes_whole_and_history_is_kept(data_paths):
    [v1] = submit(data_paths, [placement("C0001"), placement("C0002")]).files
    [v2] = submit(data_paths, [placement("C0003"), placement("C0004", sex="Q")]).files  # one row rejected
    assert (v2.outcome, v2.rows_loaded, v2.rows_rejected) == ("loaded", 1, 1)
    assert current(data_paths) == v2.sha256  # superseded whole, even with a rejected row
    store = RawStore(data_paths)
    assert store.version_path("placements", "869", "2024-25", v1.sha256).exists()  # history kept
    assert [e["outcome"] for e in store.ledger("869").events] == ["loaded", "loaded"]


def test_identical_file_changes_nothing(data_paths):
    [v1] = submit(data_paths, [placement("C0001")]).files
    again = ingest_landing(data_paths, received_at=RECEIVED)
    assert (again.files, again.skipped) == ([], 1)  # the same landing file is not processed twice
    resent = data_paths.landing / "resent"  # the same content sent again, under another path
    resent.mkdir()
    (resent / NAME).write_bytes((data_paths.landing / NAME).read_bytes())
    [same] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert same.outcome == "unchanged" and current(data_paths) == v1.sha256


def test_identical_to_an_older_version_reverts(data_paths):
    [v1] = submit(data_paths, [placement("C0001")]).files
    [v2] = submit(data_paths, [placement("C0002")]).files
    [v3] = submit(data_paths, [placement("C0001")]).files
    assert v3.sha256 == v1.sha256 and v3.outcome == "reverted"
    assert current(data_paths) == v1.sha256
    assert [e["outcome"] for e in RawStore(data_paths).ledger("869").events] == ["loaded", "loaded", "reverted"]


def test_received_order_is_strict_within_one_run(data_paths):
    write_csv(data_paths.landing / NAME, [placement("C0001")])
    write_csv(
        data_paths.landing / "869_hnb_spend_2024-25.csv",
        [
            {
                "la_code": "869",
                "financial_year": "2023-24",
                "provision_type": "MSS",
                "spend_type": "OUTTURN",
                "spend_gbp": "1",
                "s251_line": "",
            }
        ],
    )
    ingest_landing(data_paths, received_at=RECEIVED)
    received = [e["received_at"] for e in RawStore(data_paths).ledger("869").events]
    assert received == sorted(received) and len(set(received)) == 2


def test_a_run_killed_before_the_commit_leaves_no_partial_version_and_a_rerun_recovers(data_paths, monkeypatch):
    [v1] = submit(data_paths, [placement("C0001")]).files
    write_csv(data_paths.landing / NAME, [placement("C0002"), placement("C0003")])

    def killed(self):
        raise KeyboardInterrupt("killed mid-ingest")

    monkeypatch.setattr(Ledger, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        ingest_landing(data_paths, received_at=RECEIVED + dt.timedelta(hours=1))
    monkeypatch.undo()
    assert current(data_paths) == v1.sha256  # the half-written version is not visible
    [v2] = ingest_landing(data_paths, received_at=RECEIVED + dt.timedelta(hours=2)).files
    assert v2.outcome == "loaded" and current(data_paths) == v2.sha256
    assert not list(data_paths.raw.rglob("*.tmp"))
