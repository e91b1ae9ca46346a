"""The config `release init` writes has every gate the shipped pipelines run (pipelines/github, pipelines/gitlab).

The pipelines are read when the test runs, so a gate added to a pipeline without adding it to init's template
fails here. A gate name the test cannot resolve (an unknown `${{ ... }}` or `$VAR`) fails too, rather than pass
unseen.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from release.config import default_config_text, parse_config
from release.workflow.init_detect import Detection, render_config
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.unit

PIPELINES = sorted([*REPO_ROOT.glob("pipelines/github/*.yml"), *REPO_ROOT.glob("pipelines/gitlab/*.yml")])
_GATE_RUN = re.compile(r"\brelease\s+gate\s+run\s+(\"[^\"]*\"|'[^']*'|\S+)")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MATRIX = re.compile(r"^\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}$")
_ENV = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _values(node: Any, key: str) -> list[str]:
    """Every scalar value given to `key` anywhere under node (a matrix axis, a variable, a parallel matrix)."""
    found: list[str] = []
    if isinstance(node, Mapping):
        for k, value in node.items():
            if k == key:
                found += [str(v) for v in (value if isinstance(value, list) else [value])
                          if isinstance(v, str | int) and not isinstance(v, bool)]
            else:
                found += _values(value, key)
    elif isinstance(node, list):
        for value in node:
            found += _values(value, key)
    return found


def _job_gates(job: Any, where: str) -> set[str]:
    gates: set[str] = set()
    for text in _strings(job):
        for token in _GATE_RUN.findall(text):
            token = token.strip("\"'")
            m_matrix, m_env = _MATRIX.match(token), _ENV.match(token)
            names = (_values(job, m_matrix.group(1)) if m_matrix else _values(job, m_env.group(1)) if m_env
                     else [token])
            assert names, f"{where}: cannot tell which gate `release gate run {token}` runs; teach this test"
            for name in names:
                assert _NAME.match(name), f"{where}: cannot tell which gate `release gate run {token}` runs"
                gates.add(name)
    return gates


def pipeline_gates(path: Path) -> set[str]:
    """The gate names a pipeline file runs with `release gate run NAME`, job by job."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, Mapping), f"{path}: expected a YAML mapping"
    jobs = document.get("jobs") if "jobs" in document else document  # GitHub: jobs:, GitLab: top-level jobs
    assert isinstance(jobs, Mapping)
    gates: set[str] = set()
    for name, job in jobs.items():
        gates |= _job_gates(job, f"{path.relative_to(REPO_ROOT)} job {name}")
    return gates


def test_the_pipelines_exist_and_run_gates():
    assert {p.parent.name for p in PIPELINES} == {"github", "gitlab"}
    assert any(pipeline_gates(p) for p in PIPELINES if p.parent.name == "github")
    assert any(pipeline_gates(p) for p in PIPELINES if p.parent.name == "gitlab")


@pytest.mark.parametrize("text", [default_config_text(), render_config(Detection(Path("/repo")))],
                         ids=["no-repository", "repository"])
@pytest.mark.parametrize("pipeline", PIPELINES, ids=[str(p.relative_to(REPO_ROOT)) for p in PIPELINES])
def test_init_config_has_every_gate_the_pipeline_runs(pipeline: Path, text: str):
    config = parse_config(tomllib.loads(text), Path("release.toml"))
    for gate in sorted(pipeline_gates(pipeline)):
        assert gate in config.gates, f"{pipeline.relative_to(REPO_ROOT)} runs gate {gate!r}; init's config has no " \
                                     f"[gates.{gate}]"
        assert config.gates[gate].automated, f"gate {gate!r} runs in CI, so it must be an automated kind"


def test_the_matrix_and_variable_forms_are_resolved():
    job = {"strategy": {"matrix": {"gate": ["regression", "browser"]}},
           "steps": [{"run": 'release gate run "${{ matrix.gate }}" --candidate "$CANDIDATE"'}]}
    gitlab = {"parallel": {"matrix": [{"GATE": ["load"]}]}, "script": ["release gate run $GATE --format gitlab"]}
    assert _job_gates(job, "job") == {"regression", "browser"}
    assert _job_gates(gitlab, "job") == {"load"}
    with pytest.raises(AssertionError, match="cannot tell which gate"):
        _job_gates({"steps": [{"run": "release gate run ${{ inputs.gate }}"}]}, "job")


def test_regression_and_browser_gates_do_not_run_the_same_tests():
    config = parse_config(tomllib.loads(default_config_text()), Path("release.toml"))
    regression, browser = config.gates["regression"], config.gates["browser"]
    assert (regression.kind, browser.kind) == ("pytest", "browser")
    # The browser gate runs `-m "browser and (<markers>)"` (gate_runner._regression); regression must leave them out.
    assert regression.options["markers"] == "not browser"
    assert "markers" not in browser.options
