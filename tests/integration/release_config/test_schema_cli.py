"""The shipped JSON Schema against the real CLI: `release init` in a real repository writes a file the schema
accepts, and a wrong value is named at the same key by `release version` and by a schema validator.

check-jsonschema (a dev dependency; what a CI job or a pre-commit hook would run) reads release.toml directly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import best_match

from release.config_models import key_path
from release.config_schema import SCHEMA_FILE
from tests.gitrepo import make_repo

pytestmark = pytest.mark.integration

SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
CHECK_JSONSCHEMA = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))

BASE = {
    "release": {"production_branch": "production", "tag": "v{version}"},
    "targets": {"staging": {"gateway": "http://127.0.0.1:7070", "two_fa": False}},
    "gates": {"regression": {"kind": "pytest"},
              "load": {"kind": "locust", "users": 40, "slo": {"event.search": {"p95_ms": 150}}}},
}


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema on a release.toml, with the shipped schema."""
    assert CHECK_JSONSCHEMA, "check-jsonschema is a dev dependency (pip install -e '.[dev]')"
    return subprocess.run([CHECK_JSONSCHEMA, "--schemafile", str(SCHEMA_FILE), str(path)],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("shape", ["new", "farajaland"])
def test_init_in_a_real_repository_writes_a_file_the_schema_accepts(tmp_path, run_cli, shape):
    if shape == "new":
        repo = make_repo(tmp_path / "r", ["chore: init", "feat: a"])
    else:  # tags v1.9.x, production on master, release-vX.Y.Z branches
        repo = make_repo(tmp_path / "r", ["chore: init", "feat: a", "fix: b"], branch="develop",
                         tags={"v1.9.0": 0, "v1.9.1": 1}, production_branch="master", production_branch_at=1)
        repo.git("branch", "release-v1.9.1", "master")
    result = run_cli("init", cwd=repo.path)
    assert result.exit_code == 0, result.stderr
    path = repo.path / "release.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for validator in (Draft202012Validator(SCHEMA), Draft7Validator(SCHEMA)):
        assert [e.message for e in validator.iter_errors(data)] == []
    checked = check_jsonschema(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(("parts", "value"), [
    (("gates", "load", "users"), "forty"),
    (("gates", "load", "slo", "event.search", "p95_ms"), "fast"),
    (("targets", "staging", "two_fa"), "yes"),
    (("release", "tag"), 1),
])
def test_a_wrong_type_is_named_at_the_same_key_by_the_schema_and_the_cli(tmp_path, run_cli, parts, value):
    repo = make_repo(tmp_path / "r", ["chore: init", "feat: a"])
    doc: dict[str, Any] = json.loads(json.dumps(BASE))
    node = doc
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    path = repo.path / "release.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")

    result = run_cli("version", cwd=repo.path)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: release.toml: "), result.stderr
    cli_key = result.stderr.removeprefix("error: release.toml: ").split(": expected", 1)[0]
    assert cli_key == key_path(*parts)

    for validator in (Draft202012Validator(SCHEMA), Draft7Validator(SCHEMA)):
        error = best_match(validator.iter_errors(doc))
        assert error is not None and key_path(*error.absolute_path) == cli_key, error and error.message
    checked = check_jsonschema(path)
    assert checked.returncode == 1
    assert f"::{error.json_path}: " in checked.stdout, checked.stdout
