"""The playbook's charts as inline SVG.

Speed matters (five charts on each of 153 LA pages), so the page charts are written as SVG directly
(``_Axes``) in matplotlib's look: the same figure sizes and margins, autoscaling with 5% margins,
matplotlib's own tick locators, its default tick, grid, spine, line, dash and marker styles, text
kept as text. That is about 1 ms a chart where matplotlib's savefig took about 40 ms. Titles and
legends are left to the HTML page (each chart returns its legend items). The one event-study figure
of the index page is drawn with matplotlib (small multiples with error bars).

Accessibility: colours are Okabe–Ito's colour-blind-safe set (darkened where a line would have under
3:1 contrast with white), and every series has a second cue besides colour, a marker shape and a dash
pattern, repeated in its legend swatch. Tick labels carry as many decimals as the ticks need, so no two
are alike. Each chart's text alternative (``aria-label``) is written from its data: what it shows, the
years and each series' first, last and extreme values.
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

# Okabe–Ito colours (orange and sky blue darkened to 3:1 contrast with white); GOV.UK's greys and black
BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY = "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#c5780b", "#2b8cbe"
GREY, BLACK = "#505a5f", "#0b0c0c"
NEIGHBOUR_GREY = "#8d9499"
EDGE = "#8d9499"  # axes.edgecolor
LINE_COLOURS = [BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, GREY, NEIGHBOUR_GREY, BLACK]  # each ≥ 3:1 on white
MIX_COLOURS = [BLUE, "#e69f00", GREEN, VERMILLION, "#56b4e9", "#b1b4b6"]  # Okabe–Ito; bars split by white lines
MARKERS = ("o", "s", "^", "D", "v")  # circle, square, triangle up, diamond, triangle down

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
    """A legend entry for the HTML page; ``kind``: line, dashed, dotted, band, dot, tick or bar; ``marker``
    one of ``MARKERS``, drawn on the swatch as on the chart."""

    label: str
    colour: str
    kind: str = "line"
    marker: str | None = None

    @property
    def swatch(self) -> Markup:
        """The key's little picture (no text in it), as SVG."""
        c = escape(self.colour)
        if self.kind in DASHES:
            dashes = DASHES[self.kind]
            dash = f' stroke-dasharray="{_n(dashes[0] * 2)},{_n(dashes[1] * 2)}"' if dashes else ""
            shape = f'<path d="M1 6H23" fill="none" stroke="{c}" stroke-width="2"{dash}/>'
        elif self.kind == "dot":
            shape = f'<circle cx="12" cy="6" r="4.5" fill="{c}"/>'
        elif self.kind == "tick":
            shape = f'<path d="M12 0V12" stroke="{c}" stroke-width="2"/>'
        else:  # band or bar
            opacity = "1" if self.kind == "bar" else "0.35"
            shape = f'<rect x="4" y="1" width="16" height="10" fill="{c}" fill-opacity="{opacity}"/>'
        if self.marker:
            shape += _marker(self.marker, 12, 6, 3.5, c)
        return Markup(f'<svg class="sw" width="24" height="12" viewBox="0 0 24 12" aria-hidden="true">{shape}</svg>')


@dataclass
class Chart:
    """A chart's SVG, the one markup a page takes as is: every text in it is escaped here; ``alt`` its
    text alternative (also its ``aria-label``)."""

    svg: Markup
    legend: list[LegendItem] = field(default_factory=list)
    alt: str = ""


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
    marker: str | None = None  # one of MARKERS, at every point


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
    marker: str | None = None


def _decimals(values, scale: float = 1.0, most: int = 4) -> int:
    """The fewest decimals (at most ``most``) that show every value ÷ ``scale`` exactly."""
    v = np.asarray(values, float) / scale
    v = v[np.isfinite(v)]
    tolerance = 1e-9 * max(1.0, float(np.abs(v).max(initial=0)))
    return next((d for d in range(most + 1) if np.all(np.abs(np.round(v, d) - v) <= tolerance)), most)


def _money_tick(value: float) -> str:
    """£12m, £1.25m, £350k, £900, £0; negative −£1.5m: as many decimals as the value needs."""
    v = abs(value)
    scale, suffix = (1e6, "m") if v >= 1e6 else (1e3, "k") if v >= 1e3 else (1.0, "")
    return (formats.MINUS if value < 0 else "") + f"£{v / scale:,.{_decimals([v], scale)}f}{suffix}"


def money(values: Sequence[float]) -> list[str]:
    """An axis's pounds, each label exact (so distinct): £12m, £12.5m, £350k, £900; negative −£1.2m."""
    return [_money_tick(v) for v in values]


def percent(values: Sequence[float]) -> list[str]:
    """An axis's percentages, with the decimals the ticks need (5.0%, 5.5%, 6.0%): no two alike."""
    d = _decimals(values)
    return [formats.percent(v, d).replace("-", formats.MINUS) for v in values]


def count(values: Sequence[float]) -> list[str]:
    """An axis's counts: 1,234, with decimals only if a tick needs them."""
    d = _decimals(values)
    return [f"{v:,.{d}f}".replace("-", formats.MINUS) for v in values]


def year(values: Sequence[float]) -> list[str]:
    return [f"{v:.0f}" for v in values]


FORMATTERS = {"gbp": money, "percent": percent, "plans": count}  # tick labels by unit
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


Ticks = tuple[Locator, Callable[[Sequence[float]], list[str]]]  # an axis's tick locator and its labels' formatter


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
        self.direct: list[tuple[float, str]] = []  # direct labels right of the axes: (y in data, text)

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

    def line(self, x, y, colour: str, width: float, style: str = "line") -> None:
        """``plot``: a line broken at missing points (markers: ``markers``)."""
        x, y = _floats(x), _floats(y)
        self._autolim(x, y)
        self.layers[1].append(lambda: self._line(x, y, colour, width, style))

    def markers(self, x, y, shape: str, colour: str) -> None:
        """A marker of ``shape`` (one of ``MARKERS``) at every point, edged in white."""
        x, y = _floats(x), _floats(y)
        self._autolim(x, y)
        self.layers[1].append(lambda: self._markers(x, y, shape, colour))

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

    def label_right(self, y: float, text: str) -> None:
        """A direct label just right of the axes at ``y`` (labels too close are moved apart)."""
        self.direct.append((y, text))

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

    def _markers(self, x, y, shape, colour) -> str:
        keep = np.isfinite(x) & np.isfinite(y)
        return "".join(_marker(shape, a, b, 2.6, colour) for a, b in zip(self.xpos(x[keep]), self.ypos(y[keep])))

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

    def svg(self, alt: str, xaxis: Ticks, yaxis: Ticks, *, grid: str = "xy") -> Markup:
        """The chart, its text alternative ``alt``, with ticks where each axis's locator puts them (inside
        the view limits), labelled by its formatter; gridlines along ``grid`` ("x": vertical lines at the x ticks, "y": horizontal)."""
        self._setup(xaxis[0], yaxis[0])
        xticks, yticks = self.tick_locations("x", xaxis[0]), self.tick_locations("y", yaxis[0])
        xs, ys = self.xpos(xticks), self.ypos(yticks)
        xlabels, ylabels = xaxis[1](xticks.tolist()), yaxis[1](yticks.tolist())
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
        if self.direct:
            right = _n(self.x1 + TICK_PAD)
            heights = _spread([float(self.ypos(y)) for y, _ in self.direct], 10.0, self.y1)
            labels += "".join(
                f'<text x="{right}" y="{_n(y + Y_LABEL_BASELINE)}">{escape(t)}</text>'
                for y, (_, t) in zip(heights, self.direct)
            )
        plot = (
            f'<svg x="{x0}" y="{y0}" width="{_n(self.x1 - self.x0)}" height="{_n(self.y1 - self.y0)}" '
            f'viewBox="{x0} {y0} {_n(self.x1 - self.x0)} {_n(self.y1 - self.y0)}" overflow="hidden">'
        )  # clips
        data = "".join(draw() for layer in self.layers for draw in layer)
        w, h = _n(self.width), _n(self.height)
        return Markup(
            f'<svg role="img" aria-label="{escape(alt)}" xmlns="http://www.w3.org/2000/svg" width="{w}pt" '
            f'height="{h}pt" viewBox="0 0 {w} {h}"><rect width="{w}" height="{h}" fill="#ffffff"/>'
            f'{plot}<path d="{grid_d}" {_stroke("#e3e3e3", 0.6)} stroke-linecap="square"/></svg>'
            f'<path d="{tick_d}" {_stroke("#000000", 0.8)}/><g style="{FONT}">{labels}</g>'
            f'{plot}{data}</svg><path d="M{x0} {y0}V{y1}H{x1}" {_stroke(EDGE, 0.8)} stroke-linecap="square"/></svg>'
        )


def _marker(shape: str, x: float, y: float, r: float, colour: str) -> str:
    """One marker of ``shape`` centred on (x, y), ``r`` its half size, filled, edged in white."""
    paint = f'fill="{colour}" stroke="#ffffff" stroke-width="0.8"'
    if shape == "o":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" {paint}/>'
    if shape == "s":
        return (
            f'<rect x="{_n(x - r * 0.9)}" y="{_n(y - r * 0.9)}" width="{_n(r * 1.8)}" height="{_n(r * 1.8)}" {paint}/>'
        )
    points = {
        "^": ((0, -1.2), (1.1, 0.8), (-1.1, 0.8)),
        "v": ((0, 1.2), (1.1, -0.8), (-1.1, -0.8)),
        "D": ((0, -1.3), (1.1, 0), (0, 1.3), (-1.1, 0)),
    }[shape]
    return f'<path d="M{"L".join(f"{_n(x + a * r)} {_n(y + b * r)}" for a, b in points)}Z" {paint}/>'


def _spread(positions: Sequence[float], gap: float, high: float) -> list[float]:
    """``positions`` (SVG y, downwards) moved apart to at least ``gap`` from each other, none below ``high``."""
    order = np.argsort(positions)
    placed = np.asarray(positions, float)[order]
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    if len(placed) and placed[-1] > high:
        placed[-1] = high
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    out = np.empty_like(placed)
    out[order] = placed
    return out.tolist()


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


def _over_years(ax: _Axes, alt: str, unit: str, zero_line: bool) -> Markup:
    """The SVG of a chart over years in ``unit``, with a zero line if asked."""
    if zero_line:
        ax.hline(0, GREY, 0.8)
    locator = MaxNLocator(nbins=5, integer=unit == "plans")
    return ax.svg(alt, (_Years(), year), (locator, FORMATTERS[unit]))


def _value(value: float, unit: str) -> str:
    return formats.quantity(value, unit)


def describe_series(label: str, x, y, unit: str) -> str:
    """A series in words: its first and last values, whether it rose or fell, and its extremes."""
    x, y = _floats(x), _floats(y)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if not len(x):
        return f"{label}: no data"
    text = f"{label}: {_value(y[0], unit)} in {x[0]:.0f}"
    if len(x) == 1:
        return text
    change = "rising to" if y[-1] > y[0] else "falling to" if y[-1] < y[0] else "the same,"
    text += f", {change} {_value(y[-1], unit)} in {x[-1]:.0f}"
    for word, i in (("highest", int(np.argmax(y))), ("lowest", int(np.argmin(y)))):
        if 0 < i < len(x) - 1:
            text += f"; {word} {_value(y[i], unit)} in {x[i]:.0f}"
    return text


def _years_of(*xs) -> str:
    years = np.concatenate([_floats(x) for x in xs]) if xs else np.array([])
    years = years[np.isfinite(years)]
    return f"{years.min():.0f} to {years.max():.0f}" if len(years) else "no years with data"


def _alt(title: str, years: str, parts: Sequence[str]) -> str:
    return f"{title}, {years}. " + ". ".join(parts) + "."


class Charts:
    """Chart builders returning ``Chart`` (SVG markup, legend items and text alternative); ``title``
    says what the chart shows (whose, which measure): its text alternative starts with it."""

    @staticmethod
    def trend(title: str, lines: Sequence[Line], unit: str = "plans", *, zero_line: bool = False) -> Chart:
        """Lines over years, with optional shaded bands; each line with its marker at every point."""
        ax = _Axes((6.4, 2.5), {"left": 0.12, "right": 0.98, "top": 0.96, "bottom": 0.11})
        legend = []
        for line in lines:  # fills are drawn below every line, as matplotlib's zorder does
            if line.band is not None:
                ax.fill(line.x, line.band[0], line.band[1], line.colour, 0.15)
                legend.append(LegendItem(line.band_label or f"{line.label}: range", line.colour, "band"))
            ax.line(line.x, line.y, line.colour, line.width, line.style)
            marker = line.marker or ("o" if len(line.x) < 3 else None)
            if marker:
                ax.markers(line.x, line.y, marker, line.colour)
            legend.append(LegendItem(line.label, line.colour, line.style, marker))
        alt = _alt(
            title,
            _years_of(*(line.x for line in lines)),
            [describe_series(line.label, line.x, line.y, unit) for line in lines],
        )
        return Chart(_over_years(ax, alt, unit, zero_line), legend, alt)

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
        if actual.marker:
            ax.markers(actual.x, actual.y, actual.marker, actual.colour)
        legend = [LegendItem(actual.label, actual.colour, "line", actual.marker)]
        parts = [describe_series(actual.label, actual.x, actual.y, unit)]
        for fan in fans:
            start_x, start_y = ([actual.x[-1]], [actual.y[-1]]) if len(actual.x) else ([], [])
            x = [*start_x, *fan.x]
            for lower, upper, alpha in ((fan.lower_95, fan.upper_95, 0.12), (fan.lower_80, fan.upper_80, 0.25)):
                ax.fill(x, [*start_y, *lower], [*start_y, *upper], fan.colour, alpha)
            ax.line(x, [*start_y, *fan.y], fan.colour, 1.6, "dashed")
            if fan.marker:
                ax.markers(fan.x, fan.y, fan.marker, fan.colour)
            legend.append(LegendItem(fan.label, fan.colour, "dashed", fan.marker))
            text = describe_series(fan.label, fan.x, fan.y, unit)
            if len(fan.x):
                text += (
                    f" (80% band {_value(fan.lower_80[-1], unit)} to {_value(fan.upper_80[-1], unit)}, "
                    f"95% band {_value(fan.lower_95[-1], unit)} to {_value(fan.upper_95[-1], unit)})"
                )
            parts.append(text)
        for line in extra:
            ax.line(line.x, line.y, line.colour, line.width, line.style)
            if line.marker:
                ax.markers(line.x, line.y, line.marker, line.colour)
            legend.append(LegendItem(line.label, line.colour, line.style, line.marker))
            parts.append(describe_series(line.label, line.x, line.y, unit))
        if fans:
            legend.append(LegendItem("80% and 95% bands", GREY, "band"))
        alt = _alt(title, _years_of(actual.x, *(f.x for f in fans), *(line.x for line in extra)), parts)
        return Chart(_over_years(ax, alt, unit, zero_line), legend, alt)

    @staticmethod
    def stacked_shares(title: str, x: Sequence, shares: dict[str, Sequence]) -> Chart:
        """Stacked bars of percentages (each bar adds up to 100), segments split by white lines and each
        named beside the latest bar."""
        ax = _Axes((6.4, 2.5), {"left": 0.08, "right": 0.8, "top": 0.96, "bottom": 0.11})
        xs = np.asarray(x, float)
        bottom = np.zeros(len(xs))
        legend = []
        for (label, values), colour in zip(shares.items(), MIX_COLOURS):
            top = bottom + np.nan_to_num(np.asarray(values, float))
            ax.bars(xs, bottom, top, colour)
            ax.hlines(top, xs - 0.375, xs + 0.375, "#ffffff", 1, 1)
            if len(xs) and top[-1] > bottom[-1]:  # named beside the latest bar: no need to match colours
                ax.label_right((top[-1] + bottom[-1]) / 2, label)
            bottom = top
            legend.append(LegendItem(label, colour, "bar"))
        if len(xs):
            ax.set_limits("x", xs.min() - 0.6, xs.max() + 0.6)
        ax.set_limits("y", 0, 100)
        if len(xs):
            parts = [
                f"in {xs[i]:.0f}: "
                + ", ".join(f"{label} {_value(values[i], 'percent')}" for label, values in shares.items())
                for i in sorted({0, len(xs) - 1})
            ]
        else:
            parts = ["no data"]
        alt = _alt(title, _years_of(xs), parts)
        return Chart(ax.svg(alt, (_Years(), year), (MaxNLocator(nbins=5), percent), grid="y"), legend, alt)

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
        ax.markers(la, y, "D", BLUE)
        ax.set_limits("y", -0.6, len(rows) - 0.4)
        parts = []
        for row, value, others, (c_low, c_mid, c_high), e in zip(rows, la, neighbours, cohort, england):
            text = (
                f"{row}: {la_label} {_value(value, 'gbp')}, {cohort_label} median {_value(c_mid, 'gbp')} "
                f"(middle half {_value(c_low, 'gbp')} to {_value(c_high, 'gbp')}), England median {_value(e, 'gbp')}"
            )
            if len(others):
                text += f", neighbours {_value(np.min(others), 'gbp')} to {_value(np.max(others), 'gbp')}"
            parts.append(text)
        alt = f"{title}. " + ". ".join(parts) + "."
        return Chart(
            ax.svg(
                alt,
                (LogLocator(subs=(1.0, 2.0, 5.0), numticks=9), money),
                (FixedLocator(y), lambda values: [rows[len(rows) - 1 - round(v)] for v in values]),
                grid="x",
            ),
            [
                LegendItem(la_label, BLUE, "dot", "D"),
                LegendItem("statistical neighbours", NEIGHBOUR_GREY, "dot"),
                LegendItem(f"{cohort_label}: middle half and median", ORANGE, "band"),
                LegendItem("England median", "#000000", "tick"),
            ],
            alt,
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
        parts = []
        for ax, (label, (times, estimate, low, high)) in zip(axes.flat, panels.items()):
            estimate = np.asarray(estimate, float)
            errors = np.vstack([estimate - np.asarray(low, float), np.asarray(high, float) - estimate]).clip(min=0)
            ax.axhline(0, color=GREY, linewidth=0.8)
            ax.axvline(-0.5, color=VERMILLION, linewidth=0.8, linestyle=":")
            ax.errorbar(times, estimate, yerr=errors, fmt="o", color=BLUE, markersize=3.5, capsize=2, linewidth=1)
            ax.set_title(textwrap.fill(label, 42), fontsize=8.5, loc="left")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            parts.append(
                f"{label}: "
                + ", ".join(
                    f"{t:.0f}: {e:+.1f} ({lo:+.1f} to {hi:+.1f})".replace("-", formats.MINUS)
                    for t, e, lo, hi in zip(times, estimate, low, high)
                    if np.isfinite(e)
                )
            )
        for ax in list(axes.flat)[len(panels) :]:
            ax.set_visible(False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        alt = (
            f"{title}. Estimate in percentage points by years since the diagnostic (event time), "
            "with its 95% interval: " + ". ".join(parts) + "."
        )
        svg = _BEFORE_SVG.sub("", buf.getvalue(), count=1)
        svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(alt)}" ', 1)
        legend = [
            LegendItem("estimate and 95% interval (percentage points)", BLUE, "dot"),
            LegendItem("diagnostic starts (event time 0)", VERMILLION, "dotted"),
        ]
        return Chart(Markup(svg), legend, alt)
