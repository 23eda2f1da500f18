"""When what is downstream of the ingest refreshes: the warehouse (dbt) and the playbook.

Runs are event-driven. The landing sensor ingests changed LAs and the release sensor reloads a changed
DfE release; the automation sensor then requests every asset whose upstream was updated since its
last tick, so one tick after an ingest asks for the warehouse and the playbook together. It is on from
the daemon's first start, and its first tick also catches up anything older than its upstream (an
ingest made while the daemon was down, or before this sensor existed); after ``make demo`` nothing is.
"""

from __future__ import annotations

import dagster as dg

from .ingest.assets import LEDGER_KEYS

NOT_A_TRIGGER = dg.AssetSelection.assets(*LEDGER_KEYS)


class UpstreamNewer(dg.AutomationCondition):
    """True for an unpartitioned asset that was materialised before one of its upstream assets (any
    partition of it, the ledger and findings aside) was last materialised."""

    @property
    def name(self) -> str:
        return "upstream_newer"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        empty = context.get_empty_subset()
        if context.candidate_subset.is_empty or context.partitions_def is not None:
            return dg.AutomationResult(context, true_subset=empty)
        parents = [key for key in context.asset_graph.get(context.key).parent_entity_keys if key not in LEDGER_KEYS]
        records = context.asset_graph_view.instance.get_asset_records([context.key, *parents])
        latest = {r.asset_entry.asset_key: r.asset_entry.last_materialization_storage_id for r in records}
        own = latest.get(context.key)
        newer = own is not None and any((latest.get(parent) or 0) > own for parent in parents)
        return dg.AutomationResult(context, true_subset=context.candidate_subset if newer else empty)


# Rebuild after any upstream update (an LA's new version, public data, a seed), the ledger and
# findings aside. Unlike plain eager(), do not wait for missing upstream partitions: LAs that have
# not submitted stay missing.
# On the sensor's first evaluation, also rebuild what is older than its upstream, with everything
# downstream of it in the same run (eager itself does nothing on a first evaluation).
REFRESH_ON_UPSTREAM_UPDATE = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .replace("any_deps_updated", dg.AutomationCondition.any_deps_updated().ignore(NOT_A_TRIGGER))
    | (
        dg.AutomationCondition.initial_evaluation()
        & (UpstreamNewer() | dg.AutomationCondition.any_deps_match(dg.AutomationCondition.will_be_requested()))
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("catch up on first evaluation")
).with_label("refresh on upstream update")

automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    use_user_code_server=True,  # UpstreamNewer is Python of this project's
    minimum_interval_seconds=30,
    description="Every 30 s: request the warehouse and playbook assets whose upstream was updated (an ingest, "
    "a DfE release, a seed); on its first tick also those older than their upstream. On from the start.",
)
