"""The pages' accessibility (issue 13): tick labels that say which tick is which, colours that colour-blind
readers and greyscale prints can tell apart (every series has a second cue), text alternatives written
from the data, table captions, a skip link, and axe-core in headless Chromium finding no serious or
critical violation on the playbook's index, a tranche page, an LA page and a feedback report."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from dbv_pipeline.assurance.feedback import write_feedback_report
from dbv_pipeline.docs_server import fetch_assets
from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.playbook import charts as ch
from dbv_pipeline.playbook.charts import Charts, Line
from dbv_pipeline.playbook.report import SCENARIO_STYLES
from dbv_pipeline.settings import PROJECT_ROOT
from tests.conftest import RECEIVED, write_csv
from tests.test_assurance_gx_rules import HNB
from tests.test_docs_server import CHROMIUM, rendered_dom

AXE = "axe-core@4"
AXE_DIR = PROJECT_ROOT / ".cache" / "test_assets"  # gitignored; fetched from the npm registry once
PAGES = ["index.html", "tranche-1.html", "la/302.html"]


@pytest.fixture(scope="module")
def report(playbook_sample) -> Path:
    return playbook_sample.paths.reports / "playbook" / "report"


@pytest.fixture
def feedback(data_paths) -> Path:
    """A synthetic-stamped feedback report with a rejected row and a warning."""
    rows = [HNB, {**HNB, "provision_type": "CENTRAL", "spend_gbp": "-5000"}, {**HNB, "provision_type": "MSX"}]
    write_csv(data_paths.landing / "869_hnb_spend_2024-25.csv", rows)
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    return write_feedback_report(data_paths, "869", outcome.sha256, synthetic=True)[0]


def y_labels(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'<text x="[^"]+" y="[^"]+" text-anchor="end">([^<]*)</text>', svg)]


# ---------------------------------------------------------------- tick labels


def parse(label: str) -> float:
    """A tick label's number: −£1.25m → -1250000."""
    scale = {"m": 1e6, "k": 1e3}.get(label[-1], 1.0)
    number = float(label.replace("−", "-").replace("£", "").replace(",", "").rstrip("%mk"))
    return number * scale


@pytest.mark.parametrize(
    "unit, values",
    [
        ("percent", [6.3, 6.1, 5.9, 5.7, 5.6]),  # the INMSS chart's range: once "6%, 6%, 5%"
        ("percent", [10.0, 12.5, 15.0]),
        ("percent", [-0.2, 0.1, 0.3]),
        ("gbp", [10.1e6, 10.4e6, 10.8e6]),  # once "£10m" three times
        ("gbp", [350_100, 350_600, 351_200]),
        ("gbp", [-2.1e6, -1.9e6, -1.7e6]),
        ("plans", [1000.2, 1000.6, 1001.1]),
    ],
)
def test_tick_labels_are_distinct_and_exact_on_a_narrow_range(unit, values):
    """Each label shows its tick exactly: read back, the labels are evenly spaced, so none is alike."""
    svg = Charts.trend("t", [Line("x", list(range(2020, 2020 + len(values))), values)], unit).svg
    labels = y_labels(svg)
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    numbers = [parse(t) for t in labels]
    steps = {round(b - a, 6) for a, b in zip(numbers, numbers[1:])}
    assert len(steps) == 1 and steps.pop() > 0, labels  # from the bottom up


def test_tick_labels_keep_whole_numbers_whole():
    assert ch.percent([0.0, 20.0, 40.0]) == ["0%", "20%", "40%"]
    assert ch.percent([5.0, 5.5, 6.0]) == ["5.0%", "5.5%", "6.0%"]
    assert ch.money([-2e6, -1.5e6, -5e5, 0, 1e3, 2e4]) == ["−£2m", "−£1.5m", "−£500k", "£0", "£1k", "£20k"]
    assert ch.count([0, 100, 200]) == ["0", "100", "200"]


# ---------------------------------------------------------------- colour and its second cue


def contrast(colour: str) -> float:
    """WCAG contrast ratio of ``colour`` against white."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def test_line_colours_have_3_to_1_contrast_and_are_not_gov_red_and_green():
    assert all(contrast(c) >= 3 for c in ch.LINE_COLOURS), [(c, round(contrast(c), 2)) for c in ch.LINE_COLOURS]
    assert "#d4351c" not in ch.LINE_COLOURS and "#00703c" not in ch.LINE_COLOURS


def figures(page: str) -> list[str]:
    return re.findall(r"<figure>.*?</figure>", page, re.S)


def without_colour(swatch: str) -> str:
    return re.sub(r'(fill|stroke)="#[0-9a-f]{6}"', "", swatch)


@pytest.mark.integration  # the playbook sample (dbt, Dagster) or headless Chromium
@pytest.mark.parametrize("page", PAGES)
def test_every_series_has_a_cue_besides_colour(report, page):
    """Within a chart, the legend swatches differ with their colours taken out (marker or dash), and
    stacked bars are named beside the bars: a greyscale print or a colour-blind reader can match them."""
    text = (report / page).read_text(encoding="utf-8")
    checked = 0
    for figure in figures(text):
        keys = re.findall(r'<span class="key">(<svg class="sw".*?</svg>)([^<]*)</span>', figure)
        bars = [label for swatch, label in keys if '<rect x="4"' in swatch and 'fill-opacity="1"' in swatch]
        lines = [without_colour(swatch) for swatch, _ in keys if '<path d="M1 6H23"' in swatch]
        assert len(set(lines)) == len(lines), figure[:200]
        for label in bars:
            assert f">{label}</text>" in figure, label  # a direct label in the chart
        checked += len(lines) + len(bars)
    assert checked >= 8, checked


@pytest.mark.integration  # the playbook sample (dbt, Dagster) or headless Chromium
def test_the_dsg_balance_scenarios_differ_by_marker_not_only_by_colour(report):
    barnet = (report / "la" / "302.html").read_text(encoding="utf-8")
    [balance] = [f for f in figures(barnet) if "DSG cumulative balance" in f]
    (unmitigated, triangle), (mitigated, square) = SCENARIO_STYLES["UNMITIGATED"], SCENARIO_STYLES["MITIGATED"]
    assert (triangle, square) == ("^", "s")  # once red against green, lines alike
    assert re.search(rf'<path d="M[^"]*Z" fill="{unmitigated}"', balance)  # ▲
    assert re.search(rf'<rect [^>]*fill="{mitigated}"', balance)  # ■


# ---------------------------------------------------------------- text alternatives, captions, skip link


def alts(page: str) -> list[str]:
    return [html.unescape(a) for a in re.findall(r'<svg role="img" aria-label="([^"]*)"', page)]


@pytest.mark.integration  # the playbook sample (dbt, Dagster) or headless Chromium
def test_chart_alternatives_say_whose_which_measure_years_and_values(report):
    barnet = alts((report / "la" / "302.html").read_text(encoding="utf-8"))
    assert len(barnet) == 5
    for alt, measure in zip(barnet, ["EHCPs", "EHCP growth", "placement mix", "unit cost", "DSG cumulative balance"]):
        assert alt.startswith("Barnet: ") and measure in alt and len(alt) > 120, alt
        assert re.search(r"\b20[12]\d\b", alt), alt  # years
    assert re.search(r"Barnet: \d+\.\d% in 2017, (rising|falling) to \d+\.\d% in 2025", barnet[1]), barnet[1]
    assert "England median" in barnet[1] and "pipeline forecast" in barnet[0] and "80% band" in barnet[0]
    index = alts((report / "index.html").read_text(encoding="utf-8"))
    assert any("median by group" in a and "Safety Valve median" in a for a in index), index
    tranche = alts((report / "tranche-1.html").read_text(encoding="utf-8"))
    assert any("DBV tranche 1" in a and "projected, mitigated" in a for a in tranche), tranche


@pytest.mark.integration  # the playbook sample (dbt, Dagster) or headless Chromium
@pytest.mark.parametrize("page", PAGES)
def test_tables_have_captions_and_pages_a_skip_link(report, page):
    text = (report / page).read_text(encoding="utf-8")
    tables = re.findall(r"<table[^>]*>(.*?)</table>", text, re.S)
    assert tables
    assert all(re.match(r"<caption>[^<]{10,}</caption>", t) for t in tables), page
    assert '<a class="skip" href="#content">' in text and '<main id="content">' in text


def test_the_feedback_report_has_captions_and_a_skip_link(feedback):
    text = feedback.read_text(encoding="utf-8")
    tables = re.findall(r"<table[^>]*>(.*?)</table>", text, re.S)
    assert len(tables) == 3 and all(re.match(r"<caption>[^<]{10,}</caption>", t) for t in tables)
    assert '<a class="skip" href="#content">' in text and '<main id="content">' in text


# ---------------------------------------------------------------- axe-core in headless Chromium

RUNNER = """<script src="%s"></script><script>
axe.run(document, {resultTypes: ["violations"]}).then(
  r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))})),
  e => [{id: "axe-error", impact: "critical", help: String(e), nodes: []}]
).then(v => { const out = document.createElement("pre"); out.id = "axe-results"; out.textContent = JSON.stringify(v);
              document.body.appendChild(out); });
</script>"""


@pytest.fixture(scope="module")
def axe_script() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium is not installed (/usr/bin/chromium)")
    fetch_assets(AXE_DIR, [AXE])
    return AXE_DIR / AXE / "axe.min.js"


def axe(page: Path, script: Path, profile: Path) -> list[dict]:
    """axe-core's violations on ``page``: a copy of it beside it, with axe and a runner that writes the
    results into the page, read back with Chromium's ``--dump-dom`` (``test_docs_server.rendered_dom``: loopback only)."""
    copy = page.with_name(f"{page.stem}.axe.html")
    copy.write_text(
        page.read_text(encoding="utf-8").replace("</body>", RUNNER % script.as_uri() + "</body>"), encoding="utf-8"
    )
    try:
        dom = rendered_dom(copy.as_uri(), profile)
    finally:
        copy.unlink()
    found = re.search(r'<pre id="axe-results">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def assert_no_serious_violation(violations: list[dict], where: str) -> None:
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, (where, serious)


@pytest.mark.integration  # the playbook sample (dbt, Dagster) or headless Chromium
@pytest.mark.parametrize("page", PAGES)
def test_axe_finds_no_serious_violation_on_the_playbook(report, axe_script, tmp_path, page):
    assert_no_serious_violation(axe(report / page, axe_script, tmp_path / "profile"), page)


@pytest.mark.integration  # the playbook sample (dbt, Dagster) or headless Chromium
def test_axe_finds_no_serious_violation_on_a_feedback_report(feedback, axe_script, tmp_path):
    assert_no_serious_violation(axe(feedback, axe_script, tmp_path / "profile"), feedback.name)
