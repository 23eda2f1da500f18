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
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from ..settings import EXPECTATIONS_DIR, DataPaths
from .rules import RULES

MAX_EXAMPLES = 5
TEXT = pd.StringDtype()  # Arrow-backed text, NA if missing: the dtype of text columns given to GX
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
                {
                    k: getattr(o, k)
                    for k in (
                        "suite",
                        "rule_code",
                        "severity",
                        "description",
                        "unexpected_count",
                        "examples",
                        "exception",
                    )
                }
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
        raise SuiteError(
            f"Suite {name!r}: {path} does not exist (run python -m dbv_pipeline.assurance.suites)"
        ) from None
    except json.JSONDecodeError as e:
        raise SuiteError(f"Suite {name!r}: {path} is not valid JSON: {e}") from e
    expectations = data.get("expectations") if isinstance(data, dict) else None
    if not expectations:
        raise SuiteError(f"Suite {name!r}: {path} has no expectations")
    for i, exp in enumerate(expectations):
        meta = exp.get("meta") or {}
        rule = RULES.get(meta.get("rule_code"))
        if rule is None or rule.home != "gx":
            raise SuiteError(
                f"Suite {name!r}, expectation {i} ({exp.get('type')}): rule_code "
                f"{meta.get('rule_code')!r} is not a GX rule of the registry"
            )
        if meta.get("severity") != rule.severity:
            raise SuiteError(
                f"Suite {name!r}, expectation {i}: severity {meta.get('severity')!r} "
                f"but rule {rule.code} is {rule.severity!r}"
            )
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

        config.stores["validation_results_store"] = {
            "class_name": "ValidationResultsStore",
            "store_backend": filesystem("gx_results"),
        }
        config.data_docs_sites = {
            "local": {
                "class_name": "SiteBuilder",
                "store_backend": filesystem("data_docs"),
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        }
    return gx.get_context(mode="ephemeral", project_config=config)


def _gx_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as pandas' ``string`` dtype, the one GX's type checks can name ("StringDtype";
    pandas 3's default ``str`` dtype is another, unnamed there), and a unique index for the examples.
    GX checks a typed column's type from its dtype; an ``object`` column it checks value by value."""
    text = [c for c in df.columns if isinstance(df[c].dtype, pd.StringDtype) and df[c].dtype != TEXT]
    df = df.astype({c: TEXT for c in text}) if text else df
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
    messages = [
        v.get("exception_message") or "raised"
        for v in info.values()
        if isinstance(v, dict) and v.get("raised_exception")
    ]
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


def _merge_outcome(total: Outcome | None, part: Outcome, max_examples: int | None) -> Outcome:
    """One expectation's outcome over the chunks so far: counts add up, examples up to ``max_examples``."""
    if total is None:
        return part
    return replace(
        total,
        success=total.success and part.success,
        unexpected_count=total.unexpected_count + part.unexpected_count,
        examples=(total.examples + part.examples)[:max_examples],
        exception=total.exception or part.exception,
    )


# What the run's Data Docs keep of a chunk's GX result (indexes are the chunk's own).
DOCS_KEYS = ("unexpected_count", "partial_unexpected_list", "observed_value")


def _merge_docs(total, part, keep: int):
    """Fold one chunk's GX result of an expectation into the run's: unexpected counts add up, up to
    ``keep`` unexpected values, the first failing chunk's observed value and exception."""
    part.result = {k: v for k, v in (part.result or {}).items() if k in DOCS_KEYS}
    if total is None:
        return part
    merged, result = total.result, part.result
    if "unexpected_count" in result:
        merged["unexpected_count"] = merged.get("unexpected_count", 0) + result["unexpected_count"]
        merged["partial_unexpected_list"] = (
            merged.get("partial_unexpected_list", []) + result.get("partial_unexpected_list", [])
        )[:keep]
    if "observed_value" in result and total.success and not part.success:
        merged["observed_value"] = result["observed_value"]
    if _exception(part.exception_info) and not _exception(total.exception_info):
        total.exception_info = part.exception_info
    total.success = total.success and part.success
    return total


class Validation:
    """Run stored suites on data given a chunk at a time, with one GX context, and merge the results.

    Each chunk is validated with GX's BOOLEAN_ONLY result format (pass or fail, the cheapest);
    only the expectations that failed in a chunk run again on it, for their counts and failing rows.
    With ``paths``, ``result()`` stores one merged validation result per suite and builds Data Docs
    into ``paths.reports / "data_docs"``; ``label`` names the data (e.g. an LA) and ``run_name``
    the run in them. Each failed expectation keeps up to ``max_examples`` failing rows
    (identifying columns and its own); ``None`` keeps every failing row with all its columns (one
    pass, GX's COMPLETE format).
    """

    def __init__(
        self,
        names: list[str],
        *,
        paths: DataPaths | None = None,
        run_name: str | None = None,
        label: str = "all",
        directory: Path = EXPECTATIONS_DIR,
        max_examples: int | None = MAX_EXAMPLES,
    ):
        suites = {name: load_suite(name, directory) for name in names}
        from great_expectations.core.run_identifier import RunIdentifier

        self._reports = paths.reports if paths else None
        self._context = _context(self._reports)
        self._batch = (
            self._context.data_sources.add_pandas("dbv")
            .add_dataframe_asset(label)
            .add_batch_definition_whole_dataframe("whole")
        )
        self._suites = {name: self._context.suites.add(suite) for name, suite in suites.items()}
        self._run_id = RunIdentifier(run_name=run_name or label, run_time=dt.datetime.now(dt.UTC))
        self._max_examples = max_examples
        self._format = {"result_format": "COMPLETE"} if max_examples is None else {"result_format": "BOOLEAN_ONLY"}
        self._outcomes: dict[str, dict[str, Outcome]] = {name: {} for name in names}
        self._docs: dict[str, tuple] = {}  # per suite: the first chunk's GX suite result, and the merged results
        self.rows = dict.fromkeys(names, 0)

    def _validator(self, df: pd.DataFrame, result_format: dict):
        from great_expectations.validator.v1_validator import Validator

        return Validator(batch_definition=self._batch, batch_parameters={"dataframe": df}, result_format=result_format)

    def add(self, frames: Mapping[str, pd.DataFrame]) -> None:
        """Validate one chunk: each named suite on its frame."""
        for name, frame in frames.items():
            df = _gx_frame(frame)
            suite = self._suites[name]
            run = self._validator(df, self._format).validate_expectation_suite(suite)
            results = {er.expectation_config.id: er for er in run.results}
            failed = [
                e
                for e in suite.expectations
                if not results[e.id].success and _exception(results[e.id].exception_info) is None
            ]
            if failed and self._max_examples is not None:
                validator = self._validator(
                    df, {"result_format": "SUMMARY", "partial_unexpected_count": self._max_examples}
                )
                results.update({e.id: validator.validate_expectation(e) for e in failed})
            self.rows[name] += len(df)
            outcomes = self._outcomes[name]
            for e in suite.expectations:
                part = _outcome(name, df, results[e.id], self._max_examples)
                outcomes[e.id] = _merge_outcome(outcomes.get(e.id), part, self._max_examples)
            if self._reports is not None:
                _, merged = self._docs.setdefault(name, (run, {}))
                for e in suite.expectations:
                    merged[e.id] = _merge_docs(merged.get(e.id), results[e.id], self._max_examples or MAX_EXAMPLES)

    def result(self) -> Result:
        """The merged result; with ``paths``, Data Docs for the run are built first."""
        result = Result(rows=dict(self.rows))
        for name, suite in self._suites.items():
            result.outcomes += [self._outcomes[name][e.id] for e in suite.expectations if e.id in self._outcomes[name]]
        if self._reports is not None:
            result.data_docs = self._build_docs()
        return result

    def _build_docs(self) -> Path:
        from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )
        from great_expectations.expectations.expectation import (
            ColumnMapExpectation,
            ColumnPairMapExpectation,
            MulticolumnMapExpectation,
        )

        ids = []
        for name, (first, merged) in self._docs.items():
            results = []
            for e in self._suites[name].expectations:
                r, rows = merged[e.id], self.rows[name]
                map_expectation = isinstance(
                    e, (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
                )
                if r.success and map_expectation and e.mostly == 1:
                    r.result.setdefault("unexpected_count", 0)  # it passed, so no value was unexpected
                if "unexpected_count" in r.result:
                    r.result.update(
                        element_count=rows,
                        unexpected_percent=100 * r.result["unexpected_count"] / rows if rows else None,
                    )
                results.append(r)
            passed = sum(bool(r.success) for r in results)
            run = ExpectationSuiteValidationResult(
                success=passed == len(results),
                results=results,
                suite_name=name,
                batch_id=first.batch_id,
                statistics={
                    "evaluated_expectations": len(results),
                    "successful_expectations": passed,
                    "unsuccessful_expectations": len(results) - passed,
                    "success_percent": 100 * passed / len(results) if results else None,
                },
                meta={
                    **first.meta,
                    "run_id": self._run_id,
                    "validation_time": self._run_id.run_time,
                    "batch_parameters": {"dataframe": "<DATAFRAME>"},
                    # The first chunk's fingerprint is not the run's.
                    "batch_markers": {
                        k: v for k, v in first.meta["batch_markers"].items() if k != "pandas_data_fingerprint"
                    },
                },
            )
            suite_id = ExpectationSuiteIdentifier(name=name)
            ids.append(ValidationResultIdentifier(suite_id, self._run_id, first.batch_id))
            self._context.validation_results_store.store_validation_results(
                suite_validation_result=run,
                suite_validation_result_identifier=ids[-1],
                expectation_suite_identifier=suite_id,
            )
        self._context.build_data_docs(site_names=["local"], resource_identifiers=ids)
        return self._reports / "data_docs" / "index.html"


def validate(
    frames: Mapping[str, pd.DataFrame],
    *,
    paths: DataPaths | None = None,
    run_name: str | None = None,
    label: str = "all",
    directory: Path = EXPECTATIONS_DIR,
    max_examples: int | None = MAX_EXAMPLES,
) -> Result:
    """Run each named suite on its frame (``{"raw_placements": df, ...}``), in one chunk (see
    ``Validation`` for the arguments)."""
    validation = Validation(
        list(frames), paths=paths, run_name=run_name, label=label, directory=directory, max_examples=max_examples
    )
    validation.add(frames)
    return validation.result()
