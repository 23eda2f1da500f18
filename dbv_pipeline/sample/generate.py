"""generate_sample(): write a synthetic landing folder of LA returns (the pipeline's default data)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dbv_pipeline.contract import TABLES

from . import faults as fault_injection
from .cohorts import programme_by_la
from .files import SYNTHETIC_NOTICE, csv_name, write_csv, write_readme, xlsx_name
from .finance import Finance, finance_truth, hnb_spend_table, plan_and_mitigations
from .las import (
    DEFAULT_SEED,
    MODEL_START_YEAR,
    LocalAuthority,
    day,
    fy_label,
    fy_start_year,
    la_params,
    select_las,
)
from .placements import History, placements_table, simulate
from .variations import CANONICAL, VARIATIONS, XLSX, format_table, sample_layout
from .workbook import write_workbook

Progress = Callable[[int, int, str], None]  # (LAs done, LAs in all, la_code just written)


@dataclass
class SampleSummary:
    """What generate_sample wrote. Everything in it is SYNTHETIC."""

    landing_dir: Path
    seed: int
    periods: tuple[str, ...]
    history_from: str
    multiplier: float
    la_count: int
    files: list[str]  # data files written into landing_dir (clean and fault files)
    rows: dict[str, int]  # data rows per table in the clean returns, all periods
    variations: dict[str, str]  # data file → format variation ("xlsx" for workbooks)
    fault_files: list[str] = field(default_factory=list)
    manifest_path: Path | None = None
    readme_path: Path | None = None
    seconds: float = 0.0
    synthetic: bool = True

    @property
    def file_count(self) -> int:
        return len(self.files)

    def __str__(self) -> str:
        rows = ", ".join(f"{t} {n:,}" for t, n in self.rows.items())
        faults = f", {len(self.fault_files)} with injected faults" if self.fault_files else ""
        return (
            f"SYNTHETIC sample data: {self.la_count} LAs, periods {', '.join(self.periods)}, "
            f"{self.file_count} files{faults} in {self.landing_dir} ({rows}) in {self.seconds:.1f}s"
        )


def build_return(
    la: LocalAuthority, h: History, f: Finance, year: int, first_year: int, seed: int, programme: str
) -> dict[str, dict[str, np.ndarray]]:
    """The LA's four tables for the return closing financial year ``year`` (typed columns)."""
    plan, mitigations = plan_and_mitigations(la, f, year, first_year, seed, programme)
    return {
        "placements": placements_table(la, h, day(first_year, 4, 1), day(year + 1, 3, 31)),
        "hnb_spend": hnb_spend_table(la, f, year, first_year, seed),
        "dsg_plan": plan,
        "mitigations": mitigations,
    }


def generate_sample(
    landing_dir: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    la_codes=None,
    history_from: str = "2015-16",
    periods=("2024-25",),
    multiplier: float = 1.0,
    faults=False,
    xlsx_share: float = 0.05,
    variations: bool = True,
    manifest_path: str | Path | None = None,
    progress: Progress | None = None,
) -> SampleSummary:
    """Write synthetic LA returns into ``landing_dir`` and return a summary.

    - ``la_codes``: old (3-digit) LA codes, default all 153; ``periods``: return periods ``YYYY-YY``;
      placements go back to ``history_from`` (2015-16 at the earliest), finance tables too.
    - ``multiplier`` scales the number of children (1.0 ≈ 639k active plans in January 2025).
    - ``xlsx_share`` of LAs send a workbook; ``variations`` puts spec format variations in a few LAs.
    - ``faults``: True or a list of ``FAULT_CLASSES``; faulty files are extra files of an earlier
      period, listed in ``manifest_path`` (default ``landing_dir/../faults_manifest.json``).
    - ``progress(done, total, la_code)`` is called after each LA.
    """
    started = time.perf_counter()
    landing = Path(landing_dir)
    landing.mkdir(parents=True, exist_ok=True)
    first = fy_start_year(history_from)
    years = sorted({fy_start_year(p) for p in periods})
    if first < MODEL_START_YEAR or not years or years[0] < first:
        raise ValueError(f"need {fy_label(MODEL_START_YEAR)} <= history_from <= every period")
    if multiplier <= 0 or not 0 <= xlsx_share <= 1:
        raise ValueError("multiplier must be > 0 and xlsx_share in [0, 1]")
    fault_ids = fault_injection.resolve(faults)
    fault_year = years[0] - 1
    if fault_ids and fault_year < MODEL_START_YEAR:
        earliest = fy_label(MODEL_START_YEAR + 1)
        raise ValueError(f"faults go into the period before the first one: start periods at {earliest} or later")

    las = select_las(la_codes)
    params = la_params(seed)
    layout = sample_layout(seed, xlsx_share, variations)
    programme = programme_by_la(seed)
    assignments = fault_injection.plan_faults(fault_ids, las, seed, fault_year) if fault_ids else []
    summary = SampleSummary(
        landing,
        seed,
        tuple(fy_label(y) for y in years),
        history_from,
        multiplier,
        len(las),
        files=[],
        rows={t: 0 for t in TABLES},
        variations={},
    )
    entries: list[dict] = []
    for done, la in enumerate(las, 1):
        h = simulate(seed, la, params, multiplier, day(years[-1] + 1, 3, 31))
        f = finance_truth(seed, la, params, h, years[-1])
        for year in years:
            tables = build_return(la, h, f, year, first, seed, programme[la.la_code])
            _write_return(landing, la, fy_label(year), tables, layout.get(la.la_code), summary)
        mine = [a for a in assignments if a.la_code == la.la_code]
        if mine:
            base = build_return(la, h, f, fault_year, min(first, fault_year), seed, programme[la.la_code])
            written = fault_injection.write_faults(landing, la, mine, base, seed)
            entries += written
            summary.fault_files += sorted({e["file"] for e in written})
        if progress:
            progress(done, len(las), la.la_code)

    summary.files = sorted(set(summary.files) | set(summary.fault_files))
    summary.fault_files = sorted(summary.fault_files)
    if fault_ids:
        path = Path(manifest_path) if manifest_path else landing.parent / "faults_manifest.json"
        summary.manifest_path = fault_injection.write_manifest(path, entries, seed)
    summary.readme_path = write_readme(landing, _readme(summary, fault_ids))
    summary.seconds = time.perf_counter() - started
    return summary


def _write_return(
    landing: Path, la: LocalAuthority, period: str, tables: dict, variation: str | None, summary: SampleSummary
) -> None:
    for name, columns in tables.items():
        summary.rows[name] += len(columns["la_code"])
    if variation == XLSX:
        name = xlsx_name(la.la_code, period)
        write_workbook(landing / name, tables, la.la_code, la.la_name, period)
        summary.files.append(name)
        summary.variations[name] = XLSX
        return
    style = VARIATIONS.get(variation, CANONICAL)
    for table, columns in tables.items():
        name = csv_name(la.la_code, table, period)
        write_csv(landing / name, format_table(columns, TABLES[table], style), style)
        summary.files.append(name)
        if variation:
            summary.variations[name] = variation


def _readme(s: SampleSummary, fault_ids: list[str]) -> str:
    lines = [
        "SYNTHETIC SAMPLE DATA — NOT REAL",
        "",
        SYNTHETIC_NOTICE,
        "",
        f"Generated by dbv_pipeline.sample.generate_sample(seed={s.seed}, periods={list(s.periods)}, "
        f"history_from={s.history_from!r}, multiplier={s.multiplier}) for {s.la_count} local authorities.",
        "Files follow spec §1: <la_code>_<table>_<period>.csv, or <la_code>_dbv_return_<period>.xlsx (one sheet",
        "per table and a Guidance sheet). A few LAs use the format variations of spec §1/§4 on purpose.",
        "Programme cohorts (dbt_project/seeds/programme_cohorts.csv) are synthetic too.",
    ]
    if fault_ids:
        lines += [
            "",
            f"{len(s.fault_files)} files carry deliberately injected faults ({len(fault_ids)} classes); "
            f"see {s.manifest_path.name}.",
        ]
    return "\n".join(lines) + "\n"
