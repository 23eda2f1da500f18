"""DfE "Education, health and care plans" (SEN2) release → normalised Parquet, one file per table.

``load_release(source, out_dir)`` reads the release (zip, extracted folder or http(s) URL), checks each
file's layout, keeps the headline ("All …") rows at National, Regional and LA level, maps DfE's
placement, need and cease-reason columns to the contract's codes and writes ``<out_dir>/<table>.parquet``.
A layout it does not know fails with ``ReleaseLayoutError`` naming the file and the columns, and nothing
is written. Mapping decisions and known source issues: docs/public_data.md.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import urllib.request
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
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
GEO = ["time_period", "geographic_level", "country_code", "country_name", "region_code", "region_name",
       "new_la_code", "old_la_code", "la_name"]
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

    def check(self, file: str, columns: list[str], measures: tuple[str, ...]) -> None:
        """Fail on a missing mapped column, and on a column neither mapped nor excluded."""
        split = {c for group in self.one_of for c in group}
        _require(file, columns, [c for c in self.columns if c not in self.optional | split])
        if self.one_of and not any(set(group) <= set(columns) for group in self.one_of):
            alternatives = " or ".join(" + ".join(group) for group in self.one_of)
            raise ReleaseLayoutError(f"{file}: missing columns: {alternatives}")
        known = META | set(self.columns) | self.excluded | set(measures)
        unknown = [c for c in columns if c not in known and not c.endswith("_pc")]
        if unknown:
            raise ReleaseLayoutError(f"{file}: unknown columns {', '.join(unknown)} "
                                     "(map them to a code or exclude them in dfe_ehcp.py)")

    def melt(self, file: str, rows: pd.DataFrame, wide: pd.DataFrame) -> pd.DataFrame:
        """One row per input row and mapped column present: code, dfe_column, plans."""
        return pd.concat(
            [rows.assign(**{self.code_column: code}, dfe_column=column,
                         plans=_counts(file, column, wide[column]))
             for column, code in self.columns.items() if column in wide.columns],
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
    excluded=frozenset({
        "mainstream_total", "special_total", "ed_elsewhere",  # totals of mapped columns
        "ap_pru_academy", "ap_pru_free_school", "ap_pru_la_maintained",  # parts of ap_pru_total
        "general_fe_tertiary_colleges", "specialist_post_16_institutions", "ukrlp_provider",  # of fe_total
    }),
)

# Primary need columns of the needs file → primary_need; "need not recorded" has no code.
NEEDS = Breakdown(
    code_column="primary_need",
    code_list="primary_need",
    columns={
        "number_asd": "ASD", "number_hi": "HI", "number_mld": "MLD", "number_msi": "MSI",
        "number_oth": "OTH",  # includes Down syndrome up to the 2025 release
        "number_pd": "PD", "number_pmld": "PMLD", "number_semh": "SEMH", "number_slcn": "SLCN",
        "number_sld": "SLD", "number_spld": "SPLD", "number_vi": "VI",
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
        "max_age": "1", "needs_met": "2", "he": "3", "employ": "4", "transfer": "5",
        "no_engage": "6", "moved_outside_eng": "7", "deceased": "8", "other": "9", "not_rec": None,
    },
)

EES_FILES = (
    EesFile("caseload", ("caseload.csv",), False, "All EHC plans", ("ehcplans",), PLACEMENTS),
    EesFile("newplans", ("newplans.csv",), True, "New EHC plans", ("new_ehc_plans",)),
    EesFile("requests", ("requests.csv",), True, "All requests for EHC needs assessments",
            ("requests_received_in_year", "requests_decided_to_assess", "requests_decided_not_to_assess",
             "requests_decision_not_made", "requests_withdrawn")),
    EesFile("assessments", ("assessments.csv",), True, "All EHC needs assessments",
            ("assess_in_year", "assess_issued", "assess_not_issued")),
    EesFile("timeliness_20_week", ("timeliness_20_week.csv",), True, "All EHC plans issued",
            ("plans_issued_den", "plans_issued_within_20_weeks",
             "plans_issued_den_ex", "plans_issued_20_weeks_ex")),
    EesFile("sen_needs_all_plans", ("sen_needs_caseload.csv", "sen_needs_all_plans.csv"), False,
            "All EHC plans", ("ehc_plans",), NEEDS),
    EesFile("ceased_plans", ("ceased_plans.csv",), True, "All ceased EHC plans", ("total_ceased",),
            CEASE_REASONS),
)

TRIBUNAL_FILE = "send tribunals and appeal rate *.csv"
TRIBUNAL_MEASURES = {  # header (without footnote digits) → column
    "appeals registered": "appeals_registered",
    "total appealable decisions": "appealable_decisions",
    "send tribunal appeal rate": "appeal_rate_pct",
}


def _schema(spec: EesFile) -> pa.Schema:
    fields = [(c, pa.string()) for c in GEO]
    fields += [("calendar_year", pa.int32())] if spec.calendar else []
    fields += [("census_year", pa.int32())]
    if spec.breakdown:
        fields += [(spec.breakdown.code_column, pa.string()), ("dfe_column", pa.string()),
                   ("plans", pa.int64())]
    return pa.schema(fields + [(m, pa.int64()) for m in spec.measures])


SCHEMAS: dict[str, pa.Schema] = {spec.table: _schema(spec) for spec in EES_FILES} | {
    "tribunal_appeal_rates": pa.schema([
        ("calendar_year", pa.int32()), ("census_year", pa.int32()), ("geographic_level", pa.string()),
        ("country_code", pa.string()), ("country_name", pa.string()), ("old_la_code", pa.string()),
        ("la_name", pa.string()), ("appeals_registered", pa.int64()), ("appealable_decisions", pa.int64()),
        ("appeal_rate_pct", pa.float64()),
    ]),
}
TABLES = tuple(SCHEMAS)


def load_release(source: str | Path, out_dir: Path) -> dict[str, Path]:
    """Read the release at ``source`` (zip, folder or http(s) URL); write one Parquet file per table."""
    with _open(source) as release:
        frames = {spec.table: _ees_table(spec, release) for spec in EES_FILES}
        frames["tribunal_appeal_rates"] = _tribunal(release, frames["caseload"])
    tables = {}  # all converted before any is written
    for name, frame in frames.items():
        schema = SCHEMAS[name]
        tables[name] = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    return {name: _write(table, out_dir, name) for name, table in tables.items()}


def release_signature(source: str | Path) -> str:
    """What identifies a release without reading it: a file's path, size and modification time (a
    folder's newest file); at an http(s) address, the server's ETag, Last-Modified and size from a
    HEAD request (``OSError`` if unreachable)."""
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
    return {name: _write(schema.empty_table(), out_dir, name) for name, schema in SCHEMAS.items()}


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

    def find(self, *patterns: str) -> str | None:
        matches = (name for p in patterns for name in sorted(self._files) if fnmatch(name, p.lower()))
        return next(matches, None)

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


def _require(file: str, columns, required: list[str]) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        raise ReleaseLayoutError(f"{file}: missing columns: {', '.join(missing)}")


def _ees_table(spec: EesFile, release: _Release) -> pd.DataFrame:
    name = release.find(*spec.files)
    if name is None:
        raise ReleaseLayoutError(f"{' or '.join(spec.files)}: not in the release")
    wide = pd.read_csv(io.StringIO(release.text(name)), dtype=str, keep_default_na=False)
    wide.columns = [c.strip().lower() for c in wide.columns]  # 2026: AP_PRU_total_pc → ap_pru_total_pc
    _require(name, wide.columns, [*GEO, "breakdown_topic", *spec.measures])
    if spec.breakdown:
        spec.breakdown.check(name, list(wide.columns), spec.measures)
    wide = wide.apply(lambda s: s.str.strip())
    wide = wide[wide.breakdown_topic.eq(spec.total_topic) & wide.geographic_level.isin(LEVELS)]
    if wide.empty:
        raise ReleaseLayoutError(f"{name}: no rows with breakdown_topic '{spec.total_topic}'")
    keys = ["time_period", "geographic_level", "region_code", "old_la_code"]
    if wide.duplicated(keys).any():
        first = wide[wide.duplicated(keys)].iloc[0][keys].to_dict()
        raise ReleaseLayoutError(f"{name}: more than one '{spec.total_topic}' row for {first}")
    rows = wide[GEO].replace("", None).assign(**_years(name, wide.time_period, spec.calendar))
    for measure in spec.measures:
        rows[measure] = _counts(name, measure, wide[measure])
    return spec.breakdown.melt(name, rows, wide) if spec.breakdown else rows


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
        raise ReleaseLayoutError(f"{file}: column {column} has values that are not counts: "
                                 f"{sorted(set(values[bad]))[:5]}")
    return numbers.astype("Int64")


def _label(text: str) -> str:
    """A name or header without its footnote markers, lower-case: 'Cumberland8' → 'cumberland'."""
    return re.sub(r"[\d,\s]+$", "", text).strip().lower()


def _tribunal(release: _Release, caseload: pd.DataFrame) -> pd.DataFrame:
    """The SEND Tribunal appeal rate table (title, two header rows, region headings, footnotes) → one
    row per area and calendar year, for England and each LA."""
    name = release.find(TRIBUNAL_FILE)
    if name is None:
        raise ReleaseLayoutError(f"supporting-files/{TRIBUNAL_FILE}: not in the release")
    rows = list(csv.reader(io.StringIO(release.text(name))))
    header = next((i for i, r in enumerate(rows[:-1])
                   if [_label(c) for c in r[:2]] == ["local authority", "la code"]), None)
    if header is None:
        raise ReleaseLayoutError(f"{name}: no header row starting 'Local Authority, LA code'")
    columns = _tribunal_columns(name, rows[header], rows[header + 1])
    years = sorted({year for year, _ in columns.values()})
    la_code = _la_code_lookup(name, caseload)
    records = []
    for row in takewhile(lambda r: any(c.strip() for c in r), rows[header + 2:]):
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
                records.append({"calendar_year": year, "census_year": year + 1,
                                **ENGLAND, **area, **measures})
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
            log.warning("%s: %s has LA code %s in the file; using %s (caseload.csv)",
                        file, la_name, file_code or "none", code)
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
    missing = [f"{y} {header}" for y in years for header, column in TRIBUNAL_MEASURES.items()
               if (y, column) not in found]
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
