"""Local authorities, their synthetic parameters, random streams and the calendar.

Every random draw comes from a stream keyed by (seed, purpose, LA, year), so an LA's files do not
depend on which other LAs or periods are generated, and the same arguments give the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from dbv_pipeline import settings

DEFAULT_SEED = 2025
MODEL_START_YEAR = 2015  # first financial year modelled (2015-16); placements start at the Jan 2015 census
LAST_PLAN_YEAR = 2028  # DSG management plans forecast to 2028-29

# National count of active EHC plans at the January census (SEN2 scale); later years extrapolate.
NATIONAL_ACTIVE_PLANS = {
    2015: 240_000,
    2016: 256_000,
    2017: 287_000,
    2018: 320_000,
    2019: 354_000,
    2020: 390_000,
    2021: 430_000,
    2022: 474_000,
    2023: 517_000,
    2024: 576_000,
    2025: 639_000,
}
GROWTH_AFTER_LAST_KNOWN = 1.08

# Stream ids for rng(): one purpose each, never reused.
S_PARAMS, S_STOCK, S_YEAR, S_URNS, S_HNB, S_DSG, S_MITIGATIONS, S_FAULTS, S_LAYOUT = range(9)

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


def rng(seed: int, *keys: int) -> np.random.Generator:
    """A generator for one purpose, independent of every other (seed, keys) combination."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


# --- calendar -------------------------------------------------------------------------------


def fy_label(start_year: int) -> str:
    """2024 → '2024-25'."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def fy_start_year(label: str) -> int:
    """'2024-25' → 2024; raises ValueError on anything that is not a YYYY-YY financial year."""
    m = _PERIOD_RE.match(label)
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise ValueError(f"not a financial year YYYY-YY: {label!r}")
    return int(m.group(1))


def day(year: int, month: int, dom: int) -> int:
    """Days since 1970-01-01 (the integer date used throughout the generator)."""
    return (dt.date(year, month, dom) - dt.date(1970, 1, 1)).days


def census_date(year: int) -> dt.date:
    """The January school census: the third Thursday of January."""
    first = dt.date(year, 1, 1)
    return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 14)


def census_day(year: int) -> int:
    return (census_date(year) - dt.date(1970, 1, 1)).days


def national_active_plans(census_year: int) -> float:
    """Target national count of active plans at the January census of ``census_year``."""
    last = max(NATIONAL_ACTIVE_PLANS)
    if census_year <= last:
        return float(NATIONAL_ACTIVE_PLANS[max(census_year, min(NATIONAL_ACTIVE_PLANS))])
    return NATIONAL_ACTIVE_PLANS[last] * GROWTH_AFTER_LAST_KNOWN ** (census_year - last)


# --- local authorities ----------------------------------------------------------------------


@dataclass(frozen=True)
class LocalAuthority:
    index: int  # position in la_lookup.csv: the key of every random stream for this LA
    la_code: str  # the 3-digit DfE code used in returns
    ons_la_code: str  # the 9-character ONS code
    la_name: str
    region_code: str
    region_name: str


@cache
def load_las() -> tuple[LocalAuthority, ...]:
    """The 153 LAs of ``seeds/la_lookup.csv`` (empty rows skipped), in file order."""
    with open(settings.SEEDS_DIR / "la_lookup.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r and any((v or "").strip() for v in r.values())]
    return tuple(
        LocalAuthority(i, r["la_code"], r["ons_la_code"], r["la_name"], r["region_code"], r["region_name"])
        for i, r in enumerate(rows)
    )


def select_las(la_codes) -> list[LocalAuthority]:
    """The LAs for the given 3-digit la_codes (all when None), in lookup order."""
    las = load_las()
    if la_codes is None:
        return list(las)
    wanted = {str(c).strip() for c in la_codes}
    unknown = wanted - {la.la_code for la in las}
    if unknown:
        raise ValueError(f"unknown la_code(s): {sorted(unknown)}")
    return [la for la in las if la.la_code in wanted]


@dataclass(frozen=True)
class LaParams:
    """Synthetic characteristics of every LA (arrays indexed by ``LocalAuthority.index``)."""

    weight: np.ndarray  # relative size (share of national plans in 2020)
    growth: np.ndarray  # log-growth of the share per year, relative to national
    cost_position: np.ndarray  # 0..1: where the LA's placement costs sit in each cost range
    central_share: np.ndarray  # CENTRAL spend as a share of provision spend
    uses_s251: np.ndarray  # bool: fills in s251_line
    recoupment: np.ndarray  # bool: has a negative recoupment line
    deficit_rate: np.ndarray  # p: in-year deficit as a share of expenditure at full pressure
    opening_reserve: np.ndarray  # DSG high-needs reserve before 2015-16, as a share of income

    def size_share(self, census_year: int) -> np.ndarray:
        """Each LA's share of the national count at a census (sums to 1 over all LAs)."""
        w = self.weight * np.exp(self.growth * (census_year - 2020))
        return w / w.sum()


TINY_LAS = {"201", "420"}  # City of London, Isles of Scilly: a few dozen plans


@cache
def la_params(seed: int) -> LaParams:
    las = load_las()
    n = len(las)
    r = rng(seed, S_PARAMS)
    weight = r.lognormal(0.0, 0.55, n)
    weight[[la.index for la in las if la.la_code in TINY_LAS]] *= 0.02
    surplus = r.random(n) < 0.15
    deficit = np.where(surplus, r.uniform(-0.04, 0.0, n), np.minimum(r.lognormal(np.log(0.03), 0.8, n), 0.25))
    return LaParams(
        weight=weight,
        growth=r.normal(0.0, 0.02, n),
        cost_position=r.uniform(0.35, 0.65, n),
        central_share=r.uniform(0.06, 0.12, n),
        uses_s251=r.random(n) < 0.6,
        recoupment=r.random(n) < 0.25,
        deficit_rate=deficit,
        opening_reserve=r.uniform(0.0, 0.04, n),
    )


def la_active_target(params: LaParams, la: LocalAuthority, census_year: int, multiplier: float) -> int:
    """The LA's count of active plans at a census (at least 3 so every LA has a return)."""
    share = params.size_share(census_year)[la.index]
    return max(3, int(np.floor(national_active_plans(census_year) * share * multiplier + 0.5)))
