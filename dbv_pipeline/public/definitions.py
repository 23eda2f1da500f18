"""Dagster definitions for the public data (DfE EHCP release): the asset, its job, and a sensor
that reloads it when the release changes (the warehouse and playbook then follow by automation)."""

import dagster as dg

from dbv_pipeline.public.assets import dfe_ehcp_release, loaded_release_signature
from dbv_pipeline.public.dfe_ehcp import release_signature
from dbv_pipeline.settings import PipelineSettings

public_data_job = dg.define_asset_job("public_data_job", selection=dg.AssetSelection.assets(dfe_ehcp_release))


@dg.sensor(
    job=public_data_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Hourly: reload DfE's EHCP release when it is new or changed (a file's size and time, a web "
    "address's ETag and Last-Modified); compares with the release last loaded, so a restart reloads nothing.",
)
def public_release_sensor(context: dg.SensorEvaluationContext, settings: PipelineSettings):
    """Reload the DfE release when it is new or changed; nothing runs while it stays the same."""
    source = settings.release_source
    try:
        signature = "none" if source is None else release_signature(source)
    except OSError as error:
        return dg.SkipReason(f"The DfE release at {source} cannot be reached: {error}")
    if signature == (context.cursor or loaded_release_signature(context.instance)):
        return dg.SensorResult(skip_reason="The DfE release has not changed", cursor=signature)
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=signature)], cursor=signature)


defs = dg.Definitions(assets=[dfe_ehcp_release], jobs=[public_data_job], sensors=[public_release_sensor])
