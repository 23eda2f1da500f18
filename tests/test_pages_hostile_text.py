"""Hostile text on every page (issue 15): markup, quotes, ampersands, a stylesheet's end and template
syntax in every LA-supplied field — LA and neighbour names, regions, file names, values, reasons,
column names, notes — comes out inert: no script element or event-handler attribute from the data,
the stylesheet intact, and the text shown as text."""

from __future__ import annotations

import dataclasses
import datetime as dt
from html.parser import HTMLParser

import pytest

from dbv_pipeline.assurance.feedback import COLUMNS, Report, render_html, write_feedback_report
from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.playbook.charts import Charts, Line
from dbv_pipeline.playbook.report import ReportData, render_pages
from tests.conftest import RECEIVED, write_csv
from tests.test_assurance_gx_rules import HNB, MIT

HOSTILE = "<script>alert(1)</script>\"'&</style>{{ 7*7 }}<img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


class Page(HTMLParser):
    """The elements, attributes and text of a page, as a browser's tokenizer sees them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.text: list[str] = []
        self.style: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes |= {name for name, _ in attrs}

    def handle_data(self, data):
        (self.style if self.lasttag == "style" else self.text).append(data)


def assert_inert(html: str, where: str, *, whole: bool = True) -> Page:
    """No script, image or event handler from the data; the stylesheet holds nothing of it; the hostile
    text shows as text (``whole``: all of it, the template syntax not evaluated)."""
    page = Page(html)
    assert "script" not in page.tags and "img" not in page.tags, where
    assert not {a for a in page.attributes if a.startswith("on")}, where
    assert "alert" not in "".join(page.style), where  # no stylesheet cut short by a hostile "</style>"
    assert "<script>alert(1)" in "".join(page.text) and ESCAPED in html, where
    if whole:
        assert HOSTILE in "".join(page.text) and "{{ 7*7 }}" in html, where
    return page


@pytest.mark.parametrize("empty", [False, True], ids=["with-outcomes", "notes-instead"])
def test_every_playbook_page_shows_hostile_names_and_notes_as_text(playbook_sample, empty):
    data = ReportData.load(playbook_sample.paths)
    evaluation = data.evaluation_summary.iloc[:0] if empty else data.evaluation_summary.assign(label=HOSTILE)
    hostile = dataclasses.replace(
        data,
        las=data.las.assign(la_name=HOSTILE + data.las.la_name, region_name=HOSTILE),
        neighbours=data.neighbours.assign(neighbour_la_name=HOSTILE + data.neighbours.neighbour_la_name),
        benchmarks=data.benchmarks.assign(phrase=HOSTILE),
        catalogue=data.catalogue.assign(label=HOSTILE + data.catalogue.label),
        notes={"outcomes": HOSTILE, "evaluation": HOSTILE},
        provenance=[*data.provenance, HOSTILE],
        outcomes=data.outcomes.iloc[:0] if empty else data.outcomes,
        evaluation_summary=evaluation,
    )
    pages = render_pages(hostile)
    assert len(pages) == 1 + 3 + len(data.las)
    for path, html in pages.items():
        assert_inert(html, path)
        assert '<svg role="img"' in html, path
    la = next(p for p in pages if p.startswith("la/"))
    assert f"<h1>{ESCAPED}" in pages[la]  # the LA's name as its heading


def test_charts_escape_the_text_they_embed():
    charts = Charts()
    svgs = [
        charts.trend(HOSTILE, [Line(HOSTILE, [2020, 2021], [1, 2])]).svg,
        charts.benchmark_dots(
            HOSTILE,
            [HOSTILE],
            [1000.0],
            [[900.0]],
            [(800.0, 950.0, 1100.0)],
            [1000.0],
            la_label=HOSTILE,
            cohort_label=HOSTILE,
        ).svg,
        charts.event_study(HOSTILE, {HOSTILE: ([-1, 0], [0.0, 1.0], [-0.5, 0.2], [0.5, 1.8])}).svg,
    ]
    for svg in svgs:
        page = Page(svg)
        assert "script" not in page.tags and "img" not in page.tags
        assert not {a for a in page.attributes if a.startswith("on")}
        assert ESCAPED in svg
    assert HOSTILE in "".join(Page(svgs[1]).text)  # the row label, as text


def test_the_feedback_report_shows_hostile_fields_as_text():
    row = {c: HOSTILE for c in COLUMNS}
    report = Report(
        la_code=HOSTILE,
        la_name=HOSTILE,
        source_file=HOSTILE,
        source_sha256=HOSTILE,
        received_at=dt.datetime(2025, 5, 1, 9),
        return_period=HOSTILE,
        synthetic=True,
        tables=[
            {
                "table_name": HOSTILE,
                "outcome": "rejected",
                "rows_in": 1,
                "rows_loaded": 0,
                "rows_rejected": 1,
                "reason": HOSTILE,
            }
        ],
        rejected=[{**row, "severity": "Row rejected"}],
        warnings=[{**row, "severity": "Warning"}],
        notes=[HOSTILE],
    )
    page = assert_inert(render_html(report), "feedback")
    assert "".join(page.text).count(HOSTILE) >= 20  # title, summary, every table's cells, the note


@pytest.mark.parametrize(
    "table, rows",
    [
        ("hnb_spend", [HNB, {**HNB, "provision_type": HOSTILE, HOSTILE: HOSTILE}]),
        ("mitigations", [MIT, {**MIT, "mitigation_id": "M2", "status": HOSTILE, "title": HOSTILE}]),
    ],
)
def test_hostile_values_and_columns_in_a_return_reach_its_feedback_report_as_text(data_paths, table, rows):
    write_csv(data_paths.landing / f"869_{table}_2024-25.csv", rows)
    [outcome] = ingest_landing(data_paths, received_at=RECEIVED).files
    html_path, _ = write_feedback_report(data_paths, "869", outcome.sha256)
    assert_inert(html_path.read_text(encoding="utf-8"), table, whole=False)  # reasons may quote a value cut short
