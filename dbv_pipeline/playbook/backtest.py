"""Rolling-origin backtest of the LA caseload forecast on DfE's public history, 2010-2025.

    python -m dbv_pipeline.playbook.backtest [--source SOURCES] [--out DIR]   (make backtest)

Every January census with at least four censuses up to it is a forecast origin; each LA (on current
boundaries, ``dbv_pipeline.public.history``) is forecast 1-3 years ahead from the censuses up to the
origin only, by the model and by the baselines a forecaster would try first, and scored against what
DfE published. The model's 80% and 95% bands come from the empirical quantiles of its own log errors at
earlier origins (only errors whose census was published by the origin). Prints the table and writes
``backtest.md``, ``backtest_by_origin.csv`` and ``summary.json`` to ``$DBV_DATA_DIR/backtest``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from dbv_pipeline.playbook.forecast import TOTALS_DESIGN, band_offsets, forecast_totals
from dbv_pipeline.public.dfe_ehcp import load_release, provenance_text, read_provenance
from dbv_pipeline.public.history import la_history
from dbv_pipeline.settings import SETTINGS_ENV, DataPaths, PipelineSettings

HORIZONS = (1, 2, 3)
MIN_CENSUSES = 4  # censuses up to an origin (three year-on-year changes: a 3-year CAGR)
DESIGN_ORIGINS = range(2013, 2019)  # the design was chosen on these; 2019-2024 were held back
LEVELS = (80, 95)  # the bands, in % (their quantiles: forecast.LEVELS)
BAND_COLUMNS = tuple(f"{side}_{level}" for level in LEVELS for side in ("lower", "upper"))
MODEL = "model"


def _wide(history: pd.DataFrame) -> pd.DataFrame:
    """plans as an LA × census matrix (LAs with a value every year)."""
    return history.pivot(index="la_code", columns="census_year", values="plans").dropna()


def _growth(y: pd.DataFrame, origin: int, years: int) -> pd.Series:
    return np.log(y[origin] / y[origin - years]) / years


def baselines(y: pd.DataFrame, origin: int, h: int) -> dict[str, pd.Series]:
    """The simple forecasts of every LA at ``origin + h`` from the censuses up to ``origin``."""
    national = y.loc[:, :origin].sum()
    last = y[origin]
    t = np.arange(MIN_CENSUSES, dtype=float)
    recent = y.loc[:, origin - MIN_CENSUSES + 1 : origin].to_numpy()
    slope = ((t - t.mean()) * (recent - recent.mean(axis=1, keepdims=True))).sum(axis=1) / ((t - t.mean()) ** 2).sum()
    return {
        "last value": last,
        "last change": (last + (y[origin] - y[origin - 1]) * h).clip(lower=0),
        "linear trend (4 censuses)": pd.Series(
            recent.mean(axis=1) + slope * (t[-1] - t.mean() + h), index=y.index
        ).clip(lower=0),
        "LA 3-year CAGR": last * np.exp(_growth(y, origin, 3) * h),
        "LA last year's growth": last * np.exp(_growth(y, origin, 1) * h),
        "last value × national 3-year CAGR": last * np.exp(np.log(national[origin] / national[origin - 3]) / 3 * h),
        "last value × national last year's growth": last * np.exp(np.log(national[origin] / national[origin - 1]) * h),
    }


def run_backtest(history: pd.DataFrame, horizons=HORIZONS, design: dict = TOTALS_DESIGN) -> pd.DataFrame:
    """One row per origin, horizon, method and LA: forecast, actual, ape, error_pct; the model's rows
    also lower_80 … upper_95 (none where no earlier origin has errors to calibrate from).

    ``history``: la_code, census_year, plans (LA totals on current boundaries, no gaps).
    """
    y = _wide(history)
    years = list(y.columns)
    rows = []
    for origin in years[MIN_CENSUSES - 1 : -1]:
        model = forecast_totals(history[history.census_year.le(origin)], horizons, **design)
        for h in horizons:
            if origin + h not in y.columns:
                continue
            actual = y[origin + h]
            methods = {MODEL: model[model.horizon.eq(h)].set_index("la_code").forecast, **baselines(y, origin, h)}
            for method, forecast in methods.items():
                rows.append(
                    pd.DataFrame(
                        {
                            "origin": origin,
                            "horizon": h,
                            "census_year": origin + h,
                            "method": method,
                            "la_code": y.index,
                            "forecast": forecast.reindex(y.index).to_numpy(),
                            "actual": actual.to_numpy(),
                        }
                    )
                )
    out = pd.concat(rows, ignore_index=True)
    out["error_pct"] = (out.forecast - out.actual) / out.actual * 100
    out["ape"] = out.error_pct.abs()
    return add_bands(out)


def add_bands(scored: pd.DataFrame) -> pd.DataFrame:
    """The model's bands at each origin and horizon: its forecast × exp(horizon × ``band_offsets``), split
    conformal on its own errors at earlier origins whose target census was published by the origin (the
    last ``CALIBRATION_YEARS``). An origin with no past errors (the first) gets no band."""
    model = scored[scored.method.eq(MODEL)].assign(e=lambda d: np.log(d.actual / d.forecast) / d.horizon)
    bands = []
    for (origin, h), part in model.groupby(["origin", "horizon"]):
        offsets = band_offsets(model, origin)
        if offsets is None:
            continue
        bands.append(
            part[["origin", "horizon", "la_code"]].assign(
                **{band: part.forecast * np.exp(o * h) for band, o in offsets.items()}
            )
        )
    return scored.merge(pd.concat(bands), on=["origin", "horizon", "la_code"], how="left")


def table(scored: pd.DataFrame) -> pd.DataFrame:
    """Per origin and horizon (then over all): MAPE, median APE and bias of the model and each
    baseline, the best baseline, and the model's band coverage."""

    def stats(frame: pd.DataFrame) -> pd.Series:
        by = frame.groupby("method")
        mape = by.ape.mean()
        base = mape.drop(MODEL)
        model = frame[frame.method.eq(MODEL)]
        banded = model.dropna(subset=["lower_80"])
        cover = {
            f"coverage_{level}": (
                banded.actual.between(banded[f"lower_{level}"], banded[f"upper_{level}"]).mean() * 100
                if len(banded)
                else np.nan
            )
            for level in LEVELS
        }
        return pd.Series(
            {
                "las": model.la_code.nunique(),
                "model_mape": mape[MODEL],
                "model_median_ape": by.ape.median()[MODEL],
                "model_bias": by.error_pct.mean()[MODEL],
                "best_baseline": base.idxmin(),
                "best_baseline_mape": base.min(),
                "best_baseline_median_ape": by.ape.median()[base.idxmin()],
                "best_baseline_bias": by.error_pct.mean()[base.idxmin()],
                **cover,
                **{f"mape {m}": v for m, v in mape.items()},
            }
        )

    per = scored.groupby(["origin", "horizon"]).apply(stats, include_groups=False).reset_index()
    return per


def summarise(scored: pd.DataFrame, source: str) -> dict:
    """The figures tracked from run to run (percentages over all origins and horizons)."""

    def over(frame: pd.DataFrame) -> dict:
        mape = frame.groupby("method").ape.mean()
        base = mape.drop(MODEL)
        model = frame[frame.method.eq(MODEL)]
        banded = model.dropna(subset=["lower_80"])
        return {
            "model_mape": round(float(mape[MODEL]), 3),
            "best_baseline": base.idxmin(),
            "best_baseline_mape": round(float(base.min()), 3),
            "model_vs_best_baseline_pct": round(float((mape[MODEL] / base.min() - 1) * 100), 2),
            "model_median_ape": round(float(model.ape.median()), 3),
            "model_bias": round(float(model.error_pct.mean()), 3),
            **{
                f"coverage_{level}": round(
                    float(banded.actual.between(banded[f"lower_{level}"], banded[f"upper_{level}"]).mean() * 100), 2
                )
                for level in LEVELS
            },
            "baselines_mape": {m: round(float(v), 3) for m, v in base.sort_values().items()},
        }

    per = table(scored)
    return {
        **over(scored),
        "origins": sorted(int(o) for o in scored.origin.unique()),
        "horizons": sorted(int(h) for h in scored.horizon.unique()),
        "design_origins": [o for o in DESIGN_ORIGINS if o in set(scored.origin)],
        "held_back": over(scored[~scored.origin.isin(DESIGN_ORIGINS)]),
        "design": TOTALS_DESIGN,
        "source": source,
        "targets": {"model_mape_at_most_pct_of_best_baseline": 90, "coverage_80": [75, 85], "coverage_95": [92, 97]},
        "by_origin_horizon": json.loads(per.round(3).to_json(orient="records")),
    }


def write_report(scored: pd.DataFrame, out_dir: Path, source: str) -> dict:
    """``summary.json``, ``backtest_by_origin.csv`` and ``backtest.md`` in ``out_dir``; returns the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise(scored, source)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    per = table(scored)
    per.round(3).to_csv(out_dir / "backtest_by_origin.csv", index=False)
    (out_dir / "backtest.md").write_text(_markdown(summary, per), encoding="utf-8")
    return summary


def _markdown(summary: dict, per: pd.DataFrame) -> str:
    columns = [
        "origin",
        "horizon",
        "las",
        "model_mape",
        "model_median_ape",
        "model_bias",
        "best_baseline",
        "best_baseline_mape",
        "coverage_80",
        "coverage_95",
    ]
    lines = [
        "# Rolling-origin backtest of the LA caseload forecast",
        "",
        summary["source"],
        "",
        f"Model {summary['model_mape']:.2f}% MAPE against the best baseline ({summary['best_baseline']}) "
        f"{summary['best_baseline_mape']:.2f}% ({summary['model_vs_best_baseline_pct']:+.1f}%); bands: 80% cover "
        f"{summary['coverage_80']:.1f}%, 95% cover {summary['coverage_95']:.1f}%. Held back (origins from "
        f"{max(summary['design_origins']) + 1}): model {summary['held_back']['model_mape']:.2f}% vs "
        f"{summary['held_back']['best_baseline_mape']:.2f}% ({summary['held_back']['best_baseline']}).",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in per[columns].itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row) + " |")
    lines += ["", "Baselines over all origins and horizons (MAPE %):", ""]
    lines += [f"- {m}: {v:.2f}" for m, v in summary["baselines_mape"].items()]
    return "\n".join(lines) + "\n"


def read_history(source: str) -> tuple[pd.DataFrame, str]:
    """The harmonised LA history (la_code, census_year, plans = statements + EHC plans) of the
    release(s) at ``source``, and where it came from."""
    with tempfile.TemporaryDirectory() as tmp:
        load_release(source, Path(tmp))
        caseload = pd.read_parquet(Path(tmp) / "caseload.parquet")
        origin = provenance_text(read_provenance(Path(tmp)))
    history = la_history(caseload).rename(columns={"all_plans": "plans"})
    return history[["la_code", "census_year", "plans"]], origin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        default=os.environ.get(SETTINGS_ENV["dfe_ehcp_source"], PipelineSettings().dfe_ehcp_source),
        help="the DfE EHCP release(s): zip, folder, folder of zips or http(s) address, several "
        "separated by commas (default: $DBV_DFE_EHCP_SOURCE, else DfE's download address)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: $DBV_DATA_DIR/backtest)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the release loader's warnings about other tables
    history, source = read_history(args.source)
    scored = run_backtest(history)
    out = args.out or DataPaths.from_env().root / "backtest"
    summary = write_report(scored, out, source)
    per = table(scored)
    print(
        f"Rolling-origin backtest, {history.la_code.nunique()} LAs, censuses {history.census_year.min()}–"
        f"{history.census_year.max()}, origins {summary['origins'][0]}–{summary['origins'][-1]}, horizons 1–3"
    )
    print(
        f"{'origin':>6} {'h':>2} {'model':>6} {'medAPE':>6} {'bias':>6}  {'best baseline':<42}{'MAPE':>6} {'cov80':>6} {'cov95':>6}"
    )
    for r in per.itertuples(index=False):
        print(
            f"{r.origin:>6} {r.horizon:>2} {r.model_mape:6.2f} {r.model_median_ape:6.2f} {r.model_bias:6.2f}  "
            f"{r.best_baseline:<42}{r.best_baseline_mape:6.2f} {r.coverage_80:6.1f} {r.coverage_95:6.1f}"
        )
    print(
        f"All: model MAPE {summary['model_mape']:.2f}%, best baseline {summary['best_baseline']} "
        f"{summary['best_baseline_mape']:.2f}% ({summary['model_vs_best_baseline_pct']:+.1f}%; target −10%); "
        f"coverage 80% {summary['coverage_80']:.1f} (target 75–85), 95% {summary['coverage_95']:.1f} (92–97)"
    )
    print(
        f"Held back (origins {max(summary['design_origins']) + 1}–"
        f"{summary['origins'][-1]}): model {summary['held_back']['model_mape']:.2f}% vs "
        f"{summary['held_back']['best_baseline']} {summary['held_back']['best_baseline_mape']:.2f}%"
    )
    print(f"Written: {out / 'summary.json'}, {out / 'backtest.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
