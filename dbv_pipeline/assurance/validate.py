"""Run stored GX suites on pandas DataFrames and return a compact result.

An expectation that raised (a missing column, a bad argument) counts as a failure that blocks,
whatever its severity. A suite that cannot be loaded (missing file, bad JSON, unknown expectation
type, a rule code not in the registry) raises ``SuiteError``. Each run can build GX Data Docs into
``DataPaths.reports / "data_docs"``, with the validation results kept in ``reports/gx_results``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..settings import EXPECTATIONS_DIR, DataPaths
from .rules import RULES

MAX_EXAMPLES = 5
# Columns that identify a failing raw row in the examples, besides the expectation's own (rows of
# marts and derived frames are shown whole).
ID_COLUMNS = ("la_code", "source_file", "source_line", "financial_year", "scenario", "provision_type")


class SuiteError(Exception):
    """A suite that cannot be loaded or run."""


@dataclass(frozen=True)
class Outcome:
    """One expectation's result."""

    suite: str
    rule_code: str
    severity: str  # "error" or "warning"
    expectation: str
    description: str
    column: str | None
    success: bool
    unexpected_count: int
    examples: list[dict]
    exception: str | None = None

    @property
    def blocking(self) -> bool:
        return not self.success and (self.severity == "error" or self.exception is not None)

    @property
    def warned(self) -> bool:
        return not self.success and not self.blocking


@dataclass
class Result:
    """The outcome of one or more suites run together."""

    outcomes: list[Outcome] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # rows validated per suite
    data_docs: Path | None = None

    @property
    def passed(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.blocking]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.warned]

    def summary(self) -> str:
        lines = [f"{len(self.errors)} error(s), {len(self.warnings)} warning(s) over {len(self.outcomes)} expectations"]
        for o in self.errors + self.warnings:
            what = o.exception or f"{o.unexpected_count} unexpected"
            lines.append(f"{o.severity.upper()} {o.rule_code} {o.suite}: {o.description}: {what}")
        return "\n".join(lines)

    def metadata(self) -> dict:
        """Plain, JSON-safe counts and failures (for Dagster check metadata)."""
        return {
            "rows": dict(self.rows),
            "expectations": len(self.outcomes),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "failures": [
                {k: getattr(o, k) for k in ("suite", "rule_code", "severity", "description", "unexpected_count",
                                             "examples", "exception")}
                for o in self.errors + self.warnings
            ],
            "data_docs": str(self.data_docs) if self.data_docs else None,
        }


def load_suite_dict(name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    """A suite's JSON, checked: every expectation names a GX rule of the registry and its severity."""
    path = directory / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"Suite {name!r}: {path} does not exist (run python -m dbv_pipeline.assurance.suites)") from None
    except json.JSONDecodeError as e:
        raise SuiteError(f"Suite {name!r}: {path} is not valid JSON: {e}") from e
    expectations = data.get("expectations") if isinstance(data, dict) else None
    if not expectations:
        raise SuiteError(f"Suite {name!r}: {path} has no expectations")
    for i, exp in enumerate(expectations):
        meta = exp.get("meta") or {}
        rule = RULES.get(meta.get("rule_code"))
        if rule is None or rule.home != "gx":
            raise SuiteError(f"Suite {name!r}, expectation {i} ({exp.get('type')}): rule_code "
                             f"{meta.get('rule_code')!r} is not a GX rule of the registry")
        if meta.get("severity") != rule.severity:
            raise SuiteError(f"Suite {name!r}, expectation {i}: severity {meta.get('severity')!r} "
                             f"but rule {rule.code} is {rule.severity!r}")
    return data


def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    return gx


def load_suite(name: str, directory: Path = EXPECTATIONS_DIR):
    """The stored suite as a GX ``ExpectationSuite``."""
    data = load_suite_dict(name, directory)
    gx = _gx()
    from great_expectations.expectations.registry import get_expectation_impl

    for i, exp in enumerate(data["expectations"]):
        try:
            get_expectation_impl(exp.get("type"))
        except Exception:  # GX would only log an unknown type and drop the expectation
            raise SuiteError(f"Suite {name!r}, expectation {i}: unknown expectation type {exp.get('type')!r}") from None
    try:
        return gx.ExpectationSuite(**data)
    except Exception as e:  # GX raises several types for malformed expectations
        raise SuiteError(f"Suite {name!r}: {type(e).__name__}: {e}") from e


def _context(reports: Path | None):
    gx = _gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    if reports is not None:
        def filesystem(folder: str) -> dict:
            return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(reports / folder)}

        config.stores["validation_results_store"] = {"class_name": "ValidationResultsStore", "store_backend": filesystem("gx_results")}
        config.data_docs_sites = {"local": {"class_name": "SiteBuilder", "store_backend": filesystem("data_docs"),
                                            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}}}
    return gx.get_context(mode="ephemeral", project_config=config)


def _gx_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as ``object`` (GX's type checks do not know pandas 3's ``str`` dtype; on an
    object column they check each value's Python type), and a unique index for the examples."""
    text = [c for c in df.columns if isinstance(df[c].dtype, pd.StringDtype)]
    df = df.astype({c: object for c in text}) if text else df
    return df if df.index.is_unique else df.reset_index(drop=True)


def _plain(value):
    """A JSON-safe value."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _exception(info: dict | None) -> str | None:
    """The message of an expectation that raised, from GX's ``exception_info`` (two shapes)."""
    if not info:
        return None
    if "raised_exception" in info:
        return (info.get("exception_message") or "raised") if info["raised_exception"] else None
    messages = [v.get("exception_message") or "raised" for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    return "; ".join(messages) or None


def _outcome(suite_name: str, df: pd.DataFrame, er, max_examples: int | None) -> Outcome:
    config = er.expectation_config
    kwargs = config.kwargs
    columns = [kwargs["column"]] if "column" in kwargs else list(kwargs.get("column_list", []))
    result = er.result or {}
    index = result.get("unexpected_index_list") or result.get("partial_unexpected_index_list") or []
    examples = []
    if index and all(c in df.columns for c in columns):
        wide = max_examples is None or "source_line" not in df.columns  # marts and derived frames are narrow
        id_cols = [c for c in df.columns if c not in columns and (wide or c in ID_COLUMNS)]
        sample = df.loc[index[:max_examples], id_cols + columns]
        examples = [{k: _plain(v) for k, v in row.items()} for row in sample.to_dict("records")]
    elif result.get("observed_value") is not None and not er.success:
        examples = [{"observed": _plain(result["observed_value"])}]
    exception = _exception(er.exception_info)
    return Outcome(
        suite=suite_name,
        rule_code=config.meta["rule_code"],
        severity=config.meta["severity"],
        expectation=config.type,
        description=config.description or config.type,
        column=columns[0] if len(columns) == 1 else None,
        success=bool(er.success) and exception is None,
        unexpected_count=int(result.get("unexpected_count") or 0),
        examples=examples,
        exception=exception,
    )


def validate(
    frames: Mapping[str, pd.DataFrame],
    *,
    paths: DataPaths | None = None,
    run_name: str | None = None,
    label: str = "all",
    directory: Path = EXPECTATIONS_DIR,
    max_examples: int | None = MAX_EXAMPLES,
) -> Result:
    """Run each named suite on its frame (``{"raw_placements": df, ...}``).

    With ``paths``, Data Docs for this run are built into ``paths.reports / "data_docs"``; ``label``
    names the data (e.g. an LA) and ``run_name`` the run in them. Each failed expectation keeps up to
    ``max_examples`` failing rows (identifying columns and its own); ``None`` keeps every failing
    row with all its columns.
    """
    suites = {name: load_suite(name, directory) for name in frames}
    gx = _gx()
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    reports = paths.reports if paths else None
    context = _context(reports)
    batch = context.data_sources.add_pandas("dbv").add_dataframe_asset(label).add_batch_definition_whole_dataframe("whole")
    run_id = RunIdentifier(run_name=run_name or label, run_time=dt.datetime.now(dt.timezone.utc))
    result_format = {"result_format": "COMPLETE"} if max_examples is None \
        else {"result_format": "SUMMARY", "partial_unexpected_count": max_examples}
    result, ids = Result(), []
    for name, df in frames.items():
        df = _gx_frame(df)
        suite = context.suites.add(suites[name])
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
        run = definition.run(
            batch_parameters={"dataframe": df},
            result_format=result_format,
            run_id=run_id,
        )
        result.rows[name] = len(df)
        result.outcomes += [_outcome(name, df, er, max_examples) for er in run.results]
        ids.append(ValidationResultIdentifier(ExpectationSuiteIdentifier(name=name), run_id, run.batch_id))
    if reports is not None:
        context.build_data_docs(site_names=["local"], resource_identifiers=ids)
        result.data_docs = reports / "data_docs" / "index.html"
    return result
