"""A browser gate's `chromium` key reaches the suite: the gate drives that browser, and a missing one fails the gate
naming it (taken from the repository root when relative), never another browser found elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release.workflow.sandbox_deploy import stop_all
from tests.integration.release_flow.conftest import base_env, build_release_repo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BROWSER_GATE = '''
[gates.browser]
kind = "browser"
markers = "smoke"
chromium = "tools/no-such-chrome"
'''


def test_the_gates_chromium_is_the_one_the_suite_looks_for(tmp_path: Path):
    repo = build_release_repo(tmp_path, base_env(tmp_path / "home"), extra_gates=BROWSER_GATE)
    try:
        result = repo.cli("prepare", "--json")
    finally:
        stop_all(repo.run_dir)
    assert result.exit_code == 1, result.stdout + result.stderr
    gates = {g["gate"]: g for g in json.loads(result.stdout)["gates"]}
    assert gates["checks"]["state"] == "PASSED"  # the candidate and staging are fine: only the browser is missing
    browser = gates["browser"]
    assert browser["state"] in ("FAILED", "ERROR")
    assert f"browser tests need Chromium at {repo.path / 'tools' / 'no-such-chrome'}" in browser["reason"]
