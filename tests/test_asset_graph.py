"""The asset graph pinned in a snapshot (tests/snapshots/asset_graph.json): keys, groups, dependencies,
partitions, automation conditions, freshness, checks (blocking or not), sensors and jobs. A change to
the graph fails here and shows in review as a diff of the snapshot; to accept it, run

    DBV_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/test_asset_graph.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).with_name("snapshots") / "asset_graph.json"


def condition_text(condition: dg.AutomationCondition) -> str:
    """The condition's whole tree, with the labels the UI shows."""
    label = condition.get_label()
    children = ", ".join(condition_text(child) for child in condition.children)
    return condition.name + (f"[{label}]" if label else "") + (f"({children})" if children else "")


def graph_snapshot(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    repository = defs.get_repository_def()
    conditions: dict[str, str] = {}
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        condition = node.automation_condition
        if condition is not None:
            conditions[condition.get_label() or condition.name] = condition_text(condition)
        freshness = node.freshness_policy
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "partitions": type(node.partitions_def).__name__ if node.partitions_def else None,
            "automation": (condition.get_label() or condition.name) if condition else None,
            "freshness": repr(freshness) if freshness else None,
            "checks": sorted(
                f"{check.name}{' (blocking)' if graph.get(check).blocking else ''}" for check in node.check_keys
            ),
            "pool": next(iter(node.pools), None) if getattr(node, "pools", None) else None,
        }
    return {
        "assets": assets,
        "automation_conditions": conditions,
        "sensors": {
            s.name: {"status": s.default_status.value, "interval_s": s.minimum_interval_seconds}
            for s in sorted(repository.sensor_defs, key=lambda s: s.name)
        },
        "jobs": sorted(job.name for job in repository.get_all_jobs() if not job.name.startswith("__")),
    }


def test_the_asset_graph_matches_its_snapshot():
    from dbv_pipeline.definitions import defs

    current = json.dumps(graph_snapshot(defs), indent=1, sort_keys=True) + "\n"
    if os.environ.get("DBV_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot yet: run with DBV_UPDATE_SNAPSHOT=1"
    assert current == SNAPSHOT.read_text(encoding="utf-8"), (
        "The asset graph changed. If that is intended, run DBV_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest "
        "tests/test_asset_graph.py and commit tests/snapshots/asset_graph.json"
    )
