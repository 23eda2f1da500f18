"""Dagster asset checks that run the stored GX suites: errors block downstream assets, warnings do not.

GX checks what only it checks (``rules.py``): each raw table (``["raw", <table>]``) is validated once
a run (one ``multi_asset_check``), and the result is reported as two checks, one per rule group:

- ``conformance`` (blocking): the rows conform to the contract, the error rules (``C_*``), and any
  expectation that raised. A failure has severity ERROR, and the assets downstream do not run.
- ``warnings`` (not blocking): the in-table warnings of spec §4. A failure has severity WARN; nothing
  is blocked. Only raw tables whose suites hold warning rules have one.

The marts' own rules (grain, blanks, codes, ranges: ``M_*``) are dbt tests, which Dagster runs as
the marts' asset checks; GX does not check them again. A mart with a cross-source comparison has one
GX check, ``warnings`` (spec §4 cross-source warnings, not blocking), on the comparison's frame.

Raw tables are LA-partitioned: a partitioned run validates the current versions of its LAs, any
other run every LA, a chunk of versions at a time. Marts are read from the warehouse, read-only.
"""

# No ``from __future__ import annotations``: Dagster checks the ``context`` parameter's annotation as a class.
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import dagster as dg

from ..contract import TABLES
from ..ingest.raw_store import RawStore
from ..settings import DataPaths, PipelineSettings
from . import data
from .rules import RULES
from .validate import Outcome, Result, load_suite_dict, validate

CONFORMANCE = "conformance"
WARNINGS = "warnings"
# What a cross-source comparison also reads, so its check runs after it.
MART_INPUTS = {"fct_hnb_spend": [["warehouse", "fct_dsg_balance"]], "fct_ehcp_census": [["public", "caseload"]]}
# Each mart's cross-source suite (the frames of data.mart_frames besides the mart itself).
CROSS_SOURCE = {
    "fct_ehcp_census": "caseload_vs_dfe",
    "fct_hnb_spend": "hnb_vs_dsg",
    "fct_unit_cost": "unit_cost_vs_median",
}
DESCRIBED_RULES = 4  # rules named in a check's description; the rest are in its metadata


def run_la_codes(context: dg.AssetCheckExecutionContext) -> list[str] | None:
    """The LAs of a partitioned run; None (every LA) otherwise."""
    if context.has_partition_key or context.has_partition_key_range:
        return list(context.partition_keys)
    return None


@dataclass(frozen=True)
class Group:
    """A rule group, reported as one check."""

    name: str
    severity: str  # the rules' severity in the registry: "error" or "warning"
    blocking: bool

    def has(self, outcome: Outcome) -> bool:
        """Whether the group reports this expectation: conformance also reports any that raised,
        which blocks whatever its severity; warnings reports its warning rules, raised or not."""
        return outcome.severity == self.severity or (self.blocking and outcome.exception is not None)

    def failed(self, outcome: Outcome) -> bool:
        return outcome.blocking if self.blocking else not outcome.success

    @property
    def check_severity(self) -> dg.AssetCheckSeverity:
        return dg.AssetCheckSeverity.ERROR if self.blocking else dg.AssetCheckSeverity.WARN


GROUPS = {CONFORMANCE: Group(CONFORMANCE, "error", blocking=True), WARNINGS: Group(WARNINGS, "warning", blocking=False)}


def suite_rules(suites: Iterable[str]) -> dict[str, list[str]]:
    """The rule codes of the stored suites, per severity (``{"error": [...], "warning": [...]}``)."""
    codes: dict[str, set[str]] = defaultdict(set)
    for suite in suites:
        for expectation in load_suite_dict(suite)["expectations"]:
            codes[expectation["meta"]["severity"]].add(expectation["meta"]["rule_code"])
    return {severity: sorted(c) for severity, c in codes.items()}


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def md_cell(value) -> str:
    """A value for a markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _rows(rows: dict[str, int]) -> str:
    return " and ".join(f"{plural(n, 'row')} of {suite}" for suite, n in rows.items()) or "no rows"


def raised_message(exception: str) -> str:
    """What an expectation that raised says, once (GX repeats it per metric), without "Error: "."""
    messages = dict.fromkeys(m.strip().removeprefix("Error: ").rstrip(".") for m in exception.split("; "))
    return "; ".join(messages)


def _example_las(outcomes: list[Outcome]) -> list[str]:
    """The LAs of the outcomes' example rows."""
    return sorted({str(e["la_code"]) for o in outcomes for e in o.examples if e.get("la_code") is not None})


def _rule_detail(outcomes: list[Outcome]) -> str:
    """How one rule failed, in a few words: rows and LAs, or what raised."""
    raised = [raised_message(o.exception) for o in outcomes if o.exception]
    if raised:
        return "raised: " + raised[0][:160]
    count = sum(o.unexpected_count for o in outcomes)
    if not count:
        columns = [o.column for o in outcomes if o.column]
        return "failed" + (f" on {', '.join(columns)}" if columns else "")
    las = _example_las(outcomes)
    shown = all(len(o.examples) >= o.unexpected_count for o in outcomes)  # every failing row is an example
    where = ""
    if las:
        where = f", LA{'s' if len(las) > 1 or not shown else ''} {', '.join(las)}{'' if shown else ', …'}"
    return plural(count, "row") + where


def _by_rule(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    rules: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        rules[o.rule_code].append(o)
    return dict(rules)


def group_result(result: Result, group: Group, asset_key: dg.AssetKey) -> dg.AssetCheckResult:
    """One group's check result: its failures in plain words, counts per rule code, the failures."""
    outcomes = [o for o in result.outcomes if group.has(o)]
    failed = [o for o in outcomes if group.failed(o)]
    rows = {suite: n for suite, n in result.rows.items() if any(o.suite == suite for o in outcomes)}
    failing_rules = _by_rule(failed)
    if failing_rules:
        verb = "failed" if group.blocking else "warned"
        details = [f"{code} ({_rule_detail(os)})" for code, os in failing_rules.items()]
        more = len(details) - DESCRIBED_RULES
        description = (
            f"{plural(len(details), 'rule')} {verb}: "
            + "; ".join(details[:DESCRIBED_RULES])
            + (f"; and {more} more (see metadata)" if more > 0 else "")
        )
    elif not any(rows.values()):
        description = (
            f"Passed: no rows to check ({' and '.join(rows)} {'is' if len(rows) == 1 else 'are'} empty)"
            if rows
            else "Passed: nothing to check"
        )
    else:
        description = f"Passed: {plural(len(outcomes), 'expectation')} over {_rows(rows)}"
    counts = {
        code: {
            "expectations": len(os),
            "failed": sum(group.failed(o) for o in os),
            "rows": sum(o.unexpected_count for o in os if group.failed(o)),
        }
        for code, os in sorted(_by_rule(outcomes).items())
    }
    failures = Result(outcomes=failed).metadata()["failures"]
    table = ["| rule | rows | suite | expectation | examples of LAs / what raised |", "|---|---|---|---|---|"]
    for o in failed:
        what = raised_message(o.exception) if o.exception else ", ".join(_example_las([o]))
        table.append(
            f"| {o.rule_code} | {o.unexpected_count:,} | {o.suite} | {md_cell(o.description)} | {md_cell(what)} |"
        )
    rules_md = "\n".join(f"- **{code}**: {RULES[code].message}" for code in failing_rules)
    summary = f"**{description}**\n\n" + ("\n".join(table) + "\n\n" + rules_md if failed else "")
    metadata = {
        ("errors" if group.blocking else "warnings"): len(failed),
        "expectations": len(outcomes),
        "rows": dg.MetadataValue.json(rows),
        "rule_counts": dg.MetadataValue.json(counts),
        "failures": dg.MetadataValue.json(failures),
        "summary": dg.MetadataValue.md(summary),
    }
    if result.data_docs:
        metadata["data_docs"] = dg.MetadataValue.path(str(result.data_docs))
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=group.name,
        passed=not failed,
        severity=group.check_severity,
        metadata=metadata,
        description=description,
    )


def check_results(context: dg.AssetCheckExecutionContext, result: Result) -> Iterator[dg.AssetCheckResult]:
    """The selected checks' results, from one validation."""
    for key in sorted(context.selected_asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        yield group_result(result, GROUPS[key.name], key.asset_key)


def check_specs(
    asset: dg.AssetKey, suites: list[str], what: dict[str, str], additional_deps: list[dg.AssetKey] | None = None
) -> list[dg.AssetCheckSpec]:
    """``conformance`` if its suites hold error rules (``what`` says what it checks), and ``warnings``
    if they hold warning rules."""
    codes = suite_rules(suites)
    error_suites = ", ".join(s for s in suites if suite_rules([s]).get("error"))
    specs = []
    if codes.get("error") and CONFORMANCE in what:
        specs.append(
            dg.AssetCheckSpec(
                CONFORMANCE,
                asset=asset,
                blocking=True,
                additional_deps=additional_deps,
                description=f"Blocks downstream assets if it fails (severity ERROR). {what[CONFORMANCE]} Rules "
                f"{', '.join(codes['error'])} (GX {error_suites}); an expectation that cannot run "
                "also fails it.",
            )
        )
    if codes.get("warning"):
        specs.append(
            dg.AssetCheckSpec(
                WARNINGS,
                asset=asset,
                blocking=False,
                additional_deps=additional_deps,
                description=f"Never blocks: fails with severity WARN. {what[WARNINGS]} "
                + " ".join(f"{c}: {RULES[c].message}." for c in codes["warning"]),
            )
        )
    return specs


def validate_raw(
    paths: DataPaths, table: str, la_codes: Iterable[str] | None = None, *, run_name: str | None = None
) -> Result:
    """Validate the current versions of ``table`` for the given LAs (every LA if None), and every
    pending one, a chunk of at most ``data.CHUNK_ROWS`` rows at a time, with one Data Docs page per
    suite for the run. Versions are taken in path order (LA, period), so which failing rows are kept
    as examples does not depend on the ledger's order (LAs' ledgers share timestamps). If no blocking
    expectation failed, the pending versions validated become assured: visible to the warehouse
    (docs/raw_layer.md)."""
    la_codes = None if la_codes is None else list(la_codes)
    label = f"raw_{table}_" + ("all" if la_codes is None else "_".join(la_codes[:5]))
    versions = data.versions_to_check(paths, table, la_codes)
    store = RawStore(paths)
    files = sorted(store.version_path(table, *v) for v in versions)
    result = data.validate_versions(paths, table, files, data_docs=True, run_name=run_name, label=label)
    if result.passed:
        data.mark_assured(paths, table, versions)
    return result


def raw_check(table: str) -> dg.AssetChecksDefinition:
    asset = dg.AssetKey(["raw", table])
    specs = check_specs(
        asset,
        data.raw_suites(table),
        {
            CONFORMANCE: f"The loaded {table} conforms to the contract: columns, types, required values, codes, "
            "formats, minimums and keys (post-load: a failure is a pipeline bug, not the LA's).",
            WARNINGS: f"Spec §4 warnings on the loaded {table} (the rows stay loaded; the LA's feedback report lists them).",
        },
    )

    @dg.multi_asset_check(
        specs=specs,
        name=f"raw__{table}_gx",
        can_subset=True,
        description=f"One GX validation of the loaded {table}, reported per rule group.",
    )
    def _checks(context: dg.AssetCheckExecutionContext, settings: PipelineSettings):
        result = validate_raw(settings.paths, table, run_la_codes(context), run_name=context.run.run_id)
        yield from check_results(context, result)

    return _checks


def mart_suites(mart: str) -> list[str]:
    """The suites a mart is validated with (the frames of ``data.mart_frames``): its cross-source
    comparison's, if it has one (its own rules are dbt tests)."""
    return [CROSS_SOURCE[mart]] if mart in CROSS_SOURCE else []


def mart_check(mart: str) -> dg.AssetChecksDefinition:
    asset = dg.AssetKey(["warehouse", mart])
    suites = mart_suites(mart)
    specs = check_specs(
        asset,
        suites,
        {WARNINGS: "Spec §4 cross-source warnings, per LA and year (also in the dbt model fct_cross_source_checks)."},
        additional_deps=[dg.AssetKey(k) for k in MART_INPUTS.get(mart, [])],
    )

    @dg.multi_asset_check(
        specs=specs,
        name=f"warehouse__{mart}_gx",
        can_subset=True,
        description=f"One GX validation of {mart}'s cross-source comparison (read-only).",
    )
    def _checks(context: dg.AssetCheckExecutionContext, settings: PipelineSettings):
        paths = settings.paths
        frames = data.mart_frames(paths, mart)
        if sorted(frames) != sorted(suites):
            raise ValueError(f"{mart}: validated with {sorted(frames)}, but its checks expect {sorted(suites)}")
        yield from check_results(context, validate(frames, paths=paths, run_name=context.run.run_id, label=mart))

    return _checks


RAW_CHECKS = [raw_check(t) for t in TABLES]
MART_CHECKS = [mart_check(m) for m in CROSS_SOURCE]
