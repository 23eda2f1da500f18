"""Shared fixtures: a throw-away data folder and builders for small, valid LA returns."""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from dbv_pipeline.settings import DataPaths, PipelineSettings  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RECEIVED = dt.datetime(2025, 5, 1, 9, 0)

# Test tiers (README "Tests"): `make test-fast` runs the unit tier, `pytest -m "not integration and not
# slow"`, in under a minute; `make test` runs both tiers. Integration tests run dbt, Dagster (definitions,
# materialisations, sensors, servers), GX validations, subprocesses, DfE's real release or the national-scale
# sample: the modules below whole, and the named tests of otherwise unit modules. A new test is a unit test
# unless it is listed here (or marked @pytest.mark.integration): keep the unit tier under a minute.
INTEGRATION_MODULES = {
    "test_asset_graph.py",
    "test_assurance_checks.py",
    "test_assurance_faults.py",
    "test_assurance_gx_rules.py",
    "test_bench.py",
    "test_cli.py",
    "test_dagster_dev.py",
    "test_dagster_ingest.py",
    "test_dagster_webserver.py",
    "test_definitions.py",
    "test_deployment.py",
    "test_hostile_inputs.py",
    "test_incremental.py",
    "test_latest_files.py",
    "test_pages_hostile_text.py",
    "test_playbook_metrics.py",
    "test_playbook_report.py",
    "test_public_dfe_ehcp.py",
    "test_warehouse_dagster.py",
    "test_warehouse_dbt.py",
}
INTEGRATION_TESTS = {
    "test_docs_server.py": {"test_gx_data_docs_render_offline_when_served"},  # GX, npm, headless Chromium
    "test_assurance_suites.py": {
        "test_each_suite_loads_in_gx_and_round_trips",
        "test_data_docs_are_built_for_each_run",
    },
    # the playbook sample (fixture playbook_sample)
    "test_warehouse_naming.py": {"test_every_la_code_column_of_a_built_warehouse_holds_3_digit_codes"},
    "test_warehouse_contracts.py": {"test_every_playbook_column_of_a_built_warehouse_is_described"},
    "test_playbook_evaluation.py": {
        "test_zero_effect_gives_no_finding_after_adjustment",
        "test_injected_effect_is_recovered_and_significant",
        "test_confidence_intervals_cover_at_about_the_nominal_rate",
        "test_within_transformation_matches_dummy_regression",
    },
    # the backtest on DfE's history (fixture backtest_result)
    "test_playbook_forecast.py": {
        "test_backtest_covers_every_origin_with_four_censuses",
        "test_backtest_summary_and_report",
        "test_backtest_bands_use_only_past_errors",
    },
    # the national-scale sample (fixture national), and the whole fault sample
    "test_sample_generator.py": {
        "test_clean_sample_passes_every_row_rule",
        "test_national_active_plans_match_the_census",
        "test_placement_mix_ages_and_needs_are_realistic",
        "test_unit_costs_are_in_range",
        "test_clean_placements_have_no_overlaps_or_personal_data",
        "test_dsg_plans_are_consistent_with_spend_and_mitigations",
        "test_cohort_follows_the_generated_dsg_plans",
        "test_faults_manifest_covers_every_fault_class",
        "test_same_arguments_give_identical_bytes",
    },
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the integration tier (above); a listed test that no longer exists is an error, not a silent miss."""
    for item in items:
        module, name = item.path.name, getattr(item, "originalname", item.name)
        listed = INTEGRATION_TESTS.get(module, set())
        if missing := {n for n in listed if not hasattr(getattr(item, "module", None), n)}:
            raise pytest.UsageError(f"tests/conftest.py INTEGRATION_TESTS: not in {module}: {sorted(missing)}")
        if module in INTEGRATION_MODULES or name in listed:
            item.add_marker(pytest.mark.integration)


PLACEMENT_HEADER = [
    "la_code",
    "child_id",
    "date_of_birth",
    "sex",
    "primary_need",
    "ehcp_start_date",
    "ehcp_end_date",
    "cease_reason",
    "provision_type",
    "setting_urn",
    "placement_start_date",
    "placement_end_date",
    "annual_cost_gbp",
]


def placement(child: str = "C0001", **overrides: str) -> dict[str, str]:
    """One valid placements row for LA 869; override any column."""
    row = {
        "la_code": "869",
        "child_id": child,
        "date_of_birth": "2012-05-01",
        "sex": "F",
        "primary_need": "ASD",
        "ehcp_start_date": "2019-09-01",
        "ehcp_end_date": "",
        "cease_reason": "",
        "provision_type": "MSS",
        "setting_urn": "123456",
        "placement_start_date": "2019-09-01",
        "placement_end_date": "",
        "annual_cost_gbp": "25000",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = header or list(rows[0])
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header])
    return path


@pytest.fixture
def data_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataPaths:
    """An empty data folder, set as $DBV_DATA_DIR for the test."""
    monkeypatch.setenv("DBV_DATA_DIR", str(tmp_path / "data"))
    paths = DataPaths.from_env()
    paths.landing.mkdir(parents=True)
    return paths


@pytest.fixture
def settings(data_paths: DataPaths) -> PipelineSettings:
    """The pipeline's settings resource for the test's data folder, without DfE's public data; landing
    files are taken at once (no settle interval: tests write whole files)."""
    return PipelineSettings(data_dir=str(data_paths.root), dfe_ehcp_source="none", landing_settle_seconds=0)


@pytest.fixture
def resources(settings: PipelineSettings) -> dict:
    """Resources for ``dg.materialize`` of the pipeline's assets."""
    return {"settings": settings}


@pytest.fixture
def pipeline_defs(settings: PipelineSettings):
    """The pipeline's Dagster definitions with the test's settings."""
    from dbv_pipeline.definitions import build_defs

    return build_defs(settings)


@pytest.fixture(scope="session")
def playbook_sample(tmp_path_factory: pytest.TempPathFactory):
    """A small synthetic warehouse with every playbook asset materialised, built once per session
    (harness/playbook.py); tests only read it."""
    from harness.playbook import build_playbook_sample

    return build_playbook_sample(tmp_path_factory.mktemp("playbook"))


@pytest.fixture(scope="session")
def shared_dfe() -> Path:
    folder = SHARED / "data" / "dfe_ehcp"
    if not folder.exists():
        pytest.skip("../shared/data/dfe_ehcp is not present")
    return folder
