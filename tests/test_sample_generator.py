"""The synthetic sample generator: determinism, spec file layout, calibration, rules, faults, cohorts."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import openpyxl
import pytest

from dbv_pipeline import settings
from dbv_pipeline.contract import CONTRACT, TABLES, normalise_header
from dbv_pipeline.sample import (
    DEFAULT_SEED,
    FAULT_CLASSES,
    FAULTS,
    build_cohort,
    census_date,
    cohort_csv,
    cohort_from_dsg,
    generate_sample,
    sample_layout,
)
from dbv_pipeline.sample.placements import COST_RANGES

TABLE_RE = "|".join(TABLES)
CSV_NAME = re.compile(rf"^(\d{{3}})_({TABLE_RE})_(\d{{4}}-\d{{2}})\.csv$")
XLSX_NAME = re.compile(r"^(\d{3})_dbv_return_(\d{4}-\d{2})\.xlsx$")
NATIONAL_MULTIPLIER = 0.05
PERIOD = "2024-25"


def _small_las() -> list[str]:
    """Two canonical LAs, one workbook LA and one LA for each of a few format variations."""
    layout = sample_layout(DEFAULT_SEED)
    pick = [code for code in ("869", "926", "330", "850") if code not in layout][:2]
    for variation in ("xlsx", "windows_1252", "utf8_bom_dmy", "messy_headers", "blank_lines", "money_brackets"):
        pick.append(next(code for code, v in sorted(layout.items()) if v == variation))
    assert len(set(pick)) == len(pick)
    return pick


SMALL = dict(la_codes=_small_las(), multiplier=0.15, periods=(PERIOD,))


@pytest.fixture(scope="module")
def small_with_faults(tmp_path_factory):
    return generate_sample(tmp_path_factory.mktemp("small") / "landing", faults=True, **SMALL)


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """All 153 LAs at a small multiplier, canonical CSVs, loaded into DuckDB views."""
    summary = generate_sample(
        tmp_path_factory.mktemp("national") / "landing", multiplier=NATIONAL_MULTIPLIER, variations=False, xlsx_share=0
    )
    con = duckdb.connect()
    for table in TABLES.values():
        con.execute(
            f"CREATE VIEW {table.name} AS SELECT * FROM read_csv('{summary.landing_dir}/*_{table.name}_*.csv', "
            f"header=true, columns={_duckdb_columns(table)})"
        )
    return summary, con


def _duckdb_columns(table) -> dict[str, str]:
    types = {"date": "DATE", "money": "DECIMAL(18,2)"}
    return {c.name: types.get(c.type, "VARCHAR") for c in table.columns}


def _active_on(census: dt.date) -> str:
    c = f"DATE '{census}'"
    return (
        f"ehcp_start_date <= {c} AND coalesce(ehcp_end_date, DATE '9999-12-31') >= {c} "
        f"AND placement_start_date <= {c} AND coalesce(placement_end_date, DATE '9999-12-31') >= {c}"
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- determinism and layout -----------------------------------------------------------------


def test_same_arguments_give_identical_bytes(small_with_faults, tmp_path):
    again = generate_sample(tmp_path / "landing", faults=True, **SMALL)
    first = _files(small_with_faults.landing_dir.parent)
    assert first == _files(tmp_path)
    assert any(name.endswith(".xlsx") for name in first) and "faults_manifest.json" in first
    other = generate_sample(tmp_path / "other", seed=DEFAULT_SEED + 1, la_codes=["869"], multiplier=0.15)
    name = f"869_placements_{PERIOD}.csv"
    assert (other.landing_dir / name).read_bytes() != first[f"landing/{name}"]
    assert again.rows == small_with_faults.rows


def test_faults_leave_the_clean_returns_untouched(small_with_faults, tmp_path):
    clean = generate_sample(tmp_path / "landing", **SMALL)
    with_faults = _files(small_with_faults.landing_dir)
    assert set(clean.files) <= set(with_faults)
    assert all(with_faults[name] == (clean.landing_dir / name).read_bytes() for name in clean.files)
    assert not set(clean.files) & set(small_with_faults.fault_files)


def test_files_are_named_and_laid_out_as_the_spec_says(tmp_path):
    calls = []
    summary = generate_sample(tmp_path / "landing", progress=lambda *a: calls.append(a), **SMALL)
    codes, layout = set(SMALL["la_codes"]), sample_layout(DEFAULT_SEED)
    names = sorted(p.name for p in summary.landing_dir.iterdir())
    assert names == sorted(summary.files + ["README_SYNTHETIC.txt"])
    for name in summary.files:
        m = CSV_NAME.match(name) or XLSX_NAME.match(name)
        assert m and m.group(1) in codes and m.groups()[-1] == PERIOD, name
    for code in codes:  # four CSVs, or one workbook with a sheet per table after a Guidance sheet
        if layout.get(code) == "xlsx":
            wb = openpyxl.load_workbook(summary.landing_dir / f"{code}_dbv_return_{PERIOD}.xlsx", read_only=True)
            assert wb.sheetnames == ["Guidance", *TABLES]
            assert "SYNTHETIC" in " ".join(str(v) for row in wb["Guidance"].iter_rows(values_only=True) for v in row)
        else:
            assert all((summary.landing_dir / f"{code}_{t}_{PERIOD}.csv").exists() for t in TABLES)
    assert "SYNTHETIC" in (summary.landing_dir / "README_SYNTHETIC.txt").read_text(encoding="utf-8")
    assert "SYNTHETIC" in str(summary) and summary.synthetic
    assert [c[0] for c in calls] == list(range(1, len(codes) + 1))
    assert summary.rows["placements"] > 0 and all(n > 0 for n in summary.rows.values())


def test_format_variations_are_present(small_with_faults):
    landing, layout = small_with_faults.landing_dir, sample_layout(DEFAULT_SEED)
    by = {v: c for c, v in layout.items() if c in SMALL["la_codes"]}
    cp1252 = (landing / f"{by['windows_1252']}_mitigations_{PERIOD}.csv").read_bytes()
    assert b"\xa3" in cp1252 and b"\x96" in cp1252 and b"\r\n" in cp1252  # £, en dash, Excel line ends
    with pytest.raises(UnicodeDecodeError):
        cp1252.decode("utf-8")
    bom = (landing / f"{by['utf8_bom_dmy']}_placements_{PERIOD}.csv").read_text(encoding="utf-8")
    assert bom.startswith("\ufeff") and re.search(r",\d{1,2}/\d{1,2}/\d{4},", bom)
    header = (landing / f"{by['messy_headers']}_placements_{PERIOD}.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "Child ID" in header and " Primary-Need " in header
    assert [normalise_header(h) for h in header.split(",")] == TABLES["placements"].column_names
    lines = (landing / f"{by['blank_lines']}_placements_{PERIOD}.csv").read_text(encoding="utf-8").splitlines()
    assert "" in lines and "," * 12 in lines
    brackets = (landing / f"{by['money_brackets']}_dsg_plan_{PERIOD}.csv").read_text(encoding="utf-8")
    assert re.search(r',"\(\d{1,3}(,\d{3})+\)"', brackets) and re.search(r',"\d{1,3}(,\d{3})+",', brackets)
    ws = openpyxl.load_workbook(landing / f"{by['xlsx']}_dbv_return_{PERIOD}.xlsx")["placements"]
    first = [c for c in next(ws.iter_rows(min_row=2, max_row=2))]
    assert first[0].value == int(by["xlsx"]) and first[0].data_type == "n"
    assert first[2].is_date and isinstance(first[2].value, dt.datetime)


# --- calibration --------------------------------------------------------------------------


@pytest.mark.parametrize("year, expected", [(2019, 354_000), (2025, 639_000)])
def test_national_active_plans_match_the_census(national, year, expected):
    _, con = national
    c = census_date(year)
    active = con.execute(
        f"SELECT count(DISTINCT la_code || child_id) FROM placements WHERE ehcp_start_date <= "
        f"DATE '{c}' AND coalesce(ehcp_end_date, DATE '9999-12-31') >= DATE '{c}'"
    ).fetchone()[0]
    assert active / NATIONAL_MULTIPLIER == pytest.approx(expected, rel=0.05)


def test_placement_mix_ages_and_needs_are_realistic(national):
    _, con = national
    on = _active_on(census_date(2025))
    share = dict(
        con.execute(
            f"SELECT provision_type, count(*) / sum(count(*)) OVER () FROM placements WHERE {on} GROUP BY 1"
        ).fetchall()
    )
    assert 0.40 <= share["MAINSTREAM"] + share["RP_UNIT"] <= 0.48 and 0.04 <= share["RP_UNIT"] <= 0.08
    assert 0.26 <= share["MSS"] + share["INMSS"] <= 0.34 and 0.03 <= share["INMSS"] <= 0.07
    assert 0 < share["AP"] < 0.01 and 0.11 <= share["POST16"] <= 0.17
    assert set(share) == set(CONTRACT.codes("provision_type"))
    school_age = con.execute(
        f"SELECT avg((2024 - year(date_of_birth) - (month(date_of_birth) >= 9)::INT "
        f"BETWEEN 5 AND 15)::INT) FROM placements WHERE {on}"
    ).fetchone()[0]
    assert 0.6 <= school_age <= 0.8
    need = dict(
        con.execute(
            f"SELECT primary_need, count(*) / sum(count(*)) OVER () FROM placements WHERE {on} GROUP BY 1"
        ).fetchall()
    )
    assert 0.25 <= need["ASD"] <= 0.35 and 0.15 <= need["SLCN"] <= 0.25 and 0.12 <= need["SEMH"] <= 0.19
    assert set(need) == set(CONTRACT.codes("primary_need"))


def test_unit_costs_are_in_range(national):
    _, con = national
    on = _active_on(census_date(2025))
    unit = dict(
        con.execute(f"""
        SELECT provision_type, s / n FROM
          (SELECT provision_type, sum(spend_gbp) s FROM hnb_spend
           WHERE spend_type = 'OUTTURN' AND financial_year = '{PERIOD}' GROUP BY 1)
        JOIN (SELECT provision_type, count(*) n FROM placements WHERE {on} GROUP BY 1) USING (provision_type)
    """).fetchall()
    )
    for code in ("MAINSTREAM", "RP_UNIT", "MSS", "INMSS", "AP", "POST16"):
        lo, hi = COST_RANGES[code]
        assert lo <= unit[code] <= hi, (code, unit[code])


# --- rules on clean data --------------------------------------------------------------------


def _rule_view(con, table: str, source: str, period: str = PERIOD) -> None:
    """Typed columns (TRY_CAST from text) plus the line number, for evaluating contract rules."""
    casts = ", ".join(f"TRY_CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in TABLES[table].columns)
    con.execute(
        f"CREATE OR REPLACE VIEW typed AS SELECT row_number() OVER () + 1 AS line, {casts}, "
        f"current_date AS received_date, fy_end_date('{period}') AS period_end_date FROM {source}"
    )


def _failing_lines(con, rule) -> set[int]:
    return {r[0] for r in con.execute(f"SELECT line FROM typed WHERE {rule.fails_when}").fetchall()}


@pytest.fixture()
def rules_con():
    con = duckdb.connect()
    con.execute("CREATE MACRO fy_end_date(fy) AS make_date(CAST(left(fy, 4) AS INT) + 1, 3, 31)")
    return con


def test_clean_sample_passes_every_row_rule(national, rules_con):
    summary, _ = national
    for table in ("placements", "dsg_plan"):
        _rule_view(rules_con, table, f"read_csv('{summary.landing_dir}/*_{table}_*.csv', all_varchar=true)")
        for rule in TABLES[table].row_rules:
            assert not _failing_lines(rules_con, rule), rule.code


def test_clean_placements_have_no_overlaps_or_personal_data(national):
    _, con = national
    overlaps = con.execute("""
        SELECT count(*) FROM (SELECT placement_start_date s, lag(coalesce(placement_end_date, DATE '9999-12-31'))
            OVER (PARTITION BY la_code, child_id ORDER BY placement_start_date) prev_end FROM placements)
        WHERE s <= prev_end""").fetchone()[0]
    assert overlaps == 0
    pattern = TABLES["placements"].column("child_id").pattern
    upn = dict(CONTRACT.personal_data_patterns)["a UPN or ULN"]
    child_id_rules = " ".join(
        f"OR regexp_matches(child_id, '{rx.replace(chr(39), chr(39) * 2)}')"
        for _, rx in CONTRACT.child_id_personal_patterns
    )
    bad_ids = con.execute(
        f"SELECT count(*) FROM placements WHERE NOT regexp_matches(child_id, '{pattern}') "
        f"{child_id_rules} OR regexp_matches(child_id, '{upn}')"
    ).fetchone()[0]
    assert bad_ids == 0
    for _, regex in CONTRACT.personal_data_patterns + CONTRACT.personal_text_patterns:
        escaped = regex.replace("'", "''")
        titles = con.execute(f"SELECT count(*) FROM mitigations WHERE regexp_matches(title, '{escaped}')").fetchone()
        assert titles[0] == 0
    urns = con.execute("SELECT count(*) FROM placements WHERE NOT regexp_full_match(setting_urn, '[0-9]{6}')")
    assert urns.fetchone()[0] == 0


def test_dsg_plans_are_consistent_with_spend_and_mitigations(national):
    _, con = national
    assert (
        con.execute(
            "SELECT count(*) FROM dsg_plan WHERE in_year_balance_gbp <> hnb_income_gbp - hnb_expenditure_gbp"
        ).fetchone()[0]
        == 0
    )
    not_rolling = con.execute("""
        WITH chain AS (SELECT * FROM dsg_plan WHERE scenario <> 'ACTUAL'
                       UNION ALL SELECT d.* REPLACE (s.scenario AS scenario) FROM dsg_plan d,
                       (VALUES ('UNMITIGATED'), ('MITIGATED')) s(scenario) WHERE d.scenario = 'ACTUAL'),
             lagged AS (SELECT *, lag(cumulative_balance_gbp) OVER (PARTITION BY la_code, scenario
                        ORDER BY financial_year) prev FROM chain)
        SELECT count(*) FROM lagged WHERE prev IS NOT NULL AND prev + in_year_balance_gbp <> cumulative_balance_gbp
    """).fetchone()[0]
    assert not_rolling == 0
    off_by_savings = con.execute("""
        SELECT count(*) FROM dsg_plan u JOIN dsg_plan m USING (la_code, financial_year)
        LEFT JOIN (SELECT la_code, financial_year, sum(saving_gbp) s FROM mitigations GROUP BY ALL)
          USING (la_code, financial_year)
        WHERE u.scenario = 'UNMITIGATED' AND m.scenario = 'MITIGATED'
          AND u.hnb_expenditure_gbp - coalesce(s, 0) <> m.hnb_expenditure_gbp
    """).fetchone()[0]
    assert off_by_savings == 0
    worst = con.execute("""
        SELECT max(abs(spend / hnb_expenditure_gbp - 1)), count(*) FROM dsg_plan JOIN
          (SELECT la_code, financial_year, sum(spend_gbp) spend FROM hnb_spend
           WHERE spend_type = 'OUTTURN' GROUP BY ALL)
          USING (la_code, financial_year) WHERE scenario = 'ACTUAL'""").fetchone()
    assert worst[0] <= 0.02 and worst[1] == 153 * 10
    mitigations_per_la = con.execute(
        "SELECT min(n), max(n) FROM (SELECT count(DISTINCT mitigation_id) n FROM mitigations GROUP BY la_code)"
    ).fetchone()
    assert 3 <= mitigations_per_la[0] and mitigations_per_la[1] <= 12


# --- faults -----------------------------------------------------------------------------------


def test_faults_manifest_covers_every_fault_class(small_with_faults, rules_con):
    summary = small_with_faults
    assert summary.manifest_path == summary.landing_dir.parent / "faults_manifest.json"
    entries = json.loads(summary.manifest_path.read_text(encoding="utf-8"))["faults"]
    assert sorted(e["fault"] for e in entries) == sorted(FAULT_CLASSES)
    assert {e["file"] for e in entries} == set(summary.fault_files)
    rules = {r.code: (t, r) for t in TABLES.values() for r in t.row_rules}
    for e in entries:
        path = summary.landing_dir / e["file"]
        assert path.exists() and e["expected"] == FAULTS[e["fault"]].expected
        if e["lines"]:
            assert max(e["lines"]) <= len(path.read_bytes().split(b"\n"))
        if e["rule"] in rules:  # the contract's own predicate fails on exactly the listed line
            table, rule = rules[e["rule"]]
            source = f"read_csv('{path}', all_varchar=true, strict_mode=false, null_padding=true)"
            _rule_view(rules_con, table.name, source, e["period"])
            assert set(e["lines"]) <= _failing_lines(rules_con, rule), e
    checked = {"placements", "dsg_plan"}
    loaded = {e["file"] for e in entries if e["expected"] != "file_rejected" and e["table"] in checked}
    for name in loaded:
        listed = {line for e in entries if e["file"] == name for line in e["lines"] or ()}
        table = next(e["table"] for e in entries if e["file"] == name)
        source = f"read_csv('{summary.landing_dir / name}', all_varchar=true, strict_mode=false, null_padding=true)"
        _rule_view(rules_con, table, source, next(e["period"] for e in entries if e["file"] == name))
        for rule in TABLES[table].row_rules:  # no collateral failures: only injected lines break rules
            assert _failing_lines(rules_con, rule) <= listed, (name, rule.code)
    by_fault = {e["fault"]: e for e in entries}
    text = lambda f: (summary.landing_dir / by_fault[f]["file"]).read_text(encoding="utf-8").split("\n")  # noqa: E731
    assert re.search(r",\d{10},", text("ten_digit_child_id")[by_fault["ten_digit_child_id"]["lines"][0] - 1])
    assert "sex" not in text("missing_required_column")[0].split(",")
    assert b"\x00" in (summary.landing_dir / by_fault["binary_file"]["file"]).read_bytes()
    ragged = text("ragged_last_line")
    assert len(ragged) == by_fault["ragged_last_line"]["lines"][0] and ragged[-1].count(",") < 12


# --- cohorts -----------------------------------------------------------------------------------


def test_committed_cohort_seed_is_what_the_generator_produces():
    committed = settings.SAMPLE_COHORTS_CSV.read_text(encoding="utf-8")
    cohort = build_cohort(DEFAULT_SEED)
    assert committed == cohort_csv(cohort)
    assert cohort["programme"].value_counts().to_dict() == {"NONE": 60, "DBV": 55, "SAFETY_VALVE": 38}
    dbv = cohort[cohort["programme"] == "DBV"]
    assert dbv.groupby("tranche")["diagnostic_start_date"].agg(["count", "first"]).values.tolist() == [
        [20, "2022-07-01"],
        [15, "2022-10-01"],
        [20, "2023-04-01"],
    ]
    assert set(cohort["source"]) == {"synthetic"} and len(cohort) == 153


def test_cohort_follows_the_generated_dsg_plans(national):
    _, con = national
    dsg = con.execute("SELECT * FROM dsg_plan").df()
    assert cohort_from_dsg(dsg).equals(build_cohort(DEFAULT_SEED))
