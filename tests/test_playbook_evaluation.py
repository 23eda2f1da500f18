"""The stacked DiD / event study recovers known effects in simulated LA panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dbv_pipeline.playbook.evaluation import (
    EVENT_COLUMNS,
    LABEL,
    SUMMARY_COLUMNS,
    _fit,
    eligible_las,
    event_study,
    holm,
    permuted_cohorts,
    stack,
)

YEARS = np.arange(2015, 2025)
N_DBV, N_NONE, N_SV = 55, 70, 15


def cohorts() -> pd.DataFrame:
    """55 DBV LAs in three tranches (2022, 2022, 2023), 70 comparison LAs, 15 Safety Valve LAs."""
    n = N_DBV + N_NONE + N_SV
    return pd.DataFrame(
        {
            "la_code": [str(300 + i) for i in range(n)],
            "programme": ["DBV"] * N_DBV + ["NONE"] * N_NONE + ["SAFETY_VALVE"] * N_SV,
            "tranche": [1] * 20 + [2] * 20 + [3] * 15 + [None] * (N_NONE + N_SV),
            "diagnostic_start_date": ["2022-06-01"] * 20
            + ["2022-10-03"] * 20
            + ["2023-02-01"] * 15
            + [None] * (N_NONE + N_SV),
        }
    )


def simulate(effect, reps: int = 1, seed: int = 0, sv_shock: float = 10.0) -> pd.DataFrame:
    """LA and year effects, AR(1) noise within LA, ``effect(event_time)`` for DBV LAs from their start;
    Safety Valve LAs get a large shock from 2021 (they must not matter). One indicator per replication."""
    rng = np.random.default_rng(seed)
    c = cohorts()
    start = np.array([2022] * 40 + [2023] * 15 + [9999] * (N_NONE + N_SV))
    sv = c.programme.eq("SAFETY_VALVE").to_numpy()
    frames = []
    for r in range(reps):
        noise = np.zeros((len(c), len(YEARS)))
        shocks = rng.normal(0, 2, noise.shape)
        for t in range(len(YEARS)):
            noise[:, t] = (0.5 * noise[:, t - 1] if t else 0) + shocks[:, t]
        event = YEARS[None, :] - start[:, None]
        value = (
            rng.normal(60, 10, len(c))[:, None]
            + rng.normal(0, 2, len(YEARS)).cumsum()[None, :]
            + np.where(event >= 0, effect(event), 0.0)
            + sv_shock * (sv[:, None] & (YEARS >= 2021)[None, :])
            + noise
        )
        frames.append(
            pd.DataFrame(
                {
                    "la_code": np.repeat(c.la_code, len(YEARS)),
                    "year": np.tile(YEARS, len(c)),
                    "indicator": f"sim{r:03d}",
                    "value": value.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def constant(size):
    return lambda event: np.full(event.shape, float(size))


def test_known_effect_is_recovered():
    summary, events = event_study(simulate(constant(3.0)), cohorts())
    assert list(summary.columns) == SUMMARY_COLUMNS and list(events.columns) == EVENT_COLUMNS
    row = summary.iloc[0]
    assert row.ci_low < 3.0 < row.ci_high and row.ci_low > 0
    assert (row.n_las_treated, row.n_las_control, row.label) == (N_DBV, N_NONE, LABEL)  # Safety Valve left out
    e = events.set_index("event_time")
    assert e.loc[-1, ["estimate", "ci_low", "ci_high"]].tolist() == [0.0, 0.0, 0.0]
    assert sorted(e.index) == [-4, -3, -2, -1, 0, 1, 2]  # no LA reaches event time 3 by 2024
    truth = pd.Series([0.0, 0.0, 0.0, 3.0, 3.0, 3.0], index=[-4, -3, -2, 0, 1, 2])
    assert ((e.estimate[truth.index] - truth).abs() < 4 * e.std_error[truth.index]).all()
    assert e.estimate[[0, 1, 2]].mean() == pytest.approx(3.0, abs=0.6)


def test_dynamic_effect_by_event_time():
    summary, events = event_study(simulate(lambda event: 1.0 + 2.0 * event, seed=1), cohorts())
    e = events.set_index("event_time").estimate
    assert e.loc[[0, 1, 2]].to_numpy() == pytest.approx([1.0, 3.0, 5.0], abs=1.2)


def test_confidence_intervals_cover_at_about_the_nominal_rate():
    """30 replications, with and without an effect: 95% intervals cover the truth ~95% of the time."""
    for size, seed in ((3.0, 2), (0.0, 7)):
        summary, _ = event_study(simulate(constant(size), reps=30, seed=seed), cohorts())
        covered = ((summary.ci_low <= size) & (summary.ci_high >= size)).mean()
        assert 0.83 <= covered <= 1.0
        assert abs(summary.estimate.mean() - size) < 0.25
        assert summary.std_error.mean() == pytest.approx(summary.estimate.std(), rel=0.35)


def test_no_effect_ci_covers_zero():
    summary, _ = event_study(simulate(constant(0.0), seed=3), cohorts())
    assert summary.ci_low.iloc[0] < 0 < summary.ci_high.iloc[0]


def test_placebo_start_before_the_programme():
    """Pretend the tranches started in 2018 and look only at years before the real start: no effect."""
    panel = simulate(constant(3.0), seed=4)
    placebo = cohorts().assign(
        diagnostic_start_date=lambda d: d.diagnostic_start_date.str.replace(r"^202[23]", "2018", regex=True)
    )
    summary, _ = event_study(panel[panel.year < 2022], placebo, leads=3, lags=3)
    assert summary.ci_low.iloc[0] < 0 < summary.ci_high.iloc[0]


def test_not_yet_treated_comparisons_and_windows():
    c = cohorts()
    panel = simulate(constant(0.0))[["la_code", "year", "value"]]
    s = stack(panel, c, leads=2, lags=0)  # tranche 3 (2023) is not yet treated within tranche 1's window
    first = s[s.cohort.eq(1)]
    assert first.year.between(2020, 2022).all()
    assert set(first[~first.treated].la_code) == set(c.la_code[N_DBV - 15 : N_DBV + N_NONE])
    assert not set(c.la_code[c.programme.eq("SAFETY_VALVE")]) & set(s.la_code)


def test_within_transformation_matches_dummy_regression():
    """Unbalanced panel: absorbed fixed effects give the same coefficient as explicit dummies."""
    s = stack(simulate(constant(2.0), seed=5)[["la_code", "year", "value"]], cohorts())
    s = s.sample(frac=0.8, random_state=1).reset_index(drop=True)
    post = (s.treated & s.event_time.ge(0)).astype(float).to_frame("post")
    beta, cov, _, _ = _fit(s, post, 0.95)
    unit = pd.get_dummies(s.cohort.astype(str) + s.la_code, dtype=float)
    period = pd.get_dummies(s.cohort.astype(str) + s.year.astype(str), dtype=float).iloc[:, 1:]
    x = np.column_stack([post.to_numpy(), unit.to_numpy(), period.to_numpy()])
    exact = np.linalg.lstsq(x, s.value.to_numpy(), rcond=None)[0][0]
    assert beta[0] == pytest.approx(exact, abs=1e-6)
    assert cov[0, 0] > 0
    weighted = _fit(s, post, 0.95, np.ones(len(s)))  # unit weights: the same fit
    assert weighted[0][0] == pytest.approx(beta[0]) and weighted[1][0, 0] == pytest.approx(cov[0, 0])


# --- inference a statistician would sign: randomisation, multiplicity, pre-trends, comparisons ---

PERMUTATIONS = 99  # p-values in steps of 0.01: Holm over four indicators can still reach 0.04


def test_zero_effect_gives_no_finding_after_adjustment():
    summary, _ = event_study(simulate(constant(0.0), reps=7, seed=11), cohorts(), permutations=PERMUTATIONS, seed=1)
    assert len(summary) == 7 and summary.n_permutations.eq(PERMUTATIONS).all()
    assert not summary.significant.any()
    assert (summary.p_adjusted >= summary.p_randomisation).all()


def test_injected_effect_is_recovered_and_significant():
    panel = pd.concat(
        [simulate(constant(0.0), reps=3, seed=12), simulate(constant(3.0), seed=13).assign(indicator="injected")]
    )
    summary, _ = event_study(panel, cohorts(), permutations=PERMUTATIONS, seed=2)
    row = summary.set_index("indicator").loc["injected"]
    assert row.ci_low < 3.0 < row.ci_high and abs(row.estimate - 3.0) < 1.0
    assert row.p_randomisation == pytest.approx(1 / (PERMUTATIONS + 1)) and bool(row.significant)
    assert not summary[summary.indicator.ne("injected")].significant.any()


def test_a_differential_pre_trend_is_flagged():
    panel = simulate(constant(0.0), seed=14)
    dbv = panel.la_code.isin(cohorts().la_code[cohorts().programme.eq("DBV")])
    panel.loc[dbv, "value"] += 1.5 * (panel.year[dbv] - 2015)  # DBV LAs drift up from the start
    summary, _ = event_study(panel, cohorts())
    assert summary.pretrend_p.iloc[0] < 0.05 and "parallel trends doubtful" in summary.pretrend_flag.iloc[0]
    clean, _ = event_study(simulate(constant(0.0), seed=15), cohorts())
    assert clean.pretrend_flag.iloc[0] == ""


def test_permutation_keeps_the_tranche_sizes_among_eligible_las():
    c = cohorts()
    las = eligible_las(c, c.la_code)
    assert len(las) == N_DBV + N_NONE  # Safety Valve LAs are never relabelled
    fake = permuted_cohorts(c, las, np.random.default_rng(0))
    assert fake.groupby("programme").size().to_dict() == c.groupby("programme").size().to_dict()
    assert fake.dropna(subset=["tranche"]).tranche.value_counts().to_dict() == c.tranche.value_counts().to_dict()
    assert set(fake.la_code[fake.programme.eq("SAFETY_VALVE")]) == set(c.la_code[c.programme.eq("SAFETY_VALVE")])


def test_abolished_codes_are_never_comparisons():
    panel = simulate(constant(0.0), seed=16)
    old = panel[panel.la_code.eq("400")].assign(la_code="928")  # Northamptonshire, not in cohorts
    s = stack(pd.concat([panel, old])[["la_code", "year", "value"]], cohorts())
    assert "928" not in set(s.la_code) and "400" in set(s.la_code)
    assert "928" not in eligible_las(cohorts(), ["928", "400"])


def test_size_weights_recover_a_common_effect():
    c = cohorts()
    weights = pd.DataFrame({"la_code": c.la_code, "weight": np.linspace(100, 5000, len(c))})
    summary, _ = event_study(simulate(constant(3.0), seed=17), c, weights=weights)
    assert summary.weighted.iloc[0] and summary.ci_low.iloc[0] < 3.0 < summary.ci_high.iloc[0]


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03, 0.5]).tolist() == pytest.approx([0.04, 0.09, 0.09, 0.5])


def test_a_series_without_a_year_before_the_start_is_not_estimated():
    panel = simulate(constant(0.0), seed=18)
    late = panel[panel.year >= 2023].assign(indicator="after_break")  # starts after every tranche began
    summary, events = event_study(pd.concat([panel, late]), cohorts(), permutations=9)
    assert set(summary.indicator) == {"sim000"} and set(events.indicator) == {"sim000"}
