"""The formatters of every page, chart and report: money, counts, percentages, dates, financial years."""

from __future__ import annotations

import math

import pandas as pd

MINUS = "−"  # U+2212, the typographic minus of tables and chart axes
MISSING = "–"  # an en dash: no value


def missing(value) -> bool:
    """None, NA, NaN or an infinity."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return not math.isfinite(value)
    except TypeError:
        return False


def count(value) -> str:
    """1,234."""
    return f"{value:,.0f}"


def percent(value, digits: int = 1, *, sign: bool = False) -> str:
    """45.9% (``value`` in percent); ``sign``: +4.5% or -4.5%."""
    return f"{value:{'+' if sign else ''},.{digits}f}%"


def money(value, style: str = "exact") -> str:
    """Pounds, blank when missing. ``exact``: £28,350; ``short``: £1.2m from a million, else £28,350.
    (Chart ticks: ``playbook.charts.money``.)"""
    if missing(value):
        return ""
    v = abs(value)
    text = f"£{v / 1e6:,.1f}m" if style == "short" and v >= 1e6 else f"£{v:,.0f}"
    return ("-" if value < 0 else "") + text


def quantity(value, unit: str = "plans") -> str:
    """A value for a table cell by its unit (plans, percent, gbp): 1,234; 45.9%; £28,350; £1.2m. Minus
    signs as − (kept on the number's line); an en dash when missing."""
    if missing(value):
        return MISSING
    text = percent(value) if unit == "percent" else money(value, "short") if unit == "gbp" else count(value)
    return text.replace("-", MINUS + "\u2060")  # a word joiner: no line break after the minus


def text(value) -> str:
    """A finding's value as shown: blank when missing, numbers with decimals to two places."""
    if missing(value) or value == "":
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def date(value, style: str = "minute") -> str:
    """``minute``: 01 May 2025 09:00; ``day``: 1 May 2025; ``month``: May 2025."""
    return pd.Timestamp(value).strftime({"minute": "%d %B %Y %H:%M", "day": "%-d %B %Y", "month": "%B %Y"}[style])


def financial_year(end_year: int) -> str:
    """The financial year ending in March of ``end_year``: 2025 → 2024-25."""
    return f"{end_year - 1}-{str(end_year)[-2:]}"
