"""The production deployment end to end, as an operator runs it (README "Deploying").

A throwaway PostgreSQL on loopback holds Dagster's storage; ``deploy/production/dbv-service`` (with
an env file written from ``dbv.env.example``) initialises the instance, starts supervisord with the
code server, the daemon and the web UI (init makes the first full build). Then LA returns are dropped
into the landing folder and the test watches what the services do, each step against a deadline:

a. a new LA's return reaches the warehouse's marts and the playbook's outputs (the time is printed);
b. re-sending an identical file launches nothing downstream;
c. a file with a file-level fault is quarantined with its feedback report, and nothing downstream runs;
d. a new return while the daemon is SIGKILLed mid-run (supervisord restarts it), then the warehouse
   run's worker and its dbt killed mid-build (the code server reports the run failed, run retries
   launch it again): it converges, with rows in = loaded + rejected, no duplicated mart rows, and the
   marts built from the latest return.

Real components only. Without PostgreSQL (initdb, pg_ctl) the test skips, or fails under CI.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import requests

from dbv_pipeline.ingest.process import sha256_of
from dbv_pipeline.ingest.raw_store import ACCEPTED, RawStore
from dbv_pipeline.playbook.data import PlaybookPaths
from dbv_pipeline.sample import generate_sample
from dbv_pipeline.settings import DataPaths

pytestmark = pytest.mark.deployment

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ROOT / "deploy" / "production"
SERVICE = PRODUCTION / "dbv-service"
MARKER = "DBV_DEPLOYMENT_TEST_ID"  # in the services' environment: how leftovers are found at the end
SERVICE_LOGS = ("code-server", "daemon", "webserver", "supervisord")
PG_USER, PG_PASSWORD, PG_DB = "dagster", "s3cret pa$$word", "dagster"

FIRST_LA, FAULTY_LA = "869", "330"
STEP_TIMEOUT = 240  # seconds for one step: sensor (30 s) + ingest run + automation tick (30 s) + warehouse run
CENSUS_GRAIN = "la_code, census_year, provision_type, primary_need, age_group"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- PostgreSQL ------------------------------------------------------------------------------------


@dataclass
class Postgres:
    host: str
    port: int


def postgres_bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's /usr/lib/postgresql/<version>/bin (newest), else PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    for folder in reversed(candidates):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and (Path(initdb).parent / "pg_ctl").exists() else None


@pytest.fixture
def postgres(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A throwaway PostgreSQL on 127.0.0.1 (random port), its data and socket under tmp_path, with the
    role and database of README "Deploying". Stopped at the end whatever happens."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL is not installed (no initdb/pg_ctl in /usr/lib/postgresql/*/bin or on PATH)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must install it (.ci/run installs the Debian package postgresql)")
        pytest.skip(message)
    folder = tmp_path / "postgres"
    folder.mkdir()
    as_owner: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root: run them as the postgres OS user
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root, and there is no postgres OS user to run PostgreSQL as")
        as_owner = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
        # let the postgres user reach its folder through pytest's private (0700) temporary folders
        base = tmp_path_factory.getbasetemp().parent
        for parent in [tmp_path, *tmp_path.parents]:
            if parent == base.parent:
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    data, sockets, log = folder / "data", folder / "sockets", folder / "postgres.log"
    port = free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_owner, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}\n{tail(log)}"

    run(
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--no-sync",
    )
    run("mkdir", str(sockets))
    try:
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "start",
            "-o",
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
        )
        psql = [
            str(bin_dir / "psql"),
            "-h",
            str(sockets),
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
        ]
        password = PG_PASSWORD.replace("'", "''")
        run(
            *psql,
            "-c",
            f"CREATE ROLE {PG_USER} LOGIN PASSWORD '{password}'",
            "-c",
            f"CREATE DATABASE {PG_DB} OWNER {PG_USER}",
        )
        yield Postgres("127.0.0.1", port)
    finally:
        subprocess.run(
            [*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=120,
        )


# --- The deployment --------------------------------------------------------------------------------


@dataclass
class Deployment:
    env: dict[str, str]
    env_file: Path
    paths: DataPaths
    log_dir: Path
    webserver: str
    started_at: float = 0.0  # when `dbv-service start` ran

    def service(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """``dbv-service ARGS``, exactly as the README has the operator run it."""
        return subprocess.run([str(SERVICE), *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def pid(self, program: str) -> int:
        done = self.service("ctl", "pid", program)
        return int(done.stdout.strip()) if done.stdout.strip().isdigit() else 0

    def logs(self, lines: int = 25) -> str:
        return "\n".join(
            f"--- {name}.log (last {lines} lines)\n{tail(self.log_dir / f'{name}.log', lines)}" for name in SERVICE_LOGS
        )

    def graphql(self, query: str) -> dict:
        return requests.post(f"{self.webserver}/graphql", json={"query": query}, timeout=20).json()


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} not there)"


def env_file_from_example(target: Path, values: dict[str, str]) -> None:
    """The operator's step: copy dbv.env.example and fill in every setting it lists."""
    lines, seen = [], set()
    for line in (PRODUCTION / "dbv.env.example").read_text().splitlines():
        key = line.split("=", 1)[0] if "=" in line and not line.lstrip().startswith("#") else None
        if key in values:
            value = values[key].replace("'", "'\\''")
            line = f"{key}='{value}'"
            seen.add(key)
        lines.append(line)
    assert seen == set(values), f"dbv.env.example does not list {sorted(set(values) - seen)}"
    target.write_text("\n".join(lines) + "\n")
    target.chmod(0o600)


def processes_with(marker: str) -> list[int]:
    """Every process whose environment carries the marker (the services, the runs, dbt)."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.fixture
def deployment(tmp_path: Path, postgres: Postgres, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    home, data, logs = tmp_path / "dagster_home", tmp_path / "data", tmp_path / "logs"
    web_port = free_port()
    settings = {
        "DAGSTER_HOME": str(home),
        "DBV_LOG_DIR": str(logs),
        "DBV_DATA_DIR": str(data),
        "DAGSTER_PG_HOST": postgres.host,
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_DB": PG_DB,
        "DAGSTER_PG_USERNAME": PG_USER,
        "DAGSTER_PG_PASSWORD": PG_PASSWORD,
        "DBV_DFE_EHCP_SOURCE": "none",
        "DBV_DUCKDB_MEMORY_LIMIT": "512MB",
        "DBV_DUCKDB_THREADS": "1",
        "DBV_LANDING_SETTLE_SECONDS": "0",  # returns arrive by rename (drop() moves them in), so at once
        "DBV_CODE_SERVER_PORT": str(free_port()),
        "DBV_WEBSERVER_HOST": "127.0.0.1",
        "DBV_WEBSERVER_PORT": str(web_port),
        "GX_ANALYTICS_ENABLED": "False",
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
    }
    env_file = tmp_path / "dbv.env"
    env_file_from_example(env_file, settings)
    marker = uuid.uuid4().hex
    env = {**os.environ, "DBV_ENV_FILE": str(env_file), MARKER: marker}
    # this process reads the same instance (Dagster's Python API against PostgreSQL)
    for key in (
        "DAGSTER_HOME",
        "DAGSTER_PG_HOST",
        "DAGSTER_PG_PORT",
        "DAGSTER_PG_DB",
        "DAGSTER_PG_USERNAME",
        "DAGSTER_PG_PASSWORD",
    ):
        monkeypatch.setenv(key, settings[key])
    monkeypatch.setenv("DBV_DATA_DIR", str(data))
    found = Deployment(env, env_file, DataPaths(data), logs, f"http://127.0.0.1:{web_port}")
    began = time.monotonic()
    done = found.service("init", timeout=300)
    assert done.returncode == 0, f"dbv-service init failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    print(f"\ndbv-service init (with the first full build): {time.monotonic() - began:.0f} s")
    try:
        found.started_at = time.time()
        done = found.service("start")
        assert done.returncode == 0, f"dbv-service start failed:\n{done.stdout}\n{done.stderr}\n{found.logs()}"
        yield found
    finally:
        stopped = found.service("stop", timeout=180)
        leftovers = {
            pid: _cmdline(pid).replace(b"\0", b" ").decode(errors="replace")[:200] for pid in processes_with(marker)
        }
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert stopped.returncode == 0, f"dbv-service stop failed:\n{stopped.stdout}\n{stopped.stderr}"
        assert not leftovers, f"processes left after dbv-service stop (killed now): {leftovers}"


# --- Watching the deployment -----------------------------------------------------------------------


def wait_for(
    what: str,
    check: Callable[[], object],
    deployment: Deployment,
    timeout: float = STEP_TIMEOUT,
    every: float = 1.0,
    describe: Callable[[], str] = lambda: "",
):
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` with the services' logs."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {timeout:.0f} s waiting for {what}\n{describe()}\n{deployment.logs()}", pytrace=False
            )
        time.sleep(every)


def warehouse(paths: DataPaths, sql: str, params: list | None = None, timeout: float = 60) -> list[tuple]:
    """Query the warehouse read-only, retrying while a dbt build holds its lock."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with duckdb.connect(str(paths.warehouse), read_only=True) as con:
                return con.execute(sql, params or []).fetchall()
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def is_downstream(run) -> bool:
    """A run of anything after the ingest: the warehouse (dbt) or the playbook."""
    keys = run.asset_selection or set()
    return run.job_name == "warehouse_job" or any(key.path[0] in ("warehouse", "playbook") for key in keys)


def runs_since(instance, since: float):
    return [r for r in instance.get_run_records(limit=200) if r.create_timestamp.timestamp() >= since]


def describe_runs(instance) -> Callable[[], str]:
    def describe() -> str:
        rows = []
        for record in instance.get_run_records(limit=15):
            run = record.dagster_run
            rows.append(
                f"{run.run_id[:8]} {run.job_name:16} {run.status.value:9} created "
                f"{record.create_timestamp:%H:%M:%S} {run.tags.get('dagster/partition', '')} "
                f"{run.tags.get('dagster/sensor_name', '')} retry={run.tags.get('dagster/retry_number', '')}"
            )
        return "runs, newest first:\n" + "\n".join(rows)

    return describe


def finished(instance, run_ids: list[str]) -> bool:
    runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
    return bool(runs) and all(run.is_finished for run in runs)


def settled(instance, since: float) -> bool:
    """Whether the runs since ``since`` have all finished and the automation sensor has ticked since
    the last one ended without launching another (nor has a run retry): the deployment is at rest."""
    records = runs_since(instance, since)
    if not records or not all(r.dagster_run.is_finished for r in records):
        return False
    if not automation_tick_after(instance, max(r.end_time for r in records) + 1):
        return False
    again = runs_since(instance, since)
    return len(again) == len(records) and all(r.dagster_run.is_finished for r in again)


def ingest_runs_of(instance, la: str, since: float):
    return [
        r.dagster_run
        for r in runs_since(instance, since)
        if r.dagster_run.job_name == "ingest_job" and r.dagster_run.tags.get("dagster/partition") == la
    ]


def automation_tick_after(instance, moment: float) -> bool:
    """Whether the automation sensor has finished a tick that started after ``moment``."""
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.definitions.sensor_definition import SensorType
    from dagster._core.scheduler.instigation import SensorInstigatorData, TickStatus

    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        data = state.instigator_data
        if isinstance(data, SensorInstigatorData) and data.sensor_type in (
            SensorType.AUTOMATION,
            SensorType.AUTO_MATERIALIZE,
        ):
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=5)
            if any(t.timestamp > moment and t.status != TickStatus.STARTED for t in ticks):
                return True
    return False


def materialised_in(instance, run_id: str) -> list[str]:
    """The assets (with partitions) a run materialised."""
    from dagster import DagsterEventType

    return sorted(
        f"{e.dagster_event.asset_key.to_user_string()}[{e.dagster_event.partition or ''}]"
        for e in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    )


def drop(files: list[Path], landing: Path) -> float:
    """Move files into the landing folder as an LA's upload would arrive; the time of the drop."""
    landing.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.move(path, landing / path.name)
    return time.time()


def la_return(staging: Path, la: str, **options) -> list[Path]:
    summary = generate_sample(staging, la_codes=[la], variations=False, xlsx_share=0, **options)
    return [staging / name for name in summary.files]


def census_of(paths: DataPaths, la: str) -> set[str]:
    """The placements versions the LA's census rows in the marts were built from."""
    return {
        sha
        for (sha,) in warehouse(
            paths, "select distinct source_sha256 from marts.fct_ehcp_census where la_code = ?", [la]
        )
    }


def check_converged(paths: DataPaths, la: str, placements_sha: str) -> None:
    """Nothing lost, nothing doubled: the ledger balances, the staged rows are the current version's
    loaded rows, the census grain is unique, and the marts are built from the LA's latest return."""
    ledger = RawStore(paths).ledger(la)
    for event in ledger.events:
        assert event["rows_in"] == event["rows_loaded"] + event["rows_rejected"], f"ledger does not balance: {event}"
    assert not [e for e in ledger.events if e.get("pending")], "versions still pending their checks"
    current = [e for e in ledger.events if e["table_name"] == "placements" and e["outcome"] in ACCEPTED][-1]
    assert current["source_sha256"] == placements_sha, "the ledger's current placements version is not the latest file"
    [(staged,)] = warehouse(
        paths,
        "select count(*) from staging.stg_raw__placements where la_code = ? and source_sha256 = ?",
        [la, placements_sha],
    )
    assert staged == current["rows_loaded"], (
        f"staged {staged} placements rows, the ledger loaded {current['rows_loaded']}"
    )
    duplicates = warehouse(
        paths, f"select {CENSUS_GRAIN}, count(*) from marts.fct_ehcp_census group by all having count(*) > 1"
    )
    assert not duplicates, f"duplicated census rows: {duplicates[:5]}"
    assert census_of(paths, la) == {placements_sha}, "the census marts are not built from the LA's latest return"


def playbook_has(paths: DataPaths, la: str, since: float) -> bool:
    playbook = PlaybookPaths.of(paths)
    page, forecast = playbook.report / "la" / f"{la}.html", playbook.exports / "caseload_forecast.csv"
    if not (page.exists() and forecast.exists() and (playbook.report / "index.html").exists()):
        return False
    if page.stat().st_mtime < since or forecast.stat().st_mtime < since:
        return False
    with forecast.open(newline="") as handle:
        return any(row["la_code"] == la for row in csv.DictReader(handle))


DBT_SEEN: dict[int, float] = {}  # dbt processes seen building, and since when


def worker_and_dbt(instance, run_id: str, building_for: float = 4.0) -> list[int]:
    """The run's worker process (its engine event gives the pid) and everything below it, once dbt has
    been building for ``building_for`` seconds (killed then, it is writing the warehouse)."""
    from dagster import DagsterEventType

    pid = None
    for event in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        found = re.search(r"Started process for run \(pid: (\d+)\)", event.message or "")
        if found:
            pid = int(found.group(1))
    if pid is None:
        return []
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(
                    next(
                        line for line in (entry / "status").read_text().splitlines() if line.startswith("PPid:")
                    ).split()[1]
                )
            except (OSError, StopIteration):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    below, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        below.append(child)
        todo.extend(children.get(child, []))
    dbt = [p for p in below if b"dbt" in _cmdline(p) and b"build" in _cmdline(p)]
    if not dbt:
        return []
    since = DBT_SEEN.setdefault(dbt[0], time.monotonic())
    return [pid, *below] if time.monotonic() - since >= building_for else []


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# --- The test --------------------------------------------------------------------------------------


def test_production_deployment_end_to_end(deployment: Deployment, tmp_path: Path):
    from dagster import DagsterInstance, DagsterRunStatus

    started = time.monotonic()
    paths = deployment.paths
    staging = tmp_path / "outbox"

    # The services answer: the web UI has the code server's asset graph, the daemon is healthy.
    def ui_ready():
        try:
            nodes = deployment.graphql("{ assetNodes { assetKey { path } } }").get("data", {}).get("assetNodes")
            health = deployment.graphql(
                "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
            )
            statuses = health["data"]["instance"]["daemonHealth"]["allDaemonStatuses"]
            return nodes and all(s["healthy"] for s in statuses if s["required"])
        except (requests.RequestException, KeyError, TypeError, ValueError):
            return False

    wait_for(
        "the web UI to serve the asset graph and report a healthy daemon", ui_ready, deployment, timeout=180, every=2
    )
    for program in ("code-server", "daemon", "webserver"):
        assert deployment.pid(program), f"{program} is not running\n{deployment.logs()}"
    print(f"services up after {time.monotonic() - started:.0f} s")

    with DagsterInstance.get() as instance:
        describe = describe_runs(instance)
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"

        # `dbv-service init` made the first full build (recorded in PostgreSQL); the services' start runs
        # nothing (checked below, once the sensors have ticked).
        builds = [
            r.dagster_run for r in instance.get_run_records(limit=50) if r.dagster_run.job_name == "warehouse_job"
        ]
        assert builds and builds[0].status == DagsterRunStatus.SUCCESS, describe()
        problems = []  # what breaks the spec but lets the later steps run: reported at the end

        # a. A new LA's return reaches the marts and the playbook.
        files = la_return(staging / "a", FIRST_LA, multiplier=0.02)
        placements = next(f for f in files if "_placements_" in f.name)
        first_sha = sha256_of(placements)
        dropped = drop(files, paths.landing)
        census_key = ["warehouse", "fct_ehcp_census"]

        def census_materialised_since(moment: float) -> float | None:
            from dagster import AssetKey

            event = instance.get_latest_materialization_event(AssetKey(census_key))
            return event.timestamp if event and event.timestamp > moment else None

        fresh = wait_for(
            "the new return to reach marts.fct_ehcp_census",
            lambda: census_materialised_since(dropped),
            deployment,
            every=0.5,
            describe=describe,
        )
        at_start = [
            (r.dagster_run.job_name, r.dagster_run.run_id)
            for r in runs_since(instance, deployment.started_at)
            if r.create_timestamp.timestamp() < dropped
        ]
        assert not at_start, (
            f"runs launched by the services' start, before any return arrived: {at_start}\n{describe()}"
        )
        wait_for(
            "the playbook outputs to include the new LA",
            lambda: playbook_has(paths, FIRST_LA, dropped),
            deployment,
            describe=describe,
        )
        playbook_at = time.time()
        wait_for(
            "the runs of step a to finish and automation to settle",
            lambda: settled(instance, dropped),
            deployment,
            describe=describe,
        )
        assert all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in runs_since(instance, dropped)), describe()
        assert census_of(paths, FIRST_LA) == {first_sha}, "the census marts do not hold the new return"
        print(f"a. drop to fresh marts: {fresh - dropped:.1f} s; to the playbook: {playbook_at - dropped:.1f} s")

        # b + c together. b: an identical file again (same content, new mtime). c: another LA's
        # placements without a required column, quarantined with its feedback report.
        resent = paths.landing / placements.name
        resent.write_bytes(resent.read_bytes())
        os.utime(resent, (time.time() + 1, time.time() + 1))
        faulty = staging / "c" / f"{FAULTY_LA}_placements_2024-25.csv"
        faulty.parent.mkdir(parents=True)
        header = [
            "la_code",
            "child_id",
            "date_of_birth",
            "sex",
            "ehcp_start_date",
            "ehcp_end_date",
            "cease_reason",
            "provision_type",
            "setting_urn",
            "placement_start_date",
            "placement_end_date",
            "annual_cost_gbp",
        ]
        faulty.write_text(
            ",".join(header) + "\n" + f"{FAULTY_LA},C0001,2012-05-01,F,2019-09-01,,,MSS,123456,2019-09-01,,25000\n"
        )
        sent = drop([faulty], paths.landing)
        ingests = wait_for(
            "the ingest runs of the identical and the faulty file to finish",
            lambda: (
                (runs := ingest_runs_of(instance, FIRST_LA, sent) + ingest_runs_of(instance, FAULTY_LA, sent))
                and len(runs) == 2
                and finished(instance, [r.run_id for r in runs])
                and [instance.get_run_by_id(r.run_id) for r in runs]
            ),
            deployment,
            describe=describe,
        )
        assert all(r.status == DagsterRunStatus.SUCCESS for r in ingests), describe()
        ended = max(instance.get_run_record_by_id(r.run_id).end_time for r in ingests)
        wait_for(
            "an automation tick after the ingest runs",
            lambda: automation_tick_after(instance, ended + 1),
            deployment,
            describe=describe,
        )
        quarantined = list((paths.quarantine / FAULTY_LA).glob(f"*__{faulty.name}"))
        assert quarantined, f"{faulty.name} is not in quarantine: {list(paths.quarantine.rglob('*'))}"
        reports = list((paths.reports / "feedback" / FAULTY_LA).glob(f"*__{faulty.name.removesuffix('.csv')}.html"))
        assert reports, f"no feedback report for {faulty.name}: {list((paths.reports / 'feedback').rglob('*.html'))}"
        assert "primary_need" in reports[0].read_text(errors="replace")
        assert RawStore(paths).ledger(FAULTY_LA).events[-1]["outcome"] == "rejected"
        # ...and analysts see both in the warehouse without a rebuild (the submission marts are views).
        since = dt.datetime.fromtimestamp(sent - 60, dt.UTC).replace(tzinfo=None)  # the ledger's times are naive UTC
        outcomes = warehouse(
            paths,
            "select la_code, outcome from marts.fct_submission_outcomes where received_at >= ? and la_code in (?, ?)",
            [since, FIRST_LA, FAULTY_LA],
        )
        assert sorted(set(outcomes)) == [(FAULTY_LA, "rejected"), (FIRST_LA, "unchanged")], outcomes
        # Nothing downstream: neither ingest run materialises a raw table (only the ledger and the
        # findings, which the warehouse reads live), and automation launches nothing.
        downstream = [
            (r.dagster_run.job_name, r.dagster_run.run_id[:8])
            for r in runs_since(instance, sent)
            if is_downstream(r.dagster_run)
        ]
        for step, la in (("b. the identical file's", FIRST_LA), ("c. the quarantined file's", FAULTY_LA)):
            run = next(r for r in ingests if r.tags["dagster/partition"] == la)
            if materialised := [
                m
                for m in materialised_in(instance, run.run_id)
                if m.startswith("raw/") and not m.startswith(("raw/submissions[", "raw/findings["))
            ]:
                problems.append(
                    f"{step} ingest run materialised {materialised}; downstream runs launched after b and c: {downstream}"
                )
        if downstream and not problems:
            problems.append(f"b/c: automation launched {downstream} though neither ingest run materialised a raw table")
        print(
            f"b, c. runs downstream of the identical and the quarantined file: {len(downstream)} ({time.time() - sent:.0f} s)"
        )
        wait_for(
            "the runs of steps b and c to finish and automation to settle",
            lambda: settled(instance, sent),
            deployment,
            describe=describe,
        )

        # d. A new return for the first LA; the daemon is SIGKILLed while its ingest runs, and the
        # warehouse run's worker (with its dbt) while it builds.
        files = la_return(staging / "d", FIRST_LA, multiplier=0.03, seed=20250)
        latest_sha = sha256_of(next(f for f in files if "_placements_" in f.name))
        assert latest_sha != first_sha
        daemon = deployment.pid("daemon")
        dropped = drop(files, paths.landing)
        ingest = wait_for(
            "the ingest run of the new return to start",
            lambda: next(
                (r for r in ingest_runs_of(instance, FIRST_LA, dropped) if r.status == DagsterRunStatus.STARTED), None
            ),
            deployment,
            every=0.2,
            describe=describe,
        )
        os.kill(daemon, signal.SIGKILL)
        restarted = wait_for(
            "supervisord to restart the daemon",
            lambda: (pid := deployment.pid("daemon")) != daemon and pid,
            deployment,
            timeout=60,
        )
        print(
            f"d. daemon {daemon} killed during ingest run {ingest.run_id[:8]}; supervisord restarted it as {restarted}"
        )

        target = wait_for(
            "a warehouse run with dbt building",
            lambda: next(
                (
                    (r.dagster_run, pids)
                    for r in runs_since(instance, dropped)
                    if is_downstream(r.dagster_run)
                    and r.dagster_run.status == DagsterRunStatus.STARTED
                    and (pids := worker_and_dbt(instance, r.dagster_run.run_id))
                ),
                None,
            ),
            deployment,
            every=0.2,
            describe=describe,
        )
        killed_run, pids = target
        for pid in pids:  # the worker first: it must not see dbt die and fail the step itself
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        print(f"d. run worker {pids[0]} and dbt {pids[1:]} of run {killed_run.run_id[:8]} killed")
        failed = wait_for(
            "the code server to report the killed run failed",
            lambda: (run := instance.get_run_by_id(killed_run.run_id)).status == DagsterRunStatus.FAILURE and run,
            deployment,
            timeout=120,
            describe=describe,
        )
        assert any(
            f"Run execution process for {failed.run_id}" in (e.message or "") for e in instance.all_logs(failed.run_id)
        ), "the run was not failed by the code server's check for orphaned runs"
        retry = wait_for(
            "a retry of the killed run to succeed",
            lambda: next(
                (
                    r.dagster_run
                    for r in runs_since(instance, dropped)
                    if r.dagster_run.tags.get("dagster/parent_run_id") == killed_run.run_id
                    and r.dagster_run.status == DagsterRunStatus.SUCCESS
                ),
                None,
            ),
            deployment,
            describe=describe,
        )
        wait_for(
            "every run of step d to finish and automation to settle",
            lambda: settled(instance, dropped),
            deployment,
            describe=describe,
        )
        for record in reversed(runs_since(instance, dropped)):
            run = record.dagster_run
            print(
                f"   {run.run_id[:8]} {run.job_name} {run.status.value} retry of {run.tags.get('dagster/parent_run_id', '-')[:8]}: "
                f"{sorted(k.to_user_string() for k in run.asset_selection or [] if k.path[0] == 'playbook')}"
            )
        check_converged(paths, FIRST_LA, latest_sha)
        assert playbook_has(paths, FIRST_LA, dropped)
        print(f"d. converged by retry {retry.run_id[:8]} {time.time() - dropped:.0f} s after the drop")
        if problems:
            pytest.fail("the deployment converged, but:\n" + "\n".join(problems), pytrace=False)
    print(f"deployment test: {time.monotonic() - started:.0f} s after the services started")
