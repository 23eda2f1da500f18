"""Outcome indicators of DBV LAs against comparison LAs: a stacked difference-in-differences and event study.

Design (staggered-adoption safe): each DBV tranche is one cohort, treated from its start year g (the
calendar year its first diagnostic started). Its stack holds the cohort's LAs and clean comparisons —
programme NONE LAs, and DBV LAs of later tranches not yet treated by the end of the window — over the
years g − ``leads`` … g + ``lags``. Safety Valve LAs are left out. On the stacked panel, two-way fixed
effects (stack × LA and stack × year, removed by within-transformation) and

    event study:  y = Σ_{e ≠ −1} β_e · treated · 1[year − g = e]      (reference e = −1)
    DiD:          y = δ · treated · 1[year ≥ g]

so that no already-treated LA ever serves as a comparison. Standard errors are cluster-robust by LA
(CR1 sandwich), confidence intervals use t with G − 1 degrees of freedom (G = LAs). Comparison LAs: programme
NONE only — Safety Valve LAs and the codes of LAs abolished in a boundary change (seed
la_boundary_changes) are never comparisons. Per indicator: a joint F test that the leads are zero (the
pre-trend check, flagged when it fails); randomisation inference — the DBV tranche labels permuted among
the eligible LAs (DBV and NONE), the same permutation for every indicator — as the headline p-value, with
Holm's adjustment for testing several indicators; optional weights (LA size). These are observational
comparisons of LAs selected for their deficits, not causal effects. docs/forecast_method.md §5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..public.history import predecessor_codes

LABEL = "observational evidence, not causal"
LEADS, LAGS = 4, 3
ALPHA = 0.05
SUMMARY_COLUMNS = [
    "indicator",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "p_cluster",
    "p_randomisation",
    "p_adjusted",
    "significant",
    "pretrend_f",
    "pretrend_p",
    "pretrend_flag",
    "n_permutations",
    "weighted",
    "n_las_treated",
    "n_las_control",
    "label",
]
EVENT_COLUMNS = ["indicator", "event_time", "estimate", "std_error", "ci_low", "ci_high"]


def cohort_starts(cohorts: pd.DataFrame) -> pd.DataFrame:
    """la_code, programme, tranche, start_year: DBV LAs get their tranche's first diagnostic year."""
    c = cohorts.assign(diagnostic_start_date=pd.to_datetime(cohorts.diagnostic_start_date))
    dbv = c.programme.eq("DBV") & c.tranche.notna()
    first = c[dbv].groupby("tranche").diagnostic_start_date.min().dt.year
    return c.assign(start_year=c.tranche.map(first).where(dbv))[["la_code", "programme", "tranche", "start_year"]]


def stack(panel: pd.DataFrame, cohorts: pd.DataFrame, *, leads: int = LEADS, lags: int = LAGS) -> pd.DataFrame:
    """The stacked panel: one stack per DBV tranche with its clean comparisons, years g − leads … g + lags.

    ``panel``: la_code, year, value. LAs missing from ``cohorts`` count as programme NONE, except the
    codes of abolished LAs, which are left out. Returns the panel rows with cohort (the tranche whose
    stack it is), treated (bool) and event_time (year − g).
    """
    starts = cohort_starts(cohorts)
    panel = panel[~panel.la_code.isin(predecessor_codes())]
    panel = panel.merge(starts, on="la_code", how="left").fillna({"programme": "NONE"})
    panel = panel[panel.programme.isin(["DBV", "NONE"]) & (panel.programme.eq("NONE") | panel.start_year.notna())]
    frames = []
    for tranche, g in starts.dropna(subset=["start_year"]).groupby("tranche").start_year.first().items():
        window = panel[panel.year.between(g - leads, g + lags)]
        treated = window.tranche.eq(tranche).fillna(False).astype(bool)  # nullable tranche (NONE LAs) is untreated
        if not window[treated].year.lt(g).any():
            continue  # no year before the start in this series (e.g. after a collection break): not identified
        clean = window.programme.eq("NONE") | (window.start_year > g + lags)
        frames.append(
            window[treated | clean].assign(
                cohort=tranche, treated=treated[treated | clean], event_time=lambda d, start=int(g): d.year - start
            )
        )
    if not frames:
        return panel.iloc[:0].assign(cohort=None, treated=pd.Series(dtype=bool), event_time=pd.Series(dtype=int))
    return pd.concat(frames, ignore_index=True)


def event_study(
    indicators: pd.DataFrame,
    cohorts: pd.DataFrame,
    *,
    leads: int = LEADS,
    lags: int = LAGS,
    level: float = 0.95,
    permutations: int = 0,
    weights: pd.DataFrame | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DiD estimate and event-time coefficients for each indicator.

    ``indicators``: la_code, year, indicator, value (tidy, LA × year). ``cohorts``: la_code,
    programme (DBV, SAFETY_VALVE, NONE), tranche (1–3), diagnostic_start_date. ``permutations``: draws
    of the randomisation test (0: none; then the cluster-robust p-value is the one adjusted).
    ``weights``: la_code, weight (e.g. the LA's plans) for a weighted fit. Returns (SUMMARY_COLUMNS
    per indicator, EVENT_COLUMNS per indicator and event time with the reference −1 at 0).
    """
    summaries, events = [], []
    panels = {
        name: rows[["la_code", "year", "value"]]
        for name, rows in indicators.dropna(subset=["value"]).groupby("indicator", sort=True)
    }
    for indicator, rows in panels.items():
        s = stack(rows, cohorts, leads=leads, lags=lags)
        if not (s.treated.any() and (~s.treated).any()):
            continue
        w = _weights(s, weights)
        est, cov, t, df = _fit(s, _post(s), level, w)
        se = float(np.sqrt(cov[0, 0]))
        times = [e for e in range(-leads, lags + 1) if e != -1]
        dummies = pd.DataFrame({e: (s.treated & s.event_time.eq(e)).astype(float) for e in times})
        dummies = dummies.loc[:, dummies.sum() > 0]
        ev, ev_cov, t, _ = _fit(s, dummies, level, w)
        ev_se = np.sqrt(np.clip(np.diag(ev_cov), 0, None))
        pre_f, pre_p = _joint_test(ev, ev_cov, [list(dummies.columns).index(e) for e in dummies.columns if e <= -2], df)
        summaries.append(
            {
                "indicator": indicator,
                "estimate": est[0],
                "std_error": se,
                "ci_low": est[0] - t * se,
                "ci_high": est[0] + t * se,
                "p_cluster": float(2 * stats.t.sf(abs(est[0]) / se, df)) if se > 0 else np.nan,
                "pretrend_f": pre_f,
                "pretrend_p": pre_p,
                "pretrend_flag": (
                    f"leads differ from zero (F = {pre_f:.2f}, p = {pre_p:.3f}): parallel "
                    "trends doubtful, do not read the DiD as an effect"
                )
                if pre_p < ALPHA
                else "",
                "weighted": weights is not None,
                "n_las_treated": s[s.treated].la_code.nunique(),
                "n_las_control": s[~s.treated].la_code.nunique(),
                "label": LABEL,
            }
        )
        events.append(
            pd.DataFrame(
                {
                    "indicator": indicator,
                    "event_time": list(dummies.columns) + [-1],
                    "estimate": [*ev, 0.0],
                    "std_error": [*ev_se, 0.0],
                    "ci_low": [*(ev - t * ev_se), 0.0],
                    "ci_high": [*(ev + t * ev_se), 0.0],
                }
            )
        )
    summary = pd.DataFrame(summaries, columns=SUMMARY_COLUMNS)
    if len(summary):
        observed = (summary.estimate / summary.std_error).to_numpy()
        if permutations:
            draws = _permuted_t(panels, list(summary.indicator), cohorts, permutations, seed, leads, lags, weights)
            extreme = (np.abs(draws) >= np.abs(observed) - 1e-12).sum(axis=0)
            summary["p_randomisation"] = np.where(np.isfinite(observed), (1 + extreme) / (1 + permutations), np.nan)
        summary["n_permutations"] = permutations
        summary["p_adjusted"] = holm(summary.p_randomisation if permutations else summary.p_cluster)
        summary["significant"] = summary.p_adjusted < ALPHA
    event = pd.concat(events, ignore_index=True) if events else pd.DataFrame(columns=EVENT_COLUMNS)
    return summary, event[EVENT_COLUMNS].sort_values(["indicator", "event_time"], ignore_index=True)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment: family-wise error control over the indicators tested together."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    stepped = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(stepped, 1.0)
    return out


def eligible_las(cohorts: pd.DataFrame, las) -> list[str]:
    """LAs whose programme label may be permuted: DBV or NONE, not an abolished code."""
    programme = pd.Series(list(las), index=list(las)).map(cohorts.set_index("la_code").programme).fillna("NONE")
    return sorted(la for la, p in programme.items() if p in ("DBV", "NONE") and la not in predecessor_codes())


def permuted_cohorts(cohorts: pd.DataFrame, las: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """``cohorts`` with the DBV labels (programme, tranche, start date) shuffled among ``las``."""
    full = pd.DataFrame({"la_code": las}).merge(cohorts, on="la_code", how="left").fillna({"programme": "NONE"})
    labels = full[["programme", "tranche", "diagnostic_start_date"]].iloc[rng.permutation(len(full))]
    shuffled = pd.concat([full[["la_code"]], labels.reset_index(drop=True)], axis=1)
    return pd.concat([cohorts[~cohorts.la_code.isin(las)], shuffled], ignore_index=True)


def _permuted_t(panels, names, cohorts, permutations, seed, leads, lags, weights) -> np.ndarray:
    """t statistics of the DiD for each draw (rows) and indicator (columns) under permuted labels."""
    rng = np.random.default_rng(seed)
    las = eligible_las(cohorts, set().union(*(set(panels[n].la_code) for n in names)))
    out = np.full((permutations, len(names)), np.nan)
    for draw in range(permutations):
        fake = permuted_cohorts(cohorts, las, rng)
        for j, name in enumerate(names):
            s = stack(panels[name], fake, leads=leads, lags=lags)
            if s.treated.any() and (~s.treated).any():
                est, cov, _, _ = _fit(s, _post(s), 0.95, _weights(s, weights))
                out[draw, j] = est[0] / np.sqrt(cov[0, 0]) if cov[0, 0] > 0 else 0.0
    return np.nan_to_num(out)


def _post(s: pd.DataFrame) -> pd.DataFrame:
    return (s.treated & s.event_time.ge(0)).to_frame("post").astype(float)


def _weights(s: pd.DataFrame, weights: pd.DataFrame | None) -> np.ndarray | None:
    if weights is None:
        return None
    w = s.la_code.map(weights.set_index("la_code").weight).astype(float)
    return w.fillna(w.median()).to_numpy()


def _joint_test(beta: np.ndarray, cov: np.ndarray, index: list[int], df: int) -> tuple[float, float]:
    """Wald F test that the coefficients at ``index`` are all zero (cluster-robust covariance)."""
    if not index:
        return np.nan, np.nan
    b, v = beta[index], cov[np.ix_(index, index)]
    f = float(b @ np.linalg.pinv(v) @ b) / len(index)
    return f, float(stats.f.sf(f, len(index), df))


def _fit(
    s: pd.DataFrame, regressors: pd.DataFrame, level: float, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(Weighted) OLS of value on ``regressors`` with stack × LA and stack × year effects absorbed; CR1 by LA.

    Returns estimates, their covariance, the t critical value and the degrees of freedom (G − 1).
    """
    units = pd.factorize(s.cohort.astype(str) + "|" + s.la_code.astype(str))[0]
    periods = pd.factorize(s.cohort.astype(str) + "|" + s.year.astype(str))[0]
    w = np.ones(len(s)) if weights is None else weights
    data = _within(np.column_stack([s.value.to_numpy(float), regressors.to_numpy(float)]), [units, periods], w)
    root = np.sqrt(w)[:, None]
    y, x = data[:, 0] * root[:, 0], data[:, 1:] * root
    bread = np.linalg.pinv(x.T @ x)
    beta = bread @ x.T @ y
    resid = y - x @ beta
    clusters = pd.factorize(s.la_code)[0]
    n_clusters, n, k = clusters.max() + 1, len(y), x.shape[1] + periods.max() + 1
    scores = np.zeros((n_clusters, x.shape[1]))
    np.add.at(scores, clusters, x * resid[:, None])
    correction = n_clusters / (n_clusters - 1) * (n - 1) / max(n - k, 1)
    cov = correction * bread @ (scores.T @ scores) @ bread
    t = stats.t.ppf(0.5 + level / 2, n_clusters - 1)
    return beta, cov, float(t), int(n_clusters - 1)


def _within(
    values: np.ndarray, groups: list[np.ndarray], weights: np.ndarray, tol: float = 1e-10, max_iter: int = 1000
) -> np.ndarray:
    """Remove (weighted) group means of several crossed factors (alternating projections; exact when balanced)."""
    out = values - np.average(values, axis=0, weights=weights)
    for _ in range(max_iter):
        shift = 0.0
        for g in groups:
            totals = np.bincount(g, weights=weights)
            means = np.column_stack([np.bincount(g, weights=col * weights) for col in out.T]) / totals[:, None]
            out -= means[g]
            shift = max(shift, float(np.abs(means).max()))
        if shift < tol:
            break
    return out
