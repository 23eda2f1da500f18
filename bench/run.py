"""Benchmark the pipeline at national scale and 5×: a full rebuild, one LA's resubmission, a no-change rerun.

Each stage (ingest, assurance, dbt, playbook) runs in its own child process (``python -m bench.run
_stage …``) that executes the real Dagster job's asset selection in-process on a DagsterInstance kept
in the work dir. The parent takes the stage's wall time and peak memory: the larger of the peak RSS
of its whole process tree (sampled from /proc) and of its largest process (``os.wait4``).
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
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGES = ("ingest", "assurance", "dbt", "playbook")
SCENARIOS = ("full", "resubmission", "no_change")
PARTITIONED = {"ingest", "assurance"}  # stages run on LA partitions (the ingest job)
GOALS = {"full_s": 120, "resubmission_s": 15, "peak_mib": 2048}  # and the large size in ≤ its multiple of the time
MIB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- child: one stage as a Dagster run


def stage_selection(stage: str, changed_only: bool):
    """(job, asset keys, check keys) of a stage; check keys None means every check of those assets.

    ingest: the raw layer; assurance: the rest of the ingest job (feedback reports) and the raw GX
    checks; dbt: the warehouse job but the playbook group (public data, dbt, mart GX checks); playbook.
    ``changed_only`` (after one LA's resubmission): dbt and playbook take what automation requests
    after an ingest, i.e. only what is downstream of the raw layer (not the public data)."""
    import dagster as dg

    from dbv_pipeline.definitions import defs
    from dbv_pipeline.ingest.assets import raw_returns

    graph = defs.resolve_asset_graph()
    raw = dg.AssetSelection.assets(raw_returns)
    playbook = dg.AssetSelection.groups("playbook").resolve(graph)
    ingest_job, warehouse_job = defs.get_job_def("ingest_job"), defs.get_job_def("warehouse_job")
    warehouse = warehouse_job.asset_layer.selected_asset_keys
    if changed_only:
        warehouse = warehouse & raw.downstream().resolve(graph)
    return {
        "ingest": (ingest_job, raw.resolve(graph), set()),
        "assurance": (ingest_job, ingest_job.asset_layer.selected_asset_keys - raw.resolve(graph), raw.resolve_checks(graph)),
        "dbt": (warehouse_job, warehouse - playbook, None),
        "playbook": (warehouse_job, warehouse & playbook, None),
    }[stage]


def step_seconds(instance, run_id: str) -> dict[str, float]:
    """Each step's duration from the run's event log (STEP_START to STEP_SUCCESS or STEP_FAILURE)."""
    import dagster as dg

    starts, seconds = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            seconds[event.step_key] = round(entry.timestamp - starts[event.step_key], 2)
    return seconds


def what_it_did(result) -> dict:
    """Assets materialised, checks run, and the ingest's and feedback reports' own counts."""
    import dagster as dg

    materialisations = result.get_asset_materialization_events()
    checks = result.get_asset_check_evaluations()
    did = {
        "assets": len({m.asset_key for m in materialisations}),
        "checks": len(checks),
        "check_errors": sum(not c.passed and c.severity == dg.AssetCheckSeverity.ERROR for c in checks),
        "check_warnings": sum(not c.passed and c.severity == dg.AssetCheckSeverity.WARN for c in checks),
    }
    for event in materialisations:  # a partition range repeats the same metadata per LA: keep the first
        meta = event.materialization.metadata
        if event.asset_key.to_user_string() == "raw/submissions" and "files" not in did:
            did.update({k: meta[k].value for k in ("files", "skipped", "rows_loaded", "rows_rejected")})
        elif event.asset_key.to_user_string() == "reports/feedback" and "reports_written" not in did:
            did["reports_written"] = meta["reports_written"].value
    return did


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
    return {"count": len(nodes), "total_s": round(sum(s for s, _ in nodes), 2),
            "slowest": [{"node": name, "s": round(s, 2)} for s, name in nodes[:top]]}


def run_stage(stage: str, out: Path, la_code: str | None) -> None:
    """Child process: run one stage on $DAGSTER_HOME's instance; write what it did and its timings to ``out``."""
    started = time.perf_counter()
    import dagster as dg

    from dbv_pipeline.ingest import files_by_la
    from dbv_pipeline.ingest.assets import la_partitions
    from dbv_pipeline.settings import DataPaths

    instance = dg.DagsterInstance.get()
    job, assets, checks = stage_selection(stage, changed_only=la_code is not None)
    tags = {}
    if stage in PARTITIONED:  # as the landing sensor does: add new LAs' partitions, run a range of them
        known = set(instance.get_dynamic_partitions(la_partitions.name))
        instance.add_dynamic_partitions(la_partitions.name, sorted(set(files_by_la(DataPaths.from_env().landing)) - known))
        partitions = [la_code] if la_code else instance.get_dynamic_partitions(la_partitions.name)
        tags = {"dagster/asset_partition_range_start": partitions[0], "dagster/asset_partition_range_end": partitions[-1]}
    loaded = time.perf_counter()
    subset = job.get_subset(asset_selection=assets, asset_check_selection=checks)
    result = subset.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    finished = time.perf_counter()
    out.write_text(json.dumps({
        "success": result.success,
        "load_s": round(loaded - started, 2),
        "run_s": round(finished - loaded, 2),
        "steps": step_seconds(instance, result.run_id),
        "did": what_it_did(result),
        "dbt": dbt_nodes(result),
    }, indent=1))


# ---------------------------------------------------------------- parent: measure stages in child processes


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
    """Samples a process tree's resident memory every ``interval`` seconds, keeping the peak."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak, self.stop = pid, interval, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.peak = max(self.peak, tree_rss(self.pid))


def measure(stage: str, env: dict, logs: Path, label: str, la_code: str | None) -> dict:
    """Run one stage in a child process: wall time, peak memory and the child's own report."""
    out, log = logs / f"{label}-{stage}.json", logs / f"{label}-{stage}.log"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.run", "_stage", stage, str(out), *([la_code] if la_code else [])]
    with log.open("w") as log_file:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        sampler = TreeSampler(child.pid)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    report = json.loads(out.read_text()) if out.exists() else {"success": False}
    return {
        "wall_s": round(wall, 2),
        "peak_mib": round(max(sampler.peak, usage.ru_maxrss * 1024) / MIB, 1),
        "largest_process_mib": round(usage.ru_maxrss / 1024, 1),
        "exit_code": child.returncode,
        "log": str(log),
        **report,
    }


def run_scenario(label: str, env: dict, logs: Path, la_code: str | None = None) -> dict:
    """Every stage in order; the partitioned ones on ``la_code`` only, else on every LA."""
    print(f"  {label}:", end="", flush=True)
    stages = {}
    for stage in STAGES:
        if stage != "ingest" and stages["ingest"].get("did", {}).get("assets") == 0:
            # As deployed: an ingest run that materialises nothing skips its checks and reports, and
            # automation requests nothing downstream (tests/test_incremental.py shows both).
            stages[stage] = {"skipped": True, "success": True, "wall_s": 0.0, "run_s": 0.0, "peak_mib": 0.0}
        else:
            stages[stage] = measure(stage, env, logs, label, la_code)
        print(f" {stage} {stages[stage]['wall_s']:.1f}s", end="", flush=True)
    print()
    return {
        "stages": stages,
        "success": all(s["success"] for s in stages.values()),
        "wall_s": round(sum(s["wall_s"] for s in stages.values()), 2),
        "run_s": round(sum(s.get("run_s", 0) for s in stages.values()), 2),
        "peak_mib": max(s["peak_mib"] for s in stages.values()),
    }


def prepare_sample(folder: Path, multiplier: float, la_count: int | None) -> dict:
    """Generate the synthetic landing files once (reused while ``sample.json`` is there)."""
    facts_path = folder / "sample.json"
    if facts_path.exists():
        return json.loads(facts_path.read_text())
    from dbv_pipeline.sample import generate_sample
    from dbv_pipeline.sample.las import load_las

    shutil.rmtree(folder, ignore_errors=True)
    codes = [la.old_la_code for la in load_las()][:la_count] if la_count else None
    print(f"  generating the sample (multiplier {multiplier:g}) into {folder} …", flush=True)
    summary = generate_sample(folder / "landing", la_codes=codes, multiplier=multiplier)
    facts = {
        "multiplier": multiplier, "la_count": summary.la_count, "files": summary.files, "rows": summary.rows,
        "variations": summary.variations, "seconds": round(summary.seconds, 1),
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
    edited = path.with_suffix(".edit")  # not a landing suffix; replaced in one step (the sample's hard link stays intact)
    with edited.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *rows])
    os.replace(edited, path)
    return {"la_code": path.name.split("_", 1)[0], "file": path.name, "rows": len(rows), "rows_changed": changed}


def bench_size(label: str, multiplier: float, workdir: Path, la_count: int | None) -> dict:
    """Full rebuild on a fresh data folder and Dagster home, then one LA's resubmission, then a no-change rerun."""
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
    # buildable (the dbt asset's own default is cautious): the dbt and playbook stages together run every
    # test one warehouse_job run does; a playbook model's test on a mart runs in the playbook stage.
    env = {**os.environ, "DAGSTER_HOME": str(home), "DBV_DATA_DIR": str(data), "GX_ANALYTICS_ENABLED": "False",
           "DAGSTER_DISABLE_TELEMETRY": "1", "DBT_INDIRECT_SELECTION": "buildable"}
    env.pop("DBV_WAREHOUSE", None)
    scenarios = {"full": run_scenario("full", env, logs)}
    change = resubmit(data / "landing", sample)
    scenarios["resubmission"] = run_scenario("resubmission", env, logs, change["la_code"])
    scenarios["no_change"] = run_scenario("no_change", env, logs)
    return {
        "multiplier": multiplier,
        "sample": {k: v for k, v in sample.items() if k not in ("files", "variations")} | {"files": len(sample["files"])},
        "resubmitted": change,
        "warehouse_mib": round((data / "warehouse.duckdb").stat().st_size / MIB, 1),
        "scenarios": scenarios,
    }


# ---------------------------------------------------------------- results: targets, JSON, markdown


def no_change_summary(scenario: dict) -> str:
    """What a rerun with nothing new did, in words."""
    stages = scenario["stages"]
    ingest = stages["ingest"].get("did", {})
    words = ["ingest found nothing new (nothing materialised)" if ingest.get("assets") == 0
             else f"ingest re-ingested {ingest.get('files', '?')} files"]
    for stage in STAGES[1:]:
        did = stages[stage].get("did", {})
        words.append(f"{stage} skipped" if stages[stage].get("skipped")
                     else f"{stage} ran {did.get('assets', '?')} assets and {did.get('checks', '?')} checks")
    return "; ".join(words)


def judge(sizes: dict) -> list[dict]:
    """Each target beside its measured figure, met or not."""
    base_label, base = next(iter(sizes.items()))
    full, resub, rerun = (base["scenarios"][s] for s in SCENARIOS)
    did_ingest = rerun["stages"]["ingest"].get("did", {})
    idle = 0 in (did_ingest.get("assets"), did_ingest.get("files")) and all(
        rerun["stages"][stage].get("skipped") for stage in STAGES[1:])
    rows = [
        {"target": f"full rebuild, landing to playbook ({base_label})", "goal": f"≤ {GOALS['full_s']} s",
         "measured": f"{full['wall_s']:.0f} s (in-run {full['run_s']:.0f} s)",
         "met": full["success"] and full["wall_s"] <= GOALS["full_s"]},
        {"target": f"one LA's resubmission, end to end ({base_label})", "goal": f"≤ {GOALS['resubmission_s']} s",
         "measured": f"{resub['wall_s']:.0f} s (in-run {resub['run_s']:.0f} s)",
         "met": resub["success"] and resub["wall_s"] <= GOALS["resubmission_s"]},
        {"target": f"no-change rerun does nothing expensive ({base_label})",
         "goal": f"no file re-ingested, nothing downstream run, ≤ {GOALS['resubmission_s']} s",
         "measured": f"{rerun['wall_s']:.0f} s: {no_change_summary(rerun)}",
         "met": rerun["success"] and idle and rerun["wall_s"] <= GOALS["resubmission_s"]},
    ]
    for label, size in sizes.items():
        peak = max(s["peak_mib"] for s in size["scenarios"].values())
        rows.append({"target": f"peak memory of any stage ({label})", "goal": f"≤ {GOALS['peak_mib']} MiB",
                     "measured": f"{peak:.0f} MiB", "met": peak <= GOALS["peak_mib"]})
    if len(sizes) > 1:
        big_label, big = list(sizes.items())[1]
        ratio = big["scenarios"]["full"]["wall_s"] / full["wall_s"]
        scale = big["multiplier"] / base["multiplier"]
        rows.append({"target": f"{big_label} data in ≤ {scale:g}× the time (full rebuild)", "goal": f"≤ {scale:g}×",
                     "measured": f"{ratio:.2f}× ({big['scenarios']['full']['wall_s']:.0f} s vs {full['wall_s']:.0f} s)",
                     "met": big["scenarios"]["full"]["success"] and ratio <= scale})
    return rows


def machine_facts() -> dict:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {
        "nproc": len(os.sched_getaffinity(0)), "cpu": cpu,
        "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 1024 / 1024, 1),
        "os": platform.platform(), "python": platform.python_version(),
        **{name: version(name) for name in ("duckdb", "dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "great_expectations")},
    }


def git_facts() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    changed = [line for line in git("status", "--porcelain").splitlines() if line]
    return {"commit": git("rev-parse", "HEAD"), "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "uncommitted_files": len(changed)}


def fmt_did(stage: str, report: dict) -> str:
    """One stage's work in words, for the markdown."""
    did = report.get("did", {})
    if report.get("skipped"):
        return "skipped (nothing new upstream)"
    if not did:
        return "—"
    if stage == "ingest":
        if "files" not in did:
            return "nothing new: no asset materialised"
        return (f"{did['files']} files ingested ({did['rows_loaded']:,} rows loaded, {did['rows_rejected']:,} "
                f"rejected), {did['skipped']} unchanged skipped")
    if stage == "assurance":
        return (f"{did.get('reports_written', 0)} feedback reports; {did['checks']} GX checks "
                f"({did['check_errors']} errors, {did['check_warnings']} warnings)")
    return f"{did['assets']} assets; {did['checks']} checks ({did['check_errors']} errors, {did['check_warnings']} warnings)"


def markdown(results: dict) -> str:
    """results.md: targets, the stage × scenario table per size, what each run did, the profile."""
    m, g = results["machine"], results["git"]
    lines = [
        "# DBV pipeline benchmark", "",
        f"Measured {results['finished']} on commit `{g['commit'][:12]}` ({g['branch']}"
        + (f", {g['uncommitted_files']} uncommitted files" if g["uncommitted_files"] else "") + ") with "
        f"`python -m bench.run {' '.join(results['argv'])}`.",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['os']}; Python {m['python']}, "
        f"DuckDB {m['duckdb']}, Dagster {m['dagster']}, dagster-dbt {m['dagster-dbt']}, dbt-core {m['dbt-core']}, "
        f"dbt-duckdb {m['dbt-duckdb']}, GX {m['great_expectations']}. Load average before / after: "
        f"{results['load_before']} / {results['load_after']}.", "",
        "Timings on a shared machine are noisy (other processes compete for the cores); take them to ±20%.", "",
        "## Targets", "", "| target | goal | measured | met |", "|---|---|---|---|",
    ]
    lines += [f"| {t['target']} | {t['goal']} | {t['measured']} | {'met' if t['met'] else '**not met**'} |"
              for t in results["targets"]]
    lines += ["", "## Wall time and peak memory per stage", "",
              "*wall*: the stage's process from start to exit (Python start-up and loading the Dagster "
              "definitions included); *in-run*: the Dagster run alone; *peak*: peak resident memory of the "
              "stage's process tree (dbt and ingest workers included)."]
    for label, size in results["sizes"].items():
        s = size["sample"]
        lines += ["", f"### {label}: multiplier {size['multiplier']:g}, {s['la_count']} LAs, {s['files']} files "
                      f"({s['landing_mib']:.0f} MiB), {s['rows']['placements']:,} placement rows; warehouse "
                      f"{size['warehouse_mib']:.0f} MiB", "",
                  "| stage | " + " | ".join(f"{sc}: wall s | in-run s | peak MiB" for sc in SCENARIOS) + " |",
                  "|---|" + "---:|" * 3 * len(SCENARIOS)]
        for stage in STAGES:
            cells = []
            for sc in SCENARIOS:
                st = size["scenarios"][sc]["stages"][stage]
                if st.get("skipped"):
                    cells += ["skipped", "—", "—"]
                    continue
                flag = "" if st["success"] else " FAILED"
                cells += [f"{st['wall_s']:.1f}{flag}", f"{st.get('run_s', 0):.1f}", f"{st['peak_mib']:.0f}"]
            lines.append(f"| {stage} | " + " | ".join(cells) + " |")
        lines.append("| **total** | " + " | ".join(
            f"**{size['scenarios'][sc]['wall_s']:.1f}** | {size['scenarios'][sc]['run_s']:.1f} | "
            f"{size['scenarios'][sc]['peak_mib']:.0f}" for sc in SCENARIOS) + " |")
        r = size["resubmitted"]
        lines += ["", f"Resubmission: LA {r['la_code']}'s `{r['file']}` ({r['rows']:,} rows) with {r['rows_changed']:,} "
                      "costs raised by 5%; ingest and assurance on that LA's partition only, then what automation "
                      "requests downstream of the raw layer: dbt (per-LA incremental models) and the playbook."]
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
        steps = sorted(((sec, stage, step) for stage, s in stages.items() for step, sec in s.get("steps", {}).items()),
                       reverse=True)
        lines += [f"### {label}", "", "Dagster steps, slowest first (the stages' start-up is the wall − in-run gap):", "",
                  "| stage | step | s |", "|---|---|---:|"]
        lines += [f"| {stage} | `{step}` | {sec:.1f} |" for sec, stage, step in steps[:12]]
        lines += ["", "dbt models and tests, slowest first (dbt's own timing per node):", "",
                  "| stage | node | s |", "|---|---|---:|"]
        nodes = sorted(((n["s"], stage, n["node"]) for stage in ("dbt", "playbook")
                        for n in stages[stage].get("dbt", {}).get("slowest", [])), reverse=True)
        lines += [f"| {stage} | `{node}` | {sec:.1f} |" for sec, stage, node in nodes[:12]]
        totals = {stage: stages[stage].get("dbt", {}) for stage in ("dbt", "playbook")}
        lines += ["", "dbt nodes in all: " + "; ".join(f"{stage} {t.get('count', 0)} nodes, {t.get('total_s', 0):.1f} s "
                                                        "summed (2 dbt threads)" for stage, t in totals.items()), ""]
    return "\n".join(lines)


def write_results(results: dict, out: Path) -> None:
    results["targets"] = judge(results["sizes"])
    results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "results.md").write_text(markdown(results))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_stage"]:
        run_stage(argv[1], Path(argv[2]), argv[3] if len(argv) > 3 else None)
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--multiplier", type=float, default=1.0, help="sample scale of the base run (1 = national)")
    parser.add_argument("--scale5", type=float, default=5.0, help="sample scale of the large run")
    parser.add_argument("--skip-5x", action="store_true", help="only the base run")
    parser.add_argument("--las", type=int, default=None, help="only the first N LAs (default all 153)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="where results.json/.md go")
    parser.add_argument("--workdir", type=Path, default=None, help="samples, data and Dagster homes (default a temp dir, removed after)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dbv-bench-"))
    print(f"work dir: {workdir}")
    results = {"argv": argv, "machine": machine_facts(), "git": git_facts(),
               "load_before": [round(x, 2) for x in os.getloadavg()], "sizes": {}}
    sizes = [args.multiplier] + ([] if args.skip_5x else [args.scale5])
    try:
        for multiplier in sizes:
            results["sizes"][f"{multiplier:g}x"] = bench_size(f"{multiplier:g}x", multiplier, workdir, args.las)
            write_results(results, args.out)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"results: {args.out / 'results.md'}")
    for target in results.get("targets", []):
        print(f"  {'met    ' if target['met'] else 'NOT MET'}  {target['target']}: {target['measured']} (goal {target['goal']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
