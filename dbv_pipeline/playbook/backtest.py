"""Backtest of the caseload forecast on DfE's public caseload: fit on the January censuses up to 2022,
forecast 2023–2025 for every LA, compare with what was published and with a naive trend.

    python -m dbv_pipeline.playbook.backtest [--source PATH] [--out DIR] [--origin 2022]

Naive baseline: the LA's last year-on-year change carried forward, last value + (last − previous) × h.
Writes ``backtest.md`` and ``backtest_la_mape.csv`` (per LA MAPE, model vs baseline) into ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dbv_pipeline.playbook.forecast import (BOUNDARY_CHANGES, DAMPING_GRID, KEYS, TOTAL, forecast_caseload,
                                            harmonise_boundaries, point_forecast)
from dbv_pipeline.public.dfe_ehcp import load_release
from dbv_pipeline.settings import SETTINGS_ENV, DataPaths, PipelineSettings

ORIGIN = 2022
HORIZONS = (1, 2, 3)
MIN_PLANS_FOR_APE = 20  # provision-level MAPE only where the actual has this many plans (WAPE uses all)


@dataclass(frozen=True)
class PublicCaseload:
    """DfE's LA-level caseload: by provision where the breakdown adds up to the published total."""

    caseload: pd.DataFrame  # la_code (old 3-digit code), census_year, provision_type, plans
    totals: pd.DataFrame  # la_code, census_year, plans: the published LA total
    names: pd.Series  # la_name by la_code (latest)
    no_breakdown: pd.DataFrame  # la_code, census_year whose breakdown is missing or does not add up


@dataclass(frozen=True)
class Backtest:
    origin: int
    totals: pd.DataFrame  # per LA × census: actual, model, baseline, bands, ape_model, ape_baseline
    provisions: pd.DataFrame  # per LA × provision × census: actual, model, baseline
    per_la: pd.DataFrame  # la_code, la_name, horizons, mape_model, mape_baseline, model_better
    damping: pd.DataFrame  # phi, mape: LA-total MAPE of the point forecast for each damping factor
    excluded: pd.DataFrame  # la_code, la_name, reason
    no_breakdown: pd.DataFrame  # la_code, census_year: provision breakdown missing (totals still scored)
    method: str


def read_public_caseload(source: str | Path) -> PublicCaseload:
    """The release's caseload table (via ``load_release``) at LA level, provisions summed per code."""
    with tempfile.TemporaryDirectory() as tmp:
        load_release(source, Path(tmp))
        raw = pd.read_parquet(Path(tmp) / "caseload.parquet")
    la = raw[raw.geographic_level.eq("Local authority")].rename(columns={"old_la_code": "la_code"})
    keys = ["la_code", "census_year"]
    by_provision = la.groupby(keys + ["provision_type"], as_index=False).plans.sum(min_count=1)
    totals = la.groupby(keys, as_index=False).ehcplans.first().rename(columns={"ehcplans": "plans"})
    check = by_provision.groupby(keys, as_index=False).plans.sum().merge(totals, on=keys, suffixes=("", "_total"))
    complete = check[check.plans.eq(check.plans_total)][keys]
    names = la.sort_values("census_year").groupby("la_code").la_name.last()
    return PublicCaseload(
        caseload=by_provision.merge(complete, on=keys).dropna(subset=["plans"]).astype({"plans": float}),
        totals=totals.dropna(subset=["plans"]).astype({"plans": float}),
        names=names,
        no_breakdown=check.merge(complete, on=keys, how="left", indicator=True).query("_merge == 'left_only'")[keys],
    )


def naive_trend(caseload: pd.DataFrame, to_year: int) -> pd.DataFrame:
    """Last value + last year-on-year change × h (≥ 0) per series; flat where there is one census.

    ``caseload``: la_code, provision_type, census_year, plans. A gap before the last census counts as
    its average yearly change. Returns la_code, provision_type, census_year, horizon, baseline.
    """
    frame = caseload.sort_values(KEYS + ["census_year"])
    by = frame.groupby(KEYS)
    frame = frame.assign(change=by.plans.diff() / by.census_year.diff())
    last = frame.groupby(KEYS).tail(1)
    years = pd.DataFrame({"census_year": range(int(frame.census_year.max()) + 1, to_year + 1)})
    out = last.rename(columns={"census_year": "year_last"}).merge(years, how="cross")
    out["change"] = out.change.fillna(0)
    out["horizon"] = out.census_year - out.year_last
    out["baseline"] = (out.plans + out.change * out.horizon).clip(lower=0)
    return out[KEYS + ["census_year", "horizon", "baseline"]]


def _on_origin_geography(frame: pd.DataFrame, origin: int) -> pd.DataFrame:
    """Actuals of LAs created after ``origin`` added to the one LA they replaced (Cumbria = 942 + 943)."""
    mapping = {s: c.predecessors[0] for c in BOUNDARY_CHANGES if c.first_census > origin
               and len(c.predecessors) == 1 for s in c.successors}
    mapped = frame.assign(la_code=frame.la_code.replace(mapping))
    keys = [c for c in mapped.columns if c != "plans"]
    return mapped.groupby(keys, as_index=False).plans.sum()


def run_backtest(public: PublicCaseload, origin: int = ORIGIN, horizons=HORIZONS) -> Backtest:
    """Fit on censuses up to ``origin``, forecast ``origin`` + ``horizons``, score against the release."""
    to_year = origin + max(horizons)
    history = harmonise_boundaries(public.caseload[public.caseload.census_year.le(origin)])
    history_totals = history.groupby(["la_code", "census_year"], as_index=False).plans.sum().assign(
        provision_type=TOTAL)
    fc = forecast_caseload(history, to_year)
    targets = [origin + h for h in horizons]
    fc = fc[fc.census_year.isin(targets)]
    baseline = pd.concat([naive_trend(history, to_year), naive_trend(history_totals, to_year)])

    actual_totals = _on_origin_geography(public.totals[public.totals.census_year.isin(targets)], origin)
    actual_prov = _on_origin_geography(public.caseload[public.caseload.census_year.isin(targets)], origin)
    actual = pd.concat([actual_prov, actual_totals.assign(provision_type=TOTAL)]).rename(columns={"plans": "actual"})
    scored = (fc.merge(baseline, on=KEYS + ["census_year"], how="left")
              .merge(actual, on=KEYS + ["census_year"]).rename(columns={"forecast": "model"}))
    scored["horizon"] = scored.census_year - origin
    scored["ape_model"] = (scored.model - scored.actual).abs() / scored.actual * 100
    scored["ape_baseline"] = (scored.baseline - scored.actual).abs() / scored.actual * 100
    totals = scored[scored.provision_type.eq(TOTAL)].drop(columns="provision_type").reset_index(drop=True)
    totals["in_80"] = totals.actual.between(totals.lower_80, totals.upper_80)
    totals["in_95"] = totals.actual.between(totals.lower_95, totals.upper_95)

    per_la = totals.groupby("la_code", as_index=False).agg(
        horizons=("horizon", "size"), mape_model=("ape_model", "mean"), mape_baseline=("ape_baseline", "mean"))
    per_la.insert(1, "la_name", per_la.la_code.map(public.names))
    per_la["model_better"] = per_la.mape_model < per_la.mape_baseline

    damping = pd.DataFrame({"phi": DAMPING_GRID, "mape": [
        _total_mape(point_forecast(history, to_year, damping=phi), actual_totals) for phi in DAMPING_GRID]})
    return Backtest(origin, totals, scored[scored.provision_type.ne(TOTAL)].reset_index(drop=True), per_la,
                    damping, _excluded(public, origin, set(per_la.la_code)), public.no_breakdown,
                    fc.method.iloc[0].split("; ", 1)[1])


def _total_mape(points: pd.DataFrame, actual_totals: pd.DataFrame) -> float:
    summed = points.groupby(["la_code", "census_year"], as_index=False).forecast.sum()
    joined = summed.merge(actual_totals, on=["la_code", "census_year"])
    return float(((joined.forecast - joined.plans).abs() / joined.plans).mean() * 100)


def _excluded(public: PublicCaseload, origin: int, scored: set[str]) -> pd.DataFrame:
    """LAs in the release that are not scored, with the reason."""
    reasons = {}
    for change in BOUNDARY_CHANGES:
        after = change.first_census > origin
        for code in change.successors if after else change.predecessors:
            reasons[code] = (f"created in {change.first_census}, after the origin: scored as part of "
                             f"{'/'.join(change.predecessors)}, the area it replaced" if after else
                             f"abolished before {change.first_census}: its history is split across "
                             f"{'/'.join(change.successors)}")
    codes = sorted(set(public.totals.la_code) - scored)
    return pd.DataFrame({"la_code": codes, "la_name": [public.names.get(c) for c in codes],
                         "reason": [reasons.get(c, "no forecast or no actual") for c in codes]})


def summary(result: Backtest) -> pd.DataFrame:
    """LA-total MAPE (model, baseline), share of LAs better and band coverage, by horizon and overall."""
    t = result.totals
    horizons = sorted(t.horizon.unique())
    rows = [t[t.horizon.eq(h)] for h in horizons] + [t]
    return pd.DataFrame({
        "horizon": [str(h) for h in horizons] + ["all"],
        "census": [f"Jan {result.origin + h}" for h in horizons]
        + [f"Jan {result.origin + horizons[0]}–{result.origin + horizons[-1]}"],
        "las": [r.la_code.nunique() for r in rows],
        "mape_model": [r.ape_model.mean() for r in rows],
        "mape_baseline": [r.ape_baseline.mean() for r in rows],
        "coverage_80": [r.in_80.mean() * 100 for r in rows],
        "coverage_95": [r.in_95.mean() * 100 for r in rows],
    })


def by_provision(result: Backtest) -> pd.DataFrame:
    """Per provision: MAPE where the actual has MIN_PLANS_FOR_APE plans or more, and WAPE on all series."""
    p = result.provisions
    big = p[p.actual >= MIN_PLANS_FOR_APE].groupby("provision_type")
    actual = p.groupby("provision_type").actual.sum()
    out = pd.DataFrame({
        "mape_model": big.ape_model.mean(),
        "mape_baseline": big.ape_baseline.mean(),
        "wape_model": (p.model - p.actual).abs().groupby(p.provision_type).sum() / actual * 100,
        "wape_baseline": (p.baseline - p.actual).abs().groupby(p.provision_type).sum() / actual * 100,
        "series_years": p.groupby("provision_type").size(),
    })
    return out.reset_index()


def write_report(result: Backtest, out_dir: Path, source: str | Path) -> tuple[Path, Path]:
    """``backtest.md`` and ``backtest_la_mape.csv`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / "backtest_la_mape.csv", out_dir / "backtest.md"
    result.per_la.round(3).to_csv(csv_path, index=False)
    s, p = summary(result), by_provision(result)
    overall = s.iloc[-1]
    lines = [
        f"# Caseload forecast backtest (origin January {result.origin})", "",
        f"Source: `{Path(str(source)).name}`. Fit on the January censuses up to {result.origin}; forecast "
        f"January {result.origin + 1}–{result.origin + int(result.totals.horizon.max())} for every LA; "
        f"model: {result.method}.",
        "Baseline: the LA's last year-on-year change carried forward (last value + (last − previous) × h).",
        "LA totals are scored against DfE's published total EHC plans; MAPE = mean over LAs of "
        "|forecast − actual| / actual.", "",
        f"**Overall MAPE of LA totals: model {overall.mape_model:.2f}% vs baseline {overall.mape_baseline:.2f}%** "
        f"({result.per_la.model_better.mean() * 100:.0f}% of {len(result.per_la)} LAs better with the model).", "",
        "## LA totals by horizon", "", _markdown(s, {"mape_model": 2, "mape_baseline": 2, "coverage_80": 0,
                                                       "coverage_95": 0}), "",
        "Coverage: share of LA × census actuals inside the 80% and 95% bands (in %).", "",
        "## By provision type", "",
        f"MAPE only where the actual has {MIN_PLANS_FOR_APE} plans or more; WAPE = Σ|error| / Σ actual over all "
        "series. The January 2023 collection moved to child-level data and reclassified placements "
        "(e.g. POST16, UNKNOWN), which forecasts fitted before 2023 cannot anticipate.", "",
        _markdown(p, {c: 2 for c in p.columns if c.startswith(("mape", "wape"))}), "",
        "## Damping sensitivity (point forecasts, LA totals)", "",
        f"The damping factor is chosen by rolling-origin validation on the history up to {result.origin} only; "
        "this table uses the test years and is shown for transparency, not used for the choice.", "",
        _markdown(result.damping, {"mape": 2}), "",
        "## Boundary changes and exclusions", "",
        "Histories of abolished LAs are split across their successors by the successors' shares at their "
        "first census (per provision). LAs created after the origin are scored on the area they replaced.", "",
        _markdown(result.excluded, {}), "",
        "LA-years whose provision breakdown is missing or does not add up to the published total (left out "
        "of the provision history and provision scores; LA totals use the published total): "
        + (", ".join(f"{r.la_code} ({r.census_year})" for r in result.no_breakdown.itertuples()) or "none") + ".", "",
        f"Per LA: `{csv_path.name}`.", "",
    ]
    md_path.write_text("\n".join(lines), encoding="utf-8")
    return md_path, csv_path


def _markdown(frame: pd.DataFrame, decimals: dict[str, int]) -> str:
    def cell(column, value):
        if column in decimals and isinstance(value, (int, float, np.number)) and not pd.isna(value):
            return f"{value:.{decimals[column]}f}"
        return "" if pd.isna(value) else str(value)
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(c, v) for c, v in zip(frame.columns, row)) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([header, *body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=os.environ.get(SETTINGS_ENV["dfe_ehcp_source"], PipelineSettings().dfe_ehcp_source),
                        help="the DfE EHCP release: zip, folder or http(s) address (default: $DBV_DFE_EHCP_SOURCE, "
                             "else DfE's download address)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default: <data>/reports/backtest)")
    parser.add_argument("--origin", type=int, default=ORIGIN, help="last January census used to fit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the release loader's warnings about other tables
    out = args.out or DataPaths.from_env().reports / "backtest"
    result = run_backtest(read_public_caseload(args.source), args.origin)
    md_path, csv_path = write_report(result, out, args.source)
    s = summary(result)
    print(f"Backtest, origin January {result.origin}, {s.las.iloc[-1]} LAs ({result.method})")
    for row in s.itertuples(index=False):
        print(f"  horizon {row.horizon:>3} ({row.census}): MAPE model {row.mape_model:5.2f}%  "
              f"baseline {row.mape_baseline:5.2f}%  coverage 80% {row.coverage_80:3.0f}  95% {row.coverage_95:3.0f}")
    print(f"Report: {md_path}\nPer LA: {csv_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
