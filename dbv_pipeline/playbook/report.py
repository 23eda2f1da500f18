"""The evaluator's playbook: static HTML pages that open from the file system (no server, no JS).

``index.html`` (national summary), ``tranche-<n>.html`` (one per DBV tranche) and ``la/<code>.html``
(one per LA with data), linked relatively, charts inline as SVG (``charts.py``), rendered by the
templates of ``dbv_pipeline/reporting/templates/playbook/`` from the pieces made here. A synthetic run
carries a "SYNTHETIC DATA" banner and watermark on every page. A rerun rewrites only the pages whose
content changed (``manifest.json``: a hash of each page).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import escape

from .. import reporting
from ..ingest.filenames import period_end_year
from ..reporting.formats import date, financial_year, quantity
from ..settings import DataPaths
from ..warehouse.reader import Warehouse, open_warehouse
from .charts import (
    BLACK,
    BLUE,
    GREEN,
    GREY,
    NEIGHBOUR_GREY,
    ORANGE,
    PURPLE,
    SKY,
    VERMILLION,
    Chart,
    Charts,
    Fan,
    LegendItem,
    Line,
)
from .data import PlaybookPaths, is_stale, provenance, read_manifest, read_output, write_manifest
from .forecast import TOTAL

MIX = {
    "pct_mainstream": "Mainstream",
    "pct_mss": "MSS",
    "pct_inmss": "INMSS",
    "pct_ap": "AP",
    "pct_post16": "Post-16",
    "pct_other": "Other",
}
UNIT_COSTS = {
    "unit_cost_mainstream": "Mainstream",
    "unit_cost_rp_unit": "RP / SEN unit",
    "unit_cost_mss": "MSS",
    "unit_cost_inmss": "INMSS",
    "unit_cost_ap": "AP",
    "unit_cost_post16": "Post-16",
    "unit_cost_early_years": "Early years",
    "unit_cost_eotas": "EOTAS",
}
GROUP_TRENDS = ["ehcp_growth_pct", "pct_mainstream", "pct_inmss", "dsg_cumulative_balance_pct"]
SHORT_LABELS = {
    "ehcp_count": "EHCPs",
    "ehcp_growth_pct": "Growth on the year",
    "ehcp_cagr_3y_pct": "Growth, 3-year CAGR",
    "pct_mainstream": "% mainstream",
    "pct_inmss": "% INMSS",
    "unit_cost_mss": "MSS unit cost",
    "dsg_cumulative_balance_pct": "DSG balance, % of HNB income",
}
SUMMARY_METRICS = list(SHORT_LABELS)
ZERO_LINE_METRICS = {"ehcp_growth_pct", "ehcp_cagr_3y_pct", "dsg_in_year_balance_pct", "dsg_cumulative_balance_pct"}
GROUP_STYLES = {
    "DBV": (VERMILLION, "o"),
    "DBV_T1": (PURPLE, "v"),
    "DBV_T2": (ORANGE, "v"),
    "DBV_T3": (SKY, "v"),
    "SAFETY_VALVE": (GREEN, "s"),
    "NONE": (BLUE, "^"),
    "ENGLAND": (GREY, "D"),
}  # colour and marker
SCENARIO_STYLES = {"UNMITIGATED": (VERMILLION, "^"), "MITIGATED": (BLUE, "s")}  # DSG projections and plans
LA_DIR = "la"
BENCHMARK_COLUMNS = ["la_code", "year", "metric", "value", "comparison", "group_order", "comparison_median", "phrase"]
GENERATED_AT = "<!--generated-at-->"  # the footer's time (templates/playbook/base.html), filled in when written


def tranche_page(tranche) -> str:
    return f"tranche-{int(tranche)}.html"


def la_page(la_code: str) -> str:
    return f"{LA_DIR}/{la_code}.html"


@dataclass
class ReportData:
    """Everything the pages show, read once: warehouse marts and the playbook's own outputs."""

    las: pd.DataFrame  # index la_code: la_name, programme, tranche, diagnostic_start_date, region_name
    catalogue: pd.DataFrame  # index metric
    wide: pd.DataFrame  # pb_la_year_metrics_wide
    group_stats: pd.DataFrame
    benchmarks: pd.DataFrame
    neighbours: pd.DataFrame  # la_code, neighbour_la_code, neighbour_rank, neighbour_la_name
    dsg: pd.DataFrame  # fct_dsg_balance, every scenario
    caseload_forecast: pd.DataFrame  # ALL rows
    balance_forecast: pd.DataFrame
    outcomes: pd.DataFrame
    evaluation_summary: pd.DataFrame
    evaluation_events: pd.DataFrame
    notes: dict[str, str]
    synthetic: bool
    provenance: list[str]  # Provenance.sentences(): returns, cohort, public data
    generated_at: str
    # lookups made once (__post_init__)
    stats: dict = field(init=False, repr=False)  # (group_code, metric) → pb_group_stats rows by year
    stat_rows: dict = field(init=False, repr=False)  # (group_code, metric, year) → a pb_group_stats row
    labels: dict = field(init=False, repr=False)  # metric → label, unit and basis (pb_metric_catalogue)
    units: dict = field(init=False, repr=False)
    bases: dict = field(init=False, repr=False)
    catalogue_order: list = field(init=False, repr=False)  # metrics and indicators by sort_order
    return_metrics: list = field(init=False, repr=False)  # those from the LA returns
    wide_rows: dict = field(init=False, repr=False)  # (la_code, year) → row of ``wide``
    wide_values: dict = field(init=False, repr=False)  # column of ``wide`` → numpy array
    latest_wide: pd.DataFrame = field(init=False, repr=False)  # each LA's latest year of ``wide``, by la_code
    england_outcomes: dict = field(init=False, repr=False)  # year → indicator → DfE's England value

    @classmethod
    def load(cls, paths: DataPaths, warehouse: Warehouse | None = None) -> ReportData:
        """The report's data, read through ``warehouse`` (or a reader opened and closed for it)."""
        if warehouse is None:
            with open_warehouse(paths) as opened:
                return cls.load(paths, opened)
        out = PlaybookPaths.of(paths)
        las = warehouse.query("""
            select metrics.la_code, coalesce(la.la_name, metrics.la_code) as la_name,
                coalesce(la.programme, 'NONE') as programme, la.tranche, la.diagnostic_start_date, la.region_name
            from (select distinct la_code from playbook.pb_la_year_metrics) as metrics
            left join marts.dim_la as la on la.la_code = metrics.la_code
            order by la_name""").set_index("la_code")
        caseload = read_output(out.forecasts, "caseload_forecast")
        notes = {
            name: (folder / "NOTE.txt").read_text(encoding="utf-8").strip()
            for name, folder in (("outcomes", out.outcome_indicators), ("evaluation", out.evaluation))
            if (folder / "NOTE.txt").exists()
        }
        source = provenance(paths, warehouse)
        return cls(
            las=las,
            catalogue=warehouse.table("playbook", "pb_metric_catalogue").set_index("metric"),
            wide=warehouse.table("playbook", "pb_la_year_metrics_wide"),
            group_stats=warehouse.table("playbook", "pb_group_stats"),
            benchmarks=warehouse.table("playbook", "pb_benchmarks", BENCHMARK_COLUMNS),
            neighbours=warehouse.query("""
                select la_code, neighbour_la_code, neighbour_rank, neighbour_la_name
                from marts.dim_statistical_neighbours order by la_code, neighbour_rank"""),
            dsg=warehouse.table("marts", "fct_dsg_balance"),
            caseload_forecast=caseload[caseload.provision_type.eq(TOTAL)] if len(caseload) else caseload,
            balance_forecast=read_output(out.forecasts, "dsg_balance_forecast"),
            outcomes=read_output(out.outcome_indicators, "outcome_indicators"),
            evaluation_summary=read_output(out.evaluation, "evaluation_summary"),
            evaluation_events=read_output(out.evaluation, "evaluation_event_study"),
            notes=notes,
            synthetic=source.synthetic,
            provenance=source.sentences(),
            generated_at=date(dt.datetime.now()),
        )

    def __post_init__(self):
        self.stats = {
            key: rows.sort_values("year").set_index("year", drop=False)
            for key, rows in self.group_stats.groupby(["group_code", "metric"])
        }
        self.stat_rows = {(r.group_code, r.metric, r.year): r for r in self.group_stats.itertuples(index=False)}
        self.labels, self.units, self.bases = (self.catalogue[c].to_dict() for c in ("label", "unit", "basis"))
        ordered = self.catalogue.sort_values("sort_order", kind="stable")
        self.catalogue_order = list(ordered.index)
        self.return_metrics = list(ordered[ordered.source == "returns"].index)
        self.wide_rows = {key: i for i, key in enumerate(zip(self.wide.la_code, self.wide.year))}
        self.wide_values = {c: self.wide[c].to_numpy() for c in self.wide.columns}
        self.latest_wide = self.wide.sort_values("year").groupby("la_code").tail(1).set_index("la_code")
        self.england_outcomes = {}
        if len(self.outcomes):
            england = self.outcomes[self.outcomes.geographic_level.eq("National")]
            for year, indicator, value in zip(england.year, england.indicator, england.value):
                self.england_outcomes.setdefault(year, {})[indicator] = value

    def label(self, metric: str) -> str:
        return self.labels.get(metric, metric)

    def unit(self, metric: str) -> str:
        return self.units.get(metric, "plans")


@dataclass
class ReportSummary:
    index: Path
    pages: list[Path] = field(default_factory=list)  # every page of the report
    written: list[Path] = field(default_factory=list)  # new or changed since the last run
    removed: list[Path] = field(default_factory=list)  # pages no longer in the report
    seconds: float = 0.0
    render_seconds: float = 0.0


# ---------------------------------------------------------------- page pieces (rendered by the templates)


@dataclass(frozen=True)
class Link:
    """A table cell or list item that links to another page of the report."""

    text: str
    href: str


@dataclass
class Table:
    """A table for ``playbook/macros.html``: ``caption`` says what it holds; cells are text or ``Link``;
    ``numeric`` columns (default: all but the first) align right; ``note`` follows it."""

    caption: str
    headers: list[str]
    rows: list[list]
    numeric: range | set | None = None
    css: str = "compact"
    note: str = ""

    def __post_init__(self):
        self.numeric = set(range(1, len(self.headers)) if self.numeric is None else self.numeric)


@dataclass
class Figure:
    """A chart with its title, legend and note; ``empty`` says why there is no chart."""

    title: str
    chart: Chart | None
    note: str = ""
    empty: str = ""

    @property
    def legend(self) -> list[LegendItem]:
        return self.chart.legend if self.chart else []


def page(
    template: str, title: str, *, data: ReportData, depth: int = 0, crumbs: list[tuple[str, str | None]] = (), **context
) -> str:
    """A whole page from ``playbook/<template>`` in the frame of ``playbook/base.html``."""
    return reporting.render(
        f"playbook/{template}",
        title=title,
        synthetic=data.synthetic,
        up="../" * depth,
        crumbs=crumbs,
        provenance=data.provenance,
        **context,
    )


# ---------------------------------------------------------------- shared pieces


def group_series(data: ReportData, group_code: str, metric: str) -> pd.DataFrame:
    """pb_group_stats rows of one group and metric, by year (empty if none)."""
    return data.stats.get((group_code, metric), data.group_stats.iloc[:0])


def group_trend_figure(
    charts: Charts, data: ReportData, metric: str, groups: list[tuple[str, str]], band_group: str
) -> Figure:
    """Median of ``metric`` by year for each (group_code, label); the interquartile range of ``band_group``."""
    title = f"{data.label(metric)}: median by group"
    lines = []
    for code, label in groups:
        s = group_series(data, code, metric)
        if s.empty:
            continue
        band = (s.p25.to_numpy(), s.p75.to_numpy()) if code == band_group else None
        colour, marker = GROUP_STYLES.get(code, (GREY, None))
        lines.append(
            Line(
                f"{label} median",
                s.year.to_numpy(),
                s["median"].to_numpy(),
                colour=colour,
                style="dashed" if code == "ENGLAND" else "line",
                marker=marker,
                band=band,
                band_label=f"{label}: middle half" if band else None,
            )
        )
    chart = charts.trend(title, lines, data.unit(metric), zero_line=metric in ZERO_LINE_METRICS)
    return Figure(title, chart)


def latest_group_row(data: ReportData, group_code: str, metric: str):
    s = group_series(data, group_code, metric)
    return s.iloc[-1] if len(s) else None


def evaluation(charts: Charts, data: ReportData) -> tuple[Table | str, Figure | None]:
    """The evaluation's summary table (or why there is none) and its event-study figure."""
    if data.evaluation_summary.empty:
        return data.notes.get("evaluation") or "No evaluation results.", None
    rows = [
        [
            data.label(r.indicator),
            quantity(r.estimate, "percent").replace("%", " pts"),
            f"{quantity(r.ci_low, 'percent')} to {quantity(r.ci_high, 'percent')}".replace("%", ""),
            f"{r.p_randomisation:.3f}" if pd.notna(r.p_randomisation) else "–",
            f"{r.p_adjusted:.3f}" + (" (significant)" if r.significant else ""),
            "FAILED" if r.pretrend_flag else f"ok (p = {r.pretrend_p:.2f})",
            str(int(r.n_las_treated)),
            str(int(r.n_las_control)),
            r.label,
        ]
        for r in data.evaluation_summary.itertuples()
    ]
    summary = Table(
        "Outcome evaluation: difference-in-differences estimate of each indicator, DBV LAs against comparison LAs",
        [
            "Indicator",
            "DiD estimate",
            "95% interval (pts)",
            "Randomisation p",
            "Adjusted p",
            "Pre-trend test",
            "DBV LAs",
            "Comparison LAs",
            "Status",
        ],
        rows,
        numeric=range(1, 8),
    )
    panels = {
        data.label(ind): (g.event_time, g.estimate, g.ci_low, g.ci_high)
        for ind, g in data.evaluation_events.groupby("indicator")
    }
    chart = charts.event_study("Event study: DBV LAs against comparison LAs, by years since diagnostic", panels)
    return summary, Figure("Event study by indicator (percentage points against the year before the diagnostic)", chart)


# ---------------------------------------------------------------- index and tranche pages


def index_page(charts: Charts, data: ReportData) -> str:
    groups = [
        ("DBV_T1", "DBV tranche 1"),
        ("DBV_T2", "DBV tranche 2"),
        ("DBV_T3", "DBV tranche 3"),
        ("DBV", "DBV cohort"),
        ("SAFETY_VALVE", "Safety Valve"),
        ("NONE", "Neither programme"),
        ("ENGLAND", "England"),
    ]
    rows = []
    for code, label in groups:
        cells = []
        n = 0
        for metric in SUMMARY_METRICS:
            r = latest_group_row(data, code, metric)
            cells.append(quantity(None if r is None else r["median"], data.unit(metric)))
            n = max(n, 0 if r is None else int(r.n_las))
        rows.append([Link(label, tranche_page(code[-1])) if code.startswith("DBV_T") else label, str(n), *cells])
    trend_groups = [
        ("DBV", "DBV cohort"),
        ("SAFETY_VALVE", "Safety Valve"),
        ("NONE", "Neither programme"),
        ("ENGLAND", "England"),
    ]
    trends = [group_trend_figure(charts, data, m, trend_groups, "DBV") for m in GROUP_TRENDS]
    la_rows = []
    latest = data.latest_wide
    for code, la in data.las.iterrows():
        w = latest.loc[code] if code in latest.index else None
        la_rows.append(
            [
                Link(la.la_name, la_page(code)),
                code,
                programme_text(la),
                la.region_name or "",
                *(
                    quantity(None if w is None else w[m], data.unit(m))
                    for m in ("ehcp_count", "ehcp_growth_pct", "dsg_cumulative_balance_pct")
                ),
            ]
        )
    tranches = [
        {"href": tranche_page(t), "tranche": int(t), "las": n}
        for t, n in data.las[data.las.programme.eq("DBV")].groupby("tranche").size().items()
    ]
    summary, event_study = evaluation(charts, data)
    year = int(data.wide.year.max()) if len(data.wide) else None
    return page(
        "index.html",
        "National summary",
        data=data,
        crumbs=[("Playbook", None)],
        la_count=len(data.las),
        year=year or "",
        financial_year=financial_year(year) if year else "",
        glance=Table(
            f"Median of each group's LAs, {year}", ["Group", "LAs", *(SHORT_LABELS[m] for m in SUMMARY_METRICS)], rows
        ),
        tranches=tranches,
        trends=trends,
        evaluation=summary,
        event_study=event_study,
        las=Table(
            "Every local authority with data, its latest year",
            [
                "Local authority",
                "Code",
                "Programme",
                "Region",
                "EHCPs",
                "Growth",
                "DSG cumulative balance, % of HNB income",
            ],
            la_rows,
            numeric=range(4, 7),
        ),
    )


def programme_text(la) -> str:
    if la.programme == "DBV":
        start = date(la.diagnostic_start_date, "month") if pd.notna(la.diagnostic_start_date) else "?"
        return f"DBV tranche {int(la.tranche)} (diagnostic {start})" if pd.notna(la.tranche) else "DBV"
    return {"SAFETY_VALVE": "Safety Valve", "NONE": "Neither programme"}.get(la.programme, la.programme)


def tranche_page_html(charts: Charts, data: ReportData, tranche: int, forecast_totals: pd.DataFrame) -> str:
    code = f"DBV_T{tranche}"
    members = data.las[(data.las.programme == "DBV") & (data.las.tranche == tranche)]
    starts = sorted({date(d, "day") for d in members.diagnostic_start_date.dropna()})
    groups = [
        (code, f"Tranche {tranche}"),
        ("DBV", "DBV cohort"),
        ("NONE", "Neither programme"),
        ("ENGLAND", "England"),
    ]
    trends = [group_trend_figure(charts, data, m, groups, code) for m in GROUP_TRENDS]
    latest = data.latest_wide
    rows = []
    for la_code, la in members.iterrows():
        w = latest.loc[la_code] if la_code in latest.index else None
        f = forecast_totals.loc[la_code] if la_code in forecast_totals.index else None
        rows.append(
            [
                Link(la.la_name, la_page(la_code)),
                *(quantity(None if w is None else w[m], data.unit(m)) for m in SUMMARY_METRICS),
                *(quantity(None if f is None else f[s], "gbp") for s in ("UNMITIGATED", "MITIGATED")),
            ]
        )
    end_year = forecast_totals.attrs.get("financial_year", "")
    las = Table(
        f"The LAs of DBV tranche {tranche}: latest year and projected balance",
        [
            "Local authority",
            *(SHORT_LABELS[m] for m in SUMMARY_METRICS),
            f"Projected balance {end_year}, unmitigated",
            "… mitigated",
        ],
        rows,
    )
    return page(
        "tranche.html",
        f"DBV tranche {tranche}",
        data=data,
        crumbs=[("Playbook", "index.html"), (f"Tranche {tranche}", None)],
        tranche=tranche,
        la_count=len(members),
        starts=starts,
        totals=tranche_total_figures(charts, data, tranche, set(members.index)),
        trends=trends,
        las=las,
    )


def complete_sum(frame: pd.DataFrame, members: set[str], x: str, value: str) -> tuple[pd.Series, int]:
    """Sum of ``value`` by ``x`` over the ``members`` with a value at every ``x`` (so the LAs summed do
    not change along the line), and how many LAs that is."""
    rows = frame[frame.la_code.isin(members)] if len(frame) else frame
    if rows.empty:
        return pd.Series(dtype=float), 0
    complete = rows.pivot_table(index="la_code", columns=x, values=value, aggfunc="first").dropna()
    return complete.sum().sort_index(), len(complete)


def _from_last(actual: pd.Series, x, y) -> tuple[list, list]:
    """A projection drawn on from the last actual point."""
    if actual.empty or not len(x):
        return list(x), list(y)
    return [actual.index[-1], *x], [actual.iloc[-1], *y]


def tranche_total_figures(charts: Charts, data: ReportData, tranche: int, members: set[str]) -> list[Figure]:
    """EHCPs and the DSG cumulative balance summed over the tranche's LAs: actual and projected (points
    only: LA bands do not add up to a tranche band)."""
    actual, n_actual = complete_sum(data.wide, members, "year", "ehcp_count")
    forecast, n_forecast = complete_sum(data.caseload_forecast, members, "census_year", "forecast")
    caseload = charts.trend(
        f"EHCPs at the January census, summed over DBV tranche {tranche}'s LAs",
        [
            Line("EHCPs (returns)", actual.index.to_numpy(), actual.to_numpy(), marker="o"),
            Line(
                "pipeline forecast",
                *_from_last(actual, forecast.index.to_numpy(), forecast.to_numpy()),
                style="dashed",
                marker="s",
            ),
        ],
    )
    balance_actual, n_balance = complete_sum(data.wide, members, "year", "dsg_cumulative_balance_gbp")
    lines = [Line("actual", balance_actual.index.to_numpy(), balance_actual.to_numpy(), colour=BLACK, marker="o")]
    projected = data.balance_forecast
    n_projected = 0
    for scenario, (colour, marker) in SCENARIO_STYLES.items():
        rows = projected[projected.scenario.eq(scenario)] if len(projected) else projected
        total, n_projected = complete_sum(rows, members, "financial_year", "cumulative_balance_gbp")
        years = _fy_end(total.index)
        lines.append(
            Line(
                f"projected, {scenario.lower()}",
                *_from_last(balance_actual, years, total.to_numpy()),
                colour=colour,
                style="dashed",
                marker=marker,
            )
        )
    balance = charts.trend(
        f"DSG cumulative balance, summed over DBV tranche {tranche}'s LAs", lines, "gbp", zero_line=True
    )
    return [
        Figure(
            "EHCPs at the January census, summed over the tranche's LAs",
            caseload,
            f"{n_actual} LAs with every census; forecast: {n_forecast} LAs. Points only: LA bands do not "
            "add up to a tranche band.",
        ),
        Figure(
            "DSG cumulative balance, summed over the tranche's LAs (x-axis: the year the financial year ends)",
            balance,
            f"Actual: {n_balance} LAs with every year; projections: {n_projected} LAs. Negative = deficit.",
        ),
    ]


# ---------------------------------------------------------------- LA pages

Columns = dict[str, np.ndarray]  # a table's columns, in a stated order


@dataclass
class LaData:
    """One LA's slices of ``ReportData``, cut once for every LA (so a page does no table scans and
    little pandas): tables as columns of numpy arrays."""

    code: str
    info: pd.Series
    wide: Columns  # pb_la_year_metrics_wide, by year
    growth_medians: dict[str, Columns]  # comparison → pb_benchmarks rows of ehcp_growth_pct, by year
    latest: dict[str, dict]  # metric → its latest year's benchmarks: year, value, phrases, medians by comparison
    neighbours: list[tuple[str, str]]  # (la_code, name) by neighbour rank
    dsg: dict[str, Columns]  # scenario → fct_dsg_balance rows, by financial year
    caseload_forecast: Columns  # ALL rows, by census year
    balance_forecast: dict[str, Columns]  # scenario → dsg_balance_forecast rows, by financial year
    outcomes: Columns  # outcome indicators, in file order


def _columns(frame: pd.DataFrame, keys: list[str], order: list[str]) -> dict:
    """``frame`` sorted by ``keys`` and ``order`` as columns, split by each key in turn (nested dicts)."""
    if frame.empty:
        return {}
    frame = frame.sort_values([*keys, *order], kind="stable")
    return _split({c: frame[c].to_numpy() for c in frame.columns}, keys)


def _split(columns: Columns, keys: list[str]) -> dict:
    if not keys:
        return columns
    key = columns[keys[0]]
    bounds = [0, *(np.flatnonzero(key[1:] != key[:-1]) + 1), len(key)]
    return {key[a]: _split({c: v[a:b] for c, v in columns.items()}, keys[1:]) for a, b in zip(bounds, bounds[1:])}


def _latest_benchmarks(benchmarks: pd.DataFrame) -> dict[str, dict[str, dict]]:
    """la_code → metric → the benchmarks of the metric's latest year (comparisons in group order)."""
    b = benchmarks
    latest = b[b.year == b.groupby(["la_code", "metric"]).year.transform("max")]
    out: dict[str, dict[str, dict]] = {}
    for r in latest.sort_values(["la_code", "metric", "group_order"], kind="stable").itertuples(index=False):
        m = out.setdefault(r.la_code, {}).setdefault(
            r.metric, {"year": r.year, "value": np.nan, "phrases": [], "medians": {}}
        )
        if pd.isna(m["value"]):
            m["value"] = r.value
        m["phrases"].append(r.phrase)
        m["medians"][r.comparison] = r.comparison_median
    return out


def split_by_la(data: ReportData) -> list[LaData]:
    b = data.benchmarks
    growth = _columns(
        b[b.metric.eq("ehcp_growth_pct") & b.comparison.isin(["NEIGHBOURS", "PROGRAMME"])],
        ["la_code", "comparison"],
        ["year"],
    )
    latest = _latest_benchmarks(b)
    wide = _columns(data.wide, ["la_code"], ["year"])
    neighbours = _columns(data.neighbours, ["la_code"], ["neighbour_rank"])
    dsg = _columns(data.dsg, ["la_code", "scenario"], ["financial_year"])
    caseload = _columns(data.caseload_forecast, ["la_code"], ["census_year"])
    balance = _columns(data.balance_forecast, ["la_code", "scenario"], ["financial_year"])
    outcomes = _columns(
        data.outcomes[data.outcomes.la_code.notna()] if len(data.outcomes) else data.outcomes, ["la_code"], []
    )
    return [
        LaData(
            code,
            info,
            wide.get(code, {}),
            growth.get(code, {}),
            latest.get(code, {}),
            list(zip(*(neighbours[code][c] for c in ("neighbour_la_code", "neighbour_la_name"))))
            if code in neighbours
            else [],
            dsg.get(code, {}),
            caseload.get(code, {}),
            balance.get(code, {}),
            outcomes.get(code, {}),
        )
        for code, info in data.las.iterrows()
    ]


def la_page_html(charts: Charts, data: ReportData, la: LaData, known: set[str]) -> str:
    info = la.info
    name = info.la_name
    cohort = {"DBV": "DBV cohort", "SAFETY_VALVE": "Safety Valve LAs"}.get(info.programme, "LAs in neither programme")
    wide = la.wide
    years = wide.get("year", np.array([], int))

    figures = []
    # 1. caseload and its forecast
    fc = la.caseload_forecast
    fans = (
        [
            Fan(
                "pipeline forecast",
                fc["census_year"],
                fc["forecast"],
                fc["lower_80"],
                fc["upper_80"],
                fc["lower_95"],
                fc["upper_95"],
                marker="s",
            )
        ]
        if fc
        else []
    )
    figures.append(
        Figure(
            "EHCPs at the January census, with the forecast to January 2029",
            charts.fan(
                f"{name}: EHCPs at the January census, with the forecast to January 2029",
                Line("EHCPs (returns)", *_xy(wide, "ehcp_count"), marker="o"),
                fans,
            ),
        )
    )
    # 2. growth against comparison medians
    lines = [Line(name, *_xy(wide, "ehcp_growth_pct"), colour=BLUE, width=2.2, marker="o")]
    for comparison, label, colour, marker in (
        ("NEIGHBOURS", "statistical neighbours", NEIGHBOUR_GREY, "s"),
        ("PROGRAMME", cohort, ORANGE, "^"),
    ):
        s = la.growth_medians.get(comparison)
        if s:
            lines.append(Line(f"{label} median", s["year"], s["comparison_median"], colour=colour, marker=marker))
    s = group_series(data, "ENGLAND", "ehcp_growth_pct")
    lines.append(
        Line("England median", s.year.to_numpy(), s["median"].to_numpy(), colour=GREY, style="dashed", marker="D")
    )
    figures.append(
        Figure(
            "EHCP growth on the year, against comparison medians",
            charts.trend(
                f"{name}: EHCP growth on the year, against comparison medians", lines, "percent", zero_line=True
            ),
        )
    )
    # 3. placement mix
    mix = _known(wide, "pct_mainstream")
    figures.append(
        Figure(
            "Placement mix at each January census",
            charts.stacked_shares(
                f"{name}: placement mix at each January census",
                years[mix],
                {label: wide[m][mix] for m, label in MIX.items()},
            ),
            "Mainstream includes resourced provision and SEN units; other: early years, EOTAS, "
            "elective home education, NEET and unknown.",
        )
    )
    # 4. unit costs against neighbours, cohort and England
    figures.append(unit_cost_figure(charts, data, la, cohort))
    # 5. DSG balance: actual, projections and the LA's own plan
    figures.append(balance_figure(charts, la))

    in_tranche = info.programme == "DBV" and pd.notna(info.tranche)
    crumbs = [("Playbook", "index.html")]
    if in_tranche:
        crumbs.append((f"Tranche {int(info.tranche)}", tranche_page(info.tranche)))
    crumbs.append((name, None))
    return page(
        "la.html",
        name,
        data=data,
        depth=1,
        crumbs=crumbs,
        name=name,
        code=la.code,
        programme=programme_text(info),
        tranche_href=tranche_page(info.tranche) if in_tranche else None,
        region=info.region_name or "",
        neighbours=[Link(n, f"{code}.html") if code in known else n for code, n in la.neighbours],
        headlines=headlines(la, int(years.max()) if len(years) else None),
        figures=figures,
        benchmarks=benchmark_table(data, la, cohort),
        forecast=forecast_table(la),
        outcomes=outcome_table(data, la),
    )


def _known(columns: Columns, column: str) -> np.ndarray:
    """Rows where ``column`` has a value."""
    return ~pd.isna(columns[column]) if column in columns else np.zeros(len(columns.get("year", ())), bool)


def _xy(columns: Columns, column: str) -> tuple[np.ndarray, np.ndarray]:
    rows = _known(columns, column)
    return (columns["year"][rows], columns[column][rows]) if rows.any() else (np.array([]), np.array([]))


def headlines(la: LaData, year) -> list[tuple[str, str]]:
    """The headline figures of the LA's page: (value, what it is); none without data."""
    if year is None:
        return []
    w = la.wide
    last = {c: v[-1] for c, v in w.items()}  # the latest year
    stats = [
        (quantity(last.get("ehcp_count")), f"EHCPs, January {year}"),
        (quantity(last.get("ehcp_growth_pct"), "percent"), "growth on the year"),
        (quantity(last.get("ehcp_cagr_3y_pct"), "percent"), "a year over 3 years"),
    ]
    money = np.flatnonzero(_known(w, "dsg_cumulative_balance_gbp"))
    if len(money):
        i = money[-1]
        fy = financial_year(int(w["year"][i]))
        stats.append(
            (
                quantity(w["dsg_cumulative_balance_gbp"][i], "gbp"),
                f"DSG cumulative balance {fy} "
                f"({quantity(w['dsg_cumulative_balance_pct'][i], 'percent')} of HNB income)",
            )
        )
    bf = la.balance_forecast
    if bf:
        end = max(s["financial_year"].max() for s in bf.values())
        for scenario in ("UNMITIGATED", "MITIGATED"):
            r = _row(bf.get(scenario), "financial_year", end)
            if r and pd.notna(r["cumulative_balance_gbp"]):
                stats.append(
                    (
                        quantity(r["cumulative_balance_gbp"], "gbp"),
                        f"projected {end}, {scenario.lower()} (80%: {quantity(r['cumulative_lower_80'], 'gbp')} "
                        f"to {quantity(r['cumulative_upper_80'], 'gbp')})",
                    )
                )
    return stats


def _row(columns: Columns | None, column: str, value) -> dict | None:
    """The first row whose ``column`` equals ``value``, as a dict (None if there is none)."""
    if not columns:
        return None
    hits = np.flatnonzero(columns[column] == value)
    return {c: v[hits[0]] for c, v in columns.items()} if len(hits) else None


def unit_cost_figure(charts: Charts, data: ReportData, la: LaData, cohort: str) -> Figure:
    w = la.wide
    costs = [m for m in UNIT_COSTS if m in w]
    rows = np.flatnonzero(np.any([_known(w, m) for m in costs], axis=0)) if costs else []
    if not len(rows):
        return Figure("Unit costs", None, empty="No unit costs (no outturn spend with caseload).")
    i = rows[-1]
    year = int(w["year"][i])
    metrics = [m for m in costs if pd.notna(w[m][i])]
    others = np.array([data.wide_rows[code, year] for code, _ in la.neighbours if (code, year) in data.wide_rows], int)
    cohort_stats, england = [], []
    for m in metrics:
        g = data.stat_rows.get((la.info.programme, m, year))
        cohort_stats.append((g.p25, g.median, g.p75) if g is not None else (np.nan, np.nan, np.nan))
        e = data.stat_rows.get(("ENGLAND", m, year))
        england.append(e.median if e is not None else np.nan)
    neighbour_values = [v[~np.isnan(v)] for v in (data.wide_values[m][others].astype(float) for m in metrics)]
    chart = charts.benchmark_dots(
        f"{la.info.la_name}: unit cost per EHCP by provision, {financial_year(year)}",
        [UNIT_COSTS[m] for m in metrics],
        [w[m][i] for m in metrics],
        neighbour_values,
        cohort_stats,
        england,
        la_label=la.info.la_name,
        cohort_label=cohort,
    )
    return Figure(f"Unit cost per EHCP by provision, {financial_year(year)} (outturn, log scale)", chart)


def _fy_end(financial_years: np.ndarray) -> np.ndarray:
    """The calendar year each financial year ("2024-25") ends."""
    return np.array([period_end_year(fy) for fy in financial_years], int)


def balance_figure(charts: Charts, la: LaData) -> Figure:
    """The DSG cumulative balance: actual, projected unmitigated and mitigated with bands, the LA's plans."""
    actual = la.dsg.get("ACTUAL")
    if not actual:
        return Figure("DSG cumulative balance", None, empty="No DSG management plan actuals.")
    fans, extra = [], []
    for scenario, (colour, marker) in SCENARIO_STYLES.items():
        s = la.balance_forecast.get(scenario)
        rows = _known(s, "cumulative_balance_gbp") if s else np.array([], bool)
        if rows.any():
            y, lower_80, upper_80, lower_95, upper_95 = (
                s[c][rows]
                for c in (
                    "cumulative_balance_gbp",
                    "cumulative_lower_80",
                    "cumulative_upper_80",
                    "cumulative_lower_95",
                    "cumulative_upper_95",
                )
            )
            fans.append(
                Fan(
                    f"projected, {scenario.lower()}",
                    _fy_end(s["financial_year"][rows]),
                    y,
                    lower_80,
                    upper_80,
                    lower_95,
                    upper_95,
                    colour=colour,
                    marker=marker,
                )
            )
    for scenario, (colour, marker) in SCENARIO_STYLES.items():
        plan = la.dsg.get(scenario)
        if plan:
            extra.append(
                Line(
                    f"LA's own plan, {scenario.lower()}",
                    _fy_end(plan["financial_year"]),
                    plan["cumulative_balance_gbp"],
                    colour=colour,
                    style="dotted",
                    width=1.4,
                    marker=marker,
                )
            )
    chart = charts.fan(
        f"{la.info.la_name}: DSG cumulative balance at the end of each financial year",
        Line("actual", _fy_end(actual["financial_year"]), actual["cumulative_balance_gbp"], colour=BLACK, marker="o"),
        fans,
        "gbp",
        extra=extra,
        zero_line=True,
    )
    return Figure(
        "DSG cumulative balance at the end of each financial year (x-axis: the year it ends)",
        chart,
        "Negative = deficit. Bands carry caseload uncertainty only.",
    )


def benchmark_table(data: ReportData, la: LaData, cohort: str) -> Table | str:
    if not la.latest:
        return "No metrics."
    rows = []
    for metric in data.return_metrics:
        b = la.latest.get(metric)
        if b is None:
            continue
        unit = data.unit(metric)
        med = [quantity(b["medians"].get(c), unit) for c in ("NEIGHBOURS", "PROGRAMME", "ENGLAND")]
        rows.append(
            [
                data.label(metric),
                _period(data, metric, int(b["year"])),
                quantity(b["value"], unit),
                *med,
                "; ".join(b["phrases"]),
            ]
        )
    return Table(
        f"{la.info.la_name}: each metric in its latest year against its comparison groups",
        ["Metric", "Period", "Value", "Neighbours median", f"{cohort} median", "England median", "Position"],
        rows,
        numeric=range(2, 6),
    )


def _period(data: ReportData, metric: str, year: int) -> str:
    basis = data.bases.get(metric)
    if basis == "census":
        return f"Jan {year}"
    if basis == "flow_year":
        return f"year to Jan {year}"
    return financial_year(year)


def forecast_table(la: LaData) -> Table | str:
    fc, bf = la.caseload_forecast, la.balance_forecast
    if not fc:
        return "No forecast (fewer than four censuses)."
    rows = []
    for i, census_year in enumerate(fc["census_year"]):
        fy = financial_year(census_year)
        cells = [
            f"January {census_year} / {fy}",
            quantity(fc["forecast"][i]),
            f"{quantity(fc['lower_80'][i])}–{quantity(fc['upper_80'][i])}",
        ]
        for scenario in ("UNMITIGATED", "MITIGATED"):
            b = _row(bf.get(scenario), "financial_year", fy)
            cells.append(quantity(None if b is None else b["hnb_expenditure_gbp"], "gbp"))
            cells.append(quantity(None if b is None else b["cumulative_balance_gbp"], "gbp"))
        rows.append(cells)
    return Table(
        f"{la.info.la_name}: forecast EHCPs, HNB spend and DSG cumulative balance",
        [
            "Census / financial year",
            "EHCPs",
            "EHCPs, 80% band",
            "HNB spend, unmitigated",
            "Cumulative balance, unmitigated",
            "HNB spend, mitigated",
            "Cumulative balance, mitigated",
        ],
        rows,
    )


def outcome_table(data: ReportData, la: LaData) -> Table | str:
    o = la.outcomes
    if not o:
        return data.notes.get("outcomes") or "DfE publishes no indicators for this LA code."
    years = sorted(set(o["year"].tolist()))[-5:]
    values: dict[str, dict] = {}  # indicator → year → the first value given
    for indicator, year, value in zip(o["indicator"], o["year"], o["value"]):
        if year in years and pd.notna(value):
            values.setdefault(indicator, {}).setdefault(year, value)
    england = data.england_outcomes.get(years[-1], {})
    order = [i for i in data.catalogue_order if i in values]
    rows = [
        [data.label(i), *(quantity(values[i].get(y), "percent") for y in years), quantity(england.get(i), "percent")]
        for i in order
    ]
    return Table(
        f"{la.info.la_name}: DfE's outcome indicators by calendar year, with England",
        ["Indicator (calendar year)", *map(str, years), f"England {years[-1]}"],
        rows,
        note="Caseload indicators are at the January census after the calendar year.",
    )


# ---------------------------------------------------------------- writing


def _forecast_totals(data: ReportData) -> pd.DataFrame:
    """Projected cumulative balance per LA at the last projected year, one column per scenario."""
    bf = data.balance_forecast
    if bf.empty:
        return pd.DataFrame(columns=["UNMITIGATED", "MITIGATED"])
    end = bf.financial_year.max()
    out = bf[bf.financial_year == end].pivot_table(
        index="la_code", columns="scenario", values="cumulative_balance_gbp", aggfunc="first"
    )
    out.attrs["financial_year"] = end
    return out


def render_pages(data: ReportData) -> dict[str, str]:
    """Every page's HTML by its path in the report (the footer's time left as ``GENERATED_AT``)."""
    charts = Charts()
    pages = {"index.html": index_page(charts, data)}
    totals = _forecast_totals(data)
    for tranche in sorted(data.las[data.las.programme.eq("DBV")].tranche.dropna().unique()):
        pages[tranche_page(tranche)] = tranche_page_html(charts, data, int(tranche), totals)
    known = set(data.las.index)
    for la in split_by_la(data):
        pages[la_page(la.code)] = la_page_html(charts, data, la, known)
    return pages


def write_report(data: ReportData, out_dir: Path) -> ReportSummary:
    """Write the report into ``out_dir``, content-addressed: each page is rendered, and written only if
    its HTML (less the footer's generation time) differs from the last run's, by the SHA-256 hashes kept
    in ``manifest.json``; pages no longer in the report (an LA gone) are removed."""
    started = time.perf_counter()
    pages = render_pages(data)
    rendered = time.perf_counter()
    previous = read_manifest(out_dir)
    hashes = {path: hashlib.sha256(html_text.encode("utf-8")).hexdigest() for path, html_text in pages.items()}
    summary = ReportSummary(index=out_dir / "index.html", pages=[out_dir / p for p in pages])
    (out_dir / LA_DIR).mkdir(parents=True, exist_ok=True)
    for path, html_text in pages.items():
        if not is_stale(previous, path, hashes[path], out_dir / path):
            continue
        (out_dir / path).write_text(html_text.replace(GENERATED_AT, escape(data.generated_at)), encoding="utf-8")
        summary.written.append(out_dir / path)
    for stale in [*(out_dir / LA_DIR).glob("*.html"), *out_dir.glob("tranche-*.html")]:
        if stale.relative_to(out_dir).as_posix() not in pages:
            stale.unlink()
            summary.removed.append(stale)
    write_manifest(out_dir, hashes)
    summary.render_seconds = rendered - started
    summary.seconds = time.perf_counter() - started
    return summary
