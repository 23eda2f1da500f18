"""The playbook's charts as inline SVG (matplotlib, without pyplot).

Speed matters (five charts on each of 153 LA pages), so: one figure per chart type, reused from
chart to chart (only its data artists are removed, so axes and ticks are not rebuilt); text stays
text (``svg.fonttype: none``); titles and legends are left to the HTML page (each chart returns its
legend items), which saves matplotlib's text layout.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

matplotlib.rcParams.update({
    "svg.fonttype": "none", "svg.hashsalt": "dbv-playbook", "font.family": "sans-serif", "font.size": 8.5,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.color": "#e3e3e3",
    "grid.linewidth": 0.6, "axes.axisbelow": True, "axes.edgecolor": "#8d9499",
})

# GOV.UK colours
BLUE, ORANGE, GREEN, RED, PURPLE, GREY, PINK, TURQUOISE = (
    "#1d70b8", "#f47738", "#00703c", "#d4351c", "#4c2c92", "#505a5f", "#d53880", "#28a197")
NEIGHBOUR_GREY = "#8d9499"
MIX_COLOURS = [BLUE, PURPLE, RED, ORANGE, TURQUOISE, "#b1b4b6"]


@dataclass(frozen=True)
class LegendItem:
    """A legend entry for the HTML page; ``kind``: line, dashed, dotted, band, dot, tick or bar."""

    label: str
    colour: str
    kind: str = "line"


@dataclass
class Chart:
    svg: str
    legend: list[LegendItem] = field(default_factory=list)


@dataclass
class Line:
    """A line of a trend chart; ``band`` = (lower, upper) shaded around it."""

    label: str
    x: Sequence
    y: Sequence
    colour: str = BLUE
    style: str = "line"  # line, dashed or dotted
    width: float = 1.6
    band: tuple[Sequence, Sequence] | None = None
    band_label: str | None = None


@dataclass
class Fan:
    """A projection with 80% and 95% bands, drawn on from the last actual point."""

    label: str
    x: Sequence
    y: Sequence
    lower_80: Sequence
    upper_80: Sequence
    lower_95: Sequence
    upper_95: Sequence
    colour: str = BLUE


def money(value: float, _pos=None) -> str:
    """£1.2m, £350k, £900; negative −£1.2m; blank for missing."""
    if value is None or not np.isfinite(value):
        return ""
    sign, v = ("−" if value < 0 else ""), abs(value)
    if v >= 1e7:
        return f"{sign}£{v / 1e6:,.0f}m"
    if v >= 1e6:
        return f"{sign}£{v / 1e6:,.1f}m"
    if v >= 1e3:
        return f"{sign}£{v / 1e3:,.0f}k"
    return f"{sign}£{v:,.0f}"


def percent(value: float, _pos=None) -> str:
    return f"{value:,.0f}%"


def count(value: float, _pos=None) -> str:
    return f"{value:,.0f}"


FORMATTERS = {"gbp": money, "percent": percent, "plans": count}
LINESTYLES = {"line": "-", "dashed": "--", "dotted": ":"}
_BEFORE_SVG = re.compile(r"^.*?(?=<svg)", re.S)


class Charts:
    """Chart builders returning ``Chart`` (SVG markup and legend items)."""

    def __init__(self):
        self._figures: dict[str, Figure] = {}

    def _axes(self, kind: str, size: tuple[float, float], margins: dict):
        """The single axes of the reusable figure ``kind``, emptied of data and ready to autoscale."""
        fig = self._figures.get(kind)
        if fig is None:
            fig = self._figures[kind] = Figure(figsize=size)
            fig.add_subplot()
            fig.subplots_adjust(**margins)
        ax = fig.axes[0]
        for artist in [*ax.lines, *ax.collections, *ax.patches]:
            artist.remove()
        ax.containers.clear()
        ax.ignore_existing_data_limits = True
        ax.set_autoscale_on(True)
        return fig, ax

    @staticmethod
    def _svg(fig: Figure, title: str) -> str:
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        svg = _BEFORE_SVG.sub("", buf.getvalue(), count=1)
        return svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)

    @staticmethod
    def _finish(ax, unit: str, zero_line: bool) -> None:
        if zero_line:
            ax.axhline(0, color=GREY, linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=7))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.yaxis.set_major_formatter(FuncFormatter(FORMATTERS[unit]))

    def trend(self, title: str, lines: Sequence[Line], unit: str = "plans", *, zero_line: bool = False) -> Chart:
        """Lines over years, with optional shaded bands."""
        fig, ax = self._axes("trend", (6.4, 2.5), {"left": 0.12, "right": 0.98, "top": 0.96, "bottom": 0.11})
        legend = []
        for line in lines:
            if line.band is not None:
                ax.fill_between(line.x, line.band[0], line.band[1], color=line.colour, alpha=0.15, linewidth=0)
                legend.append(LegendItem(line.band_label or f"{line.label}: range", line.colour, "band"))
            ax.plot(line.x, line.y, color=line.colour, linewidth=line.width, linestyle=LINESTYLES[line.style],
                    marker="o" if len(line.x) < 3 else None, markersize=3)
            legend.append(LegendItem(line.label, line.colour, line.style))
        self._finish(ax, unit, zero_line)
        return Chart(self._svg(fig, title), legend)

    def fan(self, title: str, actual: Line, fans: Sequence[Fan], unit: str = "plans", *,
            extra: Sequence[Line] = (), zero_line: bool = False) -> Chart:
        """Actual values, then projections with 95% (light) and 80% (darker) bands."""
        fig, ax = self._axes("fan", (6.4, 2.6), {"left": 0.12, "right": 0.98, "top": 0.96, "bottom": 0.11})
        ax.plot(actual.x, actual.y, color=actual.colour, linewidth=1.8)
        legend = [LegendItem(actual.label, actual.colour)]
        for fan in fans:
            start_x, start_y = ([actual.x[-1]], [actual.y[-1]]) if len(actual.x) else ([], [])
            x = [*start_x, *fan.x]
            for lower, upper, alpha in ((fan.lower_95, fan.upper_95, 0.12), (fan.lower_80, fan.upper_80, 0.25)):
                ax.fill_between(x, [*start_y, *lower], [*start_y, *upper], color=fan.colour, alpha=alpha, linewidth=0)
            ax.plot(x, [*start_y, *fan.y], color=fan.colour, linewidth=1.6, linestyle="--")
            legend.append(LegendItem(fan.label, fan.colour, "dashed"))
        for line in extra:
            ax.plot(line.x, line.y, color=line.colour, linewidth=line.width, linestyle=LINESTYLES[line.style])
            legend.append(LegendItem(line.label, line.colour, line.style))
        if fans:
            legend.append(LegendItem("80% and 95% bands", GREY, "band"))
        self._finish(ax, unit, zero_line)
        return Chart(self._svg(fig, title), legend)

    def stacked_shares(self, title: str, x: Sequence, shares: dict[str, Sequence]) -> Chart:
        """Stacked bars of percentages (each bar adds up to 100)."""
        fig, ax = self._axes("stacked", (6.4, 2.5), {"left": 0.08, "right": 0.98, "top": 0.96, "bottom": 0.11})
        x = np.asarray(x, float)
        bottom = np.zeros(len(x))
        legend = []
        for (label, values), colour in zip(shares.items(), MIX_COLOURS):
            top = bottom + np.nan_to_num(np.asarray(values, float))
            # one collection of rectangles per category: much faster than ax.bar's artist per bar
            boxes = [[(xi - 0.375, b), (xi + 0.375, b), (xi + 0.375, t), (xi - 0.375, t)]
                     for xi, b, t in zip(x, bottom, top)]
            ax.add_collection(PolyCollection(boxes, facecolors=colour, linewidths=0), autolim=False)
            bottom = top
            legend.append(LegendItem(label, colour, "bar"))
        if len(x):
            ax.set_xlim(x.min() - 0.6, x.max() + 0.6)
        ax.set_ylim(0, 100)
        ax.grid(axis="x", visible=False)
        self._finish(ax, "percent", False)
        return Chart(self._svg(fig, title), legend)

    def benchmark_dots(self, title: str, rows: Sequence[str], la: Sequence[float], neighbours: Sequence[Sequence[float]],
                       cohort: Sequence[tuple[float, float, float]], england: Sequence[float], *, la_label: str,
                       cohort_label: str, unit: str = "gbp") -> Chart:
        """One row per item: the cohort's interquartile range (bar) and median, the neighbours (grey
        dots), England's median (black tick) and the LA (large dot). Log scale for money."""
        height = 0.32 * len(rows) + 0.45
        fig, ax = self._axes(f"dots{len(rows)}", (6.4, height),
                             {"left": 0.2, "right": 0.97, "top": 1 - 0.08 / height, "bottom": 0.32 / height})
        y = np.arange(len(rows))[::-1]
        low, mid, high = (np.asarray(c, float) for c in zip(*cohort))
        ax.hlines(y, low, high, color=ORANGE, linewidth=7, alpha=0.35)
        ax.plot(mid, y, marker="|", linestyle="none", color=ORANGE, markersize=11, markeredgewidth=2)
        ax.plot(np.concatenate([np.asarray(v, float) for v in neighbours]),
                np.concatenate([np.full(len(v), yi) for yi, v in zip(y, neighbours)]),
                "o", color=NEIGHBOUR_GREY, markersize=3.5)
        ax.plot(england, y, marker="|", linestyle="none", color="black", markersize=11, markeredgewidth=1.2)
        ax.plot(la, y, "o", color=BLUE, markersize=7, markeredgecolor="white")
        if unit == "gbp":
            ax.set_xscale("log")
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(FORMATTERS[unit]))
        ax.set_yticks(y, rows)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.grid(axis="y", visible=False)
        legend = [LegendItem(la_label, BLUE, "dot"), LegendItem("statistical neighbours", NEIGHBOUR_GREY, "dot"),
                  LegendItem(f"{cohort_label}: middle half and median", ORANGE, "band"),
                  LegendItem("England median", "#000000", "tick")]
        return Chart(self._svg(fig, title), legend)

    def event_study(self, title: str, panels: dict[str, tuple[Sequence, Sequence, Sequence, Sequence]]) -> Chart:
        """Small multiples, one per indicator: estimate and 95% interval by event time (reference −1 = 0)."""
        cols = min(len(panels), 4)
        rows = int(np.ceil(len(panels) / cols))
        fig = Figure(figsize=(11, 2.1 * rows))
        axes = fig.subplots(rows, cols, squeeze=False)
        fig.subplots_adjust(left=0.05, right=0.99, top=1 - 0.3 / (2.1 * rows), bottom=0.3 / (2.1 * rows),
                            hspace=0.5, wspace=0.25)
        for ax, (label, (times, estimate, low, high)) in zip(axes.flat, panels.items()):
            estimate = np.asarray(estimate, float)
            errors = np.vstack([estimate - np.asarray(low, float), np.asarray(high, float) - estimate]).clip(min=0)
            ax.axhline(0, color=GREY, linewidth=0.8)
            ax.axvline(-0.5, color=RED, linewidth=0.8, linestyle=":")
            ax.errorbar(times, estimate, yerr=errors, fmt="o", color=BLUE, markersize=3.5, capsize=2, linewidth=1)
            ax.set_title(textwrap.fill(label, 42), fontsize=8.5, loc="left")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        legend = [LegendItem("estimate and 95% interval (percentage points)", BLUE, "dot"),
                  LegendItem("diagnostic starts (event time 0)", RED, "dotted")]
        return Chart(self._svg(fig, title), legend)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
