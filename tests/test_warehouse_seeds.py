"""Code-list seeds are derived from the contract: one CSV per code list, and contract_columns."""

from __future__ import annotations

import csv
import dataclasses

from dbv_pipeline.contract import CONTRACT
from dbv_pipeline.warehouse.seeds import write_contract_seeds


def read(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_code_list_becomes_a_seed(tmp_path):
    write_contract_seeds(tmp_path)
    for name, code_list in CONTRACT.code_lists.items():
        seed = read(tmp_path / f"code_{name}.csv")
        assert [(r["code"], r["label"]) for r in seed] == list(code_list.codes.items())
        assert [int(r["sort_order"]) for r in seed] == list(range(1, len(seed) + 1))
    hnb = {r["code"] for r in read(tmp_path / "code_hnb_provision_type.csv")}
    assert hnb == set(CONTRACT.codes("provision_type")) | {"CENTRAL"}  # `extends` is followed
    columns = read(tmp_path / "contract_columns.csv")
    assert {
        "table_name": "placements",
        "column_name": "cease_reason",
        "type": "code",
        "sql_type": "VARCHAR",
        "code_list": "cease_reason",
        "required": "false",
    } in columns
    assert len(columns) == sum(len(t.columns) for t in CONTRACT.tables.values())


def test_a_new_code_is_one_edit_to_the_contract(tmp_path):
    write_contract_seeds(tmp_path)
    (tmp_path / "code_retired_list.csv").write_text("code,label,sort_order\nX,x,1\n")
    need = CONTRACT.code_lists["primary_need"]
    extended = dataclasses.replace(need, codes={**need.codes, "NSA": "SEN support but no specialist assessment"})
    contract = dataclasses.replace(CONTRACT, code_lists={**CONTRACT.code_lists, "primary_need": extended})
    write_contract_seeds(tmp_path, contract)
    assert read(tmp_path / "code_primary_need.csv")[-1]["code"] == "NSA"
    assert not (tmp_path / "code_retired_list.csv").exists()  # a code list dropped from the contract


def test_unchanged_seeds_are_not_rewritten(tmp_path):
    [first, *_] = write_contract_seeds(tmp_path)
    before = first.stat().st_mtime_ns
    write_contract_seeds(tmp_path)
    assert first.stat().st_mtime_ns == before
