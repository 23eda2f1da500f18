"""Placement spells: a year-by-year stock-and-flow simulation of one LA's EHC plans.

Each January census interval ``[census(Z), census(Z+1))`` is one vectorised step: some active plans
cease, children move setting (at phase transitions each September and at random), and new plans
start so that the LA's active count at the next census hits its target. Spells of one child are
contiguous (the next starts the day after the last ends), so they never overlap and every active
plan has exactly one placement on census day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dbv_pipeline.contract import CONTRACT

from .las import (
    MODEL_START_YEAR,
    S_STOCK,
    S_URNS,
    S_YEAR,
    LaParams,
    LocalAuthority,
    census_day,
    day,
    la_active_target,
    rng,
)

OPEN = np.iinfo(np.int64).max // 4  # an end date that has not happened
YEAR = 365.25

PROVISIONS = CONTRACT.codes("provision_type")
NEEDS = CONTRACT.codes("primary_need")
SEXES = CONTRACT.codes("sex")
CEASE_REASONS = CONTRACT.codes("cease_reason")
_P = {code: i for i, code in enumerate(PROVISIONS)}


def _dist(weights: dict[str, float], codes: list[str]) -> np.ndarray:
    """A probability vector over ``codes`` (in contract order) from a partial {code: weight}."""
    unknown = set(weights) - set(codes)
    assert not unknown, f"not contract codes: {unknown}"
    p = np.array([weights.get(c, 0.0) for c in codes], dtype=float)
    return p / p.sum()


NEED_DIST = _dist(
    {
        "ASD": 31,
        "SLCN": 20,
        "SEMH": 15.5,
        "MLD": 8.5,
        "SLD": 5,
        "SPLD": 4.5,
        "PD": 3.5,
        "PMLD": 2,
        "HI": 1.5,
        "VI": 1,
        "MSI": 0.3,
        "DS": 1.2,
        "OTH": 3,
    },
    NEEDS,
)
# Chance that a child with this need starts on the special-school track.
_SPECIAL_TRACK_BY_NEED = {
    "PMLD": 0.97,
    "SLD": 0.9,
    "MSI": 0.6,
    "DS": 0.6,
    "ASD": 0.38,
    "MLD": 0.35,
    "PD": 0.33,
    "SEMH": 0.27,
    "HI": 0.22,
    "VI": 0.22,
    "OTH": 0.18,
    "SLCN": 0.1,
    "SPLD": 0.05,
}
SPECIAL_TRACK = np.array([_SPECIAL_TRACK_BY_NEED[c] for c in NEEDS])
SEX_DIST = _dist({"M": 72, "F": 27.5, "U": 0.5}, SEXES)

# Provision at the start of a spell, by phase (academic age) and track (0 mainstream, 1 special).
PHASE_AGES = (4, 11, 16, 19)  # academic ages that start reception, year 7, post-16, post-19
_PROVISION_BY_PHASE = [
    # under 4: early years
    (
        {"EARLY_YEARS": 62, "MAINSTREAM": 30, "EOTAS": 4, "UNKNOWN": 4},
        {"EARLY_YEARS": 45, "MSS": 42, "MAINSTREAM": 8, "UNKNOWN": 5},
    ),
    # 4-10: primary
    (
        {"MAINSTREAM": 85, "RP_UNIT": 8.5, "EOTAS": 2, "EHE": 1.2, "AP": 0.3, "UNKNOWN": 1.5},
        {"MSS": 73, "INMSS": 7, "RP_UNIT": 11, "MAINSTREAM": 5, "EOTAS": 2.5, "AP": 0.5},
    ),
    # 11-15: secondary
    (
        {"MAINSTREAM": 80, "RP_UNIT": 7.5, "AP": 1.8, "EOTAS": 4, "EHE": 3, "UNKNOWN": 1.5},
        {"MSS": 65, "INMSS": 20, "RP_UNIT": 5, "AP": 2, "EOTAS": 5, "EHE": 1, "MAINSTREAM": 2},
    ),
    # 16-18: post-16
    (
        {"POST16": 64, "MAINSTREAM": 18, "NEET": 8, "UNKNOWN": 4, "EOTAS": 2, "EHE": 1, "RP_UNIT": 3},
        {"MSS": 50, "POST16": 31, "INMSS": 12, "NEET": 3, "EOTAS": 2, "UNKNOWN": 2},
    ),
    # 19-25: post-19
    ({"POST16": 58, "NEET": 24, "UNKNOWN": 12, "EOTAS": 6}, {"POST16": 70, "NEET": 10, "UNKNOWN": 8, "EOTAS": 12}),
]
PROVISION_CUM = np.array([np.cumsum(_dist(p, PROVISIONS)) for phase in _PROVISION_BY_PHASE for p in phase])

# Annual cost of a placement to the high needs block (£), by provision.
COST_RANGES = {
    "MAINSTREAM": (5_000, 15_000),
    "RP_UNIT": (12_000, 22_000),
    "MSS": (20_000, 35_000),
    "INMSS": (45_000, 90_000),
    "AP": (15_000, 30_000),
    "POST16": (8_000, 25_000),
    "EARLY_YEARS": (3_000, 10_000),
    "EOTAS": (10_000, 40_000),
    "EHE": (0, 3_000),
    "NEET": (0, 3_000),
    "UNKNOWN": (0, 3_000),
}
COST_BLANK_SHARE = {"EHE": 0.7, "NEET": 0.7, "UNKNOWN": 0.8}
_COST_LO = np.array([COST_RANGES[c][0] for c in PROVISIONS], dtype=float)
_COST_HI = np.array([COST_RANGES[c][1] for c in PROVISIONS], dtype=float)
_COST_BLANK = np.array([COST_BLANK_SHARE.get(c, 0.0) for c in PROVISIONS])
# Settings with a URN, and how many distinct settings of each kind an LA of weight 1 uses.
URN_POOL = {"MAINSTREAM": 160, "RP_UNIT": 20, "MSS": 10, "INMSS": 25, "AP": 4, "POST16": 12, "EARLY_YEARS": 30}
_URN_SHARE = np.array([{"EARLY_YEARS": 0.5}.get(c, 1.0) if c in URN_POOL else 0.0 for c in PROVISIONS])

# Yearly chance that an active plan ceases, by age on 31 August this year (25+: always, max age).
CEASE_HAZARD = np.array([0.025] * 11 + [0.03] * 5 + [0.07, 0.06, 0.08, 0.26, 0.3, 0.3, 0.3, 0.3, 0.35, 1.0])
SUMMER_END_SHARE = np.where(np.arange(26) >= 16, 0.7, 0.15)  # ceasing at the end of the school year
# Cease reasons (codes 1..9) for plans ending before 16 and from 16 (1 = max age is given at 25).
_CEASE_YOUNG = _dist({"2": 36, "5": 36, "7": 8, "8": 2, "9": 16, "6": 2}, CEASE_REASONS)
_CEASE_OLDER = _dist({"2": 22, "3": 10, "4": 14, "5": 10, "6": 22, "7": 3, "8": 1, "9": 18}, CEASE_REASONS)
# Age at plan start (whole years).
ENTRY_AGE = np.array(
    [0.5, 1.5, 3, 5, 7] + [9, 8, 8, 7, 7, 6] + [6, 4, 4, 4, 3] + [3, 2, 1.2, 0.8] + [0.4, 0.3, 0.2, 0.1], dtype=float
)
ENTRY_AGE /= ENTRY_AGE.sum()
# Age at the first census (Jan 2015) of the initial stock of plans (mostly converted statements).
STOCK_AGE = np.array(
    [0.2, 0.5, 1, 1.3]
    + [4.5, 5.5, 6, 6.5, 7, 7.5, 7.8]
    + [8, 8.2, 8.2, 8.2, 8]
    + [6, 4.5, 2.5, 1]
    + [0.5, 0.3, 0.2, 0.1, 0.05],
    dtype=float,
)
STOCK_AGE /= STOCK_AGE.sum()
RANDOM_MOVE_RATE = 0.10  # moves of setting per child-year besides phase transitions
ESCALATE, DE_ESCALATE = 0.5, 0.06  # chance a random move changes track
PLACEMENT_LEAD_SHARE = 0.3  # share of new plans (age 4+) whose placement predates the plan
EDGE_SHARE = 0.02  # share of starts and ends put on census day / the day before it


@dataclass
class History:
    """One LA's simulated truth: children (plans) and their placement spells (dates in days)."""

    dob: np.ndarray
    sex: np.ndarray
    need: np.ndarray
    plan_start: np.ndarray
    plan_end: np.ndarray  # OPEN while active
    cease: np.ndarray  # index into CEASE_REASONS, -1 while active
    spell_child: np.ndarray
    spell_start: np.ndarray
    spell_end: np.ndarray  # OPEN while current
    provision: np.ndarray  # index into PROVISIONS
    urn: np.ndarray  # 0 = none
    cost: np.ndarray  # NaN = blank


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(days).astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return year, month


def age_on_31_august(dob: np.ndarray, year: int | np.ndarray) -> np.ndarray:
    """Whole years on 31 August of ``year`` (the DSG plan's age basis)."""
    by, bm = _ymd(dob)
    return year - by - (bm >= 9)


def academic_age(dob: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Age on 31 August before the academic year containing ``on``."""
    y, m = _ymd(on)
    return age_on_31_august(dob, y - (m < 9))


def _phase(acad_age: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(PHASE_AGES), acad_age, side="right")


class _Simulation:
    """Mutable state of one LA's simulation; arrays grow as plans start."""

    def __init__(self, seed: int, la: LocalAuthority, params: LaParams, multiplier: float):
        self.seed, self.la, self.params, self.multiplier = seed, la, params, multiplier
        ur = rng(seed, S_URNS, la.index)
        scale = np.sqrt(params.weight[la.index] * multiplier)
        self.urn_pools = [
            ur.choice(np.arange(100_000, 160_000), max(2, int(URN_POOL[c] * scale)), replace=False)
            if c in URN_POOL
            else np.zeros(1, dtype=np.int64)
            for c in PROVISIONS
        ]
        self.cost_pos = params.cost_position[la.index]
        empty = np.zeros(0, dtype=np.int64)
        self.dob = self.sex = self.need = self.plan_start = self.plan_end = self.cease = self.track = empty
        self.cur_start = self.cur_prov = self.cur_urn = empty
        self.cur_cost = np.zeros(0)
        self.out: list[tuple[np.ndarray, ...]] = []

    # -- spells --------------------------------------------------------------------------

    def _placement(self, r, idx, on):
        """Provision, URN and cost of new spells for children ``idx`` starting on ``on``."""
        row = _phase(academic_age(self.dob[idx], on)) * 2 + self.track[idx]
        prov = (r.random(len(idx))[:, None] > PROVISION_CUM[row]).sum(axis=1)
        prov = np.minimum(prov, len(PROVISIONS) - 1)
        urn = np.zeros(len(idx), dtype=np.int64)
        has_urn = r.random(len(idx)) < _URN_SHARE[prov]
        pick = r.random(len(idx))
        for p in np.unique(prov[has_urn]):
            sel = has_urn & (prov == p)
            pool = self.urn_pools[p]
            urn[sel] = pool[(pick[sel] * len(pool)).astype(int)]
        u = np.clip(r.normal(self.cost_pos, 0.22, len(idx)), 0.0, 1.0)
        cost = np.round((_COST_LO[prov] + u * (_COST_HI[prov] - _COST_LO[prov])) / 10) * 10
        cost[r.random(len(idx)) < _COST_BLANK[prov]] = np.nan
        return prov, urn, cost

    def _open(self, r, idx, on):
        self.cur_start[idx] = on
        self.cur_prov[idx], self.cur_urn[idx], self.cur_cost[idx] = self._placement(r, idx, on)

    def _close(self, idx, end):
        """Emit the current spell of children ``idx``, ending on ``end``."""
        self.out.append((idx, self.cur_start[idx], end, self.cur_prov[idx], self.cur_urn[idx], self.cur_cost[idx]))

    def _add_children(self, r, dob, plan_start, spell_start):
        n = len(dob)
        first = len(self.dob)
        need = r.choice(len(NEEDS), n, p=NEED_DIST)
        cat = np.concatenate
        self.dob, self.need = cat([self.dob, dob]), cat([self.need, need])
        self.plan_start = cat([self.plan_start, plan_start])
        self.sex = cat([self.sex, r.choice(len(SEXES), n, p=SEX_DIST)])
        self.plan_end = cat([self.plan_end, np.full(n, OPEN)])
        self.cease = cat([self.cease, np.full(n, -1)])
        self.track = cat([self.track, (r.random(n) < SPECIAL_TRACK[need]).astype(np.int64)])
        self.cur_start, self.cur_prov, self.cur_urn = (
            cat([a, np.zeros(n, dtype=np.int64)]) for a in (self.cur_start, self.cur_prov, self.cur_urn)
        )
        self.cur_cost = cat([self.cur_cost, np.zeros(n)])
        idx = np.arange(first, first + n)
        self._open(r, idx, spell_start)
        return idx

    # -- the simulation ------------------------------------------------------------------

    def initial_stock(self):
        """Plans active at the January 2015 census, most of them converted statements."""
        r = rng(self.seed, S_STOCK, self.la.index)
        c0 = census_day(MODEL_START_YEAR)
        n = la_active_target(self.params, self.la, MODEL_START_YEAR, self.multiplier)
        age = r.choice(len(STOCK_AGE), n, p=STOCK_AGE)
        dob = day(MODEL_START_YEAR - 1, 9, 1) - (age + 1) * 365 + r.integers(0, 365, n)
        span = np.clip(c0 - dob - 180, 0, 8 * 365)
        plan_start = c0 - (r.random(n) * span).astype(np.int64)
        spell_start = c0 - (r.random(n) * np.minimum(c0 - plan_start, 3 * 365)).astype(np.int64)
        self._add_children(r, dob, plan_start, spell_start)

    def step(self, z: int):
        """Simulate the interval from the census of January ``z`` to the next one."""
        r = rng(self.seed, S_YEAR, self.la.index, z)
        lo, hi = census_day(z), census_day(z + 1)
        jul31, sep1 = day(z, 7, 31), day(z, 9, 1)

        # 1. plans cease (before 25 by hazard, at 25 always), mostly at the end of the school year
        act = np.flatnonzero(self.plan_end == OPEN)
        a = np.minimum(age_on_31_august(self.dob[act], z), 25)
        ceasing = r.random(len(act)) < CEASE_HAZARD[a]
        end = lo + (r.random(len(act)) * (hi - lo)).astype(np.int64)
        summer = (r.random(len(act)) < SUMMER_END_SHARE[a]) | (a >= 25)
        end = np.where(summer, jul31 - r.integers(0, 45, len(act)), end)
        end = np.where(r.random(len(act)) < EDGE_SHARE, hi - 1, end)  # the day before the census
        end = np.maximum(end, self.cur_start[act] + 1)
        reason = np.where(
            a >= 16,
            r.choice(len(CEASE_REASONS), len(act), p=_CEASE_OLDER),
            r.choice(len(CEASE_REASONS), len(act), p=_CEASE_YOUNG),
        )
        reason[a >= 25] = 0  # "1": maximum age
        ceased = act[ceasing]
        self.plan_end[ceased], self.cease[ceased] = end[ceasing], reason[ceasing]

        # 2. new plans make up the next census's target
        target = la_active_target(self.params, self.la, z + 1, self.multiplier)
        n = max(0, target - (len(act) - len(ceased)))
        start = lo + 1 + (r.random(n) * (hi - lo)).astype(np.int64)
        start = np.where(r.random(n) < EDGE_SHARE, hi, start)  # on census day
        age = r.choice(len(ENTRY_AGE), n, p=ENTRY_AGE)
        dob = start - ((age + r.random(n)) * YEAR).astype(np.int64)
        lead = np.where((age >= 4) & (r.random(n) < PLACEMENT_LEAD_SHARE), r.integers(1, 330, n), 0)
        new = self._add_children(r, dob, start, start - lead)

        # 3. moves of setting: at the September phase transition, and at random (up to one each)
        idx = np.concatenate([act, new])
        w_lo = np.maximum(lo, self.cur_start[idx] + 14)
        w_hi = np.minimum(self.plan_end[idx], hi - 1) - 7
        term = sep1 + r.integers(0, 7, len(idx))
        phase = np.isin(age_on_31_august(self.dob[idx], z), PHASE_AGES) & (w_lo <= term) & (term <= w_hi)
        is_old = np.arange(len(idx)) < len(act)
        moves = is_old & (w_hi > w_lo) & (r.random(len(idx)) < RANDOM_MOVE_RATE * (w_hi - w_lo) / YEAR)
        when = w_lo + (r.random(len(idx)) * (w_hi - w_lo + 1)).astype(np.int64)
        when = np.where((w_lo == lo) & (r.random(len(idx)) < 5 * EDGE_SHARE), lo, when)  # on census day
        moves &= ~phase | (np.abs(when - term) >= 14)
        self._apply_moves(r, idx, phase, term, moves, when, r.random(len(idx)))

        # 4. spells of plans that ceased end with the plan
        self._close(ceased, self.plan_end[ceased])

    def _apply_moves(self, r, idx, phase, term, moves, when, flip):
        """Close and reopen spells at each move, earlier move first for children with two."""
        both = phase & moves
        first = np.where(both, np.minimum(term, when), np.where(phase, term, when))
        second = np.maximum(term, when)
        first_is_random = np.where(both, when < term, moves)
        for sel, on, random in ((phase | moves, first, first_is_random), (both, second, ~first_is_random)):
            child = idx[sel]
            rnd = random[sel]
            u = flip[sel]
            tr = self.track[child]
            tr = np.where(rnd & (tr == 0) & (u < ESCALATE), 1, tr)
            tr = np.where(rnd & (tr == 1) & (u > 1 - DE_ESCALATE), 0, tr)
            self.track[child] = tr
            self._close(child, on[sel] - 1)
            self._open(r, child, on[sel])

    def history(self) -> History:
        act = np.flatnonzero(self.plan_end == OPEN)
        self._close(act, np.full(len(act), OPEN))
        child, start, end, prov, urn, cost = (np.concatenate(parts) for parts in zip(*self.out))
        order = np.lexsort((start, child))
        return History(
            self.dob,
            self.sex,
            self.need,
            self.plan_start,
            self.plan_end,
            self.cease,
            child[order],
            start[order],
            end[order],
            prov[order],
            urn[order],
            cost[order],
        )


def simulate(seed: int, la: LocalAuthority, params: LaParams, multiplier: float, until_day: int) -> History:
    """Simulate an LA's plans and spells from the January 2015 census until ``until_day``."""
    sim = _Simulation(seed, la, params, multiplier)
    sim.initial_stock()
    z = MODEL_START_YEAR
    while census_day(z) <= until_day:
        sim.step(z)
        z += 1
    return sim.history()


def child_ids(la: LocalAuthority, child: np.ndarray) -> np.ndarray:
    """Pseudonymous ids ``C`` + 8 base-36 characters: a bijection of (LA, child), unique nationally."""
    modulus = 36**8  # the multiplier is coprime with it (odd, not a multiple of 3), so this is a bijection
    key = ((int(la.la_code) * 10_000_000 + child.astype(np.int64)) * 735_632_791 + 982_451_653) % modulus
    alphabet = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8).astype(np.uint32)
    codes = np.empty((len(child), 9), dtype=np.uint32)
    codes[:, 0] = ord("C")
    for k in range(8):
        codes[:, 8 - k] = alphabet[(key // 36**k) % 36]
    return codes.view("<U9").ravel()


def _dates(days: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    d[days >= OPEN] = np.datetime64("NaT")
    return d


def placements_table(la: LocalAuthority, h: History, history_start: int, as_at: int) -> dict[str, np.ndarray]:
    """The LA's ``placements`` return as at ``as_at``: every spell current on or after ``history_start``.

    Columns are typed: dates ``datetime64[D]`` (NaT blank), codes ``str`` ('' blank), money ``float``
    (NaN blank), URNs ``int`` (0 blank).
    """
    keep = (h.spell_start <= as_at) & (h.spell_end >= history_start) & (h.plan_start[h.spell_child] <= as_at)
    child = h.spell_child[keep]
    ended = h.plan_end[child] <= as_at
    spell_end = h.spell_end[keep]
    return {
        "la_code": np.full(len(child), la.la_code),
        "child_id": child_ids(la, child),
        "date_of_birth": _dates(h.dob[child]),
        "sex": np.array(SEXES)[h.sex[child]],
        "primary_need": np.array(NEEDS)[h.need[child]],
        "ehcp_start_date": _dates(h.plan_start[child]),
        "ehcp_end_date": _dates(np.where(ended, h.plan_end[child], OPEN)),
        "cease_reason": np.where(ended, np.array(CEASE_REASONS)[h.cease[child]], ""),
        "provision_type": np.array(PROVISIONS)[h.provision[keep]],
        "setting_urn": h.urn[keep],
        "placement_start_date": _dates(h.spell_start[keep]),
        "placement_end_date": _dates(np.where(spell_end <= as_at, spell_end, OPEN)),
        "annual_cost_gbp": h.cost[keep],
    }
