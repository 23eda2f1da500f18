"""``dbv``: the everyday jobs from the command line.

    dbv sample      generate the synthetic LA returns into the landing folder
    dbv ingest      ingest the landing folder (or some LAs) into the raw layer
    dbv validate    check files as ingest would, writing nothing
    dbv template    write the Excel return template for LAs
    dbv demo        sample data + every asset materialised with Dagster
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .settings import DataPaths


def _paths(args: argparse.Namespace) -> DataPaths:
    if args.data_dir:
        os.environ["DBV_DATA_DIR"] = str(Path(args.data_dir).resolve())
    return DataPaths.from_env()


def cmd_sample(args: argparse.Namespace) -> int:
    from .sample import generate_sample

    from tqdm import tqdm

    paths = _paths(args)
    with tqdm(unit="LA", desc="sample") as bar:

        def progress(done: int, total: int, la_code: str) -> None:
            bar.total = total
            bar.update(done - bar.n)

        summary = generate_sample(paths.landing, seed=args.seed, la_codes=args.la or None,
                                  multiplier=args.multiplier, faults=args.faults, progress=progress)
    print(summary)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .ingest import files_by_la, ingest_landing

    paths = _paths(args)
    wanted = set(args.la) if args.la else None
    las = [la for la in files_by_la(paths.landing) if wanted is None or la in wanted]
    with tqdm(total=len(las), unit="LA", desc="ingest", disable=args.quiet) as bar:
        summary = ingest_landing(paths, las, progress=lambda la, result: bar.update(1))
    rows = sum(f.rows_loaded for f in summary.files), sum(f.rows_rejected for f in summary.files)
    print(
        f"{len(summary.files)} files processed ({summary.skipped} unchanged and skipped): "
        f"{summary.count('loaded')} loaded, {summary.count('rejected')} rejected; "
        f"{rows[0]:,} rows loaded, {rows[1]:,} rows rejected. Raw layer: {paths.raw}"
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .ingest import validate_file

    worst = 0
    for name in args.files:
        outcome = validate_file(Path(name))
        print(f"{name}: {outcome.outcome.upper()} — rows in {outcome.rows_in} = "
              f"loaded {outcome.rows_loaded} + rejected {outcome.rows_rejected}")
        for finding in outcome.findings.to_pylist()[: args.limit]:
            where = f"line {finding['line']}" if finding["line"] else "file"
            column = f", {finding['column_name']}" if finding["column_name"] else ""
            print(f"  {finding['severity']:<13} {finding['rule_code']:<16} {where}{column}: {finding['message']}")
        if outcome.findings.num_rows > args.limit:
            print(f"  … and {outcome.findings.num_rows - args.limit} more")
        worst = max(worst, 2 if outcome.outcome == "rejected" else int(outcome.rows_rejected > 0))
    return worst


def cmd_template(args: argparse.Namespace) -> int:
    from .assurance.template import write_template

    print(f"Template written: {write_template(Path(args.path))}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(_paths(args), multiplier=args.multiplier, la_count=args.las)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dbv", description="DBV data pipeline and warehouse")
    parser.add_argument("--data-dir", help="data folder (default: $DBV_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="generate synthetic LA returns into the landing folder")
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--la", action="append", help="only this LA (3-digit code); repeatable")
    p.add_argument("--multiplier", type=float, default=1.0, help="scale the number of children")
    p.add_argument("--faults", action="store_true", help="also write files with each fault class of spec §4")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("ingest", help="ingest new or changed landing files into the raw layer")
    p.add_argument("--la", action="append", help="only this LA (3-digit code); repeatable")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("validate", help="check files as ingest would, without loading them")
    p.add_argument("files", nargs="+")
    p.add_argument("--limit", type=int, default=50, help="findings to print per file")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("template", help="write the Excel return template (drop-downs for every code list)")
    p.add_argument("path", nargs="?", default="dbv_return_template.xlsx")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("demo", help="generate the sample and materialise every asset")
    p.add_argument("--multiplier", type=float, default=0.1, help="sample size (1.0 = national scale)")
    p.add_argument("--las", type=int, default=None, help="only the first N LAs")
    p.set_defaults(func=cmd_demo)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
