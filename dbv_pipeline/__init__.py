"""DBV data pipeline and warehouse: ingest → assurance → warehouse → playbook."""

import warnings

# Dagster parameters in beta that this project chose on purpose (one run for a many-LA backfill; the
# automation sensor evaluating this project's own condition): no warning at every load.
warnings.filterwarnings("ignore", message=r"Parameter `(backfill_policy|use_user_code_server)`")
