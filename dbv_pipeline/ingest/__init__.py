"""Ingest: landing files → typed raw layer (Parquet), with findings and a version ledger."""

from .process import FileOutcome, IngestSummary, files_by_la, ingest_la, ingest_landing, ingest_las, validate_file

__all__ = ["FileOutcome", "IngestSummary", "files_by_la", "ingest_la", "ingest_landing", "ingest_las", "validate_file"]
