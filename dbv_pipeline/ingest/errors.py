"""A fault that rejects a whole file (spec §4, "File rejected")."""

from __future__ import annotations

from ..contract import CONTRACT


class FileRejected(Exception):
    """Raised while reading or checking a file when nothing of it may reach the warehouse."""

    def __init__(self, rule_code: str, *, column: str = "", value: object = "", detail: object = ""):
        self.rule_code = rule_code
        self.column = column
        self.value = "" if value is None else str(value)
        self.message = CONTRACT.rules[rule_code].explain(column, value, detail)
        super().__init__(self.message)
