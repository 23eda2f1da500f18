"""`make demo` then `make dev`, as a new user runs them: the real `dagster dev` (webserver, daemon, code
server) on the embedded SQLite instance. Its sensors run from the first start without a click, redo
nothing the demo did, and a changed return then reaches the marts with no manual step."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.test_dagster_webserver import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SENSORS = {"landing_sensor", "public_release_sensor", "automation_sensor"}
LAS = 3


def finished_ticks(instance: dg.DagsterInstance) -> dict[str, list]:
    """Each sensor's finished ticks, newest first."""
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus

    ticks = {}
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        done = [
            t
            for t in instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=20)
            if t.status != TickStatus.STARTED
        ]
        ticks[state.instigator_name] = done
    return ticks


def wait_for(what: str, condition, seconds: float, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(2)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}; dagster dev log:\n{log.read_text()[-4000:]}")


def census_total(warehouse: Path, la: str) -> int | None:
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute("SELECT sum(ehcp_count) FROM marts.fct_ehcp_census WHERE la_code = ?", [la]).fetchone()[
                0
            ]
    except duckdb.IOException:  # a build holds the lock: try again
        return None


def test_dagster_dev_after_the_demo_redoes_nothing_then_refreshes_on_a_new_file(tmp_path):
    home, data, log = tmp_path / "home", tmp_path / "data", tmp_path / "dagster_dev.log"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DBV_DATA_DIR": str(data),
        "DBV_DFE_EHCP_SOURCE": "none",
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
        "GX_ANALYTICS_ENABLED": "False",
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    demo = subprocess.run(
        [str(BIN / "dbv"), "demo", "--las", str(LAS), "--multiplier", "0.02"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]

    os.environ["DAGSTER_HOME"], previous_home = str(home), os.environ.get("DAGSTER_HOME")
    try:
        with dg.DagsterInstance.get() as instance:
            demo_runs = {r.run_id for r in instance.get_runs()}
            assert len(demo_runs) == 2  # the demo's ingest run and warehouse run
            port = free_port()
            with log.open("w") as out:
                dev = subprocess.Popen(
                    [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                # Every sensor ticks with no click; the automation sensor twice (its first tick catches up).
                wait_for(
                    "each sensor's first ticks",
                    lambda: (
                        lambda t: SENSORS <= set(t) and all(t[s] for s in SENSORS) and len(t["automation_sensor"]) >= 2
                    )(finished_ticks(instance)),
                    240,
                    log,
                )
                ticks = finished_ticks(instance)
                assert not [t for s in SENSORS for t in ticks[s] if t.status.value == "FAILURE"], ticks
                redone = [
                    (r.job_name, r.tags.get("dagster/partition"), r.tags.get("dagster/sensor_name"))
                    for r in instance.get_runs()
                    if r.run_id not in demo_runs
                ]
                assert not redone, f"runs after the demo: {redone}"  # nothing the demo did is redone

                # A changed return: its LA is ingested, then automation rebuilds the marts and the playbook.
                la = sorted(p.name[:3] for p in (data / "landing").glob("*_placements_*.csv"))[0]
                before = census_total(data / "warehouse.duckdb", la)
                placements = next((data / "landing").glob(f"{la}_placements_*.csv"))
                lines = placements.read_text().splitlines()
                placements.write_text("\n".join(lines[: len(lines) // 2]) + "\n")  # half the children left
                dropped = time.monotonic()

                def refreshed():
                    runs = [r for r in instance.get_runs() if r.run_id not in demo_runs]
                    failed = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
                    assert not failed, f"failed runs: {[r.job_name for r in failed]}\n{log.read_text()[-4000:]}"
                    total = census_total(data / "warehouse.duckdb", la)
                    done = {r.job_name for r in runs if r.status == dg.DagsterRunStatus.SUCCESS}
                    return "ingest_job" in done and total is not None and total < before and runs

                wait_for("the changed return to reach the marts", refreshed, 300, log)
                print(f"drop to fresh marts under dagster dev: {time.monotonic() - dropped:.0f} s")
                wait_for(
                    "the playbook run to finish", lambda: all(r.is_finished for r in instance.get_runs()), 120, log
                )
                new_runs = [r for r in instance.get_runs() if r.run_id not in demo_runs]
                latest = {
                    record.event_log_entry.dagster_event.asset_key.to_user_string()
                    for r in new_runs
                    for record in instance.get_records_for_run(
                        r.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
                    ).records
                }
                assert {"warehouse/fct_ehcp_census", "playbook/report"} <= latest
                assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in new_runs)
            finally:
                os.killpg(dev.pid, signal.SIGINT)
                try:
                    dev.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(dev.pid, signal.SIGKILL)
    finally:
        if previous_home is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = previous_home
