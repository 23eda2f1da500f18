"""The playbook's dbt models on a small synthetic warehouse (one dbt build for the session):
metrics against the marts, group statistics against pandas, benchmark ranks and their labels."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

BARNET_NEIGHBOURS = ["320", "870", "310", "317", "315", "306", "209", "312", "309", "307"]  # the seed's, in order


@pytest.fixture(scope="session")
def sample(playbook_sample):
    return playbook_sample


@pytest.fixture(scope="module")
def con(sample):
    with duckdb.connect(str(sample.paths.warehouse), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def metrics(con) -> pd.DataFrame:
    return con.sql("select * from playbook.pb_la_year_metrics").df()


def metric(metrics: pd.DataFrame, name: str) -> pd.Series:
    rows = metrics[metrics.metric == name]
    return rows.set_index(["la_code", "year"]).value.sort_index()


def test_every_sample_la_has_metrics_for_every_census(con, metrics):
    census = con.sql("select distinct la_code, census_year from marts.fct_ehcp_census").df()
    counts = metric(metrics, "ehcp_count")
    assert len(counts) == len(census) and counts.index.get_level_values(0).nunique() == 9
    assert set(metrics.metric) <= set(con.sql("select metric from playbook.pb_metric_catalogue").df().metric)


def test_growth_and_cagr_are_computed_from_the_census(con, metrics):
    census = (
        con.sql("select la_code, census_year as year, sum(ehcp_count) as n from marts.fct_ehcp_census group by all")
        .df()
        .set_index(["la_code", "year"])
        .n.sort_index()
    )
    assert np.allclose(metric(metrics, "ehcp_count"), census)
    previous = census.groupby(level=0).shift(1)
    expected_growth = (100 * (census / previous - 1)).dropna()
    growth = metric(metrics, "ehcp_growth_pct")
    assert growth.index.equals(expected_growth.index)
    assert np.allclose(growth, expected_growth)
    base = census.groupby(level=0).shift(3)
    expected_cagr = (100 * ((census / base) ** (1 / 3) - 1)).dropna()
    cagr = metric(metrics, "ehcp_cagr_3y_pct")
    assert cagr.index.equals(expected_cagr.index) and np.allclose(cagr, expected_cagr)
    # one by hand: Barnet, January 2025
    n = census.loc["302"]
    assert cagr.loc[("302", 2025)] == pytest.approx(100 * ((n[2025] / n[2022]) ** (1 / 3) - 1))
    assert growth.loc[("302", 2025)] == pytest.approx(100 * (n[2025] - n[2024]) / n[2024])


def test_new_and_ceased_plans_come_from_the_flows(con, metrics):
    flows = con.sql(
        "select la_code, flow_year as year, flow_type, sum(flow_count) as n from marts.fct_ehcp_flows "
        "where flow_type in ('NEW', 'CEASED') group by all"
    ).df()
    flows = flows.pivot_table(index=["la_code", "year"], columns="flow_type", values="n", fill_value=0)
    new = metric(metrics, "new_plans")
    assert np.allclose(new, flows.NEW.reindex(new.index, fill_value=0))
    ceased = metric(metrics, "ceased_plans")
    assert np.allclose(ceased, flows.CEASED.reindex(ceased.index, fill_value=0))
    counts = metric(metrics, "ehcp_count")
    rate = metric(metrics, "new_plans_pct_of_caseload")
    previous = counts.groupby(level=0).shift(1).reindex(rate.index)
    assert np.allclose(rate, 100 * new.reindex(rate.index) / previous)


def test_placement_mix_adds_up_to_100_and_mainstream_includes_resourced_provision(con, metrics):
    mix = metrics[metrics.metric.str.startswith("pct_")].pivot_table(
        index=["la_code", "year"], columns="metric", values="value"
    )
    assert list(mix.columns) == sorted(["pct_mainstream", "pct_mss", "pct_inmss", "pct_ap", "pct_post16", "pct_other"])
    assert np.allclose(mix.sum(axis=1), 100)
    census = con.sql(
        "select la_code, census_year as year, provision_type, sum(ehcp_count) as n "
        "from marts.fct_ehcp_census group by all"
    ).df()
    shares = census.pivot_table(index=["la_code", "year"], columns="provision_type", values="n", fill_value=0)
    total = shares.sum(axis=1)
    assert np.allclose(mix.pct_mainstream, 100 * (shares.MAINSTREAM + shares.get("RP_UNIT", 0)) / total)
    assert np.allclose(mix.pct_inmss, 100 * shares.INMSS / total)


def test_money_metrics_align_the_financial_year_with_its_january_census(con, metrics):
    unit = con.sql(
        "select la_code, left(financial_year, 4)::int + 1 as year, unit_cost_gbp from marts.fct_unit_cost "
        "where provision_type = 'MSS' and spend_type = 'OUTTURN' and unit_cost_gbp is not null"
    ).df()
    mss = metric(metrics, "unit_cost_mss")
    assert np.allclose(mss, unit.set_index(["la_code", "year"]).unit_cost_gbp.sort_index())
    dsg = con.sql(
        "select cumulative_balance_pct_of_income as v from marts.fct_dsg_balance "
        "where la_code = '302' and financial_year = '2024-25' and scenario = 'ACTUAL'"
    ).fetchone()[0]
    assert metric(metrics, "dsg_cumulative_balance_pct").loc[("302", 2025)] == pytest.approx(dsg)
    spend = con.sql(
        "select sum(spend_gbp) from marts.fct_hnb_spend where la_code = '302' "
        "and financial_year = '2024-25' and spend_type = 'OUTTURN'"
    ).fetchone()[0]
    assert metric(metrics, "hnb_spend_gbp").loc[("302", 2025)] == pytest.approx(spend)
    labels = metrics[metrics.la_code.eq("302") & metrics.year.eq(2025)].set_index("metric").period_label
    assert (labels.ehcp_count, labels.new_plans, labels.unit_cost_mss) == (
        "January 2025",
        "year to January 2025",
        "2024-25",
    )


def test_wide_model_is_the_long_model_pivoted(con, metrics):
    wide = con.sql("select * from playbook.pb_la_year_metrics_wide").df().set_index(["la_code", "year"])
    pivot = metrics.pivot_table(index=["la_code", "year"], columns="metric", values="value")
    assert len(wide) == len(pivot)
    for column in pivot.columns:
        assert np.allclose(wide[column].reindex(pivot.index), pivot[column], equal_nan=True), column


def test_group_medians_and_quartiles_equal_pandas(con, metrics):
    groups = con.sql("select la_code, group_code from playbook.pb_la_groups").df()
    stats = con.sql("select * from playbook.pb_group_stats").df().set_index(["group_code", "metric", "year"])
    expected = metrics.merge(groups, on="la_code").groupby(["group_code", "metric", "year"]).value
    assert len(stats) == expected.ngroups
    assert np.allclose(stats["median"], expected.median().reindex(stats.index))
    assert np.allclose(stats.p25, expected.quantile(0.25).reindex(stats.index))
    assert np.allclose(stats.p75, expected.quantile(0.75).reindex(stats.index))
    assert (stats.n_las == expected.size().reindex(stats.index)).all()
    assert stats.loc[("ENGLAND", "ehcp_count", 2025)].n_las == 9
    # the sample's programmes: Barnet, 317 tranche 1; 212 tranche 2; 310, 320 tranche 3; 315 Safety Valve
    assert stats.loc[("DBV", "ehcp_count", 2025)].n_las == 5
    assert stats.loc[("DBV_T1", "ehcp_count", 2025)].n_las == 2
    assert stats.loc[("SAFETY_VALVE", "ehcp_count", 2025)].n_las == 1


def test_benchmark_ranks_within_neighbours_for_barnet(con, metrics):
    bench = con.sql("select * from playbook.pb_benchmarks where la_code = '302' and year = 2025").df()
    this_year = metrics[metrics.year == 2025]
    in_sample = [n for n in BARNET_NEIGHBOURS if n in set(metrics.la_code)]
    assert in_sample == ["320", "870", "310", "317", "315", "306"]
    for name, rows in bench[bench.comparison == "NEIGHBOURS"].groupby("metric"):
        values = this_year[this_year.metric == name].set_index("la_code").value
        mine, theirs = values["302"], values.reindex(in_sample).dropna()
        row = rows.iloc[0]
        assert row.n_las == len(theirs) + 1, name
        assert row["rank"] == 1 + (theirs > mine).sum(), name
        assert row.percentile == pytest.approx(100 * (theirs < mine).sum() / len(theirs)), name
        assert row.comparison_median == pytest.approx(theirs.median()), name
    # hand-checked: the MSS unit cost of Barnet and its neighbours in 2024-25
    mss = this_year[this_year.metric == "unit_cost_mss"].set_index("la_code").value
    order = mss.reindex(["302", *in_sample]).dropna().sort_values(ascending=False)
    row = bench[(bench.metric == "unit_cost_mss") & (bench.comparison == "NEIGHBOURS")].iloc[0]
    assert row["rank"] == list(order.index).index("302") + 1


def test_benchmark_groups_and_england(con):
    bench = con.sql("select * from playbook.pb_benchmarks where year = 2025 and metric = 'ehcp_count'").df()
    by = bench.set_index(["la_code", "comparison"])
    assert by.loc[("302", "PROGRAMME")].group_code == "DBV" and by.loc[("302", "PROGRAMME")].n_las == 5
    assert by.loc[("302", "TRANCHE")].group_code == "DBV_T1" and by.loc[("302", "TRANCHE")].n_las == 2
    assert ("870", "TRANCHE") not in by.index and by.loc[("870", "PROGRAMME")].group_code == "NONE"
    england = bench[bench.comparison == "ENGLAND"].sort_values("value", ascending=False)
    assert list(england["rank"]) == list(range(1, 10)) and england.n_las.eq(9).all()
    assert england.percentile.iloc[0] == 100 and england.percentile.iloc[-1] == 0


def expected_phrase(row, *, tied: bool, level: bool) -> str:
    """The label rules of pb_benchmarks.yml, restated."""
    name = {
        "NEIGHBOURS": "its neighbours",
        "ENGLAND": "England",
        "DBV_T1": "DBV tranche 1",
        "DBV_T2": "DBV tranche 2",
        "DBV_T3": "DBV tranche 3",
        "DBV": "the DBV cohort",
        "SAFETY_VALVE": "the Safety Valve LAs",
        "NONE": "LAs in neither programme",
    }[row.group_code]
    preposition = "in" if row.group_code == "ENGLAND" else "of"
    joint = "joint " if tied else ""
    p = row.percentile / 100
    if row.n_las == 1:
        return "no neighbour with data" if row.comparison == "NEIGHBOURS" else f"only LA with data among {name}"
    if level:
        return f"level with the rest of {name}"
    if row.rank == 1:
        return f"{joint}highest {preposition} {name}"
    if p == 0:
        return f"{joint}lowest {preposition} {name}"
    if row.comparison == "NEIGHBOURS":
        suffix = "th" if row.rank % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(row.rank % 10, "th")
        return f"{joint}{row.rank}{suffix} highest of {row.n_las} with its neighbours"
    band = (
        "top 20%"
        if p >= 0.8
        else "top 40%"
        if p >= 0.6
        else "middle"
        if p > 0.4
        else "bottom 40%"
        if p > 0.2
        else "bottom 20%"
    )
    return f"{band} {preposition} {name}"


def test_benchmark_phrases_follow_the_rules(con, metrics):
    bench = con.sql("select * from playbook.pb_benchmarks where year = 2025").df()
    members = (
        con.sql("select la_code, group_code from playbook.pb_la_groups").df().groupby("group_code").la_code.agg(set)
    )
    neighbours = (
        con.sql("select la_code, neighbour_la_code from marts.dim_statistical_neighbours")
        .df()
        .groupby("la_code")
        .neighbour_la_code.agg(set)
    )
    values = metrics[metrics.year == 2025].set_index(["metric", "la_code"]).value
    mismatches = []
    for row in bench.itertuples():
        if row.comparison == "NEIGHBOURS":
            group = {row.la_code} | neighbours.get(row.la_code, set())
        else:
            group = members[row.group_code]
        v = values[row.metric].reindex(sorted(group)).dropna()
        assert row.n_las == len(v) and row.rank == 1 + (v > row.value).sum()
        expected = expected_phrase(row, tied=(v == row.value).sum() > 1, level=v.min() == v.max())
        if row.phrase != expected:
            mismatches.append((row.la_code, row.metric, row.comparison, row.phrase, expected))
    assert not mismatches, mismatches[:5]
    assert {"highest of its neighbours", "top 20% in England", "bottom 40% of the DBV cohort"} & set(bench.phrase)


def test_benchmark_sentences_read_right(con):
    labels = (
        con.sql("select * from playbook.pb_benchmark_labels where year = 2025").df().set_index(["la_code", "metric"])
    )
    barnet = labels.loc[("302", "unit_cost_mss")].label
    assert barnet.startswith("MSS unit cost: ")
    parts = barnet.removeprefix("MSS unit cost: ").split(", ")
    assert [
        parts[0].endswith("of the DBV cohort"),
        parts[1].endswith("of DBV tranche 1"),
        parts[2].endswith("in England"),
        "neighbours" in parts[3],
    ] == [True] * 4
    sv = labels.loc[("315", "ehcp_count")].label
    assert "of the Safety Valve LAs" in sv or "among the Safety Valve LAs" in sv
    assert "tranche" not in labels.loc[("870", "ehcp_count")].label
    assert "only LA with data among the Safety Valve LAs" in sv  # Safety Valve: 315 alone in the sample


def test_outcome_indicators_are_dfe_figures_by_calendar_year(con, sample):
    if not sample.has_public_data:
        pytest.skip("no DfE release in ../shared")
    row = con.sql(
        "select value, census_year from playbook.pb_outcome_indicators where la_code = '302' "
        "and indicator = 'timeliness_20wk_pct' and year = 2023"
    ).fetchone()
    dfe = con.sql(
        "select pct_issued_within_20_weeks from marts.fct_public_ehcp_indicators "
        "where area_code = '302' and census_year = 2024 and geographic_level = 'Local authority'"
    ).fetchone()
    assert row == (pytest.approx(dfe[0]), 2024)
    indicators = set(con.sql("select distinct indicator from playbook.pb_outcome_indicators").df().indicator)
    assert indicators == {
        "timeliness_20wk_pct",
        "timeliness_20wk_excl_exceptions_pct",
        "public_pct_mainstream",
        "public_pct_inmss",
        "public_ehcp_growth_pct",
        "requests_refused_pct",
        "tribunal_appeal_rate_pct",
    }
