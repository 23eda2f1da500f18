"""Dagster assets ``["public", <table>]``: the DfE EHCP release as Parquet under ``DataPaths.public``.

The release comes from the ``settings`` resource (``DBV_DFE_EHCP_SOURCE``: DfE's download address by
default, or a zip, a folder, a folder of release zips, or several separated by commas or spaces; ``none``
for no public data). Without a release the tables are written empty (with their schema), so a machine
without one still runs the pipeline. A release that cannot be read leaves the last good public data in
place (or empty tables if there is none), and the error names every missing file and column and the
layout detected. In a run of its own nothing is then materialised (nothing downstream reruns); in a run
that also builds the warehouse (``warehouse_job``) the kept tables are recorded as materialised, with
the error, so that the marts and the playbook still build on them instead of being skipped.
"""

import zipfile

import dagster as dg
import pyarrow.parquet as pq

from dbv_pipeline.public import dfe_ehcp
from dbv_pipeline.settings import PipelineSettings

RELEASE_KEY = dg.AssetKey(["public", "caseload"])  # carries the loaded release's signature
UNREADABLE = (OSError, zipfile.BadZipFile, dfe_ehcp.ReleaseLayoutError)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["public", table],
            group_name="public",
            kinds={"parquet"},
            skippable=True,
            description=f"DfE EHCP release: {table} (docs/public_data.md)",
        )
        for table in dfe_ehcp.TABLES
    ],
)
def dfe_ehcp_release(context: dg.AssetExecutionContext, settings: PipelineSettings):
    """Load the DfE "Education, health and care plans" release into one Parquet file per table."""
    out_dir = settings.paths.public
    source = settings.release_source
    signature, problem = "none", ""
    if source is None:
        context.log.warning("No DfE EHCP release (DBV_DFE_EHCP_SOURCE=none): writing empty public tables")
        written = dfe_ehcp.write_empty(out_dir)
    else:
        try:
            signature = dfe_ehcp.release_signature(source)
            written = dfe_ehcp.load_release(source, out_dir)
        except UNREADABLE as error:
            kept = {table: out_dir / f"{table}.parquet" for table in dfe_ehcp.TABLES}
            if all(path.exists() for path in kept.values()):
                context.log.error(
                    f"The DfE release at {source} cannot be read ({error}); the last good public data stays"
                )
                downstream = context.job_def.asset_layer.selected_asset_keys - set(context.selected_asset_keys)
                if not downstream:
                    return  # nothing materialised: nothing downstream reruns
                signature, written = loaded_release_signature(context.instance) or "kept", kept
                problem = f"kept the last good public data: {error}"
            else:
                context.log.error(f"The DfE release at {source} cannot be read ({error}); writing empty public tables")
                signature, written = f"unreadable:{source}", dfe_ehcp.write_empty(out_dir)
                problem = f"empty tables: {error}"
    provenance = dfe_ehcp.provenance_text(dfe_ehcp.read_provenance(out_dir))
    for table, path in written.items():
        yield dg.MaterializeResult(
            asset_key=["public", table],
            metadata={
                "path": str(path),
                "source": source or "none",
                "release_signature": signature,
                "releases": provenance,
                "problem": problem,
                "dagster/row_count": pq.read_metadata(path).num_rows,
            },
        )


def loaded_release_signature(instance: dg.DagsterInstance) -> str | None:
    """The signature of the release the public tables were last loaded from, if any."""
    event = instance.get_latest_materialization_event(RELEASE_KEY)
    value = (
        event.asset_materialization.metadata.get("release_signature") if event and event.asset_materialization else None
    )
    return value.value if value is not None else None
