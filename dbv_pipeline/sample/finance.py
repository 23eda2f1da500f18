"""High needs spend, DSG management plans and mitigations, consistent with the placements.

The LA's truth (outturn by provision, ACTUAL DSG balances) is built once from its spell history and
is the same in every return; forecasts and mitigations belong to one return period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dbv_pipeline.contract import CONTRACT

from .las import (
    LAST_PLAN_YEAR,
    MODEL_START_YEAR,
    S_DSG,
    S_HNB,
    S_MITIGATIONS,
    LaParams,
    LocalAuthority,
    day,
    fy_label,
    rng,
)
from .placements import OPEN, PROVISIONS, History

HNB_PROVISIONS = CONTRACT.codes("hnb_provision_type")  # provision codes + CENTRAL
CENTRAL = next(c for c in HNB_PROVISIONS if c not in PROVISIONS)
OUTTURN, BUDGET = CONTRACT.codes("spend_type")
ACTUAL, UNMITIGATED, MITIGATED = CONTRACT.codes("scenario")
STATUSES = CONTRACT.codes("mitigation_status")
LINES_OF_ENQUIRY = CONTRACT.codes("line_of_enquiry")

# Synthetic Section 251 high-needs lines by provision; the recoupment line is negative.
S251_LINES = {
    "MAINSTREAM": "1.2.1",
    "RP_UNIT": "1.2.4",
    "MSS": "1.2.2",
    "INMSS": "1.2.3",
    "AP": "1.2.7",
    "POST16": "1.2.2",
    "EARLY_YEARS": "1.2.1",
    "EOTAS": "1.2.11",
    "EHE": "1.2.13",
    "NEET": "1.2.13",
    "UNKNOWN": "1.2.13",
    "CENTRAL": "1.2.5",
}
RECOUPMENT = ("MSS", "1.0.2")  # academy place funding recouped by the ESFA
assert set(S251_LINES) == set(HNB_PROVISIONS) and RECOUPMENT[0] in PROVISIONS

# Deficit pressure by financial year (share of the LA's deficit rate applied to expenditure).
PRESSURE = {
    2015: -0.3,
    2016: 0.1,
    2017: 0.5,
    2018: 0.8,
    2019: 1.0,
    2020: 0.9,
    2021: 1.0,
    2022: 1.1,
    2023: 1.2,
    2024: 1.25,
}
PRESSURE_LATER = 1.3
NOMINAL_SPEND_GROWTH = 1.08  # used only to set each LA's 2022-23 deficit ratio
COHORT_YEAR = 2022  # cohorts are ranked on the cumulative deficit ÷ HNB income of 2022-23
MAX_YEARS = 40  # fixed-size draws, so the truth of a year never depends on how many years are built
DBV_GRANT_LINES = {"2", "3", "4", "5", "6", "7"}
assert DBV_GRANT_LINES <= set(LINES_OF_ENQUIRY)

MITIGATION_TITLES = {
    "1": [
        "DSG deficit recovery board with monthly high needs forecasting",
        "High needs budget monitoring – monthly reporting to Schools Forum",
        "Single view of EHCP caseload and commitments for finance and SEND",
    ],
    "2": [
        "Inclusion support fund for mainstream schools – £ per pupil without an EHCP",
        "Ordinarily available provision toolkit and training for SENCOs",
        "Early help panel for requests for EHC needs assessment",
    ],
    "3": [
        "Annual review step-down of plans where outcomes are met",
        "Phase transfer planning from Year 5 and Year 9",
        "Preparation for adulthood pathway – post-16 transitions",
    ],
    "4": [
        "New resourced provision places in mainstream secondary schools",
        "Expansion of maintained special school places – 120 places",
        "Sufficiency strategy for autism and SEMH provision",
    ],
    "5": [
        "Dynamic purchasing system for independent special school places",
        "Regional commissioning of post-16 specialist places",
        "Fee negotiation with independent providers – £ cap on uplift",
    ],
    "6": [
        "Top-up banding review – new descriptors and rates",
        "Harmonise top-up bands across maintained schools and academies",
        "Moderation of top-up banding decisions",
    ],
    "7": [
        "Alternative provision framework and quality assurance",
        "Reduce EOTAS packages through reintegration plans",
        "Outreach from pupil referral units to mainstream schools",
    ],
    "8": [
        "Block transfer from the schools block – 0.5%",
        "Schools Forum agreement to transfer £ to the high needs block",
    ],
    "9": [
        "Joint funding agreement with the ICB for health provision",
        "Social care contributions to residential placements – £ share agreed",
    ],
}
assert set(MITIGATION_TITLES) == set(LINES_OF_ENQUIRY)


def _pressure(year: int) -> float:
    return PRESSURE.get(year, PRESSURE_LATER)


def deficit_ratio(params: LaParams, index: int) -> float:
    """The LA's cumulative DSG balance ÷ HNB income at the end of 2022-23 (negative = deficit).

    The ACTUAL DSG plan is built to hit this ratio exactly, so cohorts can be ranked without
    simulating placements.
    """
    p, reserve = params.deficit_rate[index], params.opening_reserve[index]
    years = range(MODEL_START_YEAR, COHORT_YEAR + 1)
    weight = {y: NOMINAL_SPEND_GROWTH ** (y - COHORT_YEAR) for y in years}
    cumulative = reserve * weight[MODEL_START_YEAR] * (1 - p * _pressure(MODEL_START_YEAR))
    cumulative -= sum(p * _pressure(y) * weight[y] for y in years)
    return float(cumulative / (1 - p * _pressure(COHORT_YEAR)))


@dataclass
class Finance:
    """One LA's financial truth for each year from 2015-16 (index 0) to its last return."""

    provision_spend: np.ndarray  # (years, PROVISIONS) outturn, £
    central: np.ndarray
    recouped: np.ndarray  # place funding recouped (shown as a negative line), 0 if none
    uses_s251: bool
    expenditure: np.ndarray  # ACTUAL DSG plan
    income: np.ndarray
    cumulative: np.ndarray

    def at(self, year: int) -> int:
        return year - MODEL_START_YEAR


def outturn_by_provision(h: History, last_year: int) -> np.ndarray:
    """Spend per financial year and provision: each spell's annual cost × its share of the year."""
    years = range(MODEL_START_YEAR, last_year + 1)
    out = np.zeros((len(years), len(PROVISIONS)))
    cost = np.nan_to_num(h.cost)
    for i, y in enumerate(years):
        fs, fe = day(y, 4, 1), day(y + 1, 3, 31)
        overlap = np.minimum(np.minimum(h.spell_end, OPEN), fe) - np.maximum(h.spell_start, fs) + 1
        share = np.clip(overlap, 0, None) / (fe - fs + 1)
        out[i] = np.bincount(h.provision, weights=cost * share, minlength=len(PROVISIONS))
    return np.round(out)


def finance_truth(seed: int, la: LocalAuthority, params: LaParams, h: History, last_year: int) -> Finance:
    """Outturn, central and recoupment lines, and the ACTUAL DSG plan up to ``last_year``."""
    i = la.index
    r = rng(seed, S_HNB, i)
    n = last_year - MODEL_START_YEAR + 1
    central_noise, recoup_share, plan_noise = (
        r.uniform(lo, hi, MAX_YEARS)[:n] for lo, hi in ((0.9, 1.1), (0.02, 0.06), (-0.015, 0.015))
    )
    spend = outturn_by_provision(h, last_year)
    central = np.round(spend.sum(axis=1) * params.central_share[i] * central_noise)
    has_recoupment = params.uses_s251[i] and params.recoupment[i]
    recouped = np.round(spend[:, PROVISIONS.index(RECOUPMENT[0])] * recoup_share) if has_recoupment else np.zeros(n)
    expenditure = np.round((spend.sum(axis=1) + central) * (1 + plan_noise))

    p = params.deficit_rate[i]
    income = np.round(expenditure * (1 - p * np.array([_pressure(MODEL_START_YEAR + k) for k in range(n)])))
    cumulative = np.zeros(n)
    balance = np.round(params.opening_reserve[i] * income[0])
    target = deficit_ratio(params, i)
    for k in range(n):
        if MODEL_START_YEAR + k == COHORT_YEAR:  # income that lands the 2022-23 ratio exactly
            income[k] = max(0.0, np.round((expenditure[k] - balance) / (1 - target)))
        balance += income[k] - expenditure[k]
        cumulative[k] = balance
    return Finance(spend, central, recouped, bool(params.uses_s251[i]), expenditure, income, cumulative)


def hnb_spend_table(la: LocalAuthority, f: Finance, period: int, first_year: int, seed: int) -> dict:
    """OUTTURN for ``first_year``..``period`` and BUDGET for the next year, one row per provision."""
    r = rng(seed, S_HNB, la.index, period)
    budget_growth = r.uniform(1.03, 1.09) * r.uniform(0.98, 1.02, len(PROVISIONS) + 1)
    rows: list[tuple[str, str, str, float, str]] = []
    p = f.at(period)
    blocks = [
        (y, OUTTURN, np.append(f.provision_spend[f.at(y)], f.central[f.at(y)]), f.recouped[f.at(y)])
        for y in range(first_year, period + 1)
    ]
    budget = np.round(np.append(f.provision_spend[p], f.central[p]) * budget_growth)
    blocks.append((period + 1, BUDGET, budget, np.round(f.recouped[p] * budget_growth[0])))
    for y, spend_type, amounts, recouped in blocks:
        for code, amount in zip(HNB_PROVISIONS, amounts):
            if code == RECOUPMENT[0]:
                amount += recouped
            rows.append((fy_label(y), code, spend_type, amount, S251_LINES[code] if f.uses_s251 else ""))
        if recouped:
            rows.append((fy_label(y), RECOUPMENT[0], spend_type, -recouped, RECOUPMENT[1]))
    years, codes, types, amounts, lines = (np.array(c) for c in zip(*rows))
    return {
        "la_code": np.full(len(rows), la.la_code),
        "financial_year": years,
        "provision_type": codes,
        "spend_type": types,
        "spend_gbp": amounts.astype(float),
        "s251_line": lines,
    }


def plan_and_mitigations(
    la: LocalAuthority, f: Finance, period: int, first_year: int, seed: int, programme: str
) -> tuple[dict, dict]:
    """The return's ``dsg_plan`` (ACTUAL, then forecasts to 2028-29) and ``mitigations`` tables."""
    r = rng(seed, S_DSG, la.index, period)
    spend_growth, income_growth = r.uniform(0.05, 0.10), r.uniform(0.02, 0.05)
    forecast_years = list(range(period + 1, LAST_PLAN_YEAR + 1))
    p = f.at(period)
    unmitigated = np.round(f.expenditure[p] * (1 + spend_growth) ** np.arange(1, len(forecast_years) + 1))
    income = np.round(f.income[p] * (1 + income_growth) ** np.arange(1, len(forecast_years) + 1))
    mitigations, savings = _mitigations(la, f, period, forecast_years, income, unmitigated, seed, programme)
    mitigated = unmitigated - savings

    rows = [
        (y, ACTUAL, f.income[f.at(y)], f.expenditure[f.at(y)], f.cumulative[f.at(y)])
        for y in range(first_year, period + 1)
    ]
    for scenario, spend in ((UNMITIGATED, unmitigated), (MITIGATED, mitigated)):
        balance = f.cumulative[p]
        for y, inc, exp in zip(forecast_years, income, spend):
            balance += inc - exp
            rows.append((y, scenario, inc, exp, balance))
    years, scenarios, inc, exp, cum = zip(*rows)
    inc, exp = np.array(inc, dtype=float), np.array(exp, dtype=float)
    plan = {
        "la_code": np.full(len(rows), la.la_code),
        "financial_year": np.array([fy_label(y) for y in years]),
        "scenario": np.array(scenarios),
        "hnb_income_gbp": inc,
        "hnb_expenditure_gbp": exp,
        "in_year_balance_gbp": inc - exp,
        "cumulative_balance_gbp": np.array(cum, dtype=float),
    }
    return plan, mitigations


def _mitigations(la, f, period, forecast_years, income, unmitigated, seed, programme):
    """3-12 mitigations with yearly savings; returns the table and total savings per forecast year."""
    r = rng(seed, S_MITIGATIONS, la.index, period)
    n = int(r.integers(3, 13))
    lines = np.sort(r.choice(LINES_OF_ENQUIRY, n))
    titles = [MITIGATION_TITLES[line][int(r.integers(len(MITIGATION_TITLES[line])))] for line in lines]
    status = r.choice(STATUSES, n, p=[0.4, 0.35, 0.25])
    assured, assessed = status == STATUSES[0], status == STATUSES[1]
    delay = np.where(assured, r.integers(0, 2, n), np.where(assessed, 1, r.integers(1, 3, n)))  # years after period
    last = max(period, LAST_PLAN_YEAR)
    start = np.minimum(period + delay, last)
    weight = r.lognormal(0.0, 0.6, n)
    ambition = r.uniform(0.3, 0.9)

    amounts: dict[tuple[int, int], float] = {}
    totals = np.zeros(len(forecast_years))
    year_targets = [(period, 0.01 * f.expenditure[f.at(period)])]
    for k, (y, inc, exp) in enumerate(zip(forecast_years, income, unmitigated)):
        ramp = (0.3, 0.5, 0.65)[k] if k < 3 else 0.75
        year_targets.append((y, max(exp - inc, 0.01 * exp) * ambition * ramp))
    for y, target in year_targets:
        active = np.flatnonzero(start <= y)
        if len(active) == 0:
            continue
        share = weight[active] / weight[active].sum()
        for m, s in zip(active, share):
            amounts[(m, y)] = np.round(target * s / 1000) * 1000
        if y > period:
            totals[y - period - 1] = sum(amounts[(m, y)] for m in active)

    keys = sorted(amounts)
    grant = r.uniform(20_000, 200_000, len(keys))
    rows = []
    for (m, y), g in zip(keys, grant):
        funded = programme == "DBV" and y <= 2025 and lines[m] in DBV_GRANT_LINES
        rows.append(
            (
                f"M{m + 1:02d}",
                lines[m],
                titles[m],
                status[m],
                fy_label(y),
                amounts[(m, y)],
                np.round(g / 1000) * 1000 if funded else np.nan,
            )
        )
    ids, loe, title, st, years, saving, grants = (np.array(c) for c in zip(*rows))
    table = {
        "la_code": np.full(len(rows), la.la_code),
        "mitigation_id": ids,
        "line_of_enquiry": loe,
        "title": title,
        "status": st,
        "financial_year": years,
        "saving_gbp": saving.astype(float),
        "dbv_grant_gbp": grants.astype(float),
    }
    return table, totals
