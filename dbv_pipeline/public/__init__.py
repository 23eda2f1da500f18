"""Public data the pipeline reads (spec §5): DfE's "Education, health and care plans" release."""
