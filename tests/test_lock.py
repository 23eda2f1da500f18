"""requirements.lock: in step with pyproject.toml's ranges, and what `make setup` installed."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _locked() -> tuple[dict[str, str], list[str]]:
    """The lock's pins that apply to this interpreter ({name: version}) and the extras it was compiled with."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    extras = re.findall(r"--extra (\S+)", text.split("\n", 3)[1])
    pins = {}
    for line in text.splitlines():
        if line and not line.startswith((" ", "#")):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(default_environment()):
                [spec] = requirement.specifier
                pins[canonicalize_name(requirement.name)] = spec.version
    return pins, extras


def test_the_lock_satisfies_every_range_of_pyproject():
    pins, extras = _locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    optional = project["optional-dependencies"]

    def of(extra: str) -> list[Requirement]:  # an extra's requirements; one naming the project brings its extras'
        requirements = [Requirement(r) for r in optional[extra]]
        own = canonicalize_name(project["name"])
        return [r for r in requirements if canonicalize_name(r.name) != own] + [
            nested for r in requirements if canonicalize_name(r.name) == own for e in r.extras for nested in of(e)
        ]

    wanted = [Requirement(r) for r in project["dependencies"]] + [r for extra in extras for r in of(extra)]
    stale = [
        r
        for r in wanted
        if pins.get(canonicalize_name(r.name)) is None or pins[canonicalize_name(r.name)] not in r.specifier
    ]
    assert not stale, f"requirements.lock does not satisfy {[str(r) for r in stale]}: run make lock"


def test_the_virtualenv_has_exactly_the_locked_versions():
    pins, _ = _locked()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differ = {name: (version, installed.get(name)) for name, version in pins.items() if installed.get(name) != version}
    assert not differ, f"(locked, installed) differ: {differ}: run make setup"
