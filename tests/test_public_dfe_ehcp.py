"""DfE EHCP release: the loader, its layout checks, and the dbt marts after a real ``dbt build``."""

import csv
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from dbv_pipeline.contract import CONTRACT
from dbv_pipeline.public import assets, dfe_ehcp
from dbv_pipeline.public.dfe_ehcp import ReleaseLayoutError, load_release
from dbv_pipeline.settings import DBT_PROJECT_DIR, PipelineSettings

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dfe_ehcp"
RELEASE = DATA / "education-health-and-care-plans_2025.zip"
RELEASE_2022 = DATA / "education-health-and-care-plans_2022.zip"
PUBLIC_MODELS = ("models/staging/public", "models/marts/public")
CODE_LISTS = ("provision_type", "primary_need", "cease_reason")  # column name = contract code list

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="DfE EHCP release not in ../shared/data/dfe_ehcp")


def release_rows(name: str) -> list[dict[str, str]]:
    """Rows of a CSV in the release zip, read independently of the loader."""
    with zipfile.ZipFile(RELEASE) as z:
        member = next(n for n in z.namelist() if n.endswith("/" + name))
        return list(csv.DictReader(io.TextIOWrapper(z.open(member), encoding="utf-8-sig")))


def headline(rows: list[dict[str, str]], topic: str = "All EHC plans") -> list[dict[str, str]]:
    return [r for r in rows if r["breakdown_topic"] == topic]


@pytest.fixture(scope="session")
def extracted(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("release")
    with zipfile.ZipFile(RELEASE) as z:
        z.extractall(folder)
    return folder


@pytest.fixture(scope="session")
def loaded(tmp_path_factory) -> dict[str, Path]:
    return load_release(DATA, tmp_path_factory.mktemp("data") / "public")  # both releases, as make sets it


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory, loaded) -> duckdb.DuckDBPyConnection:
    """``dbt build`` of the public models over the loaded releases, in a copy of the project that
    holds only them, the macros and the seeds (independent of the LA-return models)."""
    data_dir = loaded["caseload"].parent.parent
    project = tmp_path_factory.mktemp("dbt_project")
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(DBT_PROJECT_DIR / name, project / name)
    for folder in ("macros", "seeds", *PUBLIC_MODELS):
        shutil.copytree(DBT_PROJECT_DIR / folder, project / folder)
    (project / "tests").mkdir()
    shutil.copy(DBT_PROJECT_DIR / "tests" / "assert_public_history_adds_up_to_england.sql", project / "tests")
    dbt = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"
    run = subprocess.run(
        [dbt, "build", "--profiles-dir", ".", "--vars", f"{{data_dir: '{data_dir}'}}"],
        cwd=project,
        env={**os.environ, "DBV_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-5000:]
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def mart(con: duckdb.DuckDBPyConnection, name: str, where: str = "true") -> pd.DataFrame:
    sql = "select table_schema from information_schema.tables where table_name = ?"
    schema = con.execute(sql, [name]).fetchone()[0]
    return con.sql(f"select * from {schema}.{name} where {where}").df()


def release_copy(tmp_path: Path, extracted: Path, changes: dict, rename: dict | None = None) -> Path:
    """The extracted release with each file in ``changes`` rewritten by ``change(DataFrame)`` and files
    renamed as in ``rename`` (the rest linked)."""
    folder = tmp_path / "release"
    for path in extracted.rglob("*"):
        if path.is_file():
            target = folder / path.relative_to(extracted)
            target = target.with_name((rename or {}).get(path.name, path.name))
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.name in changes:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
                changes[path.name](frame).to_csv(target, index=False, encoding="utf-8-sig")
            else:
                target.symlink_to(path)
    return folder


def plans_by_code(path: Path, code_column: str) -> pd.Series:
    df = pd.read_parquet(path)
    area = df.old_la_code.fillna(df.region_code).fillna(df.country_code)
    keys = ["geographic_level", area.rename("area"), "census_year", code_column]
    return df.groupby(keys, dropna=False).plans.sum(min_count=1)


# --- the marts reproduce DfE's published figures ---------------------------------------------------


def national_indicators(con) -> pd.DataFrame:
    return mart(con, "fct_public_ehcp_indicators", "geographic_level = 'National'").set_index("census_year")


def test_national_totals(warehouse):
    national = national_indicators(warehouse)
    assert national.loc[2025, "ehcp_count"] == 638_745
    assert national.loc[2019, "ehcp_count"] == 353_995
    caseload = mart(warehouse, "fct_public_ehcp_caseload", "geographic_level = 'National'")
    assert caseload.groupby("census_year").ehcp_count.sum()[2025] == 638_745  # placements add up in 2025


def test_la_totals_match_the_release(warehouse):
    """Every LA and census (Cumbria 909 to 2023, Cumberland 942 from 2024, …), keyed by old_la_code."""
    expected = {
        (r["old_la_code"], int(r["time_period"][:4]) + 1): int(r["ehcplans"])
        for r in headline(release_rows("caseload.csv"))
        if r["geographic_level"] == "Local authority"
    }
    got = mart(
        warehouse,
        "fct_public_ehcp_indicators",
        "geographic_level = 'Local authority' and ehcp_count is not null and census_year >= 2019",
    )
    assert dict(zip(zip(got.area_code, got.census_year), got.ehcp_count)) == expected
    assert {("909", 2023), ("942", 2024), ("928", 2021), ("940", 2022), ("837", 2019)} <= set(expected)


def test_provision_mapping_for_sample_las(warehouse):
    rows = {(r["old_la_code"], r["time_period"]): r for r in headline(release_rows("caseload.csv"))}
    caseload = mart(warehouse, "fct_public_ehcp_caseload", "geographic_level = 'Local authority'")
    plans = caseload.set_index(["area_code", "census_year", "provision_type"]).ehcp_count.sort_index()
    for code, period in [("869", "202425"), ("909", "202021"), ("330", "202324")]:
        r, year = rows[(code, period)], int(period[:4]) + 1
        got = plans.loc[(code, year)]
        assert got["MSS"] == int(r["special_la_maintained"]) + int(r["special_academy_free"])
        assert got["INMSS"] == int(r["special_independent"]) + int(r["special_non_maintained"])
        assert got["AP"] == int(r["ap_pru_total"])
        assert got["POST16"] == int(r["fe_total"])
        assert got["MAINSTREAM"] + got["RP_UNIT"] == int(r["mainstream_total"])


def test_percentages_match_dfe(warehouse):
    national = national_indicators(warehouse).round(1)
    for r in headline(release_rows("caseload.csv")):
        if r["geographic_level"] == "National" and r["time_period"] >= "202324":
            year = int(r["time_period"][:4]) + 1
            assert national.loc[year, "pct_in_mainstream"] == float(r["mainstream_total_pc"])
    for r in headline(release_rows("timeliness_20_week.csv"), "All EHC plans issued"):
        if r["geographic_level"] == "National":
            year = int(r["time_period"]) + 1
            assert national.loc[year, "pct_issued_within_20_weeks"] == float(r["pc_plans_issued_within_20_weeks"])
            assert national.loc[year, "pct_issued_within_20_weeks_excl_exceptions"] == float(
                r["PC_plans_issued_20_weeks_ex"]
            )
    for r in headline(release_rows("requests.csv"), "All requests for EHC needs assessments"):
        if r["geographic_level"] == "National" and r["request_not_assess_pc"] != "x":
            year = int(r["time_period"]) + 1
            assert national.loc[year, "pct_requests_refused"] == float(r["request_not_assess_pc"])


# --- layout checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, column",
    [
        ("caseload.csv", "ehcplans"),
        ("caseload.csv", "special_la_maintained"),
        ("requests.csv", "requests_received_in_year"),
        ("sen_needs_all_plans.csv", "number_semh"),
    ],
)
def test_renamed_column_fails_naming_it(tmp_path, extracted, name, column):
    folder = release_copy(tmp_path, extracted, {name: lambda df: df.rename(columns={column: column + "_v2"})})
    with pytest.raises(ReleaseLayoutError, match=rf"(?m)^{name}: missing columns: {column}$"):
        load_release(folder, tmp_path / "public")
    assert not (tmp_path / "public").exists()  # nothing written


def test_unknown_placement_column_fails(tmp_path, extracted):
    folder = release_copy(tmp_path, extracted, {"caseload.csv": lambda df: df.assign(hospital_schools="0")})
    with pytest.raises(ReleaseLayoutError, match="caseload.csv: unknown columns hospital_schools"):
        load_release(folder, tmp_path / "public")


def test_split_special_column_must_be_complete(tmp_path, extracted):
    half_split = {"caseload.csv": lambda df: df.rename(columns={"special_academy_free": "special_academy"})}
    folder = release_copy(tmp_path, extracted, half_split)
    with pytest.raises(ReleaseLayoutError, match=r"special_academy_free or special_academy \+ special_free_school"):
        load_release(folder, tmp_path / "public")


def test_2026_layout(tmp_path, extracted, loaded):
    def split_special(df):
        value = pd.to_numeric(df.special_academy_free, errors="coerce")
        academy = (value // 3).astype("Int64").astype(str).replace("<NA>", "x")
        free = (value - value // 3).astype("Int64").astype(str).replace("<NA>", "x")
        return (
            df.rename(columns={"AP_PRU_total_pc": "ap_pru_total_pc"})
            .assign(special_academy=academy, special_free_school=free)
            .drop(columns="special_academy_free")
        )

    def add_down_syndrome(df):
        oth = pd.to_numeric(df.number_oth, errors="coerce")
        ds = (oth // 4).astype("Int64")
        return df.assign(
            number_oth=(oth - ds).astype("Int64").astype(str).replace("<NA>", "x"),
            number_ds=ds.astype(str).replace("<NA>", "x"),
            ds_pc="0.3",
        )

    changes = {"caseload.csv": split_special, "sen_needs_all_plans.csv": add_down_syndrome}
    folder = release_copy(tmp_path, extracted, changes, rename={"sen_needs_all_plans.csv": "sen_needs_caseload.csv"})
    new = load_release(folder, tmp_path / "public")
    provisions = [plans_by_code(r["caseload"], "provision_type") for r in (new, loaded)]
    current = provisions[1][provisions[1].index.get_level_values("census_year") >= 2019]  # the 2025 release's years
    assert provisions[0].equals(current)  # special_academy + special_free_school = MSS as before
    needs, old_needs = (plans_by_code(r["sen_needs_all_plans"], "primary_need").unstack() for r in (new, loaded))
    assert needs.DS.sum() > 0
    assert (needs.OTH + needs.DS).equals(old_needs.OTH)


def test_missing_markers_are_null_and_bad_values_fail(tmp_path, extracted, loaded):
    caseload = pd.read_parquet(loaded["caseload"])
    ehe = caseload.query("geographic_level == 'National' and dfe_column == 'elective_home_education'")
    assert ehe.set_index("census_year").plans.isna()[2019]  # 'x' in the release

    def mark(df):
        la = df.index[(df.breakdown_topic == "New EHC plans") & (df.old_la_code == "301")]
        df.loc[la[:1], "new_ehc_plans"], df.loc[la[1:2], "new_ehc_plans"] = "z", "c"
        return df

    new = load_release(release_copy(tmp_path, extracted, {"newplans.csv": mark}), tmp_path / "public")
    assert pd.read_parquet(new["newplans"]).query("old_la_code == '301'").new_ehc_plans.isna().sum() == 2

    bad = release_copy(tmp_path / "bad", extracted, {"newplans.csv": lambda df: df.assign(new_ehc_plans="n/a")})
    with pytest.raises(ReleaseLayoutError, match="newplans.csv: column new_ehc_plans has values that are not"):
        load_release(bad, tmp_path / "bad" / "public")


def test_codes_are_strings(loaded):
    for table, path in loaded.items():
        schema = pq.read_schema(path)
        for column in ("old_la_code", "new_la_code", "region_code", "time_period", "provision_type"):
            if column in schema.names:
                assert str(schema.field(column).type) == "string", (table, column)
    caseload = pd.read_parquet(loaded["caseload"])
    assert "301" in set(caseload.old_la_code) and "201" in set(caseload.old_la_code)
    reasons = pd.read_parquet(loaded["ceased_plans"]).cease_reason.dropna()
    assert set(reasons) == set(CONTRACT.codes("cease_reason"))  # '1'…'9', strings


def test_tribunal_file(loaded):
    tribunal = pd.read_parquet(loaded["tribunal_appeal_rates"])
    with zipfile.ZipFile(RELEASE) as z:
        member = next(n for n in z.namelist() if "Tribunals" in n)
        rows = list(csv.reader(io.TextIOWrapper(z.open(member), encoding="utf-8-sig")))
    england = next(r for r in rows if r[0].startswith("England Total"))
    national = tribunal.query("geographic_level == 'National'").set_index("calendar_year")
    assert national.loc[2014, "appealable_decisions"] == int(england[3].replace(",", ""))  # '251,096'
    assert national.loc[2014, "appeal_rate_pct"] == float(england[4].rstrip("%"))
    # LA codes follow the caseload file's names (the tribunal file's codes are wrong for five LAs)
    names = {r["old_la_code"]: r["la_name"].lower() for r in release_rows("caseload.csv") if r["old_la_code"]}
    las = tribunal.query("geographic_level == 'Local authority'")
    matched = las[las.la_name.str.lower().isin(names.values())]
    assert len(matched) > 1500
    assert all(names[code] == name.lower() for code, name in zip(matched.old_la_code, matched.la_name))
    assert las.query("la_name == 'Nottingham'").old_la_code.unique().tolist() == ["892"]
    assert las.query("la_name == 'Durham'").old_la_code.unique().tolist() == ["840"]  # 'County Durham'


# --- schemas, tests and assets ---------------------------------------------------------------------


def test_empty_tables_have_the_loaded_schema(tmp_path, loaded):
    empty = dfe_ehcp.write_empty(tmp_path)
    assert set(empty) == set(loaded) == set(dfe_ehcp.TABLES)
    for table, path in empty.items():
        assert pq.read_schema(path).equals(pq.read_schema(loaded[table]), check_metadata=False), table
        assert pq.read_metadata(path).num_rows == 0


def test_dbt_code_lists_match_the_contract():
    checked = 0
    for folder in PUBLIC_MODELS:
        for path in (DBT_PROJECT_DIR / folder).glob("*.yml"):
            for model in yaml.safe_load(path.read_text()).get("models", []):
                for column in model.get("columns", []):
                    for test in column.get("data_tests", []):
                        if isinstance(test, dict) and "accepted_values" in test and column["name"] in CODE_LISTS:
                            values = test["accepted_values"]["arguments"]["values"]
                            assert sorted(map(str, values)) == sorted(CONTRACT.codes(column["name"]))
                            checked += 1
    assert checked >= 4


def test_assets_write_empty_tables_without_a_release(tmp_path):
    settings = PipelineSettings(data_dir=str(tmp_path), dfe_ehcp_source="none")
    result = dg.materialize([assets.dfe_ehcp_release], resources={"settings": settings})
    keys = {m.asset_key.path[1] for m in result.asset_materializations_for_node("dfe_ehcp_release")}
    assert result.success and keys == set(dfe_ehcp.TABLES)
    assert all(pq.read_metadata(tmp_path / "public" / f"{t}.parquet").num_rows == 0 for t in keys)


def test_the_default_release_is_dfes_download_address():
    assert PipelineSettings().dfe_ehcp_source.startswith("https://content.explore-education-statistics.service.gov.uk/")


@pytest.fixture
def served_release(tmp_path):
    """A copy of DfE's release served over HTTP on loopback, as DfE's download address serves it."""
    import functools
    import http.server
    import threading

    if not RELEASE.exists():
        pytest.skip("../shared/data/dfe_ehcp is not present")
    folder = tmp_path / "served"
    folder.mkdir()
    shutil.copy(RELEASE, folder / "files")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/files", folder / "files"
    server.shutdown()


def test_the_release_loads_from_a_web_address_and_the_sensor_reloads_only_a_changed_one(tmp_path, served_release):
    from dbv_pipeline.public.definitions import public_release_sensor

    url, served = served_release
    resources = {"settings": PipelineSettings(data_dir=str(tmp_path / "data"), dfe_ehcp_source=url)}
    with dg.instance_for_test() as instance:
        first = public_release_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert len(first.run_requests) == 1
        result = dg.materialize([assets.dfe_ehcp_release], instance=instance, resources=resources)
        assert result.success
        caseload = pd.read_parquet(tmp_path / "data" / "public" / "caseload.parquet")
        assert caseload.query("geographic_level == 'National' and time_period == '202425'").shape[0] > 0
        # A restarted daemon's sensor (no cursor) compares with the release loaded: nothing to do.
        restarted = public_release_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert not restarted.run_requests and "not changed" in restarted.skip_reason.skip_message
        served.write_bytes(served.read_bytes())  # DfE republishes: a new Last-Modified
        os.utime(served, (served.stat().st_atime + 5, served.stat().st_mtime + 5))
        again = public_release_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor)
        )
        assert len(again.run_requests) == 1


def test_an_unreadable_release_keeps_the_last_good_public_data(tmp_path, served_release):
    url, served = served_release
    data = tmp_path / "data"
    good = dg.materialize(
        [assets.dfe_ehcp_release], resources={"settings": PipelineSettings(data_dir=str(data), dfe_ehcp_source=url)}
    )
    assert good.success
    before = {t: pq.read_metadata(data / "public" / f"{t}.parquet").num_rows for t in dfe_ehcp.TABLES}
    served.write_bytes(b"<html>maintenance</html>")
    bad = dg.materialize(
        [assets.dfe_ehcp_release], resources={"settings": PipelineSettings(data_dir=str(data), dfe_ehcp_source=url)}
    )
    assert bad.success and bad.asset_materializations_for_node("dfe_ehcp_release") == []  # nothing downstream reruns
    assert {t: pq.read_metadata(data / "public" / f"{t}.parquet").num_rows for t in dfe_ehcp.TABLES} == before
    unreachable = dg.materialize(
        [assets.dfe_ehcp_release],
        resources={
            "settings": PipelineSettings(data_dir=str(tmp_path / "fresh"), dfe_ehcp_source="http://127.0.0.1:9/files")
        },
    )
    written = unreachable.asset_materializations_for_node("dfe_ehcp_release")
    assert unreachable.success and len(written) == len(dfe_ehcp.TABLES)  # empty tables: the warehouse still builds
    assert all(pq.read_metadata(tmp_path / "fresh" / "public" / f"{t}.parquet").num_rows == 0 for t in dfe_ehcp.TABLES)


# --- the 2022 (sen2_*) layout, several releases, the harmonised history --------------------------


@pytest.fixture(scope="session")
def both(tmp_path_factory) -> Path:
    """Both releases loaded together from the folder that holds them."""
    out = tmp_path_factory.mktemp("both") / "public"
    load_release(DATA, out)
    return out


def test_a_folder_of_zips_or_a_list_is_several_releases():
    assert dfe_ehcp.release_sources(DATA) == [str(RELEASE_2022), str(RELEASE)]
    assert dfe_ehcp.release_sources(f"{RELEASE_2022}, {RELEASE}") == [str(RELEASE_2022), str(RELEASE)]
    assert dfe_ehcp.release_sources(f"{RELEASE_2022} {RELEASE}") == [str(RELEASE_2022), str(RELEASE)]
    assert dfe_ehcp.release_sources(RELEASE) == [str(RELEASE)]
    assert dfe_ehcp.release_sources("https://example.org/files") == ["https://example.org/files"]


def test_the_2022_layout_loads_with_statements_apart(both):
    caseload = pd.read_parquet(both / "caseload.parquet")
    national = (
        caseload[caseload.geographic_level.eq("National")].drop_duplicates("census_year").set_index("census_year")
    )
    assert national.index.min() == 2010 and national.index.max() == 2025
    assert national.loc[2010, "total_statements"] == 228221 and pd.isna(national.loc[2010, "ehcplans"])
    assert (national.loc[2017, "ehcplans"], national.loc[2017, "total_statements"]) == (175233, 112057)
    assert national.loc[2022, "ehcplans"] == 473255 and national.loc[2025, "ehcplans"] == 638745
    la = caseload[caseload.geographic_level.eq("Local authority")]
    by = la.groupby(["old_la_code", "census_year"])
    sums = pd.DataFrame(
        {
            "plans": by.plans.sum(),
            "ehcplans": by.ehcplans.first(),
            "statements": by.statements.sum(),
            "total_statements": by.total_statements.first(),
        }
    )
    early = sums[sums.index.get_level_values("census_year") <= 2018]
    assert (early.statements == early.total_statements.fillna(0)).all()  # breakdowns add up
    assert (early.plans == early.ehcplans.fillna(0)).all()
    provenance = dfe_ehcp.read_provenance(both)
    assert [r["name"] for r in provenance["releases"]] == [RELEASE.name, RELEASE_2022.name]
    assert [r["released"] for r in provenance["releases"]] == ["2025-07-01", "2023-03-27"]
    assert "published 2023-03-27, censuses 2010–2022" in dfe_ehcp.provenance_text(provenance)
    assert provenance["reconciliation"] == [
        {
            "newer": RELEASE.name,
            "older": RELEASE_2022.name,
            "census_years": [2019, 2020, 2021, 2022],
            "area_years": 646,
            "disagree": 0,
        }
    ]


def test_the_releases_agree_exactly_where_they_overlap():
    releases = [dfe_ehcp.read_release(str(p)) for p in (RELEASE, RELEASE_2022)]
    diff = dfe_ehcp.reconcile(*releases)
    assert sorted(diff.census_year.unique()) == [2019, 2020, 2021, 2022]
    assert diff.geographic_level.eq("Local authority").sum() >= 4 * 150
    assert diff.agree.all(), diff[~diff.agree]


def test_the_harmonised_history_adds_up_to_england_every_year(both):
    from dbv_pipeline.public.history import la_history

    caseload = pd.read_parquet(both / "caseload.parquet")
    history = la_history(caseload)
    national = (
        caseload[caseload.geographic_level.eq("National")].drop_duplicates("census_year").set_index("census_year")
    )
    england = national.ehcplans.fillna(0) + national.total_statements.fillna(0)
    by_year = history.groupby("census_year").agg(areas=("la_code", "size"), plans=("all_plans", "sum"))
    assert (by_year.areas == 150).all()  # 153 LAs today, three pairs harmonised
    assert (by_year.plans == england.loc[by_year.index]).all()
    assert {"838+839", "940+941", "942+943"} <= set(history.la_code)
    assert not {"835", "836", "837", "838", "839", "928", "909"} & set(history.la_code)


def test_an_unreadable_release_names_every_missing_file_and_column_and_its_layout(tmp_path, extracted):
    folder = release_copy(
        tmp_path,
        extracted,
        {
            "caseload.csv": lambda df: df.drop(columns=["ehcplans", "special_la_maintained"]),
            "requests.csv": lambda df: df.drop(columns=["requests_withdrawn"]),
        },
    )
    (folder / "data" / "newplans.csv").unlink()
    with pytest.raises(ReleaseLayoutError) as error:
        load_release(folder, tmp_path / "public")
    message = str(error.value)
    assert "layout current" in message
    for problem in (
        "caseload.csv: missing columns: ehcplans",
        "special_la_maintained",
        "newplans.csv: not in the release",
        "requests.csv: missing columns: requests_withdrawn",
    ):
        assert problem in message
    sen2 = tmp_path / "sen2"
    (sen2 / "data").mkdir(parents=True)
    with zipfile.ZipFile(RELEASE_2022) as z:
        text = z.read("data/sen2_mi.csv").decode("utf-8-sig")
    (sen2 / "data" / "sen2_mi.csv").write_text(text.replace("InreqEHC", "Inreq"), encoding="utf-8")
    with pytest.raises(ReleaseLayoutError) as error:
        load_release(sen2, tmp_path / "public")
    message = str(error.value)
    assert "layout sen2" in message and "sen2_estab_caseload.csv: not in the release" in message
    assert "sen2_estab_new_plans.csv: not in the release" in message
    assert "sen2_mi.csv: missing columns: inreqehc" in message
    with pytest.raises(ReleaseLayoutError, match="layout not recognised"):
        load_release(tmp_path / "empty", tmp_path / "public") if (tmp_path / "empty").mkdir() is None else None
    assert not (tmp_path / "public").exists()


def test_an_unreadable_release_does_not_stop_a_run_that_builds_on_the_public_data(tmp_path, served_release):
    """In a run with what reads the public data (the warehouse job), a bad release keeps the last good
    tables and records them, so the step downstream runs instead of being skipped."""
    url, served = served_release
    data = tmp_path / "data"
    resources = {"settings": PipelineSettings(data_dir=str(data), dfe_ehcp_source=url)}
    built = []

    @dg.asset(key=["warehouse", "reads_public"], deps=[dg.AssetKey(["public", "caseload"])])
    def reads_public():
        built.append(len(pd.read_parquet(data / "public" / "caseload.parquet")))

    assert dg.materialize([assets.dfe_ehcp_release, reads_public], resources=resources).success
    served.write_bytes(b"<html>maintenance</html>")
    bad = dg.materialize([assets.dfe_ehcp_release, reads_public], resources=resources)
    assert bad.success and len(built) == 2 and built[0] == built[1] > 0  # ran again, on the kept data
    kept = bad.asset_materializations_for_node("dfe_ehcp_release")
    assert len(kept) == len(dfe_ehcp.TABLES)
    assert all("kept the last good public data" in m.metadata["problem"].value for m in kept)


def test_the_history_mart_is_on_current_boundaries_from_2010(warehouse):
    history = mart(warehouse, "fct_public_ehcp_history")
    assert history.census_year.min() == 2010 and history.census_year.max() == 2025
    assert history.groupby("census_year").area_code.nunique().eq(150).all()
    bcp = history[history.area_code.eq("838+839")].set_index("census_year")
    assert bcp.loc[2019, "la_codes"] == "835+836+837" and bcp.loc[2020, "la_codes"] == "838+839"
    assert bcp.loc[2012, "statements"] > 0 and pd.isna(bcp.loc[2022, "statements"])
