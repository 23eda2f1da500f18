"""Derived frames for the cross-row and cross-source rules, so GX validates them with simple
expectations (one row per comparison, with its gap as a column)."""

from __future__ import annotations

import pandas as pd

# A raw version is (la_code, return_period, source_sha256); marts have only la_code.
GROUP_COLUMNS = ("la_code", "return_period", "source_sha256")

ROLL_FORWARD_COLUMNS = [
    "la_code",
    "return_period",
    "source_sha256",
    "source_file",
    "source_line",
    "financial_year",
    "scenario",
    "previous_year",
    "previous_scenario",
    "previous_cumulative_gbp",
    "in_year_balance_gbp",
    "cumulative_balance_gbp",
    "expected_cumulative_gbp",
    "roll_forward_gap_gbp",
]


def _fy(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def dsg_roll_forward(dsg: pd.DataFrame) -> pd.DataFrame:
    """Each dsg_plan row whose previous year is known, with the gap between its cumulative balance
    and the previous cumulative plus this year's in-year balance.

    ACTUAL rows follow the previous ACTUAL year; forecast rows follow the previous year's ACTUAL row
    if there is one (forecasts continue from the last ACTUAL year), else their own scenario. The
    first year of a chain is not checked. Rows are compared within one version (or one LA, for marts).
    """
    group = [c for c in GROUP_COLUMNS if c in dsg.columns]
    out = []
    for _, rows in dsg.groupby(group, sort=False, dropna=False):
        by_key = {}
        for row in rows.to_dict("records"):
            by_key.setdefault((row["scenario"], int(str(row["financial_year"])[:4])), row)
        for (scenario, year), row in by_key.items():
            prev = by_key.get(("ACTUAL", year - 1))
            if prev is None and scenario != "ACTUAL":
                prev = by_key.get((scenario, year - 1))
            if prev is None:
                continue
            expected = prev["cumulative_balance_gbp"] + row["in_year_balance_gbp"]
            out.append(
                {
                    **{c: row.get(c) for c in ROLL_FORWARD_COLUMNS[:7]},
                    "previous_year": _fy(year - 1),
                    "previous_scenario": prev["scenario"],
                    "previous_cumulative_gbp": prev["cumulative_balance_gbp"],
                    "in_year_balance_gbp": row["in_year_balance_gbp"],
                    "cumulative_balance_gbp": row["cumulative_balance_gbp"],
                    "expected_cumulative_gbp": expected,
                    "roll_forward_gap_gbp": row["cumulative_balance_gbp"] - expected,
                }
            )
    frame = pd.DataFrame(out, columns=ROLL_FORWARD_COLUMNS)
    return frame.astype({c: "float64" for c in ROLL_FORWARD_COLUMNS if c.endswith("_gbp")})


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, blank (not checked) where the denominator is 0 or blank."""
    denominator = denominator.astype("float64")
    return numerator.astype("float64") / denominator.where(denominator != 0)


def caseload_vs_dfe(census: pd.DataFrame, dfe_caseload: pd.DataFrame) -> pd.DataFrame:
    """Each LA and January census in both ``fct_ehcp_census`` and DfE's published caseload
    (``la_code, census_year, dfe_caseload``), with the relative gap (LA − DfE) / DfE."""
    la = census.groupby(["la_code", "census_year"], as_index=False)["ehcp_count"].sum()
    la = la.rename(columns={"ehcp_count": "la_caseload"})
    frame = la.merge(dfe_caseload, on=["la_code", "census_year"], how="inner")
    frame["caseload_gap_ratio"] = _ratio(frame["la_caseload"] - frame["dfe_caseload"], frame["dfe_caseload"])
    return frame[["la_code", "census_year", "la_caseload", "dfe_caseload", "caseload_gap_ratio"]]


def hnb_vs_dsg(hnb_spend: pd.DataFrame, dsg_balance: pd.DataFrame) -> pd.DataFrame:
    """Each LA and year with both OUTTURN spend (``fct_hnb_spend``) and an ACTUAL DSG plan row
    (``fct_dsg_balance``), with the relative gap (HNB outturn − DSG expenditure) / DSG expenditure."""
    outturn = hnb_spend[hnb_spend["spend_type"] == "OUTTURN"]
    outturn = outturn.groupby(["la_code", "financial_year"], as_index=False)["spend_gbp"].sum()
    actual = dsg_balance[dsg_balance["scenario"] == "ACTUAL"][["la_code", "financial_year", "hnb_expenditure_gbp"]]
    frame = outturn.rename(columns={"spend_gbp": "hnb_outturn_gbp"}).merge(
        actual.rename(columns={"hnb_expenditure_gbp": "dsg_actual_expenditure_gbp"}), on=["la_code", "financial_year"]
    )
    frame["spend_gap_ratio"] = _ratio(
        frame["hnb_outturn_gbp"] - frame["dsg_actual_expenditure_gbp"], frame["dsg_actual_expenditure_gbp"]
    )
    return frame


def unit_cost_vs_median(unit_cost: pd.DataFrame) -> pd.DataFrame:
    """Each ``fct_unit_cost`` row with a positive unit cost, with the national median for its year,
    provision and spend type (over every LA in the warehouse) and its ratio to that median."""
    keys = ["financial_year", "provision_type", "spend_type"]
    costed = unit_cost[unit_cost["unit_cost_gbp"] > 0]
    medians = costed.groupby(keys, as_index=False)["unit_cost_gbp"].agg(["median", "count"])
    medians = medians.rename(columns={"median": "national_median_gbp", "count": "las_in_median"})
    frame = costed[["la_code", *keys, "unit_cost_gbp"]].merge(medians, on=keys)
    frame["unit_cost_ratio"] = _ratio(frame["unit_cost_gbp"], frame["national_median_gbp"])
    return frame
