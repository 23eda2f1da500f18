"""Hostile inputs (issue 16): one poisoned file per family in a bulk drop. Each is contained (rejected
with a plain reason, quarantined, with a feedback report and a ledger event), the other LAs' data moves
on to the warehouse, nothing personal leaks into any output, and the ingest's memory stays under
``MEMORY_BOUND``. Plus the landing hygiene, no-bypass and self-healing rules, each with a real run."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.ingest.process import scan_landing
from dbv_pipeline.ingest.raw_store import RawStore, compact
from dbv_pipeline.playbook.data import PlaybookPaths
from dbv_pipeline.settings import DataPaths
from tests.conftest import PLACEMENT_HEADER, RECEIVED, placement, write_csv
from tests.test_ingest_faults import HNB, MIT

MEMORY_BOUND = 1 << 30  # 1 GiB: peak RSS of the whole ingest (its process and its LA workers) of the poisoned drop
# Planted personal data: none of it may appear in any output but the quarantined files themselves.
TOKENS = [
    "ZEBEDEEQUARTERMAINE",
    "Quartermaine",
    "A12345678901B",
    "a98765432109z",
    "943 476 5919",
    "9434765919",
    "RG14 5LD",
]


def good(la: str, n: int = 3) -> list[dict]:
    return [placement(f"C{i:04d}", la_code=la) for i in range(1, n + 1)]


def workbook(path: Path, sheets: dict[str, list[dict]], cell: tuple[int, int] | None = None) -> Path:
    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, list(rows[0]))
        for i, row in enumerate(rows, 1):
            sheet.write_row(i, 0, list(row.values()))
        if cell:
            sheet.write(*cell, "x")
    book.close()
    return path


def xml_bomb(path: Path) -> Path:
    """A valid workbook whose sheet XML decompresses to 200 MB of padding (a few hundred KB on disk)."""
    plain = workbook(path.with_name("plain.xlsx"), {"placements": good("806")})
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData><!--" + b" " * (200 << 20) + b"-->")
            out.writestr(item.filename, data)
    plain.unlink()
    return path


# LA → (file name, how it is written, the rule that rejects it). LAs 801-812 each get one poison,
# 880-884 are clean: their data must reach the warehouse.
POISON = {
    "801": (
        "801_placements_2024-25.csv",
        lambda p: write_csv(p, [dict(r, source_sha256="x") for r in good("801")], PLACEMENT_HEADER + ["source_sha256"]),
        "F_RESERVED_COLUMN",
    ),
    "802": (
        "802_placements_\uff12\uff10\uff12\uff14-\uff12\uff15.csv",
        lambda p: write_csv(p, good("802")),
        "F_PERIOD",
    ),
    "803": (
        "803_placements_2024-25.csv",
        lambda p: p.write_text(",".join(PLACEMENT_HEADER + [f"x{i}" for i in range(16_000)]) + "\n"),
        "F_LIMIT",
    ),
    "804": (
        "804_placements_2024-25.csv",
        lambda p: p.write_text(
            ",".join(PLACEMENT_HEADER) + ",_line\n" + ",".join(placement(la_code="804").values()) + ",1\n"
        ),
        "F_RESERVED_COLUMN",
    ),
    "805": (
        "805_dbv_return_2024-25.xlsx",
        lambda p: workbook(p, {"placements": good("805")}, cell=(1_048_575, 16_383)),
        "F_LIMIT",
    ),
    "806": ("806_dbv_return_2024-25.xlsx", xml_bomb, "F_LIMIT"),
    "807": ("807_placements_" + "x" * 225 + "_2024-25.csv", lambda p: write_csv(p, good("807")), "F_FILENAME"),
    "808": (
        "808_dbv_return_2024-25.xlsx",
        lambda p: workbook(p, {"placements": good("808", 1), "Placements ": good("808", 20)}),
        "F_AMBIGUOUS_SHEETS",
    ),
    "809": ("809_placements_2042-43.csv", lambda p: write_csv(p, good("809")), "F_PERIOD_FUTURE"),
    "810": (
        "810_placements_2024-25.csv",
        lambda p: write_csv(p, good("810") + [placement("ZEBEDEEQUARTERMAINE Quartermaine", la_code="810")]),
        "F_PERSONAL_VALUE",
    ),
    "811": (
        "811_mitigations_2024-25.csv",
        lambda p: write_csv(
            p,
            [
                dict(MIT, la_code="811"),
                dict(MIT, la_code="811", mitigation_id="M2", title="Call 943 476 5919 at RG14 5LD"),
            ],
        ),
        "F_PERSONAL_VALUE",
    ),
    "812": (
        "812_placements_2024-25.csv",
        lambda p: write_csv(
            p, [dict(r, child_forename="Quartermaine") for r in good("812")], PLACEMENT_HEADER + ["Child Forename"]
        ),
        "F_PERSONAL_COLUMN",
    ),
}
CLEAN = ["880", "881", "882", "883", "884"]


def plant(landing: Path) -> None:
    for name, write, _ in POISON.values():
        write(landing / name)
    for la in CLEAN:
        rows = good(la, 4)
        rows[-1] = dict(
            rows[-1], annual_cost_gbp="943 476 5919"
        )  # an NHS number in an amount: the row is rejected, masked
        write_csv(landing / f"{la}_placements_2024-25.csv", rows)
        write_csv(landing / f"{la}_hnb_spend_2024-25.csv", [dict(HNB, la_code=la)])
    (landing / "outside.txt").write_text("A12345678901B")
    os.symlink(landing / "outside.txt", landing / "813_placements_2024-25.csv")  # refused, never read


def grep_tokens(root: Path, skip: tuple[Path, ...] = ()) -> list[str]:
    """Tokens found in any file under ``root`` but the ``skip`` folders (bytes; Parquet also decoded)."""
    hits = []
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink() or any(path.is_relative_to(s) for s in skip):
            continue
        texts = [path.read_bytes().decode("utf-8", "replace")]
        if path.suffix == ".parquet":
            with duckdb.connect() as con:
                texts.append(str(con.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()))
        hits += [f"{path}: {t}" for t in TOKENS for text in texts if t in text]
    return hits


def warehouse_text(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.sql(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        return "\n".join(str(con.sql(f'SELECT * FROM "{s}"."{t}"').fetchall()) for s, t in tables)


@pytest.fixture(scope="module")
def bulk(tmp_path_factory):
    """The poisoned national drop, ingested by `dbv ingest` in its own process (so its peak memory is its
    own), then the warehouse built by dbt on it (no public data) and every playbook asset."""
    from dbv_pipeline.playbook.assets import PLAYBOOK_ASSETS
    from dbv_pipeline.public import dfe_ehcp
    from dbv_pipeline.settings import PipelineSettings
    from harness.warehouse import copy_dbt_project, run_dbt
    from tests.test_warehouse_dbt import COHORTS

    root = tmp_path_factory.mktemp("hostile")
    paths = DataPaths(root / "data")
    paths.landing.mkdir(parents=True)
    plant(paths.landing)
    script = (
        "import resource, sys; from dbv_pipeline.cli import main; rc = main(['--data-dir', sys.argv[1], 'ingest', '--quiet']); "
        # VmHWM: this process's own peak (ru_maxrss would carry pytest's size from before exec); its LA workers' peak
        "hwm = int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]); "
        "peak = max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "print('PEAK_KIB', peak); sys.exit(rc)"
    )
    env = {**os.environ, "DBV_LANDING_SETTLE_SECONDS": "0"}
    ingest = subprocess.run(
        [sys.executable, "-c", script, str(paths.root)], capture_output=True, text=True, env=env, timeout=600
    )
    dfe_ehcp.write_empty(paths.public)
    project = copy_dbt_project(root / "dbt_project", COHORTS)
    build = run_dbt(project, paths, "build")
    if build.returncode == 0:
        dg.materialize(PLAYBOOK_ASSETS, resources={"settings": PipelineSettings(data_dir=str(paths.root))})
    return paths, ingest, build


def test_each_poisoned_file_is_contained_with_a_report(bulk):
    paths, ingest, _ = bulk
    assert ingest.returncode == 1, ingest.stderr[-3000:]  # 1: rejections, not a crash
    assert "Traceback" not in ingest.stderr
    store = RawStore(paths)
    for la, (name, _, rule) in POISON.items():
        ledger = store.ledger(la).events
        assert [(e["source_file"], e["outcome"]) for e in ledger] == [(name, "rejected")], la
        assert ledger[0]["rows_in"] == ledger[0]["rows_loaded"] + ledger[0]["rows_rejected"]
        [findings] = (paths.raw / "findings" / la).glob("*.parquet")
        assert pq.read_table(findings).column("rule_code").to_pylist() == [rule], la
        assert len(list((paths.quarantine / la).iterdir())) == 1, la
        assert len(list((paths.reports / "feedback" / la).glob("*.html"))) == 1, la
    assert not (paths.raw / "submissions" / "813.parquet").exists()  # the symlink was refused, not read


def test_other_las_reach_the_warehouse(bulk):
    paths, _, build = bulk
    assert build.returncode == 0, build.stdout[-5000:]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        staged = dict(con.sql("SELECT la_code, count(*) FROM staging.stg_raw__placements GROUP BY ALL").fetchall())
        outcomes = con.sql("SELECT la_code, source_file, outcome FROM marts.fct_submission_outcomes").fetchall()
    assert staged == {la: 3 for la in CLEAN}  # 4 rows each, the masked one rejected
    recorded = {(la, source, outcome) for la, source, outcome in outcomes}
    for la, (name, _, _) in POISON.items():  # malformed names included (issue 13)
        assert (la, name, "rejected") in recorded


def test_other_las_reach_the_playbook(bulk):
    """Every clean LA has its playbook page and its forecast rows; no poisoned LA has data to show."""
    paths, _, build = bulk
    assert build.returncode == 0, build.stdout[-5000:]
    playbook = PlaybookPaths.of(paths)
    with (playbook.exports / "caseload_forecast.csv").open(newline="") as handle:
        forecast_las = {row["la_code"] for row in csv.DictReader(handle)}
    assert forecast_las == set(CLEAN)
    pages = {page.stem for page in (playbook.report / "la").glob("*.html")}
    assert set(CLEAN) <= pages and not pages & set(POISON)


def test_ingest_memory_stays_under_the_bound(bulk):
    _, ingest, _ = bulk
    peak = int(ingest.stdout.split("PEAK_KIB")[1].split()[0]) * 1024
    print(f"peak RSS of the poisoned drop's ingest: {peak / (1 << 20):.0f} MiB")
    assert peak < MEMORY_BOUND, f"peak RSS {peak / (1 << 20):.0f} MiB"


def test_planted_personal_data_reaches_no_output(bulk):
    paths, ingest, _ = bulk
    # every output: raw, findings, ledger, reports, Data Docs (landing and quarantine hold the files as sent)
    assert not grep_tokens(paths.root, skip=(paths.landing, paths.quarantine))
    assert not [t for t in TOKENS if t in warehouse_text(paths.warehouse)]
    assert not [t for t in TOKENS if t in ingest.stdout + ingest.stderr]  # the command's log
    masked = next(f for f in (paths.raw / "findings" / "880").glob("*.parquet"))
    values = pq.read_table(masked).column("value").to_pylist()
    assert "999 999 9999" in values  # shown by its shape only


def test_raw_quarantine_findings_and_feedback_are_owner_only(bulk):
    paths, _, _ = bulk
    for top in (paths.raw, paths.quarantine, *(paths.reports / "feedback").iterdir()):
        for path in [top, *top.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def test_dagster_storage_and_event_log_carry_no_row_values(data_paths, resources, tmp_path):
    """A Dagster run over poisoned files: the event log (SQLite under the instance folder) and the
    compute logs hold none of the planted tokens."""
    from dbv_pipeline.assurance.assets import feedback_reports
    from dbv_pipeline.assurance.checks import RAW_CHECKS
    from dbv_pipeline.ingest.assets import la_partitions, raw_returns

    write_csv(
        data_paths.landing / "810_placements_2024-25.csv",
        good("810") + [placement("ZEBEDEEQUARTERMAINE Quartermaine", la_code="810")],
    )
    write_csv(
        data_paths.landing / "880_placements_2024-25.csv",
        good("880") + [placement("C0009", la_code="880", annual_cost_gbp="943 476 5919")],
    )
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        instance.add_dynamic_partitions(la_partitions.name, ["810", "880"])
        result = dg.materialize(
            [raw_returns, *RAW_CHECKS, feedback_reports],
            instance=instance,
            resources=resources,
            tags={"dagster/asset_partition_range_start": "810", "dagster/asset_partition_range_end": "880"},
        )
        assert result.success
    assert not grep_tokens(tmp_path / "dagster")
    assert not grep_tokens(data_paths.root, skip=(data_paths.landing, data_paths.quarantine))


# Landing hygiene ----------------------------------------------------------------------------------


def test_symlinks_fifos_and_uploads_in_progress_are_not_taken(data_paths, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("anything readable")
    os.symlink(secret, data_paths.landing / "869_placements_2024-25.csv")
    os.mkfifo(data_paths.landing / "870_placements_2024-25.csv")
    write_csv(data_paths.landing / "871_placements_2024-25.csv.part", good("871"))  # being uploaded
    write_csv(data_paths.landing / "872_placements_2024-25.csv", good("872"))
    scan = scan_landing(data_paths.landing)
    assert [p.name for p in scan.files] == ["872_placements_2024-25.csv"]
    assert sorted(p.name for p in scan.refused) == ["869_placements_2024-25.csv", "870_placements_2024-25.csv"]
    summary = ingest_landing(data_paths, received_at=RECEIVED)
    assert [f.source_file for f in summary.files] == ["872_placements_2024-25.csv"]
    assert not data_paths.quarantine.exists() or not any(data_paths.quarantine.rglob("*.csv"))


def test_a_file_still_being_copied_is_taken_only_once_stable(data_paths, resources):
    """Settle rule: a file whose mtime is within the settle interval is neither ingested nor put in the
    sensor's cursor; once stable it is."""
    from dbv_pipeline.ingest.assets import landing_sensor
    from dbv_pipeline.settings import PipelineSettings

    path = write_csv(data_paths.landing / "869_placements_2024-25.csv", good("869"))
    assert scan_landing(data_paths.landing, settle_seconds=60).settling == [path]
    settled = {
        "settings": PipelineSettings(data_dir=str(data_paths.root), dfe_ehcp_source="none", landing_settle_seconds=60)
    }
    with dg.instance_for_test() as instance:
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources=settled))
        assert not first.run_requests
        old = path.stat().st_mtime - 120
        os.utime(path, (old, old))  # the copy finished two minutes ago
        later = landing_sensor(dg.build_sensor_context(instance=instance, resources=settled, cursor=first.cursor))
        assert [r.partition_key for r in later.run_requests] == ["869"]


def test_a_trailing_space_in_a_name_is_rejected_with_a_report_not_ignored(data_paths):
    write_csv(data_paths.landing / "869_placements_2024-25.csv ", good("869"))
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    assert outcome.outcome == "rejected" and outcome.findings.column("rule_code").to_pylist() == ["F_FILENAME"]


# No bypass -----------------------------------------------------------------------------------------


def test_versions_are_pending_until_their_checks_pass_and_the_next_run_finishes_them(data_paths, resources):
    """A run that ingested but never ran its checks (it failed or was killed) leaves its versions
    pending: not current for the warehouse. The sensor asks for a run of those LAs, and that run, with
    nothing new in landing, checks them, makes them current and writes the feedback."""
    from dbv_pipeline.assurance import data
    from dbv_pipeline.assurance.assets import feedback_reports
    from dbv_pipeline.assurance.checks import RAW_CHECKS
    from dbv_pipeline.ingest.assets import la_partitions, landing_sensor, raw_returns

    write_csv(data_paths.landing / "869_placements_2024-25.csv", good("869"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(la_partitions.name, ["869"])
        assert dg.materialize(
            [raw_returns], instance=instance, resources=resources, partition_key="869"
        ).success  # no checks ran
        ledger = RawStore(data_paths).ledger("869")
        assert [e["pending"] for e in ledger.events] == [True]
        request = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert [r.partition_key for r in request.run_requests] == ["869"]
        finish = dg.materialize(
            [raw_returns, *RAW_CHECKS, feedback_reports], instance=instance, resources=resources, partition_key="869"
        )
        assert finish.success
    assert [e["pending"] for e in RawStore(data_paths).ledger("869").events] == [False]
    assert len(list((data_paths.reports / "feedback" / "869").glob("*.html"))) == 1
    assert data.versions_to_check(data_paths, "placements") == data.current_versions(data_paths, "placements")


# Faults heal ---------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # a thread that raised fails it
def test_two_concurrent_ingests_of_one_la_do_not_interleave(data_paths):
    write_csv(data_paths.landing / "869_placements_2024-25.csv", good("869"))
    write_csv(data_paths.landing / "869_pupils_2024-25.csv", good("869"))  # rejected: a quarantine copy
    threads = [threading.Thread(target=ingest_landing, args=(data_paths,), kwargs={"workers": 1}) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    events = RawStore(data_paths).ledger("869").events
    assert sorted(e["outcome"] for e in events) == ["loaded", "rejected"]  # each file once
    assert len(list((data_paths.raw / "findings" / "869").glob("*.parquet"))) == 1  # the rejected file's, once
    assert len(list((data_paths.quarantine / "869").iterdir())) == 1


def test_a_killed_runs_orphaned_findings_and_quarantine_copies_are_removed(data_paths):
    write_csv(data_paths.landing / "869_placements_2024-25.csv", good("869"))
    ingest_landing(data_paths, received_at=RECEIVED)
    stamp = compact(dt.datetime(2025, 5, 2))  # written by a run killed before its ledger was saved
    orphan = data_paths.raw / "findings" / "869" / f"{stamp}__{'a' * 64}.parquet"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"")
    (data_paths.quarantine / "869").mkdir(parents=True, exist_ok=True)
    (data_paths.quarantine / "869" / f"{stamp}__869_pupils_2024-25.csv").write_text("x")
    write_csv(data_paths.landing / "869_hnb_spend_2024-25.csv", [HNB])
    ingest_landing(data_paths, received_at=RECEIVED + dt.timedelta(days=2))
    assert not orphan.exists() and not any((data_paths.quarantine / "869").iterdir())


# Issue 13 items in the same paths --------------------------------------------------------------------


def test_an_identical_resend_is_recorded_as_unchanged_with_a_report(data_paths):
    from dbv_pipeline.assurance.assets import reports_to_write
    from dbv_pipeline.assurance.feedback import write_feedback_reports

    path = write_csv(data_paths.landing / "869_placements_2024-25.csv", good("869"))
    ingest_landing(data_paths, received_at=RECEIVED)
    assert not ingest_landing(
        data_paths, received_at=RECEIVED + dt.timedelta(hours=1)
    ).files  # the same file, still there
    again = path.stat().st_mtime_ns + 5_000_000_000
    path.write_bytes(path.read_bytes())
    os.utime(path, ns=(again, again))  # the LA sent it again
    [resent] = ingest_landing(data_paths, received_at=RECEIVED + dt.timedelta(days=1)).files
    assert resent.outcome == "unchanged" and (resent.rows_in, resent.rows_loaded, resent.rows_rejected) == (0, 0, 0)
    written = write_feedback_reports(data_paths, {"869": reports_to_write(data_paths, "869")})
    assert len(written) == 2
    assert "identical to the version you sent before" in written[-1][0].read_text(encoding="utf-8")


def test_a_future_date_is_reported_against_its_column(data_paths):
    rows = good("869") + [placement("C0009", ehcp_start_date="2030-09-01", placement_start_date="2030-09-01")]
    write_csv(data_paths.landing / "869_placements_2024-25.csv", rows)
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    [finding] = [f for f in outcome.findings.to_pylist() if f["rule_code"] == "PL06"]
    assert (finding["column_name"], finding["value"]) == ("ehcp_start_date", "2030-09-01")
    assert finding["message"] == "ehcp_start_date 2030-09-01 is after the date the file was received"


def test_the_warehouse_writer_waits_on_a_held_lock_then_fails_clearly(tmp_path):
    from dbv_pipeline.warehouse.assets import wait_for_warehouse_lock

    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(warehouse)!r}); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(dg.Failure, match="stayed locked by another process"):
            wait_for_warehouse_lock(warehouse, waits=(0.2, 0.2))
    finally:
        holder.kill()
        holder.wait()
    wait_for_warehouse_lock(warehouse, waits=(0.2,))  # free again: the build goes ahead


def test_supervised_dbt_dies_with_the_process_that_started_it(tmp_path):
    """The run worker's dbt child is killed when the worker dies (PR_SET_PDEATHSIG)."""
    from dbv_pipeline.warehouse.assets import write_supervised_dbt

    dbt = write_supervised_dbt(tmp_path)
    script = tmp_path / "slow.py"  # stands in for dbt: the wrapper's prologue, then a long wait
    script.write_text(
        dbt.read_text().replace("from dbt.cli.main import cli", "import time").replace("cli()", "time.sleep(60)")
    )
    script.chmod(0o755)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time; p = subprocess.Popen([{str(script)!r}]); "
            "print(p.pid, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    child = int(worker.stdout.readline())
    import time

    time.sleep(1.5)  # dbt is running
    worker.kill()  # kill -9 the run worker
    worker.wait()
    import time

    for _ in range(50):
        status = Path(f"/proc/{child}/stat")
        if not status.exists() or status.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            break  # gone, or dead and waiting to be reaped
        time.sleep(0.1)
    else:
        os.kill(child, 9)
        pytest.fail("the dbt child outlived its run worker")


def test_an_las_orphan_cleanup_leaves_other_las_files_being_written_alone(data_paths):
    """Two LA workers ingest at once: one's clean-up of temp files must not take the other's ledger
    mid-write (a FileNotFoundError that lost that LA's run, now and then, in bulk drops)."""
    store = RawStore(data_paths)
    submissions = data_paths.raw / "submissions"
    submissions.mkdir(parents=True)
    other = submissions / ".811.parquet.4242.tmp"  # LA 811's ledger being written by another worker
    own = submissions / ".810.parquet.4243.tmp"  # left by a killed run of LA 810
    other.write_bytes(b"...")
    own.write_bytes(b"...")
    store.remove_orphans(store.ledger("810"))
    assert other.exists() and not own.exists()
