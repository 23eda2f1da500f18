"""One name for one meaning across the warehouse (issue 13): `la_code` is DfE's 3-digit LA code in every
fact, dimension, seed and public mart, the 9-character ONS code is `ons_la_code`, a count of EHC plans is
`ehcp_count`; DfE's own names (old_la_code, new_la_code, ehcplans, SN_code, …) stop at staging.

The seed and manifest tests are unit tests; the build test (every `la_code` column of a built sample holds
3-digit codes) is an integration test (conftest.INTEGRATION_TESTS).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import duckdb
import pytest

from dbv_pipeline.settings import DBT_PROJECT_DIR, SEEDS_DIR
from dbv_pipeline.warehouse.prepare import prepare_dbt_project

SHARED_REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "reference"

# the reference seeds: (seed, file in ../shared/data/reference, DfE's header → the warehouse's header)
REFERENCE_SEEDS = {
    "la_lookup": (
        "la_lookup_2025.csv",
        ["la_code", "old_la_code", "la_name", "region_code", "region_name"],
        ["ons_la_code", "la_code", "la_name", "region_code", "region_name"],
    ),
    "statistical_neighbours": (
        "statistical_neighbours_2025.csv",
        ["la_code", "la_name", "SN", "SN_code", "SN_name", "SN_prox"],
        ["ons_la_code", "la_name", "neighbour_rank", "neighbour_ons_la_code", "neighbour_la_name", "proximity"],
    ),
}

# Names that carry DfE's meaning (or two meanings) and must not appear in the warehouse's models or seeds.
RETIRED_NAMES = {"old_la_code", "new_la_code", "old_la_codes", "ehcplans", "sn", "sn_code", "sn_name", "sn_prox"}
# `plans` alone was a count of EHC plans in the public caseload; a count of plans is `ehcp_count`.
RETIRED_IN_MARTS = {"plans"}

THREE_DIGITS = re.compile(r"^\d{3}$")
ONS_CODE = re.compile(r"^E\d{8}$")


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.reader(handle) if row]  # the files end with an empty line


@pytest.fixture(scope="module")
def manifest() -> dict:
    project = prepare_dbt_project()  # re-parses only when the project changed
    return json.loads(project.manifest_path.read_text(encoding="utf-8"))


def warehouse_nodes(manifest: dict):
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed") and node["package_name"] == "dbv":
            yield node


@pytest.mark.parametrize("seed", sorted(REFERENCE_SEEDS))
def test_reference_seed_headers_use_the_warehouse_names(seed):
    _, _, header = REFERENCE_SEEDS[seed]
    assert read_rows(SEEDS_DIR / f"{seed}.csv")[0] == header


@pytest.mark.parametrize("seed", sorted(REFERENCE_SEEDS))
def test_reference_seed_rows_equal_the_shared_files(seed):
    """Only the header changed: every value equals ../shared's copy of DfE's file, row for row."""
    source_name, dfe_header, _ = REFERENCE_SEEDS[seed]
    source = SHARED_REFERENCE / source_name
    if not source.exists():
        pytest.skip(f"{source} is not present")
    shared, ours = read_rows(source), read_rows(SEEDS_DIR / f"{seed}.csv")
    assert shared[0] == dfe_header
    assert ours[1:] == shared[1:]


def test_programme_cohorts_seed_is_keyed_by_la_code():
    assert read_rows(SEEDS_DIR / "programme_cohorts.csv")[0][0] == "la_code"
    codes = [row[0] for row in read_rows(SEEDS_DIR / "programme_cohorts.csv")[1:]]
    assert codes and all(THREE_DIGITS.match(code) for code in codes)


def test_no_model_or_seed_uses_a_retired_name(manifest):
    found = []
    for node in warehouse_nodes(manifest):
        retired = RETIRED_NAMES | (RETIRED_IN_MARTS if node["path"].startswith(("marts/", "playbook/")) else set())
        found += [f"{node['name']}.{c}" for c in node["columns"] if c.lower() in retired]
    assert not found


def test_la_code_columns_are_described_as_the_3_digit_code(manifest):
    """Every documented `la_code` and `ons_la_code` column says which code it holds."""
    for node in warehouse_nodes(manifest):
        for name, column in node["columns"].items():
            if name == "la_code":
                assert "3-digit" in column["description"], node["name"]
            if name == "ons_la_code":
                assert "ONS" in column["description"], node["name"]


def test_the_naming_convention_is_documented():
    readme = (DBT_PROJECT_DIR.parent / "README.md").read_text(encoding="utf-8")
    overview = (DBT_PROJECT_DIR / "models" / "overview.md").read_text(encoding="utf-8")
    for text in (readme, overview):
        assert "`ons_la_code`" in text and "`ehcp_count`" in text and "3-digit" in text
    assert "old_la_code = " not in readme  # the query examples join on la_code


def test_every_la_code_column_of_a_built_warehouse_holds_3_digit_codes(playbook_sample):
    """After a sample build (returns, seeds, DfE's release when ../shared has it): every column named
    `la_code` or `*_la_code` in every schema holds DfE's 3-digit codes, every `*ons_la_code` the ONS code."""
    con = duckdb.connect(str(playbook_sample.paths.warehouse), read_only=True)
    try:
        columns = con.sql(
            """select table_schema, table_name, column_name from information_schema.columns
            where column_name like '%la_code' and table_schema not in ('information_schema', 'main')"""
        ).fetchall()
        checked = set()
        for schema, table, column in columns:
            values = [v for (v,) in con.sql(f'select distinct "{column}" from {schema}.{table}').fetchall()]
            pattern = ONS_CODE if column.endswith("ons_la_code") else THREE_DIGITS
            bad = [v for v in values if v is not None and not pattern.match(str(v))]
            assert not bad, f"{schema}.{table}.{column}: {bad[:5]}"
            if values:
                checked.add(f"{table}.{column}")
    finally:
        con.close()
    expected = {"dim_la.la_code", "dim_la.ons_la_code", "dim_statistical_neighbours.neighbour_la_code"}
    expected |= {"fct_ehcp_census.la_code", "la_lookup.la_code", "programme_cohorts.la_code"}
    if playbook_sample.has_public_data:
        expected |= {"fct_public_ehcp_caseload.la_code", "fct_public_ehcp_indicators.la_code"}
    assert expected <= checked
