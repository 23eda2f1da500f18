"""The harmonised public history: DfE's LA × January census totals on current boundaries, 2010 onwards.

Boundary changes come from the dbt seed ``la_boundary_changes.csv`` (one row per predecessor and
successor, with the date and first census of the change). LAs that took part in a change are added up
into one harmonised area on both sides of it (Dorset county + Poole + Bournemouth = Dorset + BCP,
``838+839``), so every series is one area throughout. Statements (before the 2014 reform, all converted
by 2018) are kept apart from EHC plans; ``all_plans`` is their sum, the continuous caseload series.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from ..settings import SEEDS_DIR

BOUNDARY_SEED = SEEDS_DIR / "la_boundary_changes.csv"


@dataclass(frozen=True)
class BoundaryChange:
    """LAs replaced by others from a January census on; together they cover the same area."""

    first_census: int
    predecessors: tuple[str, ...]
    successors: tuple[str, ...]
    harmonised_code: str
    harmonised_name: str


@cache
def boundary_changes(seed: Path = BOUNDARY_SEED) -> tuple[BoundaryChange, ...]:
    """The changes in the seed, oldest first."""
    rows = pd.read_csv(seed, dtype=str)
    return tuple(
        BoundaryChange(
            int(first),
            tuple(sorted(part.predecessor_code.unique())),
            tuple(sorted(part.successor_code.unique())),
            code,
            part.harmonised_name.iloc[0],
        )
        for (first, code), part in rows.groupby(["first_census_year", "harmonised_code"], sort=True)
    )


def harmonised_codes(changes=None) -> dict[str, str]:
    """old_la_code → harmonised area code, for every LA that took part in a boundary change."""
    changes = boundary_changes() if changes is None else changes
    return {code: c.harmonised_code for c in changes for code in (*c.predecessors, *c.successors)}


def predecessor_codes(changes=None) -> set[str]:
    """The codes of abolished LAs."""
    changes = boundary_changes() if changes is None else changes
    return {code for c in changes for code in c.predecessors}


def la_history(caseload: pd.DataFrame) -> pd.DataFrame:
    """LA × census totals on current boundaries from the public ``caseload`` table (both layouts).

    Returns la_code (old_la_code, or the harmonised code of merged areas), la_name, census_year,
    ehcplans, statements, all_plans; a year where an area's parts are not all published is left out.
    """
    la = caseload[caseload.geographic_level.eq("Local authority")]
    keys = ["old_la_code", "census_year"]
    totals = la.drop_duplicates(keys)[[*keys, "la_name", "ehcplans", "total_statements"]]
    totals = totals.rename(columns={"total_statements": "statements"}).astype(
        {"ehcplans": "Float64", "statements": "Float64"}
    )
    totals["all_plans"] = totals.ehcplans.fillna(0) + totals.statements.fillna(0)
    totals.loc[totals.ehcplans.isna() & totals.statements.isna(), "all_plans"] = pd.NA
    mapping = harmonised_codes()
    names = {c.harmonised_code: c.harmonised_name for c in boundary_changes()}
    totals["la_code"] = totals.old_la_code.map(mapping).fillna(totals.old_la_code)
    totals["la_name"] = totals.la_code.map(names).fillna(totals.la_name)
    out = totals.groupby(["la_code", "census_year"], as_index=False).agg(
        la_name=("la_name", "last"),
        ehcplans=("ehcplans", lambda s: s.sum(min_count=1)),
        statements=("statements", lambda s: s.sum(min_count=1)),
        all_plans=("all_plans", lambda s: s.sum(min_count=len(s))),
    )
    return (
        out.dropna(subset=["all_plans"])
        .astype({"all_plans": float})
        .sort_values(["la_code", "census_year"], ignore_index=True)
    )
