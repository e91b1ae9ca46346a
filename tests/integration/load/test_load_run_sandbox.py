"""`release load run --sandbox`: the throwaway target tox's `gates` env uses."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_load_run_against_a_throwaway_sandbox(run_cli, tmp_path):
    out = tmp_path / "load"
    result = run_cli("load", "run", "--sandbox", "--users", "5", "--spawn-rate", "5", "--duration", "6s",
                     "--out", str(out), "--format", "json")
    assert result.exit_code == 0, result.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["verdict"] == "PASSED"
    assert stats["target"]["url"].startswith("http://127.0.0.1:") and stats["target"]["version"] == "2.0.0-sandbox"
    assert stats["procedures"]["event.search"]["count"] > 0
    assert stats["procedures"]["event.actions.register.request"]["failures"] == 0
    profile = json.loads((out / "target.json").read_text())
    assert "release-gate-secret" not in json.dumps(profile), "the profile names secrets by env var only"


@pytest.mark.parametrize("args", [(), ("--target-file", "t.json", "--sandbox")])
def test_load_run_needs_exactly_one_target(run_cli, tmp_path, args):
    result = run_cli("load", "run", *args, "--out", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "exactly one of --target-file PATH (or $CRVS_TARGET_FILE) or --sandbox" in result.stderr
    assert not (tmp_path / "x").exists()
