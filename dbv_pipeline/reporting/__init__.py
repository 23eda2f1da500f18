"""The pipeline's HTML pages, from one place: Jinja2 templates with autoescape (``templates/``), one
stylesheet (``templates/style.css``, inlined so a page opens from the file system), the formatters
(``formats``) and the rule for synthetic data.

Every value reaches a page through a template expression, which escapes it. The only markup marked
safe is the charts' SVG (``playbook/charts.py``, which escapes the text it embeds).

Synthetic data: LA returns are synthetic when the landing folder holds the sample generator's
``README_SYNTHETIC.txt`` (``returns_synthetic``); the programme cohort when ``dim_la.cohort_source``
is ``synthetic`` (``playbook.data.provenance``). A page is stamped SYNTHETIC when anything it shows
is: an LA's feedback report shows its return, the playbook shows returns and cohort.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from . import formats

SYNTHETIC_MARKER = "README_SYNTHETIC.txt"  # written into the landing folder by the sample generator


def returns_synthetic(landing: Path) -> bool:
    """Whether the LA returns of this landing folder are the synthetic sample."""
    return (landing / SYNTHETIC_MARKER).exists()


@cache
def environment() -> jinja2.Environment:
    """The templates, autoescaped; an undefined name is an error. Values come formatted (``formats``),
    but for the feedback report's findings (``text``)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__name__, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["text"] = formats.text
    return env


def render(template: str, **context) -> str:
    """A page from ``templates/<template>``."""
    return environment().get_template(template).render(**context)
