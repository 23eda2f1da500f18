"""Parse submission file names: ``<la>_<table>_<period>.csv`` or ``<la>_dbv_return_<period>.xlsx``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..contract import TABLES
from .errors import FileRejected

WORKBOOK = "dbv_return"
UNATTRIBUTED = "unattributed"  # partition for files whose name names no LA
_NAME = re.compile(r"^(?P<la>\d{3})_(?P<table>[a-z0-9_]+?)_(?P<period>[^_]+)\.(?P<ext>csv|xlsx)$", re.I)
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


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
    match = re.match(r"^(\d{3})_", path.name)
    return match.group(1) if match else UNATTRIBUTED


def period_end_year(period: str) -> int:
    return int(period[:4]) + 1


def valid_period(period: str) -> bool:
    match = _PERIOD.match(period)
    return bool(match) and (int(match.group(1)) + 1) % 100 == int(match.group(2))


def parse_name(path: Path) -> SubmissionName:
    """Split a landing file name into LA, table and period, or raise FileRejected."""
    match = _NAME.match(path.name)
    if not match:
        raise FileRejected("F_FILENAME", detail=path.name)
    la, table, period, ext = (match.group(k) for k in ("la", "table", "period", "ext"))
    table, ext = table.lower(), ext.lower()
    if not valid_period(period):
        raise FileRejected("F_PERIOD", detail=period)
    if ext == "xlsx":
        if table != WORKBOOK:
            raise FileRejected("F_FILENAME", detail=f"{path.name} (a workbook is named <la_code>_dbv_return_<period>.xlsx)")
        return SubmissionName(la, None, period, ext)
    if table not in TABLES:
        raise FileRejected("F_TABLE", detail=repr(table))
    return SubmissionName(la, table, period, ext)
