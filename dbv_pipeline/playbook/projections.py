"""The playbook's projections to 2028-29 from the warehouse marts, using ``forecast.py``.

Caseload by provision (``forecast_caseload``; LA totals from the backtested model where DfE's history
allows, ``with_backtested_totals``) → unit costs (``unit_cost_history``,
``project_unit_costs``) → spend (``project_spend``) → DSG balance unmitigated and mitigated
(``project_dsg_balance``). The balance gets 80% and 95% bands here: total spend is scaled by the
band ratio of the LA's total caseload (the ``ALL`` row), and the cumulative balance adds up the
yearly band deviations (comonotone: a trend that runs high one year runs high in later years).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .forecast import (
    BANDS,
    TOTAL,
    TOTALS_DESIGN,
    band_offsets,
    financial_year,
    forecast_caseload,
    forecast_totals,
    harmonise_boundaries,
    project_dsg_balance,
    project_spend,
    project_unit_costs,
    totals_errors,
    unit_cost_history,
)

TO_CENSUS = 2029  # January 2029 = financial year 2028-29

CASELOAD_SQL = """
with census as (
    select la_code, census_year, provision_type, sum(ehcp_count) as plans
    from marts.fct_ehcp_census
    group by all
),
years as (select distinct la_code, census_year from census),
provisions as (select distinct la_code, provision_type from census)
select years.la_code, years.census_year, provisions.provision_type, coalesce(census.plans, 0)::double as plans
from years
inner join provisions on provisions.la_code = years.la_code
left join census
    on census.la_code = years.la_code
    and census.census_year = years.census_year
    and census.provision_type = provisions.provision_type
order by 1, 2, 3
"""


# DfE's LA totals on current boundaries (statements + EHC plans), for the LA totals' model and bands.
PUBLIC_HISTORY_SQL = (
    "select area_code as la_code, census_year, cast(all_plans as double) as plans from marts.fct_public_ehcp_history"
)


@dataclass
class Projections:
    """Every output of ``project``: plain frames, one row per LA × year (× provision/scenario)."""

    caseload_history: pd.DataFrame  # la_code, census_year, provision_type, plans (0 where none)
    caseload: pd.DataFrame  # forecast_caseload output
    unit_costs: pd.DataFrame  # project_unit_costs output
    spend: pd.DataFrame  # project_spend output
    dsg_balance: pd.DataFrame  # project_dsg_balance output with balance bands

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "caseload_forecast": self.caseload,
            "unit_cost_forecast": self.unit_costs,
            "spend_forecast": self.spend,
            "dsg_balance_forecast": self.dsg_balance,
        }


def project(
    caseload: pd.DataFrame,
    hnb_spend: pd.DataFrame,
    dsg_plan: pd.DataFrame,
    mitigations: pd.DataFrame,
    to_census: int = TO_CENSUS,
    public_history: pd.DataFrame | None = None,
) -> Projections:
    """Projections for every LA from its census caseload by provision (``CASELOAD_SQL``), its
    HNB spend (fct_hnb_spend), DSG plan (fct_dsg_balance) and mitigations (fct_mitigations); LA totals
    from the backtested model where DfE's history (``PUBLIC_HISTORY_SQL``) allows (``with_backtested_totals``)."""
    history = harmonise_boundaries(caseload)
    forecast = forecast_caseload(history, to_year=to_census)
    if public_history is not None:
        forecast = with_backtested_totals(forecast, history, public_history)
    years = sorted(financial_year(forecast.census_year).unique())
    costs = project_unit_costs(unit_cost_history(hnb_spend, history), years)
    spend = project_spend(forecast, costs)
    balance = project_dsg_balance(spend, dsg_plan, mitigations)
    return Projections(history, forecast, costs, spend, with_balance_bands(balance, spend, forecast))


def with_backtested_totals(forecast: pd.DataFrame, history: pd.DataFrame, public: pd.DataFrame) -> pd.DataFrame:
    """``forecast_caseload`` output with each LA's total from the backtested model (``forecast_totals``,
    England's growth from DfE's ``public`` history: la_code, census_year, plans on current boundaries)
    and its bands calibrated on that model's errors in DfE's history (``band_offsets``); each provision's
    forecast and bands are scaled so the provisions still add up to the total. Unchanged where the
    public history does not reach back from the returns' last census far enough, and for an LA without
    the censuses the model needs (docs/forecast_method.md §1)."""
    origin = int(history.census_year.max())
    public = public[public.census_year.le(origin)]
    national = public.groupby("census_year").plans.sum()
    offsets = band_offsets(totals_errors(public), origin)
    if offsets is None or not {origin, origin - 1, origin - TOTALS_DESIGN["years"]} <= set(national.index):
        return forecast
    la_totals = history.groupby(["la_code", "census_year"], as_index=False).plans.sum()
    horizons = sorted(int(y) - origin for y in forecast.census_year.unique() if y > origin)
    totals = forecast_totals(la_totals, horizons, national=national, **TOTALS_DESIGN)
    old = forecast[forecast.provision_type.eq(TOTAL)].set_index(["la_code", "census_year"]).forecast
    new = totals.set_index(["la_code", "census_year"])
    scale = (new.forecast / old.where(old > 0)).dropna()
    keys = pd.MultiIndex.from_frame(forecast[["la_code", "census_year"]])
    out = forecast.copy()
    factor = scale.reindex(keys).fillna(1.0).to_numpy()
    out[["forecast", *BANDS]] = out[["forecast", *BANDS]].mul(factor, axis=0)
    is_total = out.provision_type.eq(TOTAL).to_numpy() & keys.isin(scale.index)
    horizon = new.horizon.reindex(keys).to_numpy()
    for band, offset in offsets.items():
        out.loc[is_total, band] = out.forecast[is_total] * np.exp(offset * horizon[is_total])
    out.loc[is_total, "method"] = "LA total: backtested model, bands from DfE's history (docs/forecast_method.md §3)"
    return out


def with_balance_bands(balance: pd.DataFrame, spend: pd.DataFrame, caseload: pd.DataFrame) -> pd.DataFrame:
    """Add spend_<band> (total spend × the LA total's caseload band ratio) and cumulative_<band>
    (cumulative balance ∓ the running sum of the spend deviations) to ``project_dsg_balance`` rows."""
    totals = caseload[caseload.provision_type.eq(TOTAL)].assign(financial_year=lambda d: financial_year(d.census_year))
    ratios = totals[["la_code", "financial_year"]].copy()
    for band in BANDS:
        ratios[band] = totals[band] / totals.forecast.where(totals.forecast > 0)
    spent = spend.groupby(["la_code", "financial_year"], as_index=False).spend_gbp.sum()
    deviation = spent.merge(ratios, on=["la_code", "financial_year"], how="left")
    for band in BANDS:
        deviation[band] = deviation.spend_gbp * (deviation[band] - 1)  # extra spend in the band
    out = balance.merge(deviation.drop(columns="spend_gbp"), on=["la_code", "financial_year"], how="left")
    out = out.sort_values(["la_code", "scenario", "financial_year"], ignore_index=True)
    running = out.groupby(["la_code", "scenario"])[BANDS].cumsum()
    for band in BANDS:
        out[f"expenditure_{band}"] = out.hnb_expenditure_gbp + out[band]
    # More spend lowers the balance: the spend's upper band is the balance's lower band.
    for low, high in (("lower_80", "upper_80"), ("lower_95", "upper_95")):
        out[f"cumulative_{low}"] = out.cumulative_balance_gbp - running[high]
        out[f"cumulative_{high}"] = out.cumulative_balance_gbp - running[low]
    return out.drop(columns=BANDS)
