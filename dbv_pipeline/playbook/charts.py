"""The playbook's charts as inline SVG.

Speed matters (five charts on each of 153 LA pages), so the page charts are written as SVG directly
(``_Axes``) in matplotlib's look: the same figure sizes and margins, autoscaling with 5% margins,
matplotlib's own tick locators, its default tick, grid, spine, line, dash and marker styles, text
kept as text. That is about 1 ms a chart where matplotlib's savefig took about 40 ms. Titles and
legends are left to the HTML page (each chart returns its legend items). The one event-study figure
of the index page is drawn with matplotlib (small multiples with error bars).
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib
import numpy as np
from markupsafe import Markup, escape
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, Locator, LogLocator, MaxNLocator

from ..reporting import formats

# GOV.UK colours
BLUE, ORANGE, GREEN, RED, PURPLE, GREY, PINK, TURQUOISE = (
    "#1d70b8",
    "#f47738",
    "#00703c",
    "#d4351c",
    "#4c2c92",
    "#505a5f",
    "#d53880",
    "#28a197",
)
NEIGHBOUR_GREY = "#8d9499"
EDGE = "#8d9499"  # axes.edgecolor
MIX_COLOURS = [BLUE, PURPLE, RED, ORANGE, TURQUOISE, "#b1b4b6"]

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "dbv-playbook",
        "font.family": "sans-serif",
        "font.size": 8.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#e3e3e3",
        "grid.linewidth": 0.6,
        "axes.axisbelow": True,
        "axes.edgecolor": EDGE,
    }
)


@dataclass(frozen=True)
class LegendItem:
    """A legend entry for the HTML page; ``kind``: line, dashed, dotted, band, dot, tick or bar."""

    label: str
    colour: str
    kind: str = "line"


@dataclass
class Chart:
    """A chart's SVG, the one markup a page takes as is: every text in it is escaped here."""

    svg: Markup
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


def money(value: float) -> str:
    """An axis's pounds: £12m, £1.2m, £350k, £900; negative −£1.2m; blank for missing."""
    return formats.money(value, "axis", minus=formats.MINUS)


def percent(value: float) -> str:
    return formats.percent(value, 0)


def year(value: float) -> str:
    return f"{value:.0f}"


FORMATTERS = {"gbp": money, "percent": percent, "plans": formats.count}  # tick labels by unit
_BEFORE_SVG = re.compile(r"^.*?(?=<svg)", re.S)

# matplotlib's defaults (rcParams above): ticks 3.5 pt long and 0.8 wide, labels 3.5 pt beyond them; the
# baselines of 8.5 pt DejaVu Sans tick labels as matplotlib places them (x: below the axis; y: centred).
TICK, TICK_PAD, X_LABEL_BASELINE, Y_LABEL_BASELINE = 3.5, 3.5, 13.458, 3.229
FONT = (
    "font-size:8.5px;font-family:'DejaVu Sans','Bitstream Vera Sans','Computer Modern Sans Serif',"
    "'Lucida Grande','Verdana','Geneva','Lucid','Arial','Helvetica','Avant Garde',sans-serif"
)
DASHES = {"line": None, "dashed": (3.7, 1.6), "dotted": (1.0, 1.65)}  # matplotlib's, scaled by the line width
MARGIN = 0.05  # axes.xmargin and axes.ymargin


Ticks = tuple[Locator, Callable[[float], str]]  # an axis's tick locator and label formatter


def _n(value: float) -> str:
    return f"{value:.2f}"


def _floats(values) -> np.ndarray:
    return np.asarray(values, float).ravel()


class _Axes:
    """One chart's axes, written as SVG the way matplotlib draws them: figure ``size`` in inches (72 pt
    each), ``margins`` as ``Figure.subplots_adjust``; limits autoscale to the data (points with a
    missing coordinate left out) with 5% margins unless set; artists in matplotlib's order (grid and
    ticks, fills, then lines and markers in the order added, then the left and bottom spines); data
    clipped to the axes."""

    def __init__(self, size: tuple[float, float], margins: dict, *, xlog: bool = False):
        self.width, self.height = size[0] * 72, size[1] * 72
        self.x0, self.x1 = margins["left"] * self.width, margins["right"] * self.width
        self.y0, self.y1 = (1 - margins["top"]) * self.height, (1 - margins["bottom"]) * self.height
        self.xlog = xlog
        self.data: dict[str, list[np.ndarray]] = {"x": [], "y": []}
        self.limits: dict[str, tuple[float, float]] = {}
        self.layers: tuple[list, list] = ([], [])  # zorder 1 (fills), zorder 2 (lines, markers); drawn at the end

    # ------------------------------------------------------------ data

    def _autolim(self, x=None, y=None) -> None:
        if x is not None and y is not None:
            x, y = _floats(x), _floats(y)
            keep = np.isfinite(x) & np.isfinite(y)
            x, y = x[keep], y[keep]
        if x is not None:
            self.data["x"].append(_floats(x))
        if y is not None:
            self.data["y"].append(_floats(y))

    def fill(self, x, lower, upper, colour: str, alpha: float) -> None:
        """``fill_between``: the area between two curves (runs of finite points)."""
        x, lower, upper = _floats(x), _floats(lower), _floats(upper)
        known = np.isfinite(x) & np.isfinite(lower) & np.isfinite(upper)
        self._autolim(x[known], lower[known])
        self._autolim(x[known], upper[known])
        self.layers[0].append(lambda: self._fill(x, lower, upper, colour, alpha))

    def bars(self, x, bottom, top, colour: str, half_width: float = 0.375) -> None:
        """Rectangles from ``bottom`` to ``top`` centred on ``x`` (no autoscaling: set the limits)."""
        x, bottom, top = _floats(x), _floats(bottom), _floats(top)
        self.layers[0].append(lambda: self._bars(x, bottom, top, colour, half_width))

    def line(self, x, y, colour: str, width: float, style: str = "line", marker_size: float | None = None) -> None:
        """``plot``: a line broken at missing points, optionally with round markers of its colour."""
        x, y = _floats(x), _floats(y)
        self._autolim(x, y)
        self.layers[1].append(lambda: self._line(x, y, colour, width, style))
        if marker_size:
            self.layers[1].append(lambda: self._dots(x, y, marker_size, colour, colour, 1.0))

    def dots(self, x, y, size: float, colour: str, edge: str | None = None) -> None:
        """``plot(..., "o")``: round markers of diameter ``size`` (edge 1 pt, of ``edge`` colour)."""
        x, y = _floats(x), _floats(y)
        self._autolim(x, y)
        self.layers[1].append(lambda: self._dots(x, y, size, colour, edge or colour, 1.0))

    def ticks(self, x, y, size: float, colour: str, width: float) -> None:
        """``plot(..., marker="|")``: vertical marks ``size`` long."""
        x, y = _floats(x), _floats(y)
        self._autolim(x, y)
        self.layers[1].append(lambda: self._ticks(x, y, size, colour, width))

    def hlines(self, y, start, end, colour: str, width: float, alpha: float) -> None:
        """``hlines``: horizontal segments."""
        y, start, end = _floats(y), _floats(start), _floats(end)
        self._autolim(np.concatenate([start, end]), np.concatenate([y, y]))
        self.layers[1].append(lambda: self._hlines(y, start, end, colour, width, alpha))

    def hline(self, y: float, colour: str, width: float) -> None:
        """``axhline``: a line across the axes at ``y``."""
        self._autolim(y=[y])
        self.layers[1].append(
            lambda: (
                f'<path d="M{_n(self.x0)} {_n(self.ypos(y))}H{_n(self.x1)}" '
                f'{_stroke(colour, width)} stroke-linecap="square"/>'
            )
        )

    def set_limits(self, axis: str, low: float, high: float) -> None:
        self.limits[axis] = (low, high)

    # ------------------------------------------------------------ scales

    def _scaled(self, axis: str) -> bool:
        return axis == "x" and self.xlog

    def limits_of(self, axis: str, locator: Locator) -> tuple[float, float]:
        """The view limits: set, or autoscaled as matplotlib does (``autolimit_mode: data``)."""
        if axis in self.limits:
            return self.limits[axis]
        values = np.concatenate(self.data[axis]) if self.data[axis] else np.array([])
        log = self._scaled(axis)
        values = values[np.isfinite(values) & (values > 0 if log else True)]
        if log:  # LogLocator.nonsingular
            if not values.size:
                return 1.0, 10.0
            low, high = values.min(), values.max()
            if low == high:
                low, high = 10 ** (np.ceil(np.log10(low)) - 1), 10 ** (np.floor(np.log10(high)) + 1)
            delta = (np.log10(high) - np.log10(low)) * MARGIN
            return 10 ** (np.log10(low) - delta), 10 ** (np.log10(high) + delta)
        low, high = (values.min(), values.max()) if values.size else (-np.inf, np.inf)
        low, high = locator.nonsingular(low, high)
        delta = (high - low) * MARGIN
        return locator.view_limits(low - delta, high + delta)

    def _setup(self, xlocator: Locator, ylocator: Locator) -> None:
        (self.xlow, self.xhigh), (self.ylow, self.yhigh) = self.limits_of("x", xlocator), self.limits_of("y", ylocator)
        xt = (np.log10(self.xlow), np.log10(self.xhigh)) if self.xlog else (self.xlow, self.xhigh)
        self._xt, self._xscale = xt[0], (self.x1 - self.x0) / (xt[1] - xt[0])
        self._yscale = (self.y1 - self.y0) / (self.yhigh - self.ylow)

    def xpos(self, values) -> np.ndarray:
        """Data to SVG coordinates."""
        values = np.log10(np.where(np.asarray(values, float) > 0, values, np.nan)) if self.xlog else values
        return self.x0 + (np.asarray(values, float) - self._xt) * self._xscale

    def ypos(self, values) -> np.ndarray:
        return self.y1 - (np.asarray(values, float) - self.ylow) * self._yscale

    def tick_locations(self, axis: str, locator: Locator) -> np.ndarray:
        """The locator's ticks inside the view limits (within matplotlib's tolerance)."""
        low, high = (self.xlow, self.xhigh) if axis == "x" else (self.ylow, self.yhigh)
        ticks = np.asarray(locator.tick_values(low, high), float)
        t, lo, hi = (np.log10(ticks), np.log10(low), np.log10(high)) if self._scaled(axis) else (ticks, low, high)
        tol = (hi - lo) * 1e-10
        return ticks[(t >= lo - tol) & (t <= hi + tol)]

    # ------------------------------------------------------------ drawing

    def _fill(self, x, lower, upper, colour, alpha) -> str:
        keep = np.isfinite(x) & np.isfinite(lower) & np.isfinite(upper)
        parts = []
        for run in _runs(keep):
            xs, lo, up = self.xpos(x[run]), self.ypos(lower[run]), self.ypos(upper[run])
            points = [*zip(xs, up), *zip(xs[::-1], lo[::-1])]
            parts.append("M" + "L".join(f"{_n(a)} {_n(b)}" for a, b in points) + "Z")
        return f'<path d="{"".join(parts)}" fill="{colour}" fill-opacity="{alpha}"/>' if parts else ""

    def _bars(self, x, bottom, top, colour, half_width) -> str:
        left, right, b, t = self.xpos(x - half_width), self.xpos(x + half_width), self.ypos(bottom), self.ypos(top)
        d = "".join(f"M{_n(lf)} {_n(bb)}H{_n(r)}V{_n(tt)}H{_n(lf)}Z" for lf, r, bb, tt in zip(left, right, b, t))
        return f'<path d="{d}" fill="{colour}"/>'

    def _line(self, x, y, colour, width, style) -> str:
        keep = np.isfinite(x) & np.isfinite(y)
        xs, ys = self.xpos(x), self.ypos(y)
        d = "".join("M" + "L".join(f"{_n(a)} {_n(b)}" for a, b in zip(xs[run], ys[run])) for run in _runs(keep))
        if not d:
            return ""
        dashes = DASHES[style]
        ends = (
            f' stroke-dasharray="{_n(dashes[0] * width)},{_n(dashes[1] * width)}"'
            if dashes
            else ' stroke-linecap="square"'
        )
        return f'<path d="{d}" {_stroke(colour, width)} stroke-linejoin="round"{ends}/>'

    def _dots(self, x, y, size, colour, edge, edge_width) -> str:
        keep = np.isfinite(x) & np.isfinite(y)
        circles = "".join(
            f'<circle cx="{_n(a)}" cy="{_n(b)}" r="{_n(size / 2)}"/>'
            for a, b in zip(self.xpos(x[keep]), self.ypos(y[keep]))
        )
        return f'<g fill="{colour}" stroke="{edge}" stroke-width="{edge_width}">{circles}</g>' if circles else ""

    def _ticks(self, x, y, size, colour, width) -> str:
        keep = np.isfinite(x) & np.isfinite(y)
        d = "".join(f"M{_n(a)} {_n(b + size / 2)}v{_n(-size)}" for a, b in zip(self.xpos(x[keep]), self.ypos(y[keep])))
        return f'<path d="{d}" {_stroke(colour, width)}/>' if d else ""

    def _hlines(self, y, start, end, colour, width, alpha) -> str:
        keep = np.isfinite(y) & np.isfinite(start) & np.isfinite(end)
        d = "".join(
            f"M{_n(a)} {_n(c)}H{_n(b)}"
            for a, b, c in zip(self.xpos(start[keep]), self.xpos(end[keep]), self.ypos(y[keep]))
        )
        return f'<path d="{d}" {_stroke(colour, width)} stroke-opacity="{alpha}"/>' if d else ""

    def svg(self, title: str, xaxis: Ticks, yaxis: Ticks, *, grid: str = "xy") -> Markup:
        """The chart, with ticks where each axis's locator puts them (inside the view limits), labelled
        by its formatter; gridlines along ``grid`` ("x": vertical lines at the x ticks, "y": horizontal)."""
        self._setup(xaxis[0], yaxis[0])
        xticks, yticks = self.tick_locations("x", xaxis[0]), self.tick_locations("y", yaxis[0])
        xs, ys = self.xpos(xticks), self.ypos(yticks)
        xlabels, ylabels = [xaxis[1](v) for v in xticks], [yaxis[1](v) for v in yticks]
        x0, x1, y0, y1 = map(_n, (self.x0, self.x1, self.y0, self.y1))
        grid_d = ("".join(f"M{_n(x)} {y1}V{y0}" for x in xs) if "x" in grid else "") + (
            "".join(f"M{x0} {_n(y)}H{x1}" for y in ys) if "y" in grid else ""
        )
        tick_d = "".join(f"M{_n(x)} {y1}v{TICK}" for x in xs) + "".join(f"M{x0} {_n(y)}h{-TICK}" for y in ys)
        below, left = _n(self.y1 + X_LABEL_BASELINE), _n(self.x0 - TICK - TICK_PAD)
        labels = "".join(
            f'<text x="{_n(x)}" y="{below}" text-anchor="middle">{escape(t)}</text>' for x, t in zip(xs, xlabels) if t
        ) + "".join(
            f'<text x="{left}" y="{_n(y + Y_LABEL_BASELINE)}" text-anchor="end">{escape(t)}</text>'
            for y, t in zip(ys, ylabels)
            if t
        )
        plot = (
            f'<svg x="{x0}" y="{y0}" width="{_n(self.x1 - self.x0)}" height="{_n(self.y1 - self.y0)}" '
            f'viewBox="{x0} {y0} {_n(self.x1 - self.x0)} {_n(self.y1 - self.y0)}" overflow="hidden">'
        )  # clips
        data = "".join(draw() for layer in self.layers for draw in layer)
        w, h = _n(self.width), _n(self.height)
        return Markup(
            f'<svg role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" width="{w}pt" '
            f'height="{h}pt" viewBox="0 0 {w} {h}"><rect width="{w}" height="{h}" fill="#ffffff"/>'
            f'{plot}<path d="{grid_d}" {_stroke("#e3e3e3", 0.6)} stroke-linecap="square"/></svg>'
            f'<path d="{tick_d}" {_stroke("#000000", 0.8)}/><g style="{FONT}">{labels}</g>'
            f'{plot}{data}</svg><path d="M{x0} {y0}V{y1}H{x1}" {_stroke(EDGE, 0.8)} stroke-linecap="square"/></svg>'
        )


def _stroke(colour: str, width: float) -> str:
    return f'fill="none" stroke="{colour}" stroke-width="{width}"'


def _runs(keep: np.ndarray) -> list[slice]:
    """Slices of the consecutive True runs of ``keep``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    return [slice(a, b) for a, b in zip(edges[::2], edges[1::2])]


class _Years(MaxNLocator):
    """Whole years only: at most 7 ticks (MaxNLocator falls back to fractions with under two years in view)."""

    def __init__(self):
        super().__init__(integer=True, nbins=7)

    def tick_values(self, vmin, vmax):
        ticks = super().tick_values(vmin, vmax)
        return ticks[ticks == np.round(ticks)]


def _over_years(ax: _Axes, title: str, unit: str, zero_line: bool) -> Markup:
    """The SVG of a chart over years in ``unit``, with a zero line if asked."""
    if zero_line:
        ax.hline(0, GREY, 0.8)
    return ax.svg(title, (_Years(), year), (MaxNLocator(nbins=5), FORMATTERS[unit]))


class Charts:
    """Chart builders returning ``Chart`` (SVG markup and legend items)."""

    @staticmethod
    def trend(title: str, lines: Sequence[Line], unit: str = "plans", *, zero_line: bool = False) -> Chart:
        """Lines over years, with optional shaded bands."""
        ax = _Axes((6.4, 2.5), {"left": 0.12, "right": 0.98, "top": 0.96, "bottom": 0.11})
        legend = []
        for line in lines:  # fills are drawn below every line, as matplotlib's zorder does
            if line.band is not None:
                ax.fill(line.x, line.band[0], line.band[1], line.colour, 0.15)
                legend.append(LegendItem(line.band_label or f"{line.label}: range", line.colour, "band"))
            ax.line(line.x, line.y, line.colour, line.width, line.style, 3 if len(line.x) < 3 else None)
            legend.append(LegendItem(line.label, line.colour, line.style))
        return Chart(_over_years(ax, title, unit, zero_line), legend)

    @staticmethod
    def fan(
        title: str,
        actual: Line,
        fans: Sequence[Fan],
        unit: str = "plans",
        *,
        extra: Sequence[Line] = (),
        zero_line: bool = False,
    ) -> Chart:
        """Actual values, then projections with 95% (light) and 80% (darker) bands."""
        ax = _Axes((6.4, 2.6), {"left": 0.12, "right": 0.98, "top": 0.96, "bottom": 0.11})
        ax.line(actual.x, actual.y, actual.colour, 1.8)
        legend = [LegendItem(actual.label, actual.colour)]
        for fan in fans:
            start_x, start_y = ([actual.x[-1]], [actual.y[-1]]) if len(actual.x) else ([], [])
            x = [*start_x, *fan.x]
            for lower, upper, alpha in ((fan.lower_95, fan.upper_95, 0.12), (fan.lower_80, fan.upper_80, 0.25)):
                ax.fill(x, [*start_y, *lower], [*start_y, *upper], fan.colour, alpha)
            ax.line(x, [*start_y, *fan.y], fan.colour, 1.6, "dashed")
            legend.append(LegendItem(fan.label, fan.colour, "dashed"))
        for line in extra:
            ax.line(line.x, line.y, line.colour, line.width, line.style)
            legend.append(LegendItem(line.label, line.colour, line.style))
        if fans:
            legend.append(LegendItem("80% and 95% bands", GREY, "band"))
        return Chart(_over_years(ax, title, unit, zero_line), legend)

    @staticmethod
    def stacked_shares(title: str, x: Sequence, shares: dict[str, Sequence]) -> Chart:
        """Stacked bars of percentages (each bar adds up to 100)."""
        ax = _Axes((6.4, 2.5), {"left": 0.08, "right": 0.98, "top": 0.96, "bottom": 0.11})
        x = np.asarray(x, float)
        bottom = np.zeros(len(x))
        legend = []
        for (label, values), colour in zip(shares.items(), MIX_COLOURS):
            top = bottom + np.nan_to_num(np.asarray(values, float))
            ax.bars(x, bottom, top, colour)
            bottom = top
            legend.append(LegendItem(label, colour, "bar"))
        if len(x):
            ax.set_limits("x", x.min() - 0.6, x.max() + 0.6)
        ax.set_limits("y", 0, 100)
        return Chart(ax.svg(title, (_Years(), year), (MaxNLocator(nbins=5), percent), grid="y"), legend)

    @staticmethod
    def benchmark_dots(
        title: str,
        rows: Sequence[str],
        la: Sequence[float],
        neighbours: Sequence[Sequence[float]],
        cohort: Sequence[tuple[float, float, float]],
        england: Sequence[float],
        *,
        la_label: str,
        cohort_label: str,
    ) -> Chart:
        """One row per item: the cohort's interquartile range (bar) and median, the neighbours (grey
        dots), England's median (black tick) and the LA (large dot). Money on a log scale."""
        height = 0.32 * len(rows) + 0.45
        ax = _Axes(
            (6.4, height), {"left": 0.2, "right": 0.97, "top": 1 - 0.08 / height, "bottom": 0.32 / height}, xlog=True
        )
        y = np.arange(len(rows))[::-1]
        low, mid, high = (np.asarray(c, float) for c in zip(*cohort))
        ax.hlines(y, low, high, ORANGE, 7, 0.35)
        ax.ticks(mid, y, 11, ORANGE, 2)
        ax.dots(
            np.concatenate([np.asarray(v, float) for v in neighbours]),
            np.concatenate([np.full(len(v), yi) for yi, v in zip(y, neighbours)]),
            3.5,
            NEIGHBOUR_GREY,
        )
        ax.ticks(england, y, 11, "#000000", 1.2)
        ax.dots(la, y, 7, BLUE, "white")
        ax.set_limits("y", -0.6, len(rows) - 0.4)
        return Chart(
            ax.svg(
                title,
                (LogLocator(subs=(1.0, 2.0, 5.0), numticks=9), money),
                (FixedLocator(y), lambda v: rows[len(rows) - 1 - round(v)]),
                grid="x",
            ),
            [
                LegendItem(la_label, BLUE, "dot"),
                LegendItem("statistical neighbours", NEIGHBOUR_GREY, "dot"),
                LegendItem(f"{cohort_label}: middle half and median", ORANGE, "band"),
                LegendItem("England median", "#000000", "tick"),
            ],
        )

    @staticmethod
    def event_study(title: str, panels: dict[str, tuple[Sequence, Sequence, Sequence, Sequence]]) -> Chart:
        """Small multiples, one per indicator: estimate and 95% interval by event time (reference −1 = 0)."""
        cols = min(len(panels), 4)
        rows = int(np.ceil(len(panels) / cols))
        fig = Figure(figsize=(11, 2.1 * rows))
        axes = fig.subplots(rows, cols, squeeze=False)
        fig.subplots_adjust(
            left=0.05, right=0.99, top=1 - 0.3 / (2.1 * rows), bottom=0.3 / (2.1 * rows), hspace=0.5, wspace=0.25
        )
        for ax, (label, (times, estimate, low, high)) in zip(axes.flat, panels.items()):
            estimate = np.asarray(estimate, float)
            errors = np.vstack([estimate - np.asarray(low, float), np.asarray(high, float) - estimate]).clip(min=0)
            ax.axhline(0, color=GREY, linewidth=0.8)
            ax.axvline(-0.5, color=RED, linewidth=0.8, linestyle=":")
            ax.errorbar(times, estimate, yerr=errors, fmt="o", color=BLUE, markersize=3.5, capsize=2, linewidth=1)
            ax.set_title(textwrap.fill(label, 42), fontsize=8.5, loc="left")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        for ax in list(axes.flat)[len(panels) :]:
            ax.set_visible(False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        svg = _BEFORE_SVG.sub("", buf.getvalue(), count=1)
        svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
        legend = [
            LegendItem("estimate and 95% interval (percentage points)", BLUE, "dot"),
            LegendItem("diagnostic starts (event time 0)", RED, "dotted"),
        ]
        return Chart(Markup(svg), legend)
