"""Dagster definitions for the public data (DfE EHCP release): the asset, its job, and a sensor
that reloads it when the release changes (the warehouse and playbook then follow by automation)."""

import datetime as dt
from pathlib import Path

import dagster as dg

from dbv_pipeline.public.assets import dfe_ehcp_release, release_source

public_data_job = dg.define_asset_job("public_data_job", selection=dg.AssetSelection.assets(dfe_ehcp_release))


def release_signature(source: str | None) -> str:
    """What identifies the configured release: a file's path, size and modification time; for a URL
    its address and today's date (so at most one reload a day); "none" without a release."""
    if source is None:
        return "none"
    path = Path(source)
    if path.exists():
        stat = path.stat()
        return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return f"{source}:{dt.date.today().isoformat()}"


@dg.sensor(job=public_data_job, minimum_interval_seconds=3600, default_status=dg.DefaultSensorStatus.RUNNING)
def public_release_sensor(context: dg.SensorEvaluationContext):
    """Reload the DfE release when it is new or changed; nothing runs while it stays the same."""
    signature = release_signature(release_source())
    if signature == context.cursor:
        return dg.SkipReason("The DfE release has not changed")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=signature)], cursor=signature)


defs = dg.Definitions(assets=[dfe_ehcp_release], jobs=[public_data_job], sensors=[public_release_sensor])
