"""``dbv``: the everyday jobs from the command line.

    dbv sample      generate the synthetic LA returns into the landing folder
    dbv ingest      ingest the landing folder (or some LAs) into the raw layer, with feedback reports
    dbv validate    check files as ingest would, writing nothing
    dbv template    write the Excel return template for LAs
    dbv demo        sample data + every asset materialised with Dagster

Exit codes: 0 all clean; 1 some files or rows were rejected; 2 a usage or environment error (a
missing file or data folder, a name clash), with a one-line message and no traceback.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from .settings import PipelineSettings

CLEAN, REJECTIONS, USAGE = 0, 1, 2
EXIT_CODES = "exit codes: 0 clean, 1 files or rows rejected, 2 usage or environment error"


class UserError(Exception):
    """A mistake in how dbv was called, or in its surroundings: reported in one line, exit 2."""


def _settings(args: argparse.Namespace, *, create: bool = False) -> PipelineSettings:
    """The settings of the environment, with the data folder of --data-dir; a missing data folder is
    an error unless this command creates it (or --create was given)."""
    settings = PipelineSettings.from_env()
    if args.data_dir:
        settings = PipelineSettings(**{**settings.model_dump(), "data_dir": str(Path(args.data_dir).resolve())})
    root = settings.paths.root
    if not root.is_dir():
        if not (create or args.create):
            raise UserError(
                f"the data folder {root} does not exist (check --data-dir or DBV_DATA_DIR, or pass --create to make it)"
            )
        root.mkdir(parents=True)
    return settings


def cmd_sample(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .reporting import SYNTHETIC_MARKER
    from .sample import generate_sample

    paths = _settings(args, create=True).paths
    with tempfile.TemporaryDirectory(dir=paths.root, prefix=".sample-") as tmp:
        staging = Path(tmp) / "landing"
        with tqdm(unit="LA", desc="sample", disable=args.quiet) as bar:

            def progress(done: int, total: int, la_code: str) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                summary = generate_sample(
                    staging,
                    seed=args.seed,
                    la_codes=args.la or None,
                    multiplier=args.multiplier,
                    faults=args.faults,
                    progress=progress,
                )
            except ValueError as error:
                raise UserError(str(error)) from None
        clashes = sorted(
            p.name for p in staging.iterdir() if (paths.landing / p.name).exists() and p.name != SYNTHETIC_MARKER
        )
        if clashes and not args.overwrite:
            raise UserError(
                f"{len(clashes)} files would replace returns in {paths.landing} (e.g. {clashes[0]}); "
                "pass --overwrite to replace them, or use another --data-dir"
            )
        paths.landing.mkdir(parents=True, exist_ok=True)
        for path in staging.iterdir():
            shutil.move(str(path), paths.landing / path.name)
        if summary.manifest_path:
            summary.manifest_path = Path(
                shutil.move(str(summary.manifest_path), paths.root / summary.manifest_path.name)
            )
    summary.landing_dir = paths.landing
    print(summary)
    return CLEAN


def cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .assurance.assets import reports_to_write
    from .assurance.data import assure_pending
    from .assurance.feedback import write_feedback_reports
    from .ingest import files_by_la, ingest_landing

    paths = _settings(args).paths
    if not paths.landing.is_dir():
        raise UserError(f"no landing folder at {paths.landing}: nothing to ingest")
    wanted = set(args.la) if args.la else None
    las = [la for la in files_by_la(paths.landing) if wanted is None or la in wanted]
    if wanted and not las:
        raise UserError(f"no landing files for LA {', '.join(sorted(wanted))} in {paths.landing}")
    with tqdm(total=len(las), unit="LA", desc="ingest", disable=args.quiet) as bar:
        summary = ingest_landing(paths, las, progress=lambda la, result: bar.update(1))
    assure_pending(paths, las)  # the raw tables' blocking checks: passed versions become visible to the warehouse
    reports = write_feedback_reports(paths, {la: reports_to_write(paths, la) for la in las}) if summary.files else []
    rows = sum(f.rows_loaded for f in summary.files), sum(f.rows_rejected for f in summary.files)
    print(
        f"{len(summary.files)} files processed ({summary.skipped} unchanged and skipped): "
        f"{summary.count('rejected')} rejected; {rows[0]:,} rows loaded, {rows[1]:,} rows rejected. "
        f"Raw layer: {paths.raw}"
    )
    for outcome in summary.files:
        if outcome.outcome == "rejected":
            reason = next((e["reason"] for e in outcome.events if e.get("reason")), "")
            print(f"  REJECTED {outcome.source_file}: {reason}")
        elif outcome.rows_rejected:
            print(f"  {outcome.source_file}: {outcome.rows_rejected:,} of {outcome.rows_in:,} rows rejected")
    if reports:
        print(f"{len(reports)} feedback reports in {paths.reports / 'feedback'}")
    rejected = summary.count("rejected") or rows[1]
    return REJECTIONS if rejected else CLEAN


def _files_to_validate(names: list[str]) -> list[Path]:
    from .ingest.process import SUFFIXES

    files = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not inside:
                raise UserError(f"{path}: a folder with no .csv or .xlsx file")
            files += inside
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"{path}: no such file or folder")
    return files


def findings_of(outcome) -> list[tuple]:
    """What the feedback report will list for a file: the ingest's findings, then the GX warnings on
    the rows it would load, as (severity, rule, line, column, reason)."""
    from .assurance.data import validate_rows
    from .assurance.feedback import gx_rows

    found = [
        (f["severity"], f["rule_code"], f["line"], f["column_name"], f["message"]) for f in outcome.findings.to_pylist()
    ]
    for table, rows in outcome.loaded.items():
        for row in gx_rows(validate_rows(table, rows).warnings, table):
            found.append(("warning", row["rule"], row["line"], row["column"], row["reason"]))
    return found


def cmd_validate(args: argparse.Namespace) -> int:
    from .ingest import validate_file

    worst = CLEAN
    for path in _files_to_validate(args.files):
        outcome = validate_file(path)
        print(
            f"{path}: {outcome.outcome.upper()} — rows in {outcome.rows_in} = "
            f"loaded {outcome.rows_loaded} + rejected {outcome.rows_rejected}"
        )
        found = findings_of(outcome)
        for severity, rule, line, column, reason in found[: args.limit]:
            where = f"line {line}" if line else "file"
            print(f"  {severity:<13} {rule:<16} {where}{f', {column}' if column else ''}: {reason}")
        if len(found) > args.limit:
            print(f"  … and {len(found) - args.limit} more")
        if outcome.outcome == "rejected" or outcome.rows_rejected:
            worst = REJECTIONS
    return worst


def cmd_template(args: argparse.Namespace) -> int:
    from .assurance.template import write_template

    print(f"Template written: {write_template(Path(args.path))}")
    return CLEAN


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(_settings(args, create=True), multiplier=args.multiplier, la_count=args.las)


class HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default where it has one worth saying (not for flags or optional lists)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


def common_options(default) -> argparse.ArgumentParser:
    """Options taken before or after the command (after it, they do not reset what came before)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", default=default, metavar="DIR", help="the data folder (default: $DBV_DATA_DIR, else ./data)"
    )
    common.add_argument(
        "--create", action="store_true", default=default or False, help="create the data folder if it does not exist"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    formatter = HelpWithDefaults
    parser = argparse.ArgumentParser(
        prog="dbv",
        description="DBV data pipeline and warehouse: LA returns → raw layer "
        "→ assurance → DuckDB warehouse → playbook.",
        epilog=EXIT_CODES,
        parents=[common_options(None)],
        formatter_class=formatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=description,
            epilog=EXIT_CODES,
            parents=[common_options(argparse.SUPPRESS)],
            formatter_class=formatter,
        )

    p = command(
        "sample",
        "generate synthetic LA returns into the landing folder",
        "Write SYNTHETIC returns (every table, spec §1 file names) for the chosen LAs into <data>/landing. "
        "Existing returns with the same names are kept unless --overwrite.",
    )
    p.add_argument("--seed", type=int, default=2025, help="random seed (same seed, same files)")
    p.add_argument("--la", action="append", metavar="CODE", help="only this LA (3-digit code); repeatable")
    p.add_argument("--multiplier", type=float, default=1.0, help="scale the number of children (1.0 = national scale)")
    p.add_argument(
        "--faults",
        action="store_true",
        help="also write files with each fault class of spec §4, listed in <data>/faults_manifest.json",
    )
    p.add_argument("--overwrite", action="store_true", help="replace landing files of the same name")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sample)

    p = command(
        "ingest",
        "ingest new or changed landing files into the raw layer",
        "Ingest every new or changed file in <data>/landing (spec §1 version rules), write each file's "
        "feedback report under <data>/reports/feedback/<la>/, and name every rejected file.",
    )
    p.add_argument("--la", action="append", metavar="CODE", help="only this LA (3-digit code); repeatable")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = command(
        "validate",
        "check files as ingest would, without loading them",
        "Check each file (or each .csv/.xlsx in a folder) against the return contract as ingest would; writes nothing.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="a return file, or a folder of them")
    p.add_argument("--limit", type=int, default=50, help="findings to print per file")
    p.set_defaults(func=cmd_validate)

    p = command(
        "template",
        "write the Excel return template for LAs",
        "Write the return template workbook: a sheet per table, drop-downs for every code list.",
    )
    p.add_argument("path", nargs="?", default="dbv_return_template.xlsx", help="where to write it")
    p.set_defaults(func=cmd_template)

    p = command(
        "demo",
        "generate the sample and materialise every asset",
        "Generate the synthetic sample (if the landing folder is empty) and run the ingest and the "
        "warehouse jobs with Dagster; prints where everything went.",
    )
    p.add_argument("--multiplier", type=float, default=0.1, help="sample size (1.0 = national scale)")
    p.add_argument("--las", type=int, default=None, help="only the first N LAs (default: all 153)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as error:
        print(f"dbv {args.command}: error: {error}", file=sys.stderr)
        return USAGE


if __name__ == "__main__":
    sys.exit(main())
