"""Dagster assets ``["public", <table>]``: the DfE EHCP release as Parquet under ``DataPaths.public``.

The release comes from ``DBV_DFE_EHCP_SOURCE`` (a zip, a folder or an http(s) URL); unset, from
``<repo>/../shared/data/dfe_ehcp/education-health-and-care-plans_2025.zip`` if it exists. Without a
release the tables are written empty (with their schema), so a fresh machine still runs the pipeline.
"""

import os

import dagster as dg
import pyarrow.parquet as pq

from dbv_pipeline.public import dfe_ehcp
from dbv_pipeline.settings import PROJECT_ROOT, DataPaths

SOURCE_ENV = "DBV_DFE_EHCP_SOURCE"
DEFAULT_SOURCE = PROJECT_ROOT.parent / "shared/data/dfe_ehcp/education-health-and-care-plans_2025.zip"


def release_source() -> str | None:
    """The configured release (path or URL), the default release if present, else None."""
    return os.environ.get(SOURCE_ENV) or (str(DEFAULT_SOURCE) if DEFAULT_SOURCE.exists() else None)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["public", table], group_name="public", kinds={"parquet"},
                     description=f"DfE EHCP release: {table} (docs/public_data.md)")
        for table in dfe_ehcp.TABLES
    ],
)
def dfe_ehcp_release(context: dg.AssetExecutionContext):
    """Load the DfE "Education, health and care plans" release into one Parquet file per table."""
    out_dir = DataPaths.from_env().public
    source = release_source()
    if source is None:
        context.log.warning(f"No DfE EHCP release: set {SOURCE_ENV}; writing empty public tables")
        written = dfe_ehcp.write_empty(out_dir)
    else:
        written = dfe_ehcp.load_release(source, out_dir)
    for table, path in written.items():
        yield dg.MaterializeResult(
            asset_key=["public", table],
            metadata={"path": str(path), "source": source or "none", "rows": pq.read_metadata(path).num_rows},
        )
