"""Caseload forecast, spend and DSG projections; the backtest on DfE's real public caseload."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dbv_pipeline.contract import CONTRACT
from dbv_pipeline.playbook import backtest as bt
from dbv_pipeline.playbook.forecast import (
    FORECAST_COLUMNS,
    TOTAL,
    band_offsets,
    conformal_radius,
    financial_year,
    forecast_caseload,
    forecast_totals,
    harmonise_boundaries,
    point_forecast,
    project_dsg_balance,
    project_spend,
    project_unit_costs,
    totals_errors,
    unit_cost_history,
)
from dbv_pipeline.playbook.projections import with_backtested_totals
from dbv_pipeline.public.dfe_ehcp import load_release
from dbv_pipeline.public.history import la_history

DFE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dfe_ehcp"
PROVISIONS = CONTRACT.codes("provision_type")


def simulated_caseload(n_las: int = 12, years=range(2016, 2025), noise: float = 0.03, seed: int = 0) -> pd.DataFrame:
    """Plans growing log-linearly at a provision-specific rate with LA-specific levels and noise."""
    rng = np.random.default_rng(seed)
    las = [f"{801 + i}" for i in range(n_las)]
    grid = pd.MultiIndex.from_product(
        [las, PROVISIONS, list(years)], names=["la_code", "provision_type", "census_year"]
    ).to_frame(index=False)
    base = dict(zip(pd.MultiIndex.from_product([las, PROVISIONS]), rng.uniform(5, 2000, n_las * len(PROVISIONS))))
    growth = dict(zip(PROVISIONS, np.linspace(0.0, 0.15, len(PROVISIONS))))
    level = np.array([base[k] for k in zip(grid.la_code, grid.provision_type)])
    trend = np.exp(grid.provision_type.map(growth) * (grid.census_year - 2016))
    grid["plans"] = np.round(level * trend * np.exp(rng.normal(0, noise, len(grid))))
    return grid


@pytest.fixture(scope="module")
def forecast() -> pd.DataFrame:
    return forecast_caseload(simulated_caseload(), to_year=2029)


def test_forecast_shape_and_columns(forecast):
    assert list(forecast.columns) == FORECAST_COLUMNS
    assert sorted(forecast.census_year.unique()) == [2025, 2026, 2027, 2028, 2029]
    assert len(forecast) == 12 * (len(PROVISIONS) + 1) * 5
    assert not forecast.duplicated(["la_code", "census_year", "provision_type"]).any()
    assert forecast.method.str.contains("phi=").all()


def test_intervals_are_ordered_and_widen(forecast):
    f = forecast
    assert f[["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]].notna().all().all()
    assert (
        (f.lower_95 <= f.lower_80)
        & (f.lower_80 <= f.forecast)
        & (f.forecast <= f.upper_80)
        & (f.upper_80 <= f.upper_95)
    ).all()
    for band in ("lower_95", "upper_95"):  # log-scale offsets widen (never narrow) with the horizon
        offset = (np.log1p(f[band]) - np.log1p(f.forecast)).abs()
        assert (offset.groupby([f.la_code, f.provision_type]).diff().dropna() >= -1e-9).all()


def test_total_is_the_sum_of_provisions(forecast):
    parts = forecast[forecast.provision_type.ne(TOTAL)].groupby(["la_code", "census_year"]).forecast.sum()
    total = forecast[forecast.provision_type.eq(TOTAL)].set_index(["la_code", "census_year"]).forecast
    pd.testing.assert_series_equal(total.sort_index(), parts.sort_index(), check_names=False)


def test_noiseless_growth_is_extrapolated():
    """Every LA grows at its provision's national rate: pooled and own rates agree, φ = 1 extrapolates it."""
    exact = simulated_caseload(noise=0.0).assign(plans=lambda d: d.plans.clip(lower=1))
    points = point_forecast(exact, 2027, damping=1.0)
    last = exact[exact.census_year.eq(2024)].set_index(["la_code", "provision_type"]).plans
    prev = exact[exact.census_year.eq(2021)].set_index(["la_code", "provision_type"]).plans
    rate = (np.log1p(last) - np.log1p(prev)) / 3
    big = last[last > 500].index
    p = points.set_index(["la_code", "provision_type"])
    for h in (1, 2, 3):
        got = p[p.horizon.eq(h)].forecast.reindex(big)
        expected = np.expm1(np.log1p(last[big]) + rate[big] * h)
        assert np.allclose(got, expected, rtol=0.02)


def test_harmonise_splits_a_predecessor_across_successors():
    rows = [
        ("928", 2020, "MSS", 100.0),
        ("928", 2021, "MSS", 120.0),
        ("928", 2021, "AP", 10.0),
        ("940", 2022, "MSS", 60.0),
        ("941", 2022, "MSS", 90.0),
        ("940", 2022, "AP", 3.0),
        ("941", 2022, "AP", 1.0),
        ("940", 2023, "MSS", 70.0),
        ("941", 2023, "MSS", 95.0),
    ]
    frame = pd.DataFrame(rows, columns=["la_code", "census_year", "provision_type", "plans"])
    out = harmonise_boundaries(frame).set_index(["la_code", "census_year", "provision_type"]).plans
    assert "928" not in out.index.get_level_values("la_code")
    assert out[("940", 2021, "MSS")] == pytest.approx(120 * 60 / 150)
    assert out[("941", 2020, "MSS")] == pytest.approx(100 * 90 / 150)
    assert out[("940", 2021, "AP")] == pytest.approx(10 * 3 / 4)
    assert out[("940", 2023, "MSS")] == 70  # own history kept
    cumbria = pd.DataFrame([("909", 2022, "MSS", 50.0)], columns=frame.columns)
    assert harmonise_boundaries(cumbria).equals(cumbria)  # successors not there yet: unchanged


def test_spend_is_caseload_times_unit_cost():
    fc = pd.DataFrame(
        {
            "la_code": "869",
            "census_year": [2026, 2026, 2026, 2027],
            "provision_type": ["MSS", "EHE", TOTAL, "MSS"],
            "forecast": [100.0, 5.0, 400.0, 110.0],
            "lower_80": [90.0, 4, 380, 95],
            "upper_80": [110.0, 6, 420, 125],
            "lower_95": [80.0, 3, 360, 90],
            "upper_95": [120.0, 7, 440, 130],
            "method": "m",
        }
    )
    costs = pd.DataFrame(
        {
            "la_code": "869",
            "provision_type": ["MSS", "MSS", "CENTRAL"],
            "financial_year": ["2025-26", "2026-27", "2025-26"],
            "unit_cost_gbp": [25_000.0, 26_000.0, 1_000.0],
        }
    )
    spend = project_spend(fc, costs).set_index(["financial_year", "provision_type"])
    assert spend.loc[("2025-26", "MSS"), "spend_gbp"] == 100 * 25_000
    assert spend.loc[("2026-27", "MSS"), "spend_gbp"] == 110 * 26_000
    assert spend.loc[("2025-26", "CENTRAL"), "spend_gbp"] == 400 * 1_000  # per plan of the LA total
    assert spend.loc[("2025-26", "MSS"), "spend_upper_95"] == 120 * 25_000
    assert ("2025-26", "EHE") not in spend.index  # no unit cost: no HNB spend


def test_unit_costs_grow_at_the_las_own_rate():
    hnb = pd.DataFrame(
        {
            "la_code": "869",
            "financial_year": ["2022-23", "2024-25", "2024-25", "2024-25"],
            "provision_type": ["MSS", "MSS", "INMSS", "MSS"],
            "spend_type": ["OUTTURN", "OUTTURN", "OUTTURN", "BUDGET"],
            "spend_gbp": [2_000_000.0, 2_420_000.0, 5_000_000.0, 9.0],
        }
    )
    cases = pd.DataFrame(
        {
            "la_code": "869",
            "census_year": [2023, 2025, 2025],
            "provision_type": ["MSS", "MSS", "INMSS"],
            "plans": [100.0, 100.0, 50.0],
        }
    )
    history = unit_cost_history(hnb, cases)
    assert history.set_index(["financial_year", "provision_type"]).unit_cost_gbp.to_dict() == {
        ("2022-23", "MSS"): 20_000,
        ("2024-25", "MSS"): 24_200,
        ("2024-25", "INMSS"): 100_000,
    }
    costs = project_unit_costs(history, ["2025-26", "2026-27"]).set_index(["provision_type", "financial_year"])
    assert costs.loc[("MSS", "2025-26"), "cost_growth"] == pytest.approx(0.10)  # 20,000 → 24,200 in two years
    assert costs.loc[("MSS", "2026-27"), "unit_cost_gbp"] == pytest.approx(24_200 * 1.1**2)
    assert costs.loc[("INMSS", "2025-26"), "growth_source"] == "default"
    assert costs.loc[("INMSS", "2025-26"), "unit_cost_gbp"] == pytest.approx(100_000 * 1.03)
    fast = history.assign(unit_cost_gbp=[20_000.0, 40_000.0, 100_000.0])
    assert project_unit_costs(fast, ["2025-26"]).cost_growth.max() == 0.10  # clipped


def test_dsg_balance_mitigated_and_unmitigated():
    spend = pd.DataFrame(
        {
            "la_code": ["869"] * 4,
            "financial_year": ["2025-26", "2025-26", "2026-27", "2026-27"],
            "provision_type": ["MSS", "CENTRAL"] * 2,
            "spend_gbp": [50e6, 10e6, 55e6, 11e6],
        }
    )
    plan = pd.DataFrame(
        {
            "la_code": "869",
            "financial_year": ["2024-25", "2025-26"],
            "scenario": ["ACTUAL", "UNMITIGATED"],
            "hnb_income_gbp": [50e6, 52e6],
            "hnb_expenditure_gbp": [58e6, 0.0],
            "in_year_balance_gbp": [-8e6, 0.0],
            "cumulative_balance_gbp": [-20e6, 0.0],
        }
    )
    mitigations = pd.DataFrame(
        {
            "la_code": "869",
            "mitigation_id": ["M1", "M2", "M1"],
            "financial_year": ["2025-26", "2025-26", "2026-27"],
            "saving_gbp": [1e6, 0.5e6, 2e6],
        }
    )
    out = project_dsg_balance(spend, plan, mitigations).set_index(["scenario", "financial_year"])
    un, mi = out.loc["UNMITIGATED"], out.loc["MITIGATED"]
    assert un.loc["2025-26", "hnb_expenditure_gbp"] == 60e6
    assert mi.loc["2025-26", "hnb_expenditure_gbp"] == 60e6 - 1.5e6
    assert (mi.hnb_expenditure_gbp <= un.hnb_expenditure_gbp).all()
    assert un.loc["2025-26", "hnb_income_gbp"] == 52e6  # the LA's own plan
    assert un.loc["2026-27", "hnb_income_gbp"] == pytest.approx(50e6 * 1.03**2)  # last actual, grown
    assert un.loc["2025-26", "cumulative_balance_gbp"] == -20e6 + 52e6 - 60e6
    assert un.loc["2026-27", "cumulative_balance_gbp"] == pytest.approx(-28e6 + 50e6 * 1.03**2 - 66e6)
    assert (mi.cumulative_balance_gbp >= un.cumulative_balance_gbp).all()


def test_financial_year_of_a_census():
    assert financial_year(2029) == "2028-29"
    assert financial_year(pd.Series([2026, 2030])).tolist() == ["2025-26", "2029-30"]


@pytest.fixture(scope="module")
def backtest_result():
    if not (DFE / "education-health-and-care-plans_2022.zip").exists():
        pytest.skip("../shared/data/dfe_ehcp is not present")
    history, source = bt.read_history(str(DFE))
    return history, source, bt.run_backtest(history)


def test_backtest_covers_every_origin_with_four_censuses(backtest_result):
    history, _, scored = backtest_result
    assert history.census_year.min() == 2010 and history.census_year.max() == 2025
    assert sorted(scored.origin.unique()) == list(range(2013, 2025))
    assert set(scored.horizon) == {1, 2, 3} and scored.census_year.max() == 2025
    assert scored.groupby(["origin", "horizon", "method"]).la_code.nunique().min() == 150
    assert len(scored.method.unique()) >= 7  # the model and six baselines at least


def test_backtest_bands_use_only_past_errors(backtest_result):
    _, _, scored = backtest_result
    model = scored[scored.method.eq(bt.MODEL)]
    assert model[model.origin.eq(2013)].lower_80.isna().all()  # nothing to calibrate from yet
    banded = model.dropna(subset=["lower_80"])
    assert (
        (banded.lower_95 <= banded.lower_80)
        & (banded.lower_80 <= banded.forecast)
        & (banded.forecast <= banded.upper_80)
        & (banded.upper_80 <= banded.upper_95)
    ).all()
    # changing an actual at the last census changes no band of an origin before it
    later = scored.assign(actual=scored.actual.where(scored.census_year.lt(2025), scored.actual * 2))
    again = bt.add_bands(later.drop(columns=list(bt.BAND_COLUMNS)))
    before = model[model.origin.lt(2024)].set_index(["origin", "horizon", "la_code"]).upper_80
    after = (
        again[again.method.eq(bt.MODEL) & again.origin.lt(2024)].set_index(["origin", "horizon", "la_code"]).upper_80
    )
    pd.testing.assert_series_equal(before.sort_index(), after.sort_index())


def test_conformal_radius_is_the_finite_sample_rank():
    deviations = np.array([-5.0, 1, -2, 3, 4, -6, 7, 8, -9])  # k = 9
    assert conformal_radius(deviations, 0.2) == 8  # rank ceil(10 × 0.8) = 8 of |d| sorted
    assert conformal_radius(deviations, 0.05) == 9  # rank 10 > k: the largest seen
    assert conformal_radius(np.array([0.5]), 0.2) == 0.5


def test_backtest_national_error_counts_once_per_origin():
    """150 LAs sharing one national surprise are one calibration point, not 150. Three past cells with
    national errors 0, 0 and +0.3 a year and no LA spread: pooled over LAs, 2/3 of the errors are 0 and the
    80% band would not reach below the forecast; as three points, their conformal radius (the largest,
    0.2 around the mean 0.1) does."""
    national = {2017: 0.0, 2018: 0.0, 2019: 0.3, 2020: 0.0}
    scored = pd.DataFrame(
        [
            {"origin": o, "horizon": 1, "census_year": o + 1, "method": bt.MODEL, "la_code": f"{i:03d}"}
            for o in national
            for i in range(150)
        ]
    ).assign(forecast=100.0, actual=lambda d: 100 * np.exp(d.origin.map(national)))
    banded = bt.add_bands(scored).query("origin == 2020")
    assert np.allclose(banded.lower_80, 100 * np.exp(-0.1)) and np.allclose(banded.upper_80, 100 * np.exp(0.3))


def test_backtest_summary_and_report(backtest_result, tmp_path):
    _, source, scored = backtest_result
    summary = bt.write_report(scored, tmp_path, source)
    written = json.loads((tmp_path / "summary.json").read_text())
    for key in ("model_mape", "best_baseline", "best_baseline_mape", "coverage_80", "coverage_95", "by_origin_horizon"):
        assert key in written
    assert written["best_baseline_mape"] == min(written["baselines_mape"].values())
    assert len(written["by_origin_horizon"]) == 12 * 3 - 3  # origin 2023: h 1-2, 2024: h 1
    assert "education-health-and-care-plans_2022.zip" in written["source"]
    # the figures the docs report (docs/forecast_method.md §3): a change to the model shows here
    assert summary["model_mape"] < summary["best_baseline_mape"]
    # coverage over all origins inside issue 12's targets; the held-back origins a little wide at 95%
    assert 75 <= summary["coverage_80"] <= 85 and 92 <= summary["coverage_95"] <= 97
    assert 75 <= summary["held_back"]["coverage_80"] <= 85 and 92 <= summary["held_back"]["coverage_95"] <= 98
    assert "| origin | horizon |" in (tmp_path / "backtest.md").read_text()


def test_forecast_totals_recovers_a_common_growth_rate():
    years = range(2015, 2022)
    history = pd.DataFrame(
        [(la, y, base * 1.08 ** (y - 2015)) for la, base in (("801", 100.0), ("802", 5000.0)) for y in years],
        columns=["la_code", "census_year", "plans"],
    )
    out = forecast_totals(history, (1, 3)).set_index(["la_code", "horizon"]).forecast
    assert out[("801", 1)] == pytest.approx(100 * 1.08**7)
    assert out[("802", 3)] == pytest.approx(5000 * 1.08**9)


def test_playbook_totals_come_from_the_backtested_model():
    """With DfE's history, each LA total is the backtested model's forecast (England's growth from the
    public history), its bands are calibrated on that model's errors there, and the provisions are
    scaled to add up to it; without the history the provision model stands."""
    returns = harmonise_boundaries(simulated_caseload(years=range(2019, 2026)))
    public = simulated_caseload(n_las=40, years=range(2010, 2026), noise=0.05, seed=1)
    public = public.groupby(["la_code", "census_year"], as_index=False).plans.sum()
    base = forecast_caseload(returns, to_year=2029)
    out = with_backtested_totals(base, returns, public)

    la_totals = returns.groupby(["la_code", "census_year"], as_index=False).plans.sum()
    expected = forecast_totals(la_totals, (1, 2, 3, 4), national=public.groupby("census_year").plans.sum())
    totals = out[out.provision_type.eq(TOTAL)].merge(expected, on=["la_code", "census_year"], suffixes=("", "_model"))
    assert len(totals) == len(expected) == 12 * 4
    assert np.allclose(totals.forecast, totals.forecast_model)
    offsets = band_offsets(totals_errors(public), 2025)
    for band, offset in offsets.items():
        assert np.allclose(totals[band], totals.forecast * np.exp(offset * totals.horizon))
    provisions = out[out.provision_type.ne(TOTAL)].groupby(["la_code", "census_year"]).forecast.sum()
    assert np.allclose(provisions.loc[totals.set_index(["la_code", "census_year"]).index], totals.forecast)
    assert ((out.lower_95 <= out.lower_80) & (out.lower_80 <= out.forecast) & (out.forecast <= out.upper_80)).all()
    # public history that ends before the returns' last census: nothing to calibrate at that origin
    pd.testing.assert_frame_equal(with_backtested_totals(base, returns, public[public.census_year.lt(2023)]), base)


def test_playbook_totals_bands_cover_dfe_outcomes():
    """The playbook path run on DfE's real provision caseload from 2019 (as if it were the LA returns), at
    origins 2022 and 2023: its LA totals' bands hold 75–85% and 92–97% of the published outcomes over
    the five origin × year cells; the provision model alone held about 68% and 91% (docs §4)."""
    if not (DFE / "education-health-and-care-plans_2025.zip").exists():
        pytest.skip("../shared/data/dfe_ehcp is not present")
    with tempfile.TemporaryDirectory() as tmp:
        load_release(str(DFE), Path(tmp))
        caseload = pd.read_parquet(Path(tmp) / "caseload.parquet")
    public = la_history(caseload).rename(columns={"all_plans": "plans"})[["la_code", "census_year", "plans"]]
    la = caseload[caseload.geographic_level.eq("Local authority") & caseload.census_year.ge(2019)]
    returns = harmonise_boundaries(
        la.rename(columns={"old_la_code": "la_code"})
        .groupby(["la_code", "census_year", "provision_type"], as_index=False)
        .plans.sum()
    )
    actual = returns.groupby(["la_code", "census_year"]).plans.sum().rename("actual")
    cells = []
    for origin in (2022, 2023):
        history = returns[returns.census_year.le(origin)]
        out = with_backtested_totals(forecast_caseload(history, to_year=2025), history, public)
        totals = out[out.provision_type.eq(TOTAL)].join(actual, on=["la_code", "census_year"], how="inner")
        totals = totals[totals.actual.gt(0)]
        for _, cell in totals.groupby("census_year"):
            cells.append(
                {
                    level: cell.actual.between(cell[f"lower_{level}"], cell[f"upper_{level}"]).mean()
                    for level in (80, 95)
                }
            )
    coverage = pd.DataFrame(cells).mean() * 100
    assert len(cells) == 5
    assert 75 <= coverage[80] <= 85 and 92 <= coverage[95] <= 97, coverage
