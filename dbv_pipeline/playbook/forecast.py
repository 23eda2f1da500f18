"""Projections to 2028-29: caseload by provision type, high needs spend and the DSG balance, per LA.

Caseload: each LA × provision series grows at a damped log-linear rate — its own growth over the last
``window`` January censuses, shrunk towards the national growth of that provision by empirical Bayes
(partial pooling). The damping factor is chosen by rolling-origin validation on the history given; the
80% and 95% bands are empirical quantiles of the rolling-origin errors by horizon and size. The LA total
(``provision_type`` = ``ALL``) is the sum of its provisions; ``forecast_totals`` is the LA-total model
backtested on DfE's history (backtest.py), with ``band_offsets`` its calibrated bands. Spend = caseload
× unit cost (grown at the LA's own unit-cost growth where known); the DSG balance rolls forward from the
LA's last actual year.
Method, assumptions and backtest: docs/forecast_method.md. All functions are pure, on pandas frames.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from ..public.history import boundary_changes

TOTAL = "ALL"  # provision_type of the LA total rows in a caseload forecast
CENTRAL = "CENTRAL"  # HNB spend not tied to a placement; costed per plan of the LA total
WINDOW = 4  # censuses used to estimate growth (3 year-on-year steps)
DAMPING_GRID = (0.7, 0.8, 0.9, 0.95, 1.0)
SIZE_BANDS = (0, 30, 300, 3000, np.inf)  # plans at the jump-off census; intervals are calibrated per band
MIN_SERIES = 10  # series with a noise estimate needed to fit a provision's own noise model
MIN_CELL = 30  # errors needed in an (ALL or provision, size band, horizon) cell, else pooled wider
TAU2_FLOOR = 1e-4  # least between-LA variance of true growth rates (sd 1 point)
LEVELS = {"lower_95": 0.025, "lower_80": 0.10, "upper_80": 0.90, "upper_95": 0.975}
DEFAULT_COST_GROWTH = 0.03  # a year, where the LA has no unit-cost history
COST_GROWTH_BOUNDS = (-0.02, 0.10)  # an LA's own unit-cost growth is clipped to this range
DEFAULT_INCOME_GROWTH = 0.03  # a year, for HNB income beyond the LA's own plan
KEYS = ["la_code", "provision_type"]
FORECAST_COLUMNS = [
    "la_code",
    "census_year",
    "provision_type",
    "forecast",
    "lower_80",
    "upper_80",
    "lower_95",
    "upper_95",
    "method",
]
BANDS = ["lower_80", "upper_80", "lower_95", "upper_95"]


BOUNDARY_CHANGES = boundary_changes()  # the dbt seed la_boundary_changes.csv


def financial_year(census_year) -> pd.Series | str:
    """The financial year a January census falls in: 2026 → '2025-26' (scalar or Series)."""
    if isinstance(census_year, pd.Series):
        return (census_year - 1).astype(str) + "-" + (census_year % 100).map("{:02d}".format)
    return f"{census_year - 1}-{census_year % 100:02d}"


def harmonise_boundaries(caseload: pd.DataFrame, changes=BOUNDARY_CHANGES) -> pd.DataFrame:
    """Drop abolished LAs and give their successors a history: the predecessors' caseload before the
    change, split by each successor's share of the successors' caseload at their first census (per
    provision; the share of all plans where a provision has none). A change whose successors are not
    in ``caseload`` at their first census is left alone (it happened after the history ends).
    """
    out = caseload[["la_code", "census_year", "provision_type", "plans"]].dropna(subset=["plans"])
    for change in changes:
        first = out[out.la_code.isin(change.successors) & out.census_year.eq(change.first_census)]
        if set(first.la_code) != set(change.successors):
            continue
        total_share = first.groupby("la_code").plans.sum() / first.plans.sum()
        share = first.set_index(KEYS).plans / first.groupby("provision_type").plans.transform("sum").to_numpy()
        past = (
            out[out.la_code.isin(change.predecessors) & out.census_year.lt(change.first_census)]
            .groupby(["census_year", "provision_type"], as_index=False)
            .plans.sum()
        )
        grid = past.merge(pd.DataFrame({"la_code": list(change.successors)}), how="cross")
        grid = grid.merge(share.rename("share").reset_index(), on=KEYS, how="left")
        grid["share"] = grid.share.fillna(grid.la_code.map(total_share))
        known = out[out.la_code.isin(change.successors)][["la_code", "census_year"]].drop_duplicates()
        grid = grid.merge(known, how="left", indicator=True).query("_merge == 'left_only'")
        backcast = grid.assign(plans=grid.plans * grid.share)[out.columns]
        out = pd.concat([out[~out.la_code.isin(change.predecessors)], backcast], ignore_index=True)
    return out.sort_values(["la_code", "census_year", "provision_type"], ignore_index=True)


# The LA-total model, chosen on the backtest's early origins (2013-2018, docs/forecast_method.md §3):
# national momentum (last year's growth of the LAs' sum) plus a fifth of the LA's own deviation from
# the national rate over three years.
TOTALS_DESIGN: dict[str, Any] = {"momentum": 1.0, "la_weight": 0.2, "years": 3}
CALIBRATION_YEARS = 3  # band_offsets learns from errors whose target is one of the last 3 censuses


def forecast_totals(
    history: pd.DataFrame,
    horizons=(1, 2, 3),
    *,
    national: pd.Series | None = None,
    momentum: float = 1.0,
    la_weight: float = 0.2,
    years: int = 3,
) -> pd.DataFrame:
    """Each LA's total plans ``horizons`` censuses after the last one in ``history``.

    ``history``: la_code, census_year, plans (LA totals, current boundaries). Growth per year = the
    national rate G = momentum × last year's national log growth + (1 − momentum) × its ``years``-year
    average, plus ``la_weight`` × (the LA's own ``years``-year log growth − the national one); the
    forecast is the last value × exp(h × growth). ``national``: the national total by census to take G
    from (England's, when ``history`` is a cohort of LAs); by default the sum of ``history``'s LAs. LAs
    without the censuses the growth needs are left out. Returns la_code, horizon, census_year, forecast.
    """
    y = history.pivot(index="la_code", columns="census_year", values="plans")
    origin = int(y.columns.max())
    y = y.dropna(subset=[origin, origin - 1, origin - years])
    national = y.sum() if national is None else national
    recent = np.log(national[origin] / national[origin - 1])
    trend = np.log(national[origin] / national[origin - years]) / years
    own = np.log(y[origin] / y[origin - years]) / years
    growth = momentum * recent + (1 - momentum) * trend + la_weight * (own - trend)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "la_code": y.index,
                    "horizon": h,
                    "census_year": origin + h,
                    "forecast": (y[origin] * np.exp(growth * h)).to_numpy(),
                }
            )
            for h in horizons
        ],
        ignore_index=True,
    )


def totals_errors(history: pd.DataFrame, horizons=(1, 2, 3), design: dict = TOTALS_DESIGN) -> pd.DataFrame:
    """``forecast_totals``'s yearly log errors e = log(actual / forecast) / horizon at every origin of
    ``history`` (la_code, census_year, plans) with ``years`` + 1 censuses up to it: origin, horizon,
    census_year, la_code, e. The calibration data of ``band_offsets``."""
    years = sorted(history.census_year.unique())
    actual = history.rename(columns={"plans": "actual"})[["la_code", "census_year", "actual"]]
    frames = [
        forecast_totals(history[history.census_year.le(origin)], horizons, **design)
        .merge(actual, on=["la_code", "census_year"])
        .assign(origin=origin)
        for origin in years[design["years"] : -1]
    ]
    if not frames:
        return pd.DataFrame(columns=["origin", "horizon", "census_year", "la_code", "e"])
    out = pd.concat(frames, ignore_index=True)
    out["e"] = np.log(out.actual / out.forecast) / out.horizon
    return out[["origin", "horizon", "census_year", "la_code", "e"]]


def conformal_radius(deviations: np.ndarray, alpha: float) -> float:
    """The finite-sample split-conformal radius: the ceil((k + 1)(1 − alpha))-th smallest of k absolute
    deviations (the largest seen when k is too small for that rank)."""
    ranked = np.sort(np.abs(deviations))
    rank = math.ceil((len(ranked) + 1) * (1 - alpha))
    return float(ranked[min(rank, len(ranked)) - 1])


def band_offsets(errors: pd.DataFrame, origin: int) -> dict[str, float] | None:
    """Yearly log offsets of the bands of a forecast made at ``origin`` (× horizon, added to the log
    forecast), split conformal on ``errors`` (``totals_errors``) whose target census is one of the
    ``CALIBRATION_YEARS`` up to the origin; None when there are none.

    Two levels: within one origin and horizon every LA shares the national surprise, so the national
    error (the mean over LAs) counts once per past cell, with the finite-sample conformal radius of those
    few cells around their mean as its spread; each LA's own error (its deviation from that mean) is
    pooled over LAs. Each band is the empirical quantile of (national mean ± radius) + own errors.
    """
    past = errors[errors.census_year.le(origin) & errors.census_year.gt(origin - CALIBRATION_YEARS)]
    if past.empty:
        return None
    cell = past.groupby(["origin", "horizon"]).e.transform("mean")
    national = cell.groupby([past.origin, past.horizon]).first().to_numpy()
    own = (past.e - cell).to_numpy() + national.mean()
    offsets = {}
    for band, q in LEVELS.items():
        radius = conformal_radius(national - national.mean(), 2 * min(q, 1 - q))
        offset = float(np.quantile(np.concatenate([own - radius, own + radius]), q))
        offsets[band] = min(offset, 0.0) if band.startswith("lower") else max(offset, 0.0)
    return offsets


def forecast_caseload(
    caseload: pd.DataFrame, to_year: int = 2029, *, window: int = WINDOW, damping: float | None = None
) -> pd.DataFrame:
    """Caseload per LA, provision and January census after the last one in ``caseload`` up to ``to_year``.

    ``caseload``: la_code, census_year, provision_type, plans (harmonise boundaries first). Returns
    FORECAST_COLUMNS, with an ``ALL`` row per LA and census (the sum of its provisions). ``damping``:
    None chooses it from DAMPING_GRID by rolling-origin validation of LA totals.
    """
    history = _clean(caseload)
    if history.census_year.nunique() < 4 or window < 3:
        raise ValueError(
            "forecast_caseload needs four January censuses (three to fit, one to validate) "
            "and a window of three or more"
        )
    grid = DAMPING_GRID if damping is None else (damping,)
    errors = _rolling_errors(history, window, grid)
    if damping is None:
        totals = errors[errors.provision_type.eq(TOTAL)]
        damping = totals.e.abs().groupby(totals.phi).mean().idxmin()
    origin = int(history.census_year.max())
    series = _growth(history, origin, window)
    points = _project(series, range(origin + 1, to_year + 1), damping)
    points = pd.concat([points, _totals(points)], ignore_index=True)
    bands = _quantiles(errors[errors.phi.eq(damping)], points)
    log_f = np.log1p(points.forecast.to_numpy())
    for column in BANDS:
        points[column] = np.expm1(log_f + bands[column].to_numpy())
    kind = np.select(
        [points.provision_type.eq(TOTAL), points.pooled_only.astype(bool)],
        ["sum of provisions", "national rate"],
        "pooled log-linear",
    )
    points["method"] = pd.Series(kind, index=points.index) + f"; phi={damping:g}; window={window}"
    return points[FORECAST_COLUMNS].sort_values(["la_code", "provision_type", "census_year"], ignore_index=True)


def point_forecast(caseload: pd.DataFrame, to_year: int, *, window: int = WINDOW, damping: float = 1.0) -> pd.DataFrame:
    """Point forecasts only (la_code, provision_type, census_year, horizon, forecast), no ``ALL`` rows."""
    history = _clean(caseload)
    origin = int(history.census_year.max())
    return _project(_growth(history, origin, window), range(origin + 1, to_year + 1), damping)[
        ["la_code", "provision_type", "census_year", "horizon", "forecast"]
    ]


def _clean(caseload: pd.DataFrame) -> pd.DataFrame:
    frame = caseload[["la_code", "census_year", "provision_type", "plans"]].dropna(subset=["plans"])
    frame = frame.astype({"la_code": str, "provision_type": str, "census_year": int, "plans": float})
    if (frame.plans < 0).any() or frame.duplicated(["la_code", "census_year", "provision_type"]).any():
        raise ValueError("caseload: negative plans or more than one row per LA, census and provision")
    return frame


def _growth(history: pd.DataFrame, origin: int, window: int) -> pd.DataFrame:
    """Per LA × provision: jump-off and empirical-Bayes growth rate of log(1 + plans).

    Own drift g = (z_last - z_first) / years; its noise variance sigma² = a + b / (1 + mean plans) is
    smoothed across LAs (a, b ≥ 0 per provision); the national drift G is the mean yearly growth of the
    provision's sum over LAs seen in both years; tau² = between-LA variance of true drifts (moments).
    The growth used is w g + (1 - w) G with w = tau² / (tau² + sigma² / years).
    """
    h = history[history.census_year.le(origin) & history.census_year.gt(origin - window)]
    h = h.sort_values(KEYS + ["census_year"]).assign(z=lambda d: np.log1p(d.plans))
    by = h.groupby(KEYS, sort=False)
    dt, dz = by.census_year.diff(), by.z.diff()
    s = by.agg(
        year_first=("census_year", "first"),
        year_last=("census_year", "last"),
        z_first=("z", "first"),
        z_last=("z", "last"),
        y_last=("plans", "last"),
        y_mean=("plans", "mean"),
        steps=("z", "size"),
    )
    s["years"] = s.year_last - s.year_first
    s["g"] = ((s.z_last - s.z_first) / s.years.replace(0, np.nan)).fillna(0.0)
    span = by.census_year.transform("last") - by.census_year.transform("first")
    slope = (by.z.transform("last") - by.z.transform("first")) / span
    sq = ((dz - slope * dt) ** 2 / dt).groupby([h.la_code, h.provision_type], sort=False).sum()
    s["s2"] = (sq / (s.steps - 2)).where(s.steps > 2)
    s = s.reset_index()

    pairs = h.merge(h.assign(census_year=h.census_year + 1), on=KEYS + ["census_year"], suffixes=("", "_prev"))
    national = pairs.groupby(["provision_type", "census_year"])[["plans", "plans_prev"]].sum()
    step = np.log(national.plans / national.plans_prev).replace([np.inf, -np.inf], np.nan)
    s["G"] = s.provision_type.map(step.groupby(level="provision_type").mean()).fillna(0.0)

    known = s[s.s2.notna()]
    if known.empty:
        raise ValueError("no series with three censuses in the window: the growth noise cannot be estimated")
    coef = {p: _noise_model(part) for p, part in known.groupby("provision_type") if len(part) >= MIN_SERIES}
    fallback = _noise_model(known)
    a, b = np.array([coef.get(p, fallback) for p in s.provision_type]).reshape(-1, 2).T
    s["sigma2"] = a + b / (1.0 + s.y_mean)
    own = s.years > 0
    noise = (s.sigma2 / s.years).where(own)
    spread = ((s.g - s.G) ** 2).where(own) - noise
    tau2 = s.provision_type.map(spread.groupby(s.provision_type).mean()).fillna(0).clip(lower=TAU2_FLOOR)
    s["w"] = (tau2 / (tau2 + noise)).where(own, 0.0)
    s["growth"] = s.w * s.g + (1 - s.w) * s.G
    s["pooled_only"] = ~own
    return s


def _noise_model(fit: pd.DataFrame) -> np.ndarray:
    """(a, b) ≥ 0 of s² ≈ a + b / (1 + mean plans), least squares weighted by degrees of freedom."""
    x = np.column_stack([np.ones(len(fit)), 1.0 / (1.0 + fit.y_mean)])
    wt = np.sqrt(fit.steps.to_numpy(float) - 2)
    return nnls(x * wt[:, None], fit.s2.to_numpy() * wt)[0]


def _project(series: pd.DataFrame, years, phi: float) -> pd.DataFrame:
    """Forecast each series to each of ``years`` (after its last census): damped drift from the jump-off."""
    years = np.asarray(list(years))
    if not len(years):
        return series.iloc[:0].assign(census_year=0, horizon=0, forecast=0.0)
    out = series.loc[series.index.repeat(len(years))].assign(census_year=np.tile(years, len(series)))
    out = out[out.census_year > out.year_last]
    out["horizon"] = out.census_year - out.year_last
    steps = out.horizon.to_numpy(float)
    damped = steps if phi == 1 else phi * (1 - phi**steps) / (1 - phi)
    out["forecast"] = np.expm1(out.z_last + out.growth * damped).clip(lower=0)
    return out.reset_index(drop=True)


def _totals(points: pd.DataFrame) -> pd.DataFrame:
    """``ALL`` rows: the sum over an LA's provisions; horizon from the LA's latest jump-off."""
    agg = points.groupby(["la_code", "census_year"], as_index=False).agg(
        forecast=("forecast", "sum"), y_last=("y_last", "sum"), year_last=("year_last", "max")
    )
    return agg.assign(provision_type=TOTAL, horizon=agg.census_year - agg.year_last, pooled_only=False)


def _rolling_errors(history: pd.DataFrame, window: int, phis) -> pd.DataFrame:
    """Log errors log1p(actual) - log1p(forecast) from every earlier origin of ``history``, per damping.

    Columns: provision_type (ALL for LA totals), horizon, y_last (jump-off size), e, phi. Totals compare the
    sum of the forecasts of the provisions that have an actual in the target census.
    """
    years = sorted(history.census_year.unique())
    actual = history.rename(columns={"plans": "actual"})
    frames = []
    for origin in years[2:-1]:  # three censuses at least, as for a forecast
        series = _growth(history, origin, window)
        for phi in phis:
            points = _project(series, [y for y in years if y > origin], phi)
            joined = points.merge(actual, on=KEYS + ["census_year"])
            totals = (
                joined.groupby(["la_code", "census_year"], as_index=False)
                .agg(
                    forecast=("forecast", "sum"),
                    actual=("actual", "sum"),
                    y_last=("y_last", "sum"),
                    year_last=("year_last", "max"),
                )
                .assign(provision_type=TOTAL)
            )
            totals["horizon"] = totals.census_year - totals.year_last
            both = pd.concat([joined, totals], ignore_index=True)
            both["e"] = np.log1p(both.actual) - np.log1p(both.forecast)
            frames.append(both[["provision_type", "horizon", "y_last", "e"]].assign(phi=phi))
    return pd.concat(frames, ignore_index=True)


def _quantiles(errors: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Log-scale band offsets for each row of ``points`` from the empirical error quantiles.

    Cells (provision or ALL, size band, horizon) with fewer than MIN_CELL errors fall back to
    (provision or ALL, horizon), then to the horizon. Horizons beyond the longest calibrated one scale
    its quantiles linearly. Offsets are clipped so that every band contains the point forecast, and
    made to widen (never narrow) with the horizon along each series.
    """
    errors = errors.assign(band=pd.cut(errors.y_last, SIZE_BANDS, right=False, labels=False).astype(int))
    longest = int(errors.horizon.max())
    need = pd.DataFrame(
        {
            "provision_type": points.provision_type.to_numpy(),
            "band": pd.cut(points.y_last, SIZE_BANDS, right=False, labels=False).to_numpy(int),
            "h": np.minimum(points.horizon.to_numpy(), longest),
        }
    )
    out = pd.DataFrame(np.nan, index=need.index, columns=list(LEVELS))
    for keys in (["provision_type", "band", "h"], ["provision_type", "h"], ["h"]):
        grouped = errors.rename(columns={"horizon": "h"}).groupby(keys)
        table = grouped.e.quantile(list(LEVELS.values())).unstack()
        table.columns = list(LEVELS)
        table = table[grouped.size() >= MIN_CELL] if keys != ["h"] else table
        found = need[keys].merge(table, left_on=keys, right_index=True, how="left")[list(LEVELS)]
        out = out.fillna(found.set_index(need.index))
    out = out.mul(points.horizon.to_numpy() / need.h.to_numpy(), axis=0)
    out[["lower_95", "lower_80"]] = out[["lower_95", "lower_80"]].clip(upper=0)
    out[["upper_80", "upper_95"]] = out[["upper_80", "upper_95"]].clip(lower=0)
    out["lower_95"] = np.minimum(out.lower_95, out.lower_80)
    out["upper_95"] = np.maximum(out.upper_95, out.upper_80)
    path = points[["la_code", "provision_type"]].assign(horizon=points.horizon.to_numpy()).sort_values("horizon")
    by = out.loc[path.index].groupby([path.la_code, path.provision_type], sort=False)
    widened = pd.concat([by[["lower_95", "lower_80"]].cummin(), by[["upper_80", "upper_95"]].cummax()], axis=1)
    return widened.loc[out.index]


def unit_cost_history(hnb_spend: pd.DataFrame, caseload: pd.DataFrame) -> pd.DataFrame:
    """Unit cost per LA, financial year and provision: OUTTURN spend / plans at the January census in
    that financial year. CENTRAL spend is per plan of the LA total.

    ``hnb_spend``: the contract's hnb_spend columns; ``caseload``: la_code, census_year, provision_type,
    plans. Returns la_code, financial_year, provision_type, plans, spend_gbp, unit_cost_gbp.
    """
    spend = (
        hnb_spend[hnb_spend.spend_type.eq("OUTTURN")]
        .astype({"spend_gbp": float})
        .groupby(["la_code", "financial_year", "provision_type"], as_index=False)
        .spend_gbp.sum()
    )
    cases = caseload.assign(financial_year=financial_year(caseload.census_year))
    totals = cases.groupby(["la_code", "financial_year"], as_index=False).plans.sum().assign(provision_type=CENTRAL)
    cases = pd.concat([cases[["la_code", "financial_year", "provision_type", "plans"]], totals], ignore_index=True)
    out = spend.merge(cases, on=["la_code", "financial_year", "provision_type"])
    out = out[out.plans > 0]
    return out.assign(unit_cost_gbp=out.spend_gbp / out.plans)[
        ["la_code", "financial_year", "provision_type", "plans", "spend_gbp", "unit_cost_gbp"]
    ].reset_index(drop=True)


def project_unit_costs(
    history: pd.DataFrame,
    financial_years,
    *,
    default_growth: float = DEFAULT_COST_GROWTH,
    bounds: tuple[float, float] = COST_GROWTH_BOUNDS,
) -> pd.DataFrame:
    """Unit cost per LA and provision in each of ``financial_years``, grown from its last known year.

    Growth: the LA's own average yearly unit-cost growth for the provision (first to last known year,
    clipped to ``bounds``) where it has two years or more, else ``default_growth``. Returns la_code,
    provision_type, financial_year, unit_cost_gbp, cost_growth, growth_source.
    """
    h = history.assign(year=history.financial_year.str[:4].astype(int)).sort_values(KEYS + ["year"])
    s = h.groupby(KEYS, as_index=False).agg(
        y0=("year", "first"), y1=("year", "last"), c0=("unit_cost_gbp", "first"), c1=("unit_cost_gbp", "last")
    )
    own = (s.y1 > s.y0) & (s.c0 > 0)
    rate = (s.c1 / s.c0.where(own)) ** (1 / (s.y1 - s.y0).where(own)) - 1
    s["cost_growth"] = rate.clip(*bounds).where(own, default_growth)
    s["growth_source"] = np.where(own, "own history", "default")
    years = pd.DataFrame({"financial_year": list(financial_years)})
    out = s.merge(years, how="cross")
    out["unit_cost_gbp"] = out.c1 * (1 + out.cost_growth) ** (out.financial_year.str[:4].astype(int) - out.y1)
    return out[["la_code", "provision_type", "financial_year", "unit_cost_gbp", "cost_growth", "growth_source"]]


def project_spend(caseload_forecast: pd.DataFrame, unit_costs: pd.DataFrame) -> pd.DataFrame:
    """HNB spend = forecast plans × unit cost, per LA, financial year and provision (CENTRAL × LA total).

    Provisions without a unit cost for the LA have no HNB spend. The spend bands are the caseload
    bands × unit cost (unit-cost uncertainty is not included). Returns la_code, financial_year,
    census_year, provision_type, plans, unit_cost_gbp, spend_gbp, spend_lower_80, spend_upper_80,
    spend_lower_95, spend_upper_95.
    """
    fc = caseload_forecast.assign(
        provision_type=caseload_forecast.provision_type.replace(TOTAL, CENTRAL),
        financial_year=financial_year(caseload_forecast.census_year),
    )
    out = fc.merge(
        unit_costs[["la_code", "provision_type", "financial_year", "unit_cost_gbp"]],
        on=["la_code", "provision_type", "financial_year"],
    )
    out = out.rename(columns={"forecast": "plans"})
    out["spend_gbp"] = out.plans * out.unit_cost_gbp
    for band in BANDS:
        out[f"spend_{band}"] = out[band] * out.unit_cost_gbp
    return out[
        [
            "la_code",
            "financial_year",
            "census_year",
            "provision_type",
            "plans",
            "unit_cost_gbp",
            "spend_gbp",
            *(f"spend_{b}" for b in BANDS),
        ]
    ].sort_values(["la_code", "financial_year", "provision_type"], ignore_index=True)


def project_dsg_balance(
    spend: pd.DataFrame,
    dsg_plan: pd.DataFrame,
    mitigations: pd.DataFrame,
    *,
    income_growth: float = DEFAULT_INCOME_GROWTH,
) -> pd.DataFrame:
    """Projected HNB expenditure and DSG balance per LA and financial year, UNMITIGATED and MITIGATED.

    Unmitigated expenditure = projected spend; mitigated = unmitigated − the LA's planned savings for
    that year (all mitigations). Income: the LA's own planned HNB income for the year (its UNMITIGATED,
    else MITIGATED row) or its last ACTUAL income grown at ``income_growth``. The cumulative balance
    rolls forward from the last ACTUAL year; it is left blank from the first year missing after that.
    Returns la_code, financial_year, scenario, hnb_income_gbp, hnb_expenditure_gbp, savings_gbp,
    in_year_balance_gbp, cumulative_balance_gbp.
    """
    keys = ["la_code", "financial_year"]
    money = ["hnb_income_gbp", "cumulative_balance_gbp"]
    plan = dsg_plan.astype({c: float for c in money})
    actual = plan[plan.scenario.eq("ACTUAL")].sort_values("financial_year").groupby("la_code").last()
    spent = spend.groupby(keys, as_index=False).spend_gbp.sum().rename(columns={"spend_gbp": "unmitigated"})
    saved = mitigations.astype({"saving_gbp": float}).groupby(keys).saving_gbp.sum()
    out = spent.merge(saved.rename("savings_gbp"), left_on=keys, right_index=True, how="left").fillna(
        {"savings_gbp": 0.0}
    )
    out["year"] = out.financial_year.str[:4].astype(int)
    out["base_year"] = out.la_code.map(actual.financial_year.str[:4].astype(int))
    out = out[out.base_year.isna() | (out.year > out.base_year)]
    planned = (
        plan[plan.scenario.isin(["UNMITIGATED", "MITIGATED"])]
        .sort_values("scenario", ascending=False)
        .drop_duplicates(keys)[keys + ["hnb_income_gbp"]]
    )
    out = out.merge(planned, on=keys, how="left")
    grown = out.la_code.map(actual.hnb_income_gbp) * (1 + income_growth) ** (out.year - out.base_year)
    out["hnb_income_gbp"] = out.hnb_income_gbp.fillna(grown)
    frames = []
    for scenario, expenditure in (("UNMITIGATED", out.unmitigated), ("MITIGATED", out.unmitigated - out.savings_gbp)):
        s = out.assign(scenario=scenario, hnb_expenditure_gbp=expenditure).sort_values(keys)
        s["in_year_balance_gbp"] = s.hnb_income_gbp - s.hnb_expenditure_gbp
        by = s.groupby("la_code")
        contiguous = (s.year - s.base_year).eq(by.cumcount() + 1).astype(int).groupby(s.la_code).cummin().eq(1)
        rolled = s.la_code.map(actual.cumulative_balance_gbp) + by.in_year_balance_gbp.cumsum()
        s["cumulative_balance_gbp"] = rolled.where(contiguous)
        frames.append(s)
    return pd.concat(frames, ignore_index=True)[
        [
            "la_code",
            "financial_year",
            "scenario",
            "hnb_income_gbp",
            "hnb_expenditure_gbp",
            "savings_gbp",
            "in_year_balance_gbp",
            "cumulative_balance_gbp",
        ]
    ].sort_values(["la_code", "scenario", "financial_year"], ignore_index=True)
