"""Parse submission file names: ``<la>_<table>_<period>.csv`` or ``<la>_dbv_return_<period>.xlsx``.

The grammar is strict ASCII (``re.ASCII``: a full-width digit is not a digit), at most ``MAX_NAME``
characters, with nothing before or after (a trailing space or ``_FINAL`` breaks it). A name that
breaks it is still received: it is rejected with a report, and a safe name is used on disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..contract import TABLES
from .errors import FileRejected

WORKBOOK = "dbv_return"
UNATTRIBUTED = "unattributed"  # partition for files whose name names no LA
MAX_NAME = 64
_NAME = re.compile(r"(?P<la>[0-9]{3})_(?P<table>[a-z0-9_]+?)_(?P<period>[^_]+)\.(?P<ext>csv|xlsx)", re.I | re.ASCII)
_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)


@dataclass(frozen=True)
class SubmissionName:
    la_code: str
    table: str | None  # None for a workbook holding several tables
    period: str
    ext: str

    @property
    def is_workbook(self) -> bool:
        return self.table is None


def la_of(path: Path) -> str:
    """The LA a landing file belongs to, for partitioning; malformed names go to ``unattributed``."""
    match = re.match(r"([0-9]{3})_", path.name, re.ASCII)
    return match.group(1) if match else UNATTRIBUTED


def is_safe_name(name: str) -> bool:
    """Whether a file name can be used as it is on disk (quarantine) and in a report's file name."""
    return bool(_SAFE.fullmatch(name))


def shown_name(name: str) -> str:
    """A file name for a message: ASCII, at most 80 characters (the rest elided), escapes visible."""
    text = name.encode("ascii", "backslashreplace").decode("ascii")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= 80 else text[:60] + "…" + text[-12:]


def period_end_year(period: str) -> int:
    return int(period[:4]) + 1


def valid_period(period: str) -> bool:
    match = _PERIOD.fullmatch(period)
    return match is not None and (int(match.group(1)) + 1) % 100 == int(match.group(2))


def parse_name(path: Path) -> SubmissionName:
    """Split a landing file name into LA, table and period, or raise FileRejected."""
    match = _NAME.fullmatch(path.name) if len(path.name) <= MAX_NAME else None
    if not match:
        raise FileRejected("F_FILENAME", detail=repr(shown_name(path.name)))
    la, table, period, ext = (match.group(k) for k in ("la", "table", "period", "ext"))
    table, ext = table.lower(), ext.lower()
    if not valid_period(period):
        raise FileRejected("F_PERIOD", detail=repr(shown_name(period)))
    if ext == "xlsx":
        if table != WORKBOOK:
            raise FileRejected(
                "F_FILENAME", detail=f"{path.name} (a workbook is named <la_code>_dbv_return_<period>.xlsx)"
            )
        return SubmissionName(la, None, period, ext)
    if table not in TABLES:
        raise FileRejected("F_TABLE", detail=repr(table))
    return SubmissionName(la, table, period, ext)
