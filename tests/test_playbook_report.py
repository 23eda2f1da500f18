"""The playbook's Dagster assets on the small synthetic warehouse: forecasts, outcome indicators,
evaluation, the static HTML report (pages, links, watermark, headless Chromium) and the exports."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest

from dbv_pipeline.playbook.assets import PLAYBOOK_ASSETS, evaluation, exports, outcome_indicators, report
from dbv_pipeline.playbook.charts import Charts
from dbv_pipeline.playbook.data import PlaybookPaths, Provenance
from dbv_pipeline.playbook.exports import WORKBOOK
from dbv_pipeline.playbook.report import ReportData, index_page
from dbv_pipeline.settings import DataPaths, PipelineSettings
from harness.playbook import SAMPLE_LAS

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def sample(playbook_sample):
    return playbook_sample


@pytest.fixture(scope="module")
def out(sample) -> PlaybookPaths:
    return PlaybookPaths.of(sample.paths)


def metadata(sample, name: str) -> dict:
    [event] = [e for e in sample.result.get_asset_materialization_events() if e.asset_key.path == ["playbook", name]]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def test_every_asset_materialised(sample):
    assert sample.result.success
    keys = {event.asset_key for event in sample.result.get_asset_materialization_events()}
    assert keys == {asset.key for asset in PLAYBOOK_ASSETS}
    assert metadata(sample, "report")["pages"] == 1 + 3 + len(SAMPLE_LAS)
    assert metadata(sample, "forecasts")["las"] == len(SAMPLE_LAS)


def test_assets_depend_on_the_dbt_models():
    deps = {key.path[-1] for key in report.dependency_keys}
    assert {"pb_la_year_metrics", "pb_benchmarks", "pb_group_stats", "forecasts", "evaluation"} <= deps
    assert all(key.path[0] in ("warehouse", "playbook") for asset in PLAYBOOK_ASSETS for key in asset.dependency_keys)


def test_definitions_load_with_the_warehouse_in_one_lineage(sample):
    from dbv_pipeline.playbook.definitions import defs as playbook_defs
    from dbv_pipeline.warehouse.assets import dbt_resource, warehouse_assets
    from dbv_pipeline.warehouse.prepare import prepare_dbt_project

    project = prepare_dbt_project(sample.project_dir)
    defs = dg.Definitions.merge(
        dg.Definitions(
            assets=[warehouse_assets(project)], resources={"dbt": dbt_resource(project), "settings": PipelineSettings()}
        ),
        playbook_defs,
    )
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    metrics = dg.AssetKey(["warehouse", "pb_la_year_metrics"])
    assert dg.AssetKey(["warehouse", "fct_ehcp_census"]) in graph.get(metrics).parent_keys
    assert metrics in graph.get(dg.AssetKey(["playbook", "exports"])).parent_keys
    assert graph.get(dg.AssetKey(["warehouse", "pb_benchmarks"])).group_name == "playbook"


def test_forecasts_run_to_2028_29_with_ordered_bands(out):
    caseload = pd.read_parquet(out.forecasts / "caseload_forecast.parquet")
    totals = caseload[caseload.provision_type == "ALL"]
    assert set(totals.la_code) == set(SAMPLE_LAS) and set(totals.census_year) == {2026, 2027, 2028, 2029}
    assert (totals.lower_95 <= totals.lower_80).all() and (totals.lower_80 <= totals.forecast).all()
    assert (totals.forecast <= totals.upper_80).all() and (totals.upper_80 <= totals.upper_95).all()
    balance = pd.read_parquet(out.forecasts / "dsg_balance_forecast.parquet")
    assert set(balance.financial_year) == {"2025-26", "2026-27", "2027-28", "2028-29"}
    wide = balance.pivot_table(index=["la_code", "financial_year"], columns="scenario", values="cumulative_balance_gbp")
    assert (wide.MITIGATED >= wide.UNMITIGATED - 1e-6).all()  # savings are never negative
    known = balance.dropna(subset=["cumulative_balance_gbp"])
    assert (known.cumulative_lower_95 <= known.cumulative_lower_80 + 1e-6).all()
    assert (known.cumulative_lower_80 <= known.cumulative_balance_gbp + 1e-6).all()
    assert (known.cumulative_balance_gbp <= known.cumulative_upper_80 + 1e-6).all()


def test_outcomes_and_evaluation(sample, out):
    indicators = pd.read_parquet(out.outcome_indicators / "outcome_indicators.parquet")
    summary = pd.read_parquet(out.evaluation / "evaluation_summary.parquet")
    if not sample.has_public_data:
        assert indicators.empty and summary.empty and (out.evaluation / "NOTE.txt").exists()
        return
    assert indicators.la_code.nunique() > 100  # DfE publishes every LA, not only the sample's
    # six indicators: requests refused starts in 2023 (collection break), after every tranche began
    assert len(summary) == 6 and summary.label.eq("observational evidence, not causal").all()
    assert "requests_refused_pct" not in set(summary.indicator)
    assert (summary.ci_low <= summary.estimate).all() and (summary.estimate <= summary.ci_high).all()
    # the shipped cohort is synthetic, random with respect to DfE's data: nothing survives the adjustment
    assert not summary.significant.any(), summary[["indicator", "estimate", "p_randomisation", "p_adjusted"]]
    assert summary.n_permutations.eq(199).all() and (summary.p_adjusted >= summary.p_randomisation).all()
    assert "requests_refused_pct" not in set(indicators[indicators.year < 2023].indicator)  # collection break
    events = pd.read_parquet(out.evaluation / "evaluation_event_study.parquet")
    reference = events[events.event_time == -1]
    assert len(reference) == 6 and np.allclose(reference.estimate, 0)
    assert not (out.evaluation / "NOTE.txt").exists()


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href"]


def test_report_has_a_page_per_la_and_tranche_and_every_link_resolves(out):
    pages = sorted(out.report.rglob("*.html"))
    assert {p.relative_to(out.report).as_posix() for p in pages} == {
        "index.html",
        "tranche-1.html",
        "tranche-2.html",
        "tranche-3.html",
        *(f"la/{la}.html" for la in SAMPLE_LAS),
    }
    for page in pages:
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        assert parser.hrefs, page
        for href in parser.hrefs:
            if href.startswith("#"):  # the skip link: to an element of the page itself
                assert f'id="{href[1:]}"' in page.read_text(encoding="utf-8"), (page, href)
                continue
            assert not urlparse(href).scheme and not href.startswith("/"), (page, href)  # relative: works on file://
            assert (page.parent / href).resolve().exists(), (page, href)
    index = (out.report / "index.html").read_text(encoding="utf-8")
    assert all(f'href="la/{la}.html"' in index for la in SAMPLE_LAS)
    barnet = (out.report / "la" / "302.html").read_text(encoding="utf-8")
    assert 'href="../tranche-1.html"' in barnet and 'href="320.html"' in barnet  # tranche and a neighbour


def test_every_page_is_watermarked_and_shows_its_charts(out):
    for page in out.report.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert 'class="synthetic-banner">SYNTHETIC DATA' in text and "<title>SYNTHETIC DATA" in text, page
        assert "LA returns: SYNTHETIC" in text and "Programme cohort: SYNTHETIC" in text and "Public data:" in text, (
            page
        )
        assert "<script" not in text, page
    barnet = (out.report / "la" / "302.html").read_text(encoding="utf-8")
    assert barnet.count('<svg role="img"') == 5
    for title in (
        "forecast to January 2029",
        "Placement mix",
        "Unit cost per EHCP",
        "DSG cumulative balance",
        "EHCP growth on the year, against comparison medians",
        "MSS unit cost",
        "highest",
    ):
        assert title in barnet, title


def test_no_watermark_for_real_data(sample):
    real = Provenance(returns_synthetic=False, cohort_synthetic=False, public_data="DfE EHC plans release: …")
    data = dataclasses.replace(ReportData.load(sample.paths), synthetic=False, provenance=real.sentences())
    html = index_page(Charts(), data)
    assert "SYNTHETIC" not in html and "synthetic-banner" not in html


def test_a_rerun_rewrites_only_what_changed(sample, tmp_path):
    """Pages and exports are content-addressed: unchanged data rewrites nothing; one LA's new EHCP counts
    rewrite its page, the index and its tranche page (which show them), one export table and the workbook."""
    paths = DataPaths(tmp_path / "data")
    shutil.copytree(sample.paths.reports, paths.reports)  # with the manifests of the sample's run
    shutil.copytree(sample.paths.landing, paths.landing)  # the synthetic marker, as in the sample's run
    shutil.copytree(sample.paths.public, paths.public)  # the same public data (and its provenance)
    shutil.copy(sample.paths.warehouse, paths.warehouse)
    resources = {"settings": PipelineSettings(data_dir=str(paths.root))}
    out = PlaybookPaths.of(paths)
    stamps = {p: p.stat().st_mtime_ns for p in out.report.rglob("*.html")}

    def run() -> dict[str, dict]:
        result = dg.materialize([report, exports], resources=resources)
        assert result.success
        return {
            e.asset_key.path[-1]: {k: getattr(v, "value", v) for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()
        }

    def rewritten() -> set[str]:
        return {p.relative_to(out.report).as_posix() for p, t in stamps.items() if p.stat().st_mtime_ns != t}

    same = run()
    assert same["report"]["pages_written"] == 0 and same["report"]["pages_unchanged"] == 1 + 3 + len(SAMPLE_LAS)
    assert same["exports"]["tables_written"] == 0 and not same["exports"]["workbook_written"]
    assert rewritten() == set()

    with duckdb.connect(str(paths.warehouse)) as con:  # this copy only: Barnet's returns changed
        con.execute("update playbook.pb_la_year_metrics_wide set ehcp_count = ehcp_count + 7 where la_code = '302'")
    changed = run()
    assert changed["report"]["pages_written"] == 3
    assert rewritten() == {"la/302.html", "index.html", "tranche-1.html"}
    assert changed["exports"]["tables_written"] == 1 and changed["exports"]["workbook_written"]
    wide = pd.read_parquet(out.exports / "pb_la_year_metrics_wide.parquet")
    original = pd.read_parquet(sample.paths.reports / "playbook" / "exports" / "pb_la_year_metrics_wide.parquet")
    assert (
        wide[wide.la_code == "302"].ehcp_count.to_numpy() == original[original.la_code == "302"].ehcp_count + 7
    ).all()


def test_exports_are_readable(out):
    files = {p.name for p in out.exports.iterdir()}
    for name in (
        "pb_la_year_metrics",
        "pb_la_year_metrics_wide",
        "pb_group_stats",
        "pb_benchmarks",
        "pb_benchmark_labels",
        "caseload_forecast",
        "dsg_balance_forecast",
        "evaluation_summary",
    ):
        assert {f"{name}.csv", f"{name}.parquet"} <= files, name
        parquet = pd.read_parquet(out.exports / f"{name}.parquet")
        csv = pd.read_csv(out.exports / f"{name}.csv")
        assert len(parquet) == len(csv), name
        for frame in (parquet, csv):  # every export says what is synthetic and where public data came from
            assert frame.returns_synthetic.all() and frame.cohort_synthetic.all(), name
            assert frame.public_data_source.str.contains("education-health-and-care-plans|No DfE public data").all()
    for table in ("evaluation_summary", "evaluation_event_study"):  # the evaluation asset's own files too
        assert pd.read_csv(out.evaluation / f"{table}.csv").cohort_synthetic.all()
    metrics = pd.read_parquet(out.exports / "pb_la_year_metrics.parquet")
    assert set(metrics.la_code) == set(SAMPLE_LAS)
    book = openpyxl.load_workbook(out.exports / WORKBOOK, read_only=True)
    assert book.sheetnames[:4] == ["README", "metric_catalogue", "metrics_long", "metrics_wide"]
    assert "SYNTHETIC" in book["README"]["A2"].value
    readme = " ".join(str(row[0].value) for row in book["README"].iter_rows())
    assert "LA returns: SYNTHETIC" in readme and "Programme cohort: SYNTHETIC" in readme and "Public data:" in readme
    assert book["metrics_long"].max_row == len(metrics) + 1
    book.close()


def test_exports_say_who_each_la_is(sample, out):
    """Every export with an la_code has the LA's name, region, programme and tranche beside it, as in
    marts.dim_la; an LA outside DBV has no tranche."""
    with duckdb.connect(str(sample.paths.warehouse), read_only=True) as con:
        las = con.sql("select la_code, la_name, region_name, programme, tranche from marts.dim_la").df()
    for name in ("pb_la_year_metrics", "pb_benchmark_labels", "caseload_forecast", "spend_forecast"):
        frame = pd.read_parquet(out.exports / f"{name}.parquet")
        if frame.empty:
            continue
        columns = list(frame.columns)
        at = columns.index("la_code")
        assert columns[at + 1 : at + 5] == ["la_name", "region_name", "programme", "tranche"], name
        expected = frame[["la_code"]].merge(las, on="la_code", how="left")
        pd.testing.assert_frame_equal(
            frame[expected.columns].reset_index(drop=True), expected, check_dtype=False, obj=name
        )
        assert frame.la_name.notna().all(), name
    metrics = pd.read_parquet(out.exports / "pb_la_year_metrics.parquet")
    assert metrics.loc[metrics.programme != "DBV", "tranche"].isna().all()
    assert metrics.loc[metrics.programme == "DBV", "tranche"].notna().all()


def test_the_workbook_has_frozen_filterable_headers_and_rounded_numbers(out):
    book = openpyxl.load_workbook(out.exports / WORKBOOK)
    sheet = book["metrics_long"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    assert sheet["A1"].font.bold
    header = [cell.value for cell in sheet[1]]
    value = header.index("value") + 1
    numbers = [
        row[0]
        for row in sheet.iter_rows(min_row=2, min_col=value, max_col=value, values_only=True)
        if row[0] is not None
    ]
    assert numbers and all(round(v, 2) == v for v in numbers)  # percentages, pounds, plans: no 66.666666…
    assert sheet.cell(2, value).number_format == "#,##0.00"
    book.close()


def test_without_public_data_outcomes_and_evaluation_are_empty_with_a_note(sample, tmp_path):
    paths = DataPaths(tmp_path / "data")
    shutil.copytree(sample.paths.reports, paths.reports)
    paths.landing.mkdir(parents=True)
    shutil.copy(sample.paths.warehouse, paths.warehouse)
    with duckdb.connect(str(paths.warehouse)) as con:  # this copy only: a warehouse built without a release
        con.execute("delete from playbook.pb_outcome_indicators")
    result = dg.materialize(
        [outcome_indicators, evaluation, report], resources={"settings": PipelineSettings(data_dir=str(paths.root))}
    )
    assert result.success
    out = PlaybookPaths.of(paths)
    assert pd.read_parquet(out.outcome_indicators / "outcome_indicators.parquet").empty
    assert pd.read_parquet(out.evaluation / "evaluation_summary.parquet").empty
    for folder in (out.outcome_indicators, out.evaluation):
        assert "DBV_DFE_EHCP_SOURCE" in (folder / "NOTE.txt").read_text()
    index = (out.report / "index.html").read_text(encoding="utf-8")
    assert "No DfE public data in the warehouse" in index


def screenshot(page: Path, png: Path, profile: Path) -> None:
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            "--window-size=1280,2000",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium is not installed (/usr/bin/chromium)")
@pytest.mark.parametrize("page", ["index.html", "la/302.html"])
def test_pages_render_in_headless_chromium(out, tmp_path, page):
    from PIL import Image

    png = tmp_path / "page.png"
    screenshot(out.report / page, png, tmp_path / "profile")
    assert png.stat().st_size > 50_000
    image = np.asarray(Image.open(png).convert("RGB"), dtype=float)
    assert image.shape[:2] == (2000, 1280)
    assert image.std() > 20  # not blank
    banner = image[:30].reshape(-1, 3).mean(axis=0)  # the red SYNTHETIC DATA banner across the top
    assert banner[0] > 150 and banner[1] < 110 and banner[2] < 110, banner
    # the charts' Okabe–Ito blue (#0072b2), told apart from the headings' and links' GOV.UK blue (#1d70b8)
    blue = (np.abs(image - [0, 114, 178]).sum(axis=2) < 12).mean()
    assert blue > 0.0003, blue


def test_report_index_mentions_every_tranche(out):
    index = (out.report / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'href="(tranche-\d\.html)"', index)[:3] == ["tranche-1.html", "tranche-2.html", "tranche-3.html"]
