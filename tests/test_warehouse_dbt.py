"""The dbt warehouse on a hand-made raw layer: census edge cases, version rules, reconciliation,
finance marts and the programme cohort join. One `dbt build` for the scenario, shared by the tests."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dbv_pipeline.settings import DataPaths
from harness.warehouse import RawLayer, copy_dbt_project, run_dbt

COHORTS = (
    "la_code,la_name,programme,tranche,diagnostic_start_date,source\n"
    "869,West Berkshire,DBV,1,2022-09-01,test\n"
    "301,Barking and Dagenham,SAFETY_VALVE,,,test\n"
)
OWN_MODELS = [
    "--exclude",
    "path:models/staging/public",
    "path:models/marts/public",
    "path:models/marts/assurance",  # reads the public marts (tests/test_assurance_dbt.py builds it)
    "path:models/playbook",
    "--indirect-selection",
    "cautious",
]
CENSUS_2024, CENSUS_2025 = dt.date(2024, 1, 18), dt.date(2025, 1, 16)


def spell(child, dob, need, start, provision, p_start, *, end="", reason="", p_end="", cost=""):
    return {
        "child_id": child,
        "date_of_birth": dob,
        "sex": "M",
        "primary_need": need,
        "ehcp_start_date": start,
        "ehcp_end_date": end,
        "cease_reason": reason,
        "provision_type": provision,
        "setting_urn": "",
        "placement_start_date": p_start,
        "placement_end_date": p_end,
        "annual_cost_gbp": cost,
    }


# LA 869's spell history (2024-25 return, current version). Census 2025 is 16 January 2025.
SCENARIO = [
    spell("CH_A", "2019-09-01", "ASD", "2025-01-16", "MSS", "2025-01-16"),  # starts on census day; aged 4 on 31/8
    spell(
        "CH_B",
        "2010-05-05",
        "SEMH",
        "2020-03-01",
        "MAINSTREAM",
        "2020-03-01",
        end="2025-01-15",
        reason="2",
        p_end="2025-01-15",
    ),  # ceases the day before census 2025
    spell(
        "CH_C",
        "2001-02-01",
        "SLD",
        "2021-09-01",
        "POST16",
        "2021-09-01",
        end="2025-01-16",
        reason="1",
        p_end="2025-01-16",
    ),  # ceases on census day: counts
    spell("CH_D", "2012-01-10", "MLD", "2019-06-01", "MAINSTREAM", "2019-06-01", p_end="2025-01-16"),
    spell("CH_D", "2012-01-10", "MLD", "2019-06-01", "INMSS", "2025-01-16", cost="60000"),  # switches on census day
    spell("CH_E", "2008-03-03", "SLCN", "2023-02-01", "AP", "2023-02-01", p_end="2024-12-31"),  # no spell at 2025
    spell("CH_G", "2019-08-31", "HI", "2024-06-01", "EARLY_YEARS", "2024-06-01"),  # aged 5 on 31/8: AGE_5_10
    spell("CH_H", "2009-01-01", "PMLD", "2015-05-01", "MSS", "2015-05-01", cost="40000"),
    spell("CH_I", "2010-01-01", "PD", "2023-06-01", "MSS", "2023-06-01", cost="50000"),
]


def hnb(fy, provision, spend_type, spend, s251=""):
    return {
        "financial_year": fy,
        "provision_type": provision,
        "spend_type": spend_type,
        "spend_gbp": spend,
        "s251_line": s251,
    }


def build_scenario(raw: RawLayer) -> dict[str, str]:
    """Every version of the scenario; returns the SHA-256 of versions the tests refer to."""
    at = dt.datetime
    raw.load(
        "869",
        "placements",
        "2023-24",
        [spell("OLD_PERIOD", "2012-01-01", "ASD", "2020-01-01", "MSS", "2020-01-01")],
        received_at=at(2024, 5, 1),
    )
    raw.load(
        "869",
        "placements",
        "2024-25",
        [spell("SUPERSEDED", "2012-01-01", "ASD", "2020-01-01", "MSS", "2020-01-01")],
        received_at=at(2025, 4, 10),
    )
    shas = {
        "869_current": raw.load(
            "869",
            "placements",
            "2024-25",
            SCENARIO,
            received_at=at(2025, 5, 1),
            rejected=[{"line": 11, "column_name": "sex", "value": "Q", "message": "sex must be F, M or U"}],
        )
    }

    # LA 301: v1, v2, then v1 again (a revert), then an identical file and a rejected file.
    v1 = [spell(f"R{n}_301", "2012-01-01", "ASD", "2020-01-01", "MAINSTREAM", "2020-01-01") for n in (1, 2)]
    v2 = v1 + [spell("R3_301", "2012-01-01", "ASD", "2020-01-01", "MAINSTREAM", "2020-01-01")]
    shas["301_v1"] = raw.load("301", "placements", "2024-25", v1, received_at=at(2025, 4, 1))
    raw.load("301", "placements", "2024-25", v2, received_at=at(2025, 4, 2))
    raw.resubmit("301", "placements", "2024-25", shas["301_v1"], "reverted", received_at=at(2025, 4, 3))
    raw.resubmit("301", "placements", "2024-25", shas["301_v1"], "unchanged", received_at=at(2025, 4, 4))
    raw.resubmit(
        "301", "placements", "2024-25", "f" * 64, "rejected", received_at=at(2025, 4, 5), reason="no data rows"
    )
    # v3 is loaded but its blocking checks have not passed (its run failed before them): not visible
    shas["301_pending"] = raw.load(
        "301",
        "placements",
        "2024-25",
        v2 + [spell("PENDING_301", "2012-01-01", "ASD", "2020-01-01", "MAINSTREAM", "2020-01-01")],
        received_at=at(2025, 4, 6),
        pending=True,
    )

    # hnb_spend: years repeat across returns; the latest period holding a year wins.
    raw.load(
        "869",
        "hnb_spend",
        "2023-24",
        [hnb("2023-24", "MSS", "OUTTURN", 200000), hnb("2024-25", "MSS", "BUDGET", 210000)],
        received_at=at(2024, 5, 1),
    )
    raw.load(
        "869",
        "hnb_spend",
        "2024-25",
        [hnb("2023-24", "MSS", "OUTTURN", 999), hnb("2024-25", "MSS", "OUTTURN", 1)],
        received_at=at(2025, 4, 10),
    )  # superseded whole by the next version, which lacks 2023-24
    raw.load(
        "869",
        "hnb_spend",
        "2024-25",
        [
            hnb("2024-25", "MSS", "OUTTURN", 150000, "1.2.1"),
            hnb("2024-25", "MSS", "OUTTURN", 100000, "1.2.2"),
            hnb("2024-25", "INMSS", "OUTTURN", 30000),
            hnb("2024-25", "MSS", "BUDGET", 240000),
            hnb("2024-25", "CENTRAL", "OUTTURN", 50000),
            hnb("2025-26", "MSS", "BUDGET", 260000),
        ],
        received_at=at(2025, 5, 1),
    )

    def dsg(fy, scenario, income, spend, cumulative):
        return {
            "financial_year": fy,
            "scenario": scenario,
            "hnb_income_gbp": income,
            "hnb_expenditure_gbp": spend,
            "in_year_balance_gbp": income - spend,
            "cumulative_balance_gbp": cumulative,
        }

    raw.load(
        "869",
        "dsg_plan",
        "2024-25",
        [
            dsg("2024-25", "ACTUAL", 10_000_000, 11_000_000, -3_000_000),
            dsg("2025-26", "UNMITIGATED", 10_000_000, 12_000_000, -5_000_000),
            dsg("2025-26", "MITIGATED", 10_000_000, 11_500_000, -4_500_000),
        ],
        received_at=at(2025, 5, 1),
    )

    def mitigation(mid, line, status, saving, grant=""):
        return {
            "mitigation_id": mid,
            "line_of_enquiry": line,
            "title": f"Mitigation {mid}",
            "status": status,
            "financial_year": "2025-26",
            "saving_gbp": saving,
            "dbv_grant_gbp": grant,
        }

    raw.load(
        "869",
        "mitigations",
        "2024-25",
        [
            mitigation("M1", "2", "ASSESSED", 100000, 20000),
            mitigation("M2", "2", "ASSESSED", 50000),
            mitigation("M3", "7", "ASSURED", 30000),
        ],
        received_at=at(2025, 5, 1),
    )
    return shas


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """The scenario built once: (warehouse connection, SHA-256s, dbt run results)."""
    root = tmp_path_factory.mktemp("warehouse")
    project = copy_dbt_project(root / "dbt_project", COHORTS)
    paths = DataPaths(root / "data")
    shas = build_scenario(RawLayer(paths))
    result = run_dbt(project, paths, "build", *OWN_MODELS)
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    assert result.returncode == 0, result.stdout[-5000:]
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    yield con, shas, results
    con.close()


def rows(con, sql: str) -> list[tuple]:
    return con.sql(sql).fetchall()


def census(con, la: str, year: int) -> dict[tuple, int]:
    return {
        (provision, need, age): n
        for provision, need, age, n in rows(
            con,
            f"""
            select provision_type, primary_need, age_group, ehcp_count from marts.fct_ehcp_census
            where la_code = '{la}' and census_year = {year}""",
        )
    }


def test_every_model_and_test_passes(scenario):
    _, _, results = scenario
    exposures = [r["unique_id"] for r in results if r["unique_id"].startswith("exposure.")]
    failed = [(r["unique_id"], r["status"]) for r in results if r["status"] not in ("success", "pass")]
    assert failed == [(e, "no-op") for e in exposures]  # the playbook report and exports: nothing to run
    assert any(r["unique_id"].startswith("test.dbv.assert_flows_reconcile_to_census") for r in results)


def test_census_dates_are_third_thursdays(scenario):
    con, _, _ = scenario
    dates = dict(rows(con, "select census_year, census_date from intermediate.int_census_dates"))
    assert dates[2016] == dt.date(2016, 1, 21)
    assert (dates[2024], dates[2025]) == (CENSUS_2024, CENSUS_2025)
    assert all(d.weekday() == 3 and 15 <= d.day <= 21 for d in dates.values())
    assert max(dates) == 2025  # the 2024-25 return covers census 2025, not 2026


def test_census_counts_at_the_edges(scenario):
    con, _, _ = scenario
    assert census(con, "869", 2025) == {
        ("MSS", "ASD", "UNDER_5"): 1,  # CH_A: plan and placement start on census day
        ("POST16", "SLD", "AGE_20_25"): 1,  # CH_C: ceases on census day, still counts
        ("INMSS", "MLD", "AGE_11_15"): 1,  # CH_D: the spell starting on census day wins
        ("UNKNOWN", "SLCN", "AGE_16_19"): 1,  # CH_E: plan active, no placement spell on census day
        ("EARLY_YEARS", "HI", "AGE_5_10"): 1,  # CH_G: aged exactly 5 on 31 August 2024
        ("MSS", "PMLD", "AGE_11_15"): 1,
        ("MSS", "PD", "AGE_11_15"): 1,
    }  # CH_B ceased the day before census: not counted
    assert census(con, "869", 2024) == {
        ("MAINSTREAM", "SEMH", "AGE_11_15"): 1,
        ("POST16", "SLD", "AGE_20_25"): 1,
        ("MAINSTREAM", "MLD", "AGE_11_15"): 1,
        ("AP", "SLCN", "AGE_11_15"): 1,
        ("MSS", "PMLD", "AGE_11_15"): 1,
        ("MSS", "PD", "AGE_11_15"): 1,
    }
    first = rows(
        con, "select min(census_year), count(distinct census_year) from marts.fct_ehcp_census where la_code = '869'"
    )
    assert first == [(2016, 10)]  # CH_H's plan from 2015 counts from the first census, 2016


def test_flows_by_census_year(scenario):
    con, _, _ = scenario
    flows = rows(
        con,
        """
        select flow_type, cease_reason, from_provision_type, to_provision_type, flow_count
        from marts.fct_ehcp_flows where la_code = '869' and flow_year = 2025 order by all""",
    )
    assert flows == [
        ("CEASED", "2", "MAINSTREAM", None, 1),  # CH_B, last day 15 Jan 2025
        ("MOVE", None, "MAINSTREAM", "INMSS", 1),  # CH_D on census day
        ("NEW", None, None, "EARLY_YEARS", 1),  # CH_G
        ("NEW", None, None, "MSS", 1),  # CH_A on census day
    ]
    [(start, end)] = rows(
        con, "select distinct flow_period_start, flow_period_end from marts.fct_ehcp_flows where flow_year = 2025"
    )
    assert (start, end) == (CENSUS_2024 + dt.timedelta(days=1), CENSUS_2025)


def test_version_rules_for_placements(scenario):
    con, shas, _ = scenario
    staged = dict(
        rows(con, "select la_code, list(distinct source_sha256) from staging.stg_raw__placements group by la_code")
    )
    assert staged == {"869": [shas["869_current"]], "301": [shas["301_v1"]]}  # latest period; revert to v1
    children = {c for (c,) in rows(con, "select child_id from staging.stg_raw__placements")}
    assert not {"OLD_PERIOD", "SUPERSEDED", "R3_301", "PENDING_301"} & children  # a pending version is not seen
    current = rows(
        con,
        f"""select la_code, outcome, source_sha256 = '{shas["301_v1"]}' from staging.stg_raw__submissions
                           where is_current_version and table_name = 'placements' and return_period = '2024-25'
                           order by la_code""",
    )
    assert current == [("301", "reverted", True), ("869", "loaded", False)]
    assert sum(n for (_, _, _), n in census(con, "301", 2025).items()) == 2


def test_reconciliation_rows_and_outcomes(scenario):
    con, _, _ = scenario
    # staged placements = rows loaded of each LA's current version of its latest period
    assert rows(con, "select count(*) from staging.stg_raw__placements") == [(len(SCENARIO) + 2,)]
    assert rows(
        con,
        """select sum(version_rows_loaded) from staging.stg_raw__submissions
                        where is_current_version and table_name = 'placements' and return_period = '2024-25'""",
    ) == [(len(SCENARIO) + 2,)]
    assert rows(con, "select sum(ehcp_count) from marts.fct_ehcp_census where census_year = 2025") == [(7 + 2,)]
    outcome = rows(
        con,
        """select rows_in, rows_loaded, rows_rejected, row_rejected_findings, rejected_lines, is_current_version
                           from marts.fct_submission_outcomes where la_code = '869' and table_name = 'placements'
                           and received_at = '2025-05-01'""",
    )
    assert outcome == [(len(SCENARIO) + 1, len(SCENARIO), 1, 1, 1, True)]
    assert rows(con, "select la_code, line, column_name, is_current_version from marts.fct_rejected_rows") == [
        ("869", 11, "sex", True)
    ]


def test_hnb_spend_takes_the_latest_period_per_year(scenario):
    con, _, _ = scenario
    spend = rows(
        con,
        """select financial_year, provision_type, spend_type, spend_gbp, line_count, return_period
                         from marts.fct_hnb_spend where la_code = '869' order by all""",
    )
    assert spend == [
        ("2023-24", "MSS", "OUTTURN", Decimal(200000), 1, "2023-24"),  # the current 2024-25 version lacks 2023-24
        ("2024-25", "CENTRAL", "OUTTURN", Decimal(50000), 1, "2024-25"),
        ("2024-25", "INMSS", "OUTTURN", Decimal(30000), 1, "2024-25"),
        ("2024-25", "MSS", "BUDGET", Decimal(240000), 1, "2024-25"),  # not the 2023-24 return's 210000
        ("2024-25", "MSS", "OUTTURN", Decimal(250000), 2, "2024-25"),
        ("2025-26", "MSS", "BUDGET", Decimal(260000), 1, "2024-25"),
    ]


def test_unit_cost_denominator_is_mean_of_the_two_censuses(scenario):
    con, _, _ = scenario
    cost = {
        (fy, provision, spend_type): rest
        for fy, provision, spend_type, *rest in rows(
            con,
            """
            select financial_year, provision_type, spend_type, start_census_ehcp_count, end_census_ehcp_count,
                   average_ehcp_count, unit_cost_gbp, costed_placements, mean_placement_cost_gbp
            from marts.fct_unit_cost where la_code = '869'""",
        )
    }
    # MSS: census 2024 H, I; census 2025 A, H, I → 2.5 plans; costs H 40k and I 50k at both censuses
    assert cost["2024-25", "MSS", "OUTTURN"] == [2, 3, 2.5, 100000, 4, 45000]
    assert cost["2024-25", "INMSS", "OUTTURN"] == [0, 1, 0.5, 60000, 1, 60000]
    assert cost["2025-26", "MSS", "BUDGET"][2:4] == [None, None]  # census 2026 not covered
    assert ("2024-25", "CENTRAL", "OUTTURN") not in cost


def test_dsg_balance_and_mitigations(scenario):
    con, _, _ = scenario
    balance = rows(
        con,
        """select scenario, in_year_balance_gbp, cumulative_balance_pct_of_income
                           from marts.fct_dsg_balance where la_code = '869' and financial_year = '2024-25'""",
    )
    assert balance == [("ACTUAL", Decimal(-1_000_000), -30.0)]
    mitigations = rows(
        con,
        """select line_of_enquiry, line_of_enquiry_label, status, mitigation_count, saving_gbp, dbv_grant_gbp
                               from marts.fct_mitigations where la_code = '869' order by all""",
    )
    assert mitigations == [
        ("2", "Early support in education settings and inclusion", "ASSESSED", 2, Decimal(150000), Decimal(20000)),
        ("7", "Alternative provision and EOTAS", "ASSURED", 1, Decimal(30000), None),
    ]


def test_dim_la_joins_programme_cohorts(scenario):
    con, _, _ = scenario
    las = {
        code: rest
        for code, *rest in rows(
            con,
            """
        select la_code, ons_la_code, programme, tranche, diagnostic_start_date from marts.dim_la""",
        )
    }
    assert len(las) == 153
    assert las["869"] == ["E06000037", "DBV", 1, dt.date(2022, 9, 1)]
    assert las["301"] == ["E09000002", "SAFETY_VALVE", None, None]
    assert las["302"][1:] == ["NONE", None, None]  # not in the cohort file
    neighbours = rows(con, "select count(*), count(distinct la_code) from marts.dim_statistical_neighbours")
    assert neighbours == [(1530, 153)]


def test_reconciliation_test_catches_a_ledger_mismatch(tmp_path: Path):
    project = copy_dbt_project(tmp_path / "dbt_project", COHORTS)
    paths = DataPaths(tmp_path / "data")
    raw = RawLayer(paths)
    raw.load("869", "placements", "2024-25", SCENARIO[:2])
    raw.ledgers["869"][-1]["rows_loaded"] = 3  # the ledger claims a row the version file lacks
    raw.write_ledger("869")
    checks = ["assert_raw_versions_match_ledger", "assert_staged_placements_reconcile_to_ledger"]
    assert run_dbt(project, paths, "run", "--select", "+stg_raw__placements").returncode == 0
    run_dbt(project, paths, "test", "--select", *checks)
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    status = {r["unique_id"].split(".")[2]: r["status"] for r in results if r["unique_id"].split(".")[2] in checks}
    assert status == {c: "fail" for c in checks}


def test_not_null_columns_names_each_column_with_nulls(tmp_path: Path):
    """One test a model checks all its required columns: a null fails it, naming the column and counting the nulls."""
    project = copy_dbt_project(tmp_path / "dbt_project", COHORTS)
    paths = DataPaths(tmp_path / "data")
    raw = RawLayer(paths)
    rows = [dict(SCENARIO[0], sex=""), dict(SCENARIO[1], sex="", primary_need=""), SCENARIO[2]]  # blank → null
    raw.load("869", "placements", "2024-25", rows)
    assert run_dbt(project, paths, "run", "--select", "+stg_raw__placements").returncode == 0
    assert run_dbt(project, paths, "test", "--select", "stg_raw__placements,test_name:not_null_columns").returncode == 1
    [result] = [
        r
        for r in json.loads((project / "target" / "run_results.json").read_text())["results"]
        if r["unique_id"].startswith("test.")
    ]  # not the on-run-start hook (Spark's source views)
    assert (result["status"], result["failures"]) == ("fail", 3)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert sorted(con.sql(result["compiled_code"]).fetchall()) == [("primary_need", 1), ("sex", 2)]
