"""The Dagster definitions as a deployment loads them: no side effects, sensors on from the start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {".git", ".venv", "__pycache__", ".pytest_cache", "data", ".dagster"}


def tree_state(root: Path) -> dict[str, int]:
    state = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [s for s in subfolders if s not in SKIPPED]
        for name in files:
            path = Path(folder, name)
            state[str(path.relative_to(root))] = path.stat().st_mtime_ns
    return state


def test_loading_the_definitions_writes_nothing_and_runs_no_dbt(tmp_path):
    before = tree_state(ROOT)
    env = {**os.environ, "DBV_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", "import dbv_pipeline.definitions as d; d.defs.resolve_asset_graph()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert tree_state(ROOT) == before  # no seed, manifest or dbt log written
    assert not (tmp_path / "data").exists() and not (tmp_path / "home").exists()


def test_every_sensor_runs_from_the_daemons_first_start_and_says_what_it_does():
    from dbv_pipeline.definitions import defs

    sensors = {s.name: s for s in defs.get_repository_def().sensor_defs}
    assert {"landing_sensor", "public_release_sensor", "automation_sensor"} <= set(sensors)
    for name, sensor in sensors.items():
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, name
        assert sensor.description and len(sensor.description) > 40, name


def test_dg_check_defs_passes(tmp_path):
    """Dagster's project checker (dagster-dg-cli, configured in pyproject's [tool.dg]) loads the definitions."""
    venv = Path(sys.executable).parent.parent
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "DAGSTER_HOME": str(tmp_path),
        "DBV_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [str(venv / "bin" / "dg"), "check", "defs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr


def test_every_asset_check_says_what_it_checks():
    """An operator reads the checks in the UI: each has a description (dbt tests in plain words)."""
    from dbv_pipeline.definitions import defs
    from dbv_pipeline.warehouse.assets import describe_test

    graph = defs.resolve_asset_graph()
    checks = [graph.get(key) for key in graph.asset_check_keys]
    assert len(checks) > 200 and not [check.key for check in checks if not check.description]
    relationships = {
        "test_metadata": {"name": "relationships", "kwargs": {"to": "ref('dim_la')", "field": "la_code"}},
        "column_name": "la_code",
        "name": "t",
        "config": {"severity": "warn"},
    }
    assert describe_test(relationships) == "Every la_code is in dim_la.la_code (warns)"
    regex = {
        "test_metadata": {"name": "matches_regex", "kwargs": {"regex": "^[0-9]{3}$"}},
        "column_name": "la_code",
        "name": "t",
        "config": {"meta": {"rule_code": "M_CODE"}},
    }
    assert describe_test(regex) == "Every la_code matches ^[0-9]{3}$, rule M_CODE (fails the build)"
