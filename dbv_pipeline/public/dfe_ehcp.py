"""DfE "Education, health and care plans" (SEN2) releases → normalised Parquet, one file per table.

``load_release(source, out_dir)`` reads one release or several (zip, extracted folder, a folder of zips
or http(s) URL; several separated by commas or spaces), detects each one's layout — the current one
(``caseload.csv`` …, 2023 onwards) or the older ``sen2_*`` one (2022 and before, LA history from 2010) —
checks its files, keeps the headline rows at National, Regional and LA level, maps DfE's placement, need
and cease-reason columns to the contract's codes and writes ``<out_dir>/<table>.parquet`` with the
releases merged (the newest release wins the years both cover) and ``provenance.json``. A release it
cannot read fails with ``ReleaseLayoutError`` naming every missing file and column and the layout it
detected, and nothing is written. Mapping decisions and known source issues: docs/public_data.md.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
import urllib.request
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fnmatch import fnmatch
from itertools import takewhile
from logging import getLogger
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dbv_pipeline.contract import CONTRACT

log = getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 300
HEAD_TIMEOUT_S = 30
MISSING = {"", "x", "z", "c", "u", "low", ":", "~"}  # EES symbols; data-guidance.txt uses x and z
LEVELS = ("National", "Regional", "Local authority")
GEO = [
    "time_period",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "new_la_code",
    "old_la_code",
    "la_name",
]
META = {*GEO, "time_identifier", "breakdown_topic", "breakdown"}
ENGLAND = {"country_code": "E92000001", "country_name": "England"}  # the tribunal file covers England


class ReleaseLayoutError(ValueError):
    """The release does not have the layout this loader knows."""


@dataclass(frozen=True)
class Breakdown:
    """Wide DfE count columns → tidy rows, each column mapped to a contract code (None = not recorded)."""

    code_column: str
    code_list: str
    columns: dict[str, str | None]
    optional: frozenset[str] = frozenset()  # may be absent (pre-2023 only, or new in a later release)
    one_of: tuple[tuple[str, ...], ...] = ()  # a column DfE split: the old one or all the new ones
    excluded: frozenset[str] = frozenset()  # deliberately not loaded; nor is any *_pc percentage

    def __post_init__(self):
        unknown = set(self.columns.values()) - {None, *CONTRACT.codes(self.code_list)}
        if unknown:
            raise ValueError(f"not in the contract's {self.code_list} codes: {sorted(unknown)}")

    def problems(self, file: str, columns: list[str], measures: tuple[str, ...]) -> list[str]:
        """Each missing mapped column, and each column neither mapped nor excluded."""
        split = {c for group in self.one_of for c in group}
        missing = [c for c in self.columns if c not in self.optional | split and c not in columns]
        if self.one_of and not any(set(group) <= set(columns) for group in self.one_of):
            missing.append(" or ".join(" + ".join(group) for group in self.one_of))
        known = META | set(self.columns) | self.excluded | set(measures)
        unknown = [c for c in columns if c not in known and not c.endswith("_pc")]
        return ([f"{file}: missing columns: {', '.join(missing)}"] if missing else []) + (
            [f"{file}: unknown columns {', '.join(unknown)} (map them to a code or exclude them in dfe_ehcp.py)"]
            if unknown
            else []
        )

    def melt(self, file: str, rows: pd.DataFrame, wide: pd.DataFrame) -> pd.DataFrame:
        """One row per input row and mapped column present: code, dfe_column, plans."""
        return pd.concat(
            [
                rows.assign(**{self.code_column: code}, dfe_column=column, plans=_counts(file, column, wide[column]))
                for column, code in self.columns.items()
                if column in wide.columns
            ],
            ignore_index=True,
        )


@dataclass(frozen=True)
class EesFile:
    """One EES data file: which rows and columns become which Parquet table."""

    table: str
    files: tuple[str, ...]  # the file's name in data/, newest name first
    calendar: bool  # time_period is a calendar year (2024), else an academic year (202425)
    total_topic: str  # breakdown_topic of the headline rows
    measures: tuple[str, ...]  # count columns kept as they are
    breakdown: Breakdown | None = None


# Placement columns of caseload.csv → provision_type (spec §3.2; the others: docs/public_data.md).
PLACEMENTS = Breakdown(
    code_column="provision_type",
    code_list="provision_type",
    columns={
        "mainstream_la_maintained": "MAINSTREAM",
        "mainstream_academy": "MAINSTREAM",
        "mainstream_free_school": "MAINSTREAM",
        "mainstream_independent": "MAINSTREAM",
        "mainstream_la_maintained_resourced_provision": "RP_UNIT",
        "mainstream_la_maintained_senunit": "RP_UNIT",
        "mainstream_academy_resourced_provision": "RP_UNIT",
        "mainstream_academy_senunit": "RP_UNIT",
        "mainstream_free_school_resourced_provision": "RP_UNIT",
        "mainstream_free_school_senunit": "RP_UNIT",
        "special_la_maintained": "MSS",
        "special_academy_free": "MSS",  # up to the 2025 release
        "special_academy": "MSS",  # 2026 release: special_academy_free split in two
        "special_free_school": "MSS",
        "special_independent": "INMSS",
        "special_non_maintained": "INMSS",
        "ap_pru_total": "AP",
        "fe_total": "POST16",
        "nm_early_years": "EARLY_YEARS",
        "other_arrangements_la": "EOTAS",
        "other_arrangements_parents": "EOTAS",
        "online_provider": "EOTAS",
        "elective_home_education": "EHE",
        "neet": "NEET",
        "neet_ntci": "NEET",
        "neet_other": "NEET",
        "placement_unknown": "UNKNOWN",
        # Not named by the spec:
        "neet_other_csa": "NEET",  # not in education or training, compulsory school age
        "other_placement_settings": "UNKNOWN",  # awaiting provision, no setting named, out of provision
        "await_prov_2022": "UNKNOWN",  # awaiting provision (pre-2023 collection)
        "perm_ex_2022": "UNKNOWN",  # permanently excluded, no setting (pre-2023 collection)
        "w_settings": "UNKNOWN",  # Welsh schools: maintained or not, mainstream or special, unknown
        "other_schools": "UNKNOWN",  # secure units, service children's, overseas, GIAS "Miscellaneous"
    },
    optional=frozenset({"await_prov_2022", "perm_ex_2022"}),
    one_of=(("special_academy_free",), ("special_academy", "special_free_school")),
    excluded=frozenset(
        {
            "mainstream_total",
            "special_total",
            "ed_elsewhere",  # totals of mapped columns
            "ap_pru_academy",
            "ap_pru_free_school",
            "ap_pru_la_maintained",  # parts of ap_pru_total
            "general_fe_tertiary_colleges",
            "specialist_post_16_institutions",
            "ukrlp_provider",  # of fe_total
        }
    ),
)

# Primary need columns of the needs file → primary_need; "need not recorded" has no code.
NEEDS = Breakdown(
    code_column="primary_need",
    code_list="primary_need",
    columns={
        "number_asd": "ASD",
        "number_hi": "HI",
        "number_mld": "MLD",
        "number_msi": "MSI",
        "number_oth": "OTH",  # includes Down syndrome up to the 2025 release
        "number_pd": "PD",
        "number_pmld": "PMLD",
        "number_semh": "SEMH",
        "number_slcn": "SLCN",
        "number_sld": "SLD",
        "number_spld": "SPLD",
        "number_vi": "VI",
        "number_ds": "DS",  # 2026 release (sen_needs_caseload.csv)
        "number_need_unknown": None,
    },
    optional=frozenset({"number_ds"}),
)

# Reason columns of ceased_plans.csv → cease_reason (SEN2 codes). The data guidance swaps the
# descriptions of `other` and `not_rec`; the column names are taken at their word.
CEASE_REASONS = Breakdown(
    code_column="cease_reason",
    code_list="cease_reason",
    columns={
        "max_age": "1",
        "needs_met": "2",
        "he": "3",
        "employ": "4",
        "transfer": "5",
        "no_engage": "6",
        "moved_outside_eng": "7",
        "deceased": "8",
        "other": "9",
        "not_rec": None,
    },
)

EES_FILES = (
    EesFile("caseload", ("caseload.csv",), False, "All EHC plans", ("ehcplans",), PLACEMENTS),
    EesFile("newplans", ("newplans.csv",), True, "New EHC plans", ("new_ehc_plans",)),
    EesFile(
        "requests",
        ("requests.csv",),
        True,
        "All requests for EHC needs assessments",
        (
            "requests_received_in_year",
            "requests_decided_to_assess",
            "requests_decided_not_to_assess",
            "requests_decision_not_made",
            "requests_withdrawn",
        ),
    ),
    EesFile(
        "assessments",
        ("assessments.csv",),
        True,
        "All EHC needs assessments",
        ("assess_in_year", "assess_issued", "assess_not_issued"),
    ),
    EesFile(
        "timeliness_20_week",
        ("timeliness_20_week.csv",),
        True,
        "All EHC plans issued",
        ("plans_issued_den", "plans_issued_within_20_weeks", "plans_issued_den_ex", "plans_issued_20_weeks_ex"),
    ),
    EesFile(
        "sen_needs_all_plans",
        ("sen_needs_caseload.csv", "sen_needs_all_plans.csv"),
        False,
        "All EHC plans",
        ("ehc_plans",),
        NEEDS,
    ),
    EesFile("ceased_plans", ("ceased_plans.csv",), True, "All ceased EHC plans", ("total_ceased",), CEASE_REASONS),
)

TRIBUNAL_FILE = "send tribunals and appeal rate *.csv"
TRIBUNAL_MEASURES = {  # header (without footnote digits) → column
    "appeals registered": "appeals_registered",
    "total appealable decisions": "appealable_decisions",
    "send tribunal appeal rate": "appeal_rate_pct",
}

# The older layout (releases up to January 2022): sen2_* files, one row per area, year and
# establishment type; calendar-year time_period (caseload: the January census of that year);
# statements (`*_st`, up to 2018) and EHC plans (`*_ehc`) counted apart. docs/public_data.md.
ESTABLISHMENTS = {  # establishment_type of sen2_estab_caseload.csv → provision_type
    "Mainstream - LA maintained": "MAINSTREAM",
    "Mainstream - Academy": "MAINSTREAM",
    "Mainstream - Free school": "MAINSTREAM",
    "Mainstream - Independent": "MAINSTREAM",
    "Mainstream - LA maintained - Resourced provision": "RP_UNIT",
    "Mainstream - LA maintained - SEN unit": "RP_UNIT",
    "Mainstream - Academy - Resourced Provision": "RP_UNIT",
    "Mainstream - Academy - SEN unit": "RP_UNIT",
    "Mainstream - Free school - Resourced provision": "RP_UNIT",
    "Mainstream - Free school - SEN unit": "RP_UNIT",
    "Special - LA maintained": "MSS",
    "Special - Academy": "MSS",
    "Special - Free school": "MSS",
    "Special - Academy/free": "MSS",
    "Hospital School": "MSS",
    "Special - Independent": "INMSS",
    "Special - Non-maintained": "INMSS",
    "AP/PRU - LA maintained": "AP",
    "AP/PRU - Academy": "AP",
    "AP/PRU - Free school": "AP",
    "General FE and tertiary colleges/HE": "POST16",
    "Other FE": "POST16",
    "Sixth form college": "POST16",
    "Specialist post-16 institutions": "POST16",
    "Independent specialist providers": "POST16",
    "Apprenticeship": "POST16",
    "Traineeship": "POST16",
    "Supported Internship": "POST16",
    "Work-based learning": "POST16",
    "Non-maintained early years": "EARLY_YEARS",
    "Other arrangements by local authority": "EOTAS",
    "Other arrangements by parents": "EOTAS",
    "Elective home education": "EHE",
    "NEET": "NEET",
    # awaiting provision: one total up to 2018, by age and education from 2019 (never both in a year)
    "Awaiting provision - total": "UNKNOWN",
    "Permanently excluded": "UNKNOWN",
    "Other": "UNKNOWN",
    **{
        f"Awaiting provision - {age} and {state}": "UNKNOWN"
        for age in ("above compulsory school age", "below compulsory school age", "compulsory school age")
        for state in ("in education", "not in education")
    },
}
SEN2_CASELOAD, SEN2_NEW_PLANS, SEN2_MI = "sen2_estab_caseload.csv", "sen2_estab_new_plans.csv", "sen2_mi.csv"
SEN2_COLUMNS = {  # file → the columns read (lower-case)
    SEN2_CASELOAD: ("establishment_type", "establishment_group", "total_st", "total_ehc"),
    SEN2_NEW_PLANS: ("establishment_type", "establishment_group", "total_new_ehc"),
    SEN2_MI: ("inreqehc", "totincexcehc", "incexc20weekehc", "totnoexcehc", "noexc20weekehc"),
}
SEN2_MEASURES = {  # table → {column: sen2_mi.csv column}; the 2018-2022 request outcomes are not comparable
    "requests": {"requests_received_in_year": "inreqehc"},  # with the 2023 collection's: not loaded
    "timeliness_20_week": {
        "plans_issued_den": "totincexcehc",
        "plans_issued_within_20_weeks": "incexc20weekehc",
        "plans_issued_den_ex": "totnoexcehc",
        "plans_issued_20_weeks_ex": "noexc20weekehc",
    },
}
CURRENT = "current (caseload.csv …, releases from 2023)"
SEN2 = "sen2 (sen2_estab_caseload.csv …, releases up to 2022)"
LAYOUT_FILES = {
    CURRENT: [spec.files for spec in EES_FILES] + [(TRIBUNAL_FILE,)],
    SEN2: [(name,) for name in SEN2_COLUMNS],
}
PROVENANCE = "provenance.json"  # beside the tables: which releases they come from


def _schema(spec: EesFile) -> pa.Schema:
    fields = [(c, pa.string()) for c in GEO]
    fields += [("calendar_year", pa.int32())] if spec.calendar else []
    fields += [("census_year", pa.int32())]
    if spec.breakdown:
        fields += [(spec.breakdown.code_column, pa.string()), ("dfe_column", pa.string()), ("plans", pa.int64())]
    fields += [(m, pa.int64()) for m in spec.measures]
    if spec.table == "caseload":  # statements (before the 2014 reform, all converted by 2018), kept apart
        fields += [("statements", pa.int64()), ("total_statements", pa.int64())]
    return pa.schema(fields)


SCHEMAS: dict[str, pa.Schema] = {spec.table: _schema(spec) for spec in EES_FILES} | {
    "tribunal_appeal_rates": pa.schema(
        [
            ("calendar_year", pa.int32()),
            ("census_year", pa.int32()),
            ("geographic_level", pa.string()),
            ("country_code", pa.string()),
            ("country_name", pa.string()),
            ("old_la_code", pa.string()),
            ("la_name", pa.string()),
            ("appeals_registered", pa.int64()),
            ("appealable_decisions", pa.int64()),
            ("appeal_rate_pct", pa.float64()),
        ]
    ),
}
TABLES = tuple(SCHEMAS)


@dataclass
class Release:
    """One release as read: its source, layout, publication date (newest file) and tables."""

    source: str
    layout: str
    released: str  # ISO date of the release's newest file
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def census_years(self) -> list[int]:
        years = self.frames["caseload"].census_year.dropna()
        return [int(years.min()), int(years.max())] if len(years) else []

    def describe(self) -> dict:
        return {
            "source": self.source,
            "name": _source_name(self.source),
            "layout": self.layout,
            "released": self.released,
            "census_years": self.census_years,
        }


def load_release(source: str | Path | list, out_dir: Path) -> dict[str, Path]:
    """Read the release(s) at ``source`` (see ``release_sources``), merge them (the newest release wins
    the years both cover) and write one Parquet file per table and ``provenance.json``."""
    releases = _newest_first([read_release(s) for s in release_sources(source)])
    checks = reconciliation(releases)
    frames = merge_releases(releases)
    tables = {}  # all converted before any is written
    for name, frame in frames.items():
        schema = SCHEMAS[name]
        tables[name] = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    written = {name: _write(table, out_dir, name) for name, table in tables.items()}
    _write_provenance(out_dir, releases, checks)
    return written


def release_sources(source: str | Path | list) -> list[str]:
    """The releases named by ``source``: one address, zip or extracted folder; a folder of release zips
    (each one a release); or several of these separated by commas or spaces."""
    if isinstance(source, (list, tuple)):
        return [str(s) for s in source]
    text = str(source).strip()
    path = Path(text)
    if path.is_dir():
        zips = sorted(str(z) for z in path.glob("*.zip"))
        return zips or [text]
    if path.exists() or re.fullmatch(r"https?://\S+", text):
        return [text]
    return [part for part in re.split(r"[,\s]+", text) if part]


def read_release(source: str) -> Release:
    """One release, in either layout; every problem found (missing files, missing or unknown columns)
    is raised at once as ``ReleaseLayoutError``, with the layout detected."""
    with _open(source) as release:
        layout = _detect_layout(release, source)
        readers = _current_readers() if layout == CURRENT else _sen2_readers()
        out, problems = Release(source, layout, release.released()), []
        for table, read in readers.items():
            try:
                out.frames[table] = read(release, out.frames)
            except ReleaseLayoutError as error:
                problems.append(str(error))
    if problems:
        raise ReleaseLayoutError(
            f"DfE release {_source_name(source)}: layout {layout}; cannot be read:\n" + "\n".join(problems)
        )
    return out


def merge_releases(releases: list[Release]) -> dict[str, pd.DataFrame]:
    """One frame per table: the newest release's rows, then each older release's rows for the census
    years the newer ones do not cover (per table)."""
    ordered = _newest_first(releases)
    merged = {}
    for table, schema in SCHEMAS.items():
        parts, covered = [], set()
        for release in ordered:
            frame = release.frames.get(table, pd.DataFrame(columns=schema.names)).reindex(columns=schema.names)
            parts.append(frame[~frame.census_year.isin(covered)])
            covered |= set(frame.census_year)
        merged[table] = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    return merged


def reconciliation(releases: list[Release]) -> list[dict]:
    """The newest release against each older one on the census years both cover (``reconcile``): years,
    area-years compared and how many disagree (logged as a warning)."""
    ordered = _newest_first(releases)
    checks = []
    for older in ordered[1:]:
        diff = reconcile(ordered[0], older)
        check = {
            "newer": _source_name(ordered[0].source),
            "older": _source_name(older.source),
            "census_years": sorted(int(y) for y in diff.census_year.unique()),
            "area_years": len(diff),
            "disagree": int((~diff.agree).sum()),
        }
        if check["disagree"]:
            log.warning(
                "DfE releases %s and %s disagree on total EHC plans for %d area-years",
                check["newer"],
                check["older"],
                check["disagree"],
            )
        checks.append(check)
    return checks


def reconcile(newer: Release, older: Release) -> pd.DataFrame:
    """Published total EHC plans of each area in the census years both releases cover: geographic_level,
    region_code, old_la_code, census_year, ehcplans_newer, ehcplans_older, agree."""
    keys = ["geographic_level", "region_code", "old_la_code", "census_year"]
    a, b = (r.frames["caseload"].drop_duplicates(keys)[keys + ["ehcplans"]] for r in (newer, older))
    both = a.merge(b, on=keys, suffixes=("_newer", "_older"))
    both["agree"] = (
        (both.ehcplans_newer == both.ehcplans_older)
        .fillna(both.ehcplans_newer.isna() & both.ehcplans_older.isna())
        .astype(bool)
    )
    return both


def read_provenance(out_dir: Path) -> dict:
    """What ``provenance.json`` says about the public tables in ``out_dir`` (no releases if none)."""
    try:
        return json.loads((out_dir / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"releases": []}


def provenance_text(provenance: dict) -> str:
    """One line: where the public data came from, e.g. 'DfE EHCP releases: …_2025.zip (published
    2025-07-01, censuses 2019–2025); …'."""
    releases = provenance.get("releases") or []
    if not releases:
        return "No DfE public data loaded."
    parts = [
        f"{r['name']} (published {r['released']}, censuses {'–'.join(map(str, r['census_years']))})" for r in releases
    ]
    return (
        f"DfE EHC plans release{'s' if len(parts) > 1 else ''}: {'; '.join(parts)}; loaded {provenance['loaded_at']}."
    )


def _newest_first(releases: list[Release]) -> list[Release]:
    return sorted(releases, key=lambda r: r.census_years[-1] if r.census_years else 0, reverse=True)


def _write_provenance(out_dir: Path, releases: list[Release], checks: list[dict]) -> None:
    text = json.dumps(
        {
            "releases": [r.describe() for r in releases],
            "reconciliation": checks,
            "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        indent=1,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{PROVENANCE}.tmp"
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(out_dir / PROVENANCE)


def _source_name(source: str) -> str:
    return source if re.match(r"https?://", source) else Path(source).name


def release_signature(source: str | Path) -> str:
    """What identifies a release without reading it: a file's path, size and modification time (a
    folder's newest file); at an http(s) address, the server's ETag, Last-Modified and size from a
    HEAD request (``OSError`` if unreachable). Several releases: their signatures joined."""
    sources = release_sources(source)
    if len(sources) > 1:
        return " | ".join(release_signature(s) for s in sources)
    source = sources[0]
    if re.match(r"https?://", str(source)):
        request = urllib.request.Request(str(source), method="HEAD")
        with urllib.request.urlopen(request, timeout=HEAD_TIMEOUT_S) as response:
            headers = [response.headers.get(h, "") for h in ("ETag", "Last-Modified", "Content-Length")]
        return f"{source}:" + ":".join(headers)
    path = Path(source)
    stats = [p.stat() for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path.stat()]
    return f"{path.resolve()}:{sum(s.st_size for s in stats)}:{max((s.st_mtime_ns for s in stats), default=0)}"


def write_empty(out_dir: Path) -> dict[str, Path]:
    """Write every table with its schema and no rows (a machine without the release still runs)."""
    written = {name: _write(schema.empty_table(), out_dir, name) for name, schema in SCHEMAS.items()}
    _write_provenance(out_dir, [], [])
    return written


def _write(table: pa.Table, out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path, tmp = out_dir / f"{name}.parquet", out_dir / f".{name}.parquet.tmp"
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


class _Release:
    """The release's files by lower-case base name, from a zip or an extracted folder."""

    def __init__(self, path: Path):
        self._zip = None if path.is_dir() else zipfile.ZipFile(path)
        members = self._zip.namelist() if self._zip else [p for p in path.rglob("*") if p.is_file()]
        self._files = {Path(m).name.lower(): m for m in members if not str(m).endswith("/")}
        dates = (
            [date(*i.date_time[:3]) for i in self._zip.infolist()]
            if self._zip
            else [date.fromtimestamp(p.stat().st_mtime) for p in members]
        )
        self._released = max(dates, default=None)

    def find(self, *patterns: str) -> str | None:
        matches = (name for p in patterns for name in sorted(self._files) if fnmatch(name, p.lower()))
        return next(matches, None)

    def names(self) -> list[str]:
        return sorted(self._files)

    def released(self) -> str:
        """The date of the newest file: when DfE built the release."""
        return self._released.isoformat() if self._released else "unknown"

    def text(self, name: str) -> str:
        member = self._files[name]
        raw = self._zip.read(member) if self._zip else member.read_bytes()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return raw.decode("cp1252")

    def close(self) -> None:
        if self._zip:
            self._zip.close()


@contextmanager
def _open(source: str | Path):
    """The release at a path, or downloaded from an http(s) URL to a temporary file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(source)
        if re.match(r"https?://", str(source)):
            path = Path(tmp) / "release.zip"
            with urllib.request.urlopen(str(source), timeout=DOWNLOAD_TIMEOUT_S) as response:
                with path.open("wb") as file:
                    shutil.copyfileobj(response, file)
        release = _Release(path)
        try:
            yield release
        finally:
            release.close()


def _detect_layout(release: _Release, source: str) -> str:
    """The layout with the most of its files in the release; neither → ``ReleaseLayoutError`` naming both."""
    found = {layout: sum(release.find(*names) is not None for names in files) for layout, files in LAYOUT_FILES.items()}
    layout = max(found, key=found.get)
    if not found[layout]:
        expected = "; ".join(
            f"{layout}: {', '.join(' or '.join(n) for n in files)}" for layout, files in LAYOUT_FILES.items()
        )
        raise ReleaseLayoutError(
            f"DfE release {_source_name(source)}: layout not recognised, none of the files "
            f"of either layout ({expected}); it holds: {', '.join(release.names()[:20]) or 'nothing'}"
        )
    return layout


def _current_readers() -> dict:
    readers = {spec.table: (lambda release, _, spec=spec: _ees_table(spec, release)) for spec in EES_FILES}
    return readers | {"tribunal_appeal_rates": lambda release, frames: _tribunal(release, frames.get("caseload"))}


def _sen2_readers() -> dict:
    return {
        "caseload": lambda release, _: _sen2_caseload(release),
        "newplans": lambda release, _: _sen2_totals(release, SEN2_NEW_PLANS, True, {"new_ehc_plans": "total_new_ehc"}),
        **{
            table: (lambda release, _, m=measures: _sen2_totals(release, SEN2_MI, True, m))
            for table, measures in SEN2_MEASURES.items()
        },
    }


def _wide(release: _Release, names: tuple[str, ...], required: list[str]) -> tuple[str, pd.DataFrame]:
    """A file of the release as text columns (lower-case headers, values stripped); missing file or
    columns → ``ReleaseLayoutError`` naming them."""
    name = release.find(*names)
    if name is None:
        raise ReleaseLayoutError(f"{' or '.join(names)}: not in the release")
    wide = pd.read_csv(io.StringIO(release.text(name)), dtype=str, keep_default_na=False)
    wide.columns = [c.strip().lower() for c in wide.columns]  # 2026: AP_PRU_total_pc → ap_pru_total_pc
    missing = [c for c in required if c not in wide.columns]
    if missing:
        raise ReleaseLayoutError(f"{name}: missing columns: {', '.join(missing)}")
    return name, wide.apply(lambda s: s.str.strip())


def _ees_table(spec: EesFile, release: _Release) -> pd.DataFrame:
    name = release.find(*spec.files)
    if name is None:
        raise ReleaseLayoutError(f"{' or '.join(spec.files)}: not in the release")
    name, wide = _wide(release, (name,), [])
    missing = [c for c in [*GEO, "breakdown_topic", *spec.measures] if c not in wide.columns]
    problems = [f"{name}: missing columns: {', '.join(missing)}"] if missing else []
    if spec.breakdown:
        problems += spec.breakdown.problems(name, list(wide.columns), spec.measures)
    if problems:
        raise ReleaseLayoutError("\n".join(problems))
    wide = wide[wide.breakdown_topic.eq(spec.total_topic) & wide.geographic_level.isin(LEVELS)]
    if wide.empty:
        raise ReleaseLayoutError(f"{name}: no rows with breakdown_topic '{spec.total_topic}'")
    rows = _area_rows(name, wide, spec.total_topic, spec.calendar)
    for measure in spec.measures:
        rows[measure] = _counts(name, measure, wide[measure])
    return spec.breakdown.melt(name, rows, wide) if spec.breakdown else rows


def _area_rows(name: str, wide: pd.DataFrame, what: str, calendar: bool) -> pd.DataFrame:
    """The geography and years of one row per area and period (a second row fails)."""
    keys = ["time_period", "geographic_level", "region_code", "old_la_code"]
    if wide.duplicated(keys).any():
        first = wide[wide.duplicated(keys)].iloc[0][keys].to_dict()
        raise ReleaseLayoutError(f"{name}: more than one '{what}' row for {first}")
    return wide[GEO].replace("", None).assign(**_years(name, wide.time_period, calendar))


def _sen2_caseload(release: _Release) -> pd.DataFrame:
    """sen2_estab_caseload.csv → the caseload table: EHC plans (``plans``, ``ehcplans``) and statements
    (``statements``, ``total_statements``) by provision; time_period is the census year."""
    name, wide = _wide(release, (SEN2_CASELOAD,), [*GEO, *SEN2_COLUMNS[SEN2_CASELOAD]])
    wide = wide[wide.geographic_level.isin(LEVELS)]
    unknown = sorted(set(wide.establishment_type) - set(ESTABLISHMENTS) - {"Total"})
    if unknown:
        raise ReleaseLayoutError(
            f"{name}: unknown establishment types {', '.join(unknown)} (map them in ESTABLISHMENTS, dfe_ehcp.py)"
        )
    total = wide[wide.establishment_type.eq("Total") & wide.establishment_group.eq("Total")]
    if total.empty:
        raise ReleaseLayoutError(f"{name}: no rows with establishment_type and establishment_group 'Total'")
    heads = _area_rows(name, total, "Total", calendar=True).drop(columns=["calendar_year", "census_year"])
    heads = heads.assign(
        census_year=total.time_period.astype(int),
        ehcplans=_counts(name, "total_ehc", total.total_ehc),
        total_statements=_counts(name, "total_st", total.total_st),
    )
    parts = wide[wide.establishment_type.ne("Total")]
    parts = (
        parts[GEO]
        .replace("", None)
        .assign(
            provision_type=parts.establishment_type.map(ESTABLISHMENTS),
            dfe_column=parts.establishment_type,
            plans=_counts(name, "total_ehc", parts.total_ehc),
            statements=_counts(name, "total_st", parts.total_st),
        )
    )
    keys = ["time_period", "geographic_level", "region_code", "old_la_code"]
    return parts.merge(heads[keys + ["census_year", "ehcplans", "total_statements"]], on=keys, how="inner")


def _sen2_totals(release: _Release, file: str, calendar: bool, measures: dict[str, str]) -> pd.DataFrame:
    """One table of area totals from a sen2 file (its 'Total' rows where it has establishment types)."""
    name, wide = _wide(release, (file,), [*GEO, *SEN2_COLUMNS[file]])
    wide = wide[wide.geographic_level.isin(LEVELS)]
    if "establishment_type" in wide.columns:
        wide = wide[wide.establishment_type.eq("Total") & wide.establishment_group.eq("Total")]
    rows = _area_rows(name, wide, "Total", calendar)
    for column, source in measures.items():
        rows[column] = _counts(name, source, wide[source])
    return rows


def _years(file: str, time_period: pd.Series, calendar: bool) -> dict[str, pd.Series]:
    """calendar_year (activity in 2024) and census_year: the January census that reports it (2025)."""
    start = pd.to_numeric(time_period.str[:4], errors="coerce")
    ok = time_period.str.fullmatch(r"\d{4}" if calendar else r"\d{6}")
    if not calendar:
        ok &= pd.to_numeric(time_period.str[4:], errors="coerce") == (start + 1) % 100
    if not ok.all():
        raise ReleaseLayoutError(f"{file}: unexpected time_period {time_period[~ok].iloc[0]!r}")
    return {"calendar_year": start, "census_year": start + 1} if calendar else {"census_year": start + 1}


def _counts(file: str, column: str, values: pd.Series) -> pd.Series:
    """Whole numbers; EES missing markers (x, z, …) become null; anything else fails."""
    missing = values.str.strip().str.lower().isin(MISSING)
    numbers = pd.to_numeric(values.where(~missing).str.replace(",", ""), errors="coerce")
    bad = (numbers.isna() & ~missing) | (numbers.notna() & (numbers % 1 != 0))
    if bad.any():
        raise ReleaseLayoutError(
            f"{file}: column {column} has values that are not counts: {sorted(set(values[bad]))[:5]}"
        )
    return numbers.astype("Int64")


def _label(text: str) -> str:
    """A name or header without its footnote markers, lower-case: 'Cumberland8' → 'cumberland'."""
    return re.sub(r"[\d,\s]+$", "", text).strip().lower()


def _tribunal(release: _Release, caseload: pd.DataFrame | None) -> pd.DataFrame:
    """The SEND Tribunal appeal rate table (title, two header rows, region headings, footnotes) → one
    row per area and calendar year, for England and each LA."""
    name = release.find(TRIBUNAL_FILE)
    if name is None:
        raise ReleaseLayoutError(f"supporting-files/{TRIBUNAL_FILE}: not in the release")
    if caseload is None:  # caseload.csv could not be read (reported): LA names cannot be checked
        return pd.DataFrame(columns=SCHEMAS["tribunal_appeal_rates"].names)
    rows = list(csv.reader(io.StringIO(release.text(name))))
    header = next(
        (i for i, r in enumerate(rows[:-1]) if [_label(c) for c in r[:2]] == ["local authority", "la code"]), None
    )
    if header is None:
        raise ReleaseLayoutError(f"{name}: no header row starting 'Local Authority, LA code'")
    columns = _tribunal_columns(name, rows[header], rows[header + 1])
    years = sorted({year for year, _ in columns.values()})
    la_code = _la_code_lookup(name, caseload)
    records = []
    for row in takewhile(lambda r: any(c.strip() for c in r), rows[header + 2 :]):
        values = {key: _tribunal_value(name, row[i] if i < len(row) else "") for i, key in columns.items()}
        if all(v is None for v in values.values()):
            continue  # a region heading
        la_name = re.sub(r"[\d,\s]+$", "", row[0]).strip()
        if _label(la_name) == "england total":
            area = {"geographic_level": "National", "old_la_code": None, "la_name": None}
        elif code := la_code(la_name, row[1].strip()):
            area = {"geographic_level": "Local authority", "old_la_code": code, "la_name": la_name}
        else:
            log.warning("%s: dropped row %r: no LA of that name or code in caseload.csv", name, row[0])
            continue
        for year in years:
            measures = {m: values[(year, m)] for m in TRIBUNAL_MEASURES.values()}
            if any(v is not None for v in measures.values()):
                records.append({"calendar_year": year, "census_year": year + 1, **ENGLAND, **area, **measures})
    out = pd.DataFrame.from_records(records, columns=SCHEMAS["tribunal_appeal_rates"].names)
    if out.empty or out.duplicated(["calendar_year", "geographic_level", "old_la_code"]).any():
        raise ReleaseLayoutError(f"{name}: no rows, or two rows for one LA and year")
    return out.astype({"appeals_registered": "Int64", "appealable_decisions": "Int64"})


def _la_code_lookup(file: str, caseload: pd.DataFrame):
    """(name, code in the tribunal file) → old_la_code. The file's codes are wrong for some LAs, so a
    code is kept only if caseload.csv gives it the same name; else the code of that name (latest year);
    else the file's code if caseload.csv knows it ('Durham' is 'County Durham' there)."""
    las = caseload[caseload.geographic_level.eq("Local authority")].sort_values("census_year")
    pairs = [(_label(n), c) for n, c in las[["la_name", "old_la_code"]].itertuples(index=False)]
    code_of, name_of = {n: c for n, c in pairs}, {c: n for n, c in pairs}

    def lookup(la_name: str, file_code: str) -> str | None:
        if name_of.get(file_code) == _label(la_name):
            return file_code
        code = code_of.get(_label(la_name), file_code if file_code in name_of else None)
        if code:
            log.warning(
                "%s: %s has LA code %s in the file; using %s (caseload.csv)", file, la_name, file_code or "none", code
            )
        return code

    return lookup


def _tribunal_columns(file: str, years_row: list[str], measures_row: list[str]) -> dict[int, tuple]:
    """Column index → (calendar year, measure); a year heads the first of its columns."""
    columns, year = {}, None
    for i, (y, m) in enumerate(zip(years_row, measures_row)):
        year = int(y) if re.fullmatch(r"\d{4}", y.strip()) else year
        if year and _label(m) in TRIBUNAL_MEASURES:
            columns[i] = (year, TRIBUNAL_MEASURES[_label(m)])
    found = set(columns.values())
    years = sorted({y for y, _ in found})
    missing = [
        f"{y} {header}" for y in years for header, column in TRIBUNAL_MEASURES.items() if (y, column) not in found
    ]
    if not years or missing:
        raise ReleaseLayoutError(f"{file}: missing columns: {', '.join(missing or TRIBUNAL_MEASURES)}")
    return columns


def _tribunal_value(file: str, cell: str) -> float | None:
    """'1,071' → 1071; '1.30%' → 1.3; ' - ' (nil) → 0; '..', '~', 'x' and blank → None."""
    text = cell.strip().replace(",", "").removesuffix("%").strip()
    if text.lower() in MISSING | {".."}:
        return None
    if text == "-":
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise ReleaseLayoutError(f"{file}: unreadable value {cell!r}") from None
