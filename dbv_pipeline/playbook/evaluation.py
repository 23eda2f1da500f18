"""Outcome indicators of DBV LAs against comparison LAs: a stacked difference-in-differences and event study.

Design (staggered-adoption safe): each DBV tranche is one cohort, treated from its start year g (the
calendar year its first diagnostic started). Its stack holds the cohort's LAs and clean comparisons —
programme NONE LAs, and DBV LAs of later tranches not yet treated by the end of the window — over the
years g − ``leads`` … g + ``lags``. Safety Valve LAs are left out. On the stacked panel, two-way fixed
effects (stack × LA and stack × year, removed by within-transformation) and

    event study:  y = Σ_{e ≠ −1} β_e · treated · 1[year − g = e]      (reference e = −1)
    DiD:          y = δ · treated · 1[year ≥ g]

so that no already-treated LA ever serves as a comparison. Standard errors are cluster-robust by LA
(CR1 sandwich), confidence intervals use t with G − 1 degrees of freedom (G = LAs). These are
observational comparisons of LAs selected for their deficits, not causal effects. docs/forecast_method.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

LABEL = "observational evidence, not causal"
LEADS, LAGS = 4, 3
SUMMARY_COLUMNS = ["indicator", "estimate", "std_error", "ci_low", "ci_high", "n_las_treated", "n_las_control",
                   "label"]
EVENT_COLUMNS = ["indicator", "event_time", "estimate", "std_error", "ci_low", "ci_high"]


def cohort_starts(cohorts: pd.DataFrame) -> pd.DataFrame:
    """old_la_code, programme, tranche, start_year: DBV LAs get their tranche's first diagnostic year."""
    c = cohorts.assign(diagnostic_start_date=pd.to_datetime(cohorts.diagnostic_start_date))
    dbv = c.programme.eq("DBV") & c.tranche.notna()
    first = c[dbv].groupby("tranche").diagnostic_start_date.min().dt.year
    return c.assign(start_year=c.tranche.map(first).where(dbv))[["old_la_code", "programme", "tranche", "start_year"]]


def stack(panel: pd.DataFrame, cohorts: pd.DataFrame, *, leads: int = LEADS, lags: int = LAGS) -> pd.DataFrame:
    """The stacked panel: one stack per DBV tranche with its clean comparisons, years g − leads … g + lags.

    ``panel``: old_la_code, year, value. LAs missing from ``cohorts`` count as programme NONE. Returns
    the panel rows with cohort (the tranche whose stack it is), treated (bool) and event_time (year − g).
    """
    starts = cohort_starts(cohorts)
    panel = panel.merge(starts, on="old_la_code", how="left").fillna({"programme": "NONE"})
    panel = panel[panel.programme.isin(["DBV", "NONE"]) & (panel.programme.eq("NONE") | panel.start_year.notna())]
    frames = []
    for tranche, g in starts.dropna(subset=["start_year"]).groupby("tranche").start_year.first().items():
        window = panel[panel.year.between(g - leads, g + lags)]
        treated = window.tranche.eq(tranche).fillna(False).astype(bool)  # nullable tranche (NONE LAs) is untreated
        clean = window.programme.eq("NONE") | (window.start_year > g + lags)
        frames.append(window[treated | clean].assign(cohort=tranche, treated=treated[treated | clean],
                                                     event_time=lambda d: d.year - int(g)))
    return pd.concat(frames, ignore_index=True)


def event_study(indicators: pd.DataFrame, cohorts: pd.DataFrame, *, leads: int = LEADS, lags: int = LAGS,
                level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DiD estimate and event-time coefficients for each indicator.

    ``indicators``: old_la_code, year, indicator, value (tidy, LA × year). ``cohorts``: old_la_code,
    programme (DBV, SAFETY_VALVE, NONE), tranche (1–3), diagnostic_start_date. Returns (SUMMARY_COLUMNS
    per indicator, EVENT_COLUMNS per indicator and event time with the reference −1 at 0).
    """
    summaries, events = [], []
    for indicator, rows in indicators.dropna(subset=["value"]).groupby("indicator", sort=True):
        s = stack(rows[["old_la_code", "year", "value"]], cohorts, leads=leads, lags=lags)
        if not (s.treated.any() and (~s.treated).any()):
            continue
        post = (s.treated & s.event_time.ge(0)).to_frame("post").astype(float)
        est, se, t = _fit(s, post, level)
        summaries.append({"indicator": indicator, "estimate": est[0], "std_error": se[0],
                          "ci_low": est[0] - t * se[0], "ci_high": est[0] + t * se[0],
                          "n_las_treated": s[s.treated].old_la_code.nunique(),
                          "n_las_control": s[~s.treated].old_la_code.nunique(), "label": LABEL})
        times = [e for e in range(-leads, lags + 1) if e != -1]
        dummies = pd.DataFrame({e: (s.treated & s.event_time.eq(e)).astype(float) for e in times})
        dummies = dummies.loc[:, dummies.sum() > 0]
        est, se, t = _fit(s, dummies, level)
        events.append(pd.DataFrame({"indicator": indicator, "event_time": list(dummies.columns) + [-1],
                                    "estimate": [*est, 0.0], "std_error": [*se, 0.0],
                                    "ci_low": [*(est - t * se), 0.0], "ci_high": [*(est + t * se), 0.0]}))
    summary = pd.DataFrame(summaries, columns=SUMMARY_COLUMNS)
    event = (pd.concat(events, ignore_index=True) if events else pd.DataFrame(columns=EVENT_COLUMNS))
    return summary, event[EVENT_COLUMNS].sort_values(["indicator", "event_time"], ignore_index=True)


def _fit(s: pd.DataFrame, regressors: pd.DataFrame, level: float) -> tuple[np.ndarray, np.ndarray, float]:
    """OLS of value on ``regressors`` with stack × LA and stack × year effects absorbed; CR1 by LA.

    Returns estimates, standard errors and the t critical value (G − 1 degrees of freedom).
    """
    units = pd.factorize(s.cohort.astype(str) + "|" + s.old_la_code.astype(str))[0]
    periods = pd.factorize(s.cohort.astype(str) + "|" + s.year.astype(str))[0]
    data = _within(np.column_stack([s.value.to_numpy(float), regressors.to_numpy(float)]), [units, periods])
    y, x = data[:, 0], data[:, 1:]
    bread = np.linalg.pinv(x.T @ x)
    beta = bread @ x.T @ y
    resid = y - x @ beta
    clusters = pd.factorize(s.old_la_code)[0]
    n_clusters, n, k = clusters.max() + 1, len(y), x.shape[1] + periods.max() + 1
    scores = np.zeros((n_clusters, x.shape[1]))
    np.add.at(scores, clusters, x * resid[:, None])
    correction = n_clusters / (n_clusters - 1) * (n - 1) / max(n - k, 1)
    cov = correction * bread @ (scores.T @ scores) @ bread
    t = stats.t.ppf(0.5 + level / 2, n_clusters - 1)
    return beta, np.sqrt(np.clip(np.diag(cov), 0, None)), float(t)


def _within(values: np.ndarray, groups: list[np.ndarray], tol: float = 1e-10, max_iter: int = 1000) -> np.ndarray:
    """Remove group means of several crossed factors (alternating projections; exact when balanced)."""
    out = values - values.mean(axis=0)
    for _ in range(max_iter):
        shift = 0.0
        for g in groups:
            counts = np.bincount(g).astype(float)
            means = np.column_stack([np.bincount(g, weights=col) for col in out.T]) / counts[:, None]
            out -= means[g]
            shift = max(shift, float(np.abs(means).max()))
        if shift < tol:
            break
    return out
