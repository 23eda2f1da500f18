"""Synthetic programme cohorts (DBV tranches, Safety Valve), derived from the sample's DSG plans.

The programme's rule: the LAs with the largest deficits relative to their high needs income are in
Safety Valve; the next 55 by cumulative deficit ÷ HNB income (as at 2022-23) are DBV, in three
tranches. Real cohorts are configuration supplied by the programme; these are for the sample only.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from dbv_pipeline import settings

from .finance import ACTUAL, COHORT_YEAR, deficit_ratio
from .las import DEFAULT_SEED, fy_label, la_params, load_las

SAFETY_VALVE_COUNT = 38
DBV_TRANCHES = ((1, 20, "2022-07-01"), (2, 15, "2022-10-01"), (3, 20, "2023-04-01"))  # tranche, LAs, start
COLUMNS = ["la_code", "la_name", "programme", "tranche", "diagnostic_start_date", "source"]


def rank_cohort(ratio: dict[str, float]) -> pd.DataFrame:
    """Assign programmes from each LA's 2022-23 cumulative balance ÷ HNB income (all 153 LAs)."""
    las = load_las()
    missing = {la.la_code for la in las} - set(ratio)
    if missing:
        raise ValueError(f"cohorts need every LA; missing {sorted(missing)[:5]}…")
    ranked = sorted(las, key=lambda la: (ratio[la.la_code], la.la_code))  # most negative first
    slots = [("SAFETY_VALVE", "", "")] * SAFETY_VALVE_COUNT
    for tranche, count, start in DBV_TRANCHES:
        slots += [("DBV", str(tranche), start)] * count
    rows = [
        (la.la_code, la.la_name, *(slots[k] if k < len(slots) else ("NONE", "", "")), "synthetic")
        for k, la in enumerate(ranked)
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS, dtype=str)
    return frame.sort_values("la_code", key=lambda s: s.astype(int), ignore_index=True)


def build_cohort(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The cohort of the sample generated with ``seed`` (its DSG plans hit these ratios exactly)."""
    params = la_params(seed)
    return rank_cohort({la.la_code: deficit_ratio(params, la.index) for la in load_las()})


def cohort_from_dsg(dsg_plan: pd.DataFrame) -> pd.DataFrame:
    """The cohort computed from generated ``dsg_plan`` rows (typed: money columns numeric)."""
    year = dsg_plan[(dsg_plan["financial_year"] == fy_label(COHORT_YEAR)) & (dsg_plan["scenario"] == ACTUAL)]
    ratio = year["cumulative_balance_gbp"].astype(float) / year["hnb_income_gbp"].astype(float)
    return rank_cohort(dict(zip(year["la_code"].astype(str), ratio)))


def cohort_csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def programme_by_la(seed: int = DEFAULT_SEED) -> dict[str, str]:
    cohort = build_cohort(seed)
    return dict(zip(cohort["la_code"], cohort["programme"]))


def write_cohort_seed(path: Path = settings.SAMPLE_COHORTS_CSV, seed: int = DEFAULT_SEED) -> Path:
    """Write the sample's cohort as the dbt seed ``programme_cohorts.csv``."""
    path.write_text(cohort_csv(build_cohort(seed)), encoding="utf-8")
    return path
