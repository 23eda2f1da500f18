"""Benchmark the pipeline at national scale and 5×: a full rebuild, one LA's resubmission, a no-change rerun.

``--engine spark`` (``make bench-spark``, in .venv-spark) builds the warehouse on a local Spark instead
of DuckDB and writes bench/results/spark/, with DuckDB's figures from bench/results/results.json beside.

Each scenario is the two runs a deployment makes: the **ingest run** (``ingest_job`` on LA partitions:
the raw layer, its GX checks, the feedback reports) and the **warehouse run** (``warehouse_job``, or
after a resubmission what automation requests downstream of the raw layer: one dbt build, the mart GX
checks, the playbook). Each run is a child process (``python -m bench.run _run …``) that executes the
real Dagster job's selection in-process on a DagsterInstance kept in the work dir. The parent takes
the run's wall time and samples its process tree's memory; the four stages (ingest, assurance, dbt,
playbook) are the run's Dagster steps, timed from the event log, with the peak memory sampled during them.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"  # DuckDB's results; Spark's in its spark/ folder
RUNS = {"ingest": ("ingest", "assurance"), "warehouse": ("dbt", "playbook")}  # run → its stages
STAGES = tuple(stage for stages in RUNS.values() for stage in stages)
SCENARIOS = ("full", "resubmission", "no_change")
GOALS = {"full_s": 120, "resubmission_s": 15, "peak_mib": 2048}  # and the large size in ≤ its multiple of the time
MIB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- child: one run, in-process


def run_selection(run: str, changed_only: bool):
    """(job, asset keys) of a run; every check of those assets runs.

    ingest: the whole ``ingest_job`` (raw layer, raw GX checks, feedback reports). warehouse: the whole
    ``warehouse_job``; with ``changed_only`` (after one LA's resubmission) what automation requests after
    an ingest, i.e. only what is downstream of the raw layer (not the public data)."""
    import dagster as dg

    from dbv_pipeline.definitions import defs
    from dbv_pipeline.ingest.assets import raw_returns

    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def(f"{run}_job")
    assets = job.asset_layer.selected_asset_keys
    if run == "warehouse" and changed_only:
        assets = assets & dg.AssetSelection.assets(raw_returns).downstream().resolve(graph)
    return job, assets


def stage_of(step_key: str) -> str:
    """The stage a Dagster step belongs to. The dbt step builds every selected dbt model, the
    playbook's ``pb_*`` metric models included (one ``dbt build`` a run)."""
    if step_key == "raw_returns":
        return "ingest"
    if step_key.startswith(("raw__", "reports__")):  # raw GX checks, feedback reports
        return "assurance"
    if step_key.startswith("playbook__"):
        return "playbook"
    return "dbt"  # public data, dbt build, mart GX checks


def step_windows(instance, run_id: str) -> dict[str, list[float]]:
    """Each step's [start, end] (epoch seconds) from the run's event log."""
    import dagster as dg

    windows = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            windows[event.step_key] = [entry.timestamp, entry.timestamp]
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            windows[event.step_key][1] = entry.timestamp
    return windows


def what_it_did(result) -> dict[str, dict]:
    """Per stage: assets materialised, checks run (errors, warnings), and the ingest's and feedback
    reports' own counts."""
    import dagster as dg

    did = {}
    for event in result.all_events:
        if event.step_key is None:
            continue
        stage = did.setdefault(
            stage_of(event.step_key), {"assets": set(), "checks": 0, "check_errors": 0, "check_warnings": 0}
        )
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            key, meta = materialization.asset_key.to_user_string(), materialization.metadata
            stage["assets"].add(key)
            # a partition range repeats the same metadata per LA: keep the first
            if key == "raw/submissions" and "files" not in stage:
                stage.update({k: meta[k].value for k in ("files", "skipped", "rows_loaded", "rows_rejected")})
            elif key == "reports/feedback" and "reports_written" not in stage:
                stage["reports_written"] = meta["reports_written"].value
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.event_specific_data
            stage["checks"] += 1
            stage["check_errors"] += not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
            stage["check_warnings"] += not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    return {stage: {**counts, "assets": len(counts["assets"])} for stage, counts in did.items()}


def dbt_nodes(result, top: int = 12) -> dict:
    """dbt's own time per model, seed and test (dagster-dbt's "Execution Duration"): total and slowest."""
    nodes = []
    for event in result.get_asset_materialization_events():
        duration = event.materialization.metadata.get("Execution Duration")
        if duration is not None:
            nodes.append((duration.value, event.asset_key.to_user_string()))
    for check in result.get_asset_check_evaluations():
        duration = check.metadata.get("Execution Duration")
        if duration is not None:
            nodes.append((duration.value, f"test {check.check_name} on {check.asset_key.to_user_string()}"))
    nodes.sort(reverse=True)
    return {
        "count": len(nodes),
        "total_s": round(sum(s for s, _ in nodes), 2),
        "slowest": [{"node": name, "s": round(s, 2)} for s, name in nodes[:top]],
    }


def run_in_process(run: str, out: Path, la_code: str | None) -> None:
    """Child process: one run on $DAGSTER_HOME's instance; write what it did and its timings to ``out``."""
    started = time.perf_counter()
    import dagster as dg

    from dbv_pipeline.ingest import files_by_la
    from dbv_pipeline.ingest.assets import la_partitions
    from dbv_pipeline.settings import DataPaths

    instance = dg.DagsterInstance.get()
    job, assets = run_selection(run, changed_only=la_code is not None)
    tags = {}
    if run == "ingest":  # as the landing sensor does: add new LAs' partitions, run a range of them
        known = set(instance.get_dynamic_partitions(la_partitions.name))
        instance.add_dynamic_partitions(
            la_partitions.name, sorted(set(files_by_la(DataPaths.from_env().landing)) - known)
        )
        partitions = [la_code] if la_code else instance.get_dynamic_partitions(la_partitions.name)
        tags = {
            "dagster/asset_partition_range_start": partitions[0],
            "dagster/asset_partition_range_end": partitions[-1],
        }
    loaded = time.perf_counter()
    result = job.get_subset(asset_selection=assets).execute_in_process(
        instance=instance, tags=tags, raise_on_error=False
    )
    finished = time.perf_counter()
    out.write_text(
        json.dumps(
            {
                "success": result.success,
                "load_s": round(loaded - started, 2),
                "run_s": round(finished - loaded, 2),
                "windows": step_windows(instance, result.run_id),
                "did": what_it_did(result),
                "dbt": dbt_nodes(result),
            },
            indent=1,
        )
    )


# ---------------------------------------------------------------- parent: measure runs in child processes


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now."""
    total, pending = 0, [pid]
    while pending:
        p = pending.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
            for task in Path(f"/proc/{p}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


class TreeSampler(threading.Thread):
    """Samples a process tree's resident memory every ``interval`` seconds: (epoch time, bytes)."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval, self.samples, self.stop = pid, interval, [], threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.samples.append((time.time(), tree_rss(self.pid)))

    def peak(self, windows: list[list[float]] | None = None) -> int:
        """Peak over all samples, or over those inside any of ``windows``."""
        return max(
            (rss for t, rss in self.samples if windows is None or any(start <= t <= end for start, end in windows)),
            default=0,
        )


def measure(run: str, env: dict, logs: Path, label: str, la_code: str | None) -> dict:
    """One run in a child process: wall time, peak memory, and per stage its steps' time and peak."""
    out, log = logs / f"{label}-{run}.json", logs / f"{label}-{run}.log"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.run", "_run", run, str(out), *([la_code] if la_code else [])]
    with log.open("w") as log_file:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        sampler = TreeSampler(child.pid)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    report = json.loads(out.read_text()) if out.exists() else {"success": False, "windows": {}, "did": {}}
    stages = {}
    for stage in RUNS[run]:
        windows = {step: w for step, w in report["windows"].items() if stage_of(step) == stage}
        stages[stage] = {
            "run_s": round(sum(end - start for start, end in windows.values()), 2),
            "peak_mib": round(sampler.peak(list(windows.values())) / MIB, 1),
            "steps": {step: round(end - start, 2) for step, (start, end) in windows.items()},
            "did": report["did"].get(stage, {}),
        }
    return {
        "success": report["success"] and os.waitstatus_to_exitcode(status) == 0,
        "wall_s": round(wall, 2),
        "load_s": report.get("load_s"),
        "run_s": report.get("run_s", 0),
        "peak_mib": round(max(sampler.peak(), usage.ru_maxrss * 1024) / MIB, 1),
        "largest_process_mib": round(usage.ru_maxrss / 1024, 1),
        "log": str(log),
        "dbt": report.get("dbt", {}),
        "stages": stages,
    }


def run_scenario(label: str, env: dict, logs: Path, la_code: str | None = None) -> dict:
    """The ingest run (on ``la_code`` only, else every LA), then the warehouse run, unless the ingest
    materialised nothing: as deployed, automation then requests nothing downstream
    (tests/test_incremental.py shows it)."""
    print(f"  {label}:", end="", flush=True)
    runs = {"ingest": measure("ingest", env, logs, label, la_code)}
    print(f" ingest run {runs['ingest']['wall_s']:.1f}s", end="", flush=True)
    if runs["ingest"]["stages"]["ingest"]["did"].get("assets"):
        runs["warehouse"] = measure("warehouse", env, logs, label, la_code)
        print(f" warehouse run {runs['warehouse']['wall_s']:.1f}s", end="", flush=True)
    else:
        runs["warehouse"] = {
            "skipped": True,
            "success": True,
            "wall_s": 0.0,
            "run_s": 0.0,
            "peak_mib": 0.0,
            "stages": {stage: {"skipped": True} for stage in RUNS["warehouse"]},
        }
    print()
    return {
        "runs": runs,
        "stages": {stage: s for run in runs.values() for stage, s in run["stages"].items()},
        "success": all(r["success"] for r in runs.values()),
        "wall_s": round(sum(r["wall_s"] for r in runs.values()), 2),
        "run_s": round(sum(r["run_s"] for r in runs.values()), 2),
        "peak_mib": max(r["peak_mib"] for r in runs.values()),
    }


def prepare_sample(folder: Path, multiplier: float, la_count: int | None) -> dict:
    """Generate the synthetic landing files once (reused while ``sample.json`` is there)."""
    facts_path = folder / "sample.json"
    if facts_path.exists():
        return json.loads(facts_path.read_text())
    from dbv_pipeline.sample import generate_sample
    from dbv_pipeline.sample.las import load_las

    shutil.rmtree(folder, ignore_errors=True)
    codes = [la.la_code for la in load_las()][:la_count] if la_count else None
    print(f"  generating the sample (multiplier {multiplier:g}) into {folder} …", flush=True)
    summary = generate_sample(folder / "landing", la_codes=codes, multiplier=multiplier)
    facts = {
        "multiplier": multiplier,
        "la_count": summary.la_count,
        "files": summary.files,
        "rows": summary.rows,
        "variations": summary.variations,
        "seconds": round(summary.seconds, 1),
        "landing_mib": round(sum(p.stat().st_size for p in (folder / "landing").iterdir()) / MIB, 1),
    }
    facts_path.write_text(json.dumps(facts, indent=1))
    return facts


def resubmit(landing: Path, sample: dict) -> dict:
    """A corrected return: the largest plain-CSV placements file, 5% added to every 20th row's cost."""
    names = [f for f in sample["files"] if "_placements_" in f and f.endswith(".csv") and f not in sample["variations"]]
    path = max((landing / name for name in names), key=lambda p: p.stat().st_size)
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    cost = header.index("annual_cost_gbp")
    changed = 0
    for row in rows[::20]:
        if row[cost]:
            row[cost], changed = str(round(float(row[cost]) * 1.05)), changed + 1
    edited = path.with_suffix(
        ".edit"
    )  # not a landing suffix; replaced in one step (the sample's hard link stays intact)
    with edited.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *rows])
    os.replace(edited, path)
    return {"la_code": path.name.split("_", 1)[0], "file": path.name, "rows": len(rows), "rows_changed": changed}


def folder_mib(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / MIB, 1)


def bench_size(label: str, multiplier: float, workdir: Path, la_count: int | None, engine: str = "duckdb") -> dict:
    """Full rebuild on a fresh data folder and Dagster home, then one LA's resubmission, then a no-change
    rerun, with the warehouse on ``engine`` (DBV_WAREHOUSE_ENGINE)."""
    print(f"{label}:", flush=True)
    root = workdir / label
    sample_dir = root / f"sample-{multiplier:g}-{la_count or 'all'}"
    sample = prepare_sample(sample_dir, multiplier, la_count)
    data, home, logs = root / "data", root / "dagster_home", root / "logs"
    for folder in (data, home, logs):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    shutil.copytree(sample_dir / "landing", data / "landing", copy_function=os.link)  # hard links: no copying
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DBV_DATA_DIR": str(data),
        "DBV_WAREHOUSE_ENGINE": engine,
        # the resubmission's file is rewritten just before its ingest run: taken at once, not after the
        # deployment's settle interval (60 s), which would leave it for the next run
        "DBV_LANDING_SETTLE_SECONDS": "0",
        "GX_ANALYTICS_ENABLED": "False",
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    env.pop("DBT_INDIRECT_SELECTION", None)  # as deployed
    # As `make setup` does for a deployment's data folder: dbt's parse state made for this one (else
    # the first build re-parses the project, about 8 s). Not timed.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from dbv_pipeline.settings import PipelineSettings; "
            "from dbv_pipeline.warehouse.assets import dbt_vars; "
            "from dbv_pipeline.warehouse.prepare import parse, prepare_dbt_project; "
            "parse(prepare_dbt_project(), dbt_vars(PipelineSettings.from_env()))",
        ],
        cwd=REPO,
        env=env,
        check=True,
    )
    scenarios = {"full": run_scenario("full", env, logs)}
    change = resubmit(data / "landing", sample)
    scenarios["resubmission"] = run_scenario("resubmission", env, logs, change["la_code"])
    scenarios["no_change"] = run_scenario("no_change", env, logs)
    return {
        "multiplier": multiplier,
        "sample": {k: v for k, v in sample.items() if k not in ("files", "variations")}
        | {"files": len(sample["files"])},
        "resubmitted": change,
        "warehouse_mib": folder_mib(data / "spark")
        if engine == "spark"
        else round((data / "warehouse.duckdb").stat().st_size / MIB, 1),
        "scenarios": scenarios,
    }


# ---------------------------------------------------------------- results: targets, JSON, markdown


def did_nothing(stage: dict) -> bool:
    """A stage that was skipped, or whose steps materialised nothing and ran no check."""
    return stage.get("skipped") or not (stage.get("did", {}).get("assets") or stage.get("did", {}).get("checks"))


def no_change_summary(scenario: dict) -> str:
    """What a rerun with nothing new did, in words."""
    stages, runs = scenario["stages"], scenario["runs"]
    ingest = stages["ingest"].get("did", {})
    words = [
        "ingest found nothing new (nothing materialised)"
        if not ingest.get("assets")
        else f"ingest re-ingested {ingest.get('files', '?')} files"
    ]
    words.append(
        "assurance ran nothing"
        if did_nothing(stages["assurance"])
        else f"assurance ran {stages['assurance']['did'].get('checks', '?')} checks"
    )
    words.append("warehouse run not requested" if runs["warehouse"].get("skipped") else "the warehouse run ran")
    return "; ".join(words)


def judge(sizes: dict) -> list[dict]:
    """Each target beside its measured figure, met or not."""
    base_label, base = next(iter(sizes.items()))
    full, resub, rerun = (base["scenarios"][s] for s in SCENARIOS)
    idle = all(did_nothing(rerun["stages"][stage]) for stage in STAGES)
    rows = [
        {
            "target": f"full rebuild, landing to playbook ({base_label})",
            "goal": f"≤ {GOALS['full_s']} s",
            "measured": f"{full['wall_s']:.0f} s (in-run {full['run_s']:.0f} s)",
            "met": full["success"] and full["wall_s"] <= GOALS["full_s"],
        },
        {
            "target": f"one LA's resubmission, end to end ({base_label})",
            "goal": f"≤ {GOALS['resubmission_s']} s",
            "measured": f"{resub['wall_s']:.0f} s (in-run {resub['run_s']:.0f} s)",
            "met": resub["success"] and resub["wall_s"] <= GOALS["resubmission_s"],
        },
        {
            "target": f"no-change rerun does nothing expensive ({base_label})",
            "goal": "no file re-ingested, nothing downstream run (time reported, not judged)",
            "measured": f"{rerun['wall_s']:.0f} s: {no_change_summary(rerun)}",
            "met": rerun["success"] and idle,
        },
    ]
    for label, size in sizes.items():
        peak = max(s["peak_mib"] for s in size["scenarios"].values())
        rows.append(
            {
                "target": f"peak memory of any stage ({label})",
                "goal": f"≤ {GOALS['peak_mib']} MiB",
                "measured": f"{peak:.0f} MiB",
                "met": peak <= GOALS["peak_mib"],
            }
        )
    if len(sizes) > 1:
        big_label, big = list(sizes.items())[1]
        ratio = big["scenarios"]["full"]["wall_s"] / full["wall_s"]
        scale = big["multiplier"] / base["multiplier"]
        rows.append(
            {
                "target": f"{big_label} data in ≤ {scale:g}× the time (full rebuild)",
                "goal": f"≤ {scale:g}×",
                "measured": f"{ratio:.2f}× ({big['scenarios']['full']['wall_s']:.0f} s vs {full['wall_s']:.0f} s)",
                "met": big["scenarios"]["full"]["success"] and ratio <= scale,
            }
        )
    return rows


def machine_facts() -> dict:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        **{
            name: version(name)
            for name in ("duckdb", "dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "great_expectations")
        },
        **{name: version(name) for name in ("dbt-spark", "pyspark") if installed(name)},
        **({"java": java_version()} if installed("pyspark") else {}),
    }


def installed(name: str) -> bool:
    try:
        version(name)
    except PackageNotFoundError:
        return False
    return True


def java_version() -> str:
    """The first line of ``java -version`` (Spark's JVM), or "none"."""
    try:
        done = subprocess.run(["java", "-version"], capture_output=True, text=True)
    except FileNotFoundError:
        return "none"
    return (done.stderr or done.stdout).splitlines()[0].strip()


def git_facts() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    changed = [line for line in git("status", "--porcelain").splitlines() if line]
    return {
        "commit": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "uncommitted_files": len(changed),
    }


def fmt_did(stage: str, report: dict) -> str:
    """One stage's work in words, for the markdown."""
    did = report.get("did", {})
    if report.get("skipped"):
        return "not run (nothing new upstream: the warehouse run is not requested)"
    if not did:
        return "nothing run"
    if stage == "ingest":
        if "files" not in did:
            return "nothing new: no asset materialised"
        return (
            f"{did['files']} files ingested ({did['rows_loaded']:,} rows loaded, {did['rows_rejected']:,} "
            f"rejected), {did['skipped']} unchanged skipped"
        )
    if stage == "assurance":
        return (
            f"{did.get('reports_written', 0)} feedback reports; {did['checks']} GX checks "
            f"({did['check_errors']} errors, {did['check_warnings']} warnings)"
        )
    return f"{did['assets']} assets; {did['checks']} checks ({did['check_errors']} errors, {did['check_warnings']} warnings)"


def markdown(results: dict) -> str:
    """results.md: targets, the stage × scenario table per size, what each run did, the profile."""
    m, g = results["machine"], results["git"]
    engine = results.get("engine", "duckdb")
    lines = [
        "# DBV pipeline benchmark" + (" on Spark" if engine == "spark" else ""),
        "",
        f"Measured {results['finished']} on commit `{g['commit'][:12]}` ({g['branch']}"
        + (f", {g['uncommitted_files']} uncommitted files" if g["uncommitted_files"] else "")
        + ") with "
        f"`python -m bench.run {' '.join(results['argv'])}`.",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['os']}; Python {m['python']}, "
        f"DuckDB {m['duckdb']}, Dagster {m['dagster']}, dagster-dbt {m['dagster-dbt']}, dbt-core {m['dbt-core']}, "
        f"dbt-duckdb {m['dbt-duckdb']}, GX {m['great_expectations']}. Load average before / after: "
        f"{results['load_before']} / {results['load_after']}."
        + (
            f" Spark: dbt-spark {m.get('dbt-spark')} (session method), pyspark {m.get('pyspark')}, {m.get('java')}."
            if engine == "spark"
            else ""
        ),
        "",
        "Timings on a shared machine are noisy (other processes compete for the cores); take them to ±20%.",
        "",
        *engines_section(results),
        "## Targets",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t['target']} | {t['goal']} | {t['measured']} | {'met' if t['met'] else '**not met**'} |"
        for t in results["targets"]
    ]
    lines += [
        "",
        "## Wall time and peak memory",
        "",
        "Per run: *wall*, the run's process from start to exit; *start-up*, starting Python and loading "
        "the Dagster definitions; *in-run*, the Dagster run; *peak*, peak resident memory of the process "
        "tree (dbt and ingest workers included). Per stage: the seconds of its Dagster steps and the "
        "peak memory sampled during them (the rest of a run's in-run time is Dagster's own work "
        "between steps).",
    ]
    for label, size in results["sizes"].items():
        s = size["sample"]
        lines += [
            "",
            f"### {label}: multiplier {size['multiplier']:g}, {s['la_count']} LAs, {s['files']} files "
            f"({s['landing_mib']:.0f} MiB), {s['rows']['placements']:,} placement rows; warehouse "
            f"{size['warehouse_mib']:.0f} MiB",
            "",
            "| run | " + " | ".join(f"{sc}: wall s | start-up s | in-run s | peak MiB" for sc in SCENARIOS) + " |",
            "|---|" + "---:|" * 4 * len(SCENARIOS),
        ]
        for run in RUNS:
            cells = []
            for sc in SCENARIOS:
                r = size["scenarios"][sc]["runs"][run]
                if r.get("skipped"):
                    cells += ["not run", "—", "—", "—"]
                    continue
                cells += [
                    f"{r['wall_s']:.1f}" + ("" if r["success"] else " FAILED"),
                    f"{r['load_s']:.1f}",
                    f"{r['run_s']:.1f}",
                    f"{r['peak_mib']:.0f}",
                ]
            lines.append(f"| {run} run | " + " | ".join(cells) + " |")
        lines.append(
            "| **total** | "
            + " | ".join(
                f"**{size['scenarios'][sc]['wall_s']:.1f}** | | {size['scenarios'][sc]['run_s']:.1f} | "
                f"{size['scenarios'][sc]['peak_mib']:.0f}"
                for sc in SCENARIOS
            )
            + " |"
        )
        lines += [
            "",
            "| stage (run) | " + " | ".join(f"{sc}: steps s | peak MiB" for sc in SCENARIOS) + " |",
            "|---|" + "---:|" * 2 * len(SCENARIOS),
        ]
        for run, stages in RUNS.items():
            for stage in stages:
                cells = []
                for sc in SCENARIOS:
                    st = size["scenarios"][sc]["stages"][stage]
                    cells += ["—", "—"] if st.get("skipped") else [f"{st['run_s']:.1f}", f"{st['peak_mib']:.0f}"]
                lines.append(f"| {stage} ({run}) | " + " | ".join(cells) + " |")
        r = size["resubmitted"]
        lines += [
            "",
            f"Resubmission: LA {r['la_code']}'s `{r['file']}` ({r['rows']:,} rows) with {r['rows_changed']:,} "
            "costs raised by 5%; ingest and assurance on that LA's partition only, then what automation "
            "requests downstream of the raw layer: dbt (per-LA incremental models) and the playbook.",
        ]
    lines += ["", "## What each run did", ""]
    for label, size in results["sizes"].items():
        lines += [f"| {label} | " + " | ".join(STAGES) + " |", "|---|" + "---|" * len(STAGES)]
        for sc in SCENARIOS:
            stages = size["scenarios"][sc]["stages"]
            lines.append(f"| {sc} | " + " | ".join(fmt_did(st, stages[st]) for st in STAGES) + " |")
        lines.append("")
    lines += ["## Profile of the full rebuild", ""]
    for label, size in results["sizes"].items():
        stages = size["scenarios"]["full"]["stages"]
        steps = sorted(
            ((sec, stage, step) for stage, st in stages.items() for step, sec in st.get("steps", {}).items()),
            reverse=True,
        )
        lines += [f"### {label}", "", "Dagster steps, slowest first:", "", "| stage | step | s |", "|---|---|---:|"]
        lines += [f"| {stage} | `{step}` | {sec:.1f} |" for sec, stage, step in steps[:12]]
        dbt = size["scenarios"]["full"]["runs"]["warehouse"].get("dbt", {})
        lines += [
            "",
            "dbt models and tests, slowest first (dbt's own timing per node):",
            "",
            "| node | s |",
            "|---|---:|",
        ]
        lines += [f"| `{n['node']}` | {n['s']:.1f} |" for n in dbt.get("slowest", [])]
        lines += [
            "",
            f"dbt nodes in all: {dbt.get('count', 0)} nodes, {dbt.get('total_s', 0):.1f} s summed (2 dbt threads)",
            "",
        ]
    return "\n".join(lines)


def duckdb_summary(path: Path) -> dict:
    """Of DuckDB's results: when and where measured, and each size's full and resubmission scenarios'
    wall time, peak memory and success."""
    duck = json.loads(path.read_text())
    return {
        "path": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
        **{k: duck.get(k) for k in ("finished", "git", "load_before", "load_after", "argv")},
        "sizes": {
            label: {
                "la_count": size["sample"]["la_count"],
                "scenarios": {
                    name: {k: size["scenarios"][name][k] for k in ("success", "wall_s", "run_s", "peak_mib")}
                    for name in ("full", "resubmission")
                },
            }
            for label, size in duck.get("sizes", {}).items()
        },
    }


def engines_section(results: dict) -> list[str]:
    """On Spark: the full build and one LA's resubmission beside DuckDB's on the same sample (``results
    ["duckdb"]``, from the DuckDB results.json of ``--compare``), wall time and peak memory."""
    duck = results.get("duckdb")
    if results.get("engine") != "spark" or not duck:
        return []
    lines = [
        "## Both engines",
        "",
        f"DuckDB's figures are from `{results['duckdb']['path']}` (measured {duck.get('finished', '?')} on commit "
        f"`{duck.get('git', {}).get('commit', '?')[:12]}`, load average before / after {duck.get('load_before')} / "
        f"{duck.get('load_after')}); Spark's from this run. Peak: resident memory of the run's process tree "
        "(Spark's JVMs included).",
        "",
        "| size | scenario | DuckDB wall s | DuckDB peak MiB | Spark wall s | Spark peak MiB | Spark / DuckDB time |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for label, size in results["sizes"].items():
        other = duck.get("sizes", {}).get(label)
        if not other or other.get("la_count") != size["sample"]["la_count"]:  # not the same sample
            continue
        for scenario in ("full", "resubmission"):
            d, sp = other["scenarios"][scenario], size["scenarios"][scenario]
            ratio = sp["wall_s"] / d["wall_s"] if d["wall_s"] else float("nan")
            lines.append(
                f"| {label} ({size['sample']['la_count']} LAs) | {scenario} | {d['wall_s']:.0f} | {d['peak_mib']:.0f} | "
                f"{sp['wall_s']:.0f}{'' if sp['success'] else ' FAILED'} | {sp['peak_mib']:.0f} | {ratio:.1f}× |"
            )
    return [*lines, ""]


def write_results(results: dict, out: Path) -> None:
    results["targets"] = judge(results["sizes"])
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "results.md").write_text(markdown(results))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_run"]:
        run_in_process(argv[1], Path(argv[2]), argv[3] if len(argv) > 3 else None)
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--multiplier", type=float, default=1.0, help="sample scale of the base run (1 = national)")
    parser.add_argument("--scale5", type=float, default=5.0, help="sample scale of the large run")
    parser.add_argument("--skip-5x", action="store_true", help="only the base run")
    parser.add_argument("--las", type=int, default=None, help="only the first N LAs (default all 153)")
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="the warehouse's engine (spark: run with .venv-spark's Python, `make bench-spark`)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        default=RESULTS / "results.json",
        help="on Spark: DuckDB's results.json to report beside (same sizes and LAs)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="where results.json/.md go (default bench/results, on Spark its spark/)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="samples, data and Dagster homes (default a temp dir, removed after)"
    )
    args = parser.parse_args(argv)
    args.out = args.out or RESULTS / ("spark" if args.engine == "spark" else "")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dbv-bench-"))
    print(f"work dir: {workdir}")
    results = {
        "argv": argv,
        "machine": machine_facts(),
        "git": git_facts(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "engine": args.engine,
        "sizes": {},
    }
    if args.engine == "spark" and args.compare.exists():  # DuckDB's, to report beside
        results["duckdb"] = duckdb_summary(args.compare.resolve())
    sizes = [args.multiplier] + ([] if args.skip_5x else [args.scale5])
    try:
        for multiplier in sizes:
            results["sizes"][f"{multiplier:g}x"] = bench_size(
                f"{multiplier:g}x", multiplier, workdir, args.las, args.engine
            )
            write_results(results, args.out)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"results: {args.out / 'results.md'}")
    for target in results.get("targets", []):
        print(
            f"  {'met    ' if target['met'] else 'NOT MET'}  {target['target']}: {target['measured']} (goal {target['goal']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
