"""Synthetic sample data: LA returns for every table, format variations, injected faults, cohorts.

Everything generated here is SYNTHETIC. Entry points: ``generate_sample`` (a landing folder of
returns), ``build_cohort`` / ``write_cohort_seed`` (the sample's programme cohorts).
"""

from .cohorts import build_cohort, cohort_csv, cohort_from_dsg, write_cohort_seed
from .faults import FAULT_CLASSES, FAULTS
from .generate import SampleSummary, generate_sample
from .las import DEFAULT_SEED, census_date
from .variations import VARIATIONS, sample_layout

__all__ = [
    "DEFAULT_SEED",
    "FAULTS",
    "FAULT_CLASSES",
    "VARIATIONS",
    "SampleSummary",
    "build_cohort",
    "census_date",
    "cohort_csv",
    "cohort_from_dsg",
    "generate_sample",
    "sample_layout",
    "write_cohort_seed",
]
