"""With a production target: promote deploys and smoke-checks it; rollback redeploys the previous version."""

from __future__ import annotations

import json
import subprocess

import pytest

from release.config import load_config
from release.workflow.target import probe
from tests.integration.release_flow.conftest import give_all_decisions

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def approved_with_production(make_release_repo):
    """A repository whose production runs v1.0.0 and whose candidate 1.1.0 has passed every gate; (repo, v1.0.0 sha)."""
    r = make_release_repo(production=True)
    v100 = r.repo.git("rev-parse", "v1.0.0^{commit}").strip()
    subprocess.run([str(r.path / "scripts" / "deploy"), "production", "1.0.0", v100], cwd=r.path, check=True,
                   capture_output=True)
    assert r.cli("prepare").exit_code == 0
    give_all_decisions(r)
    return r, v100


def test_promote_deploys_and_smoke_checks_production_and_rollback_redeploys(make_release_repo):
    r, v100 = approved_with_production(make_release_repo)
    res = r.cli("promote", "1.1.0", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    steps = {s["step"]: s for s in json.loads(res.stdout)["steps"]}
    assert steps["deploy"]["status"] == "done" and steps["smoke"]["status"] == "done"
    assert steps["smoke"]["counts"]["passed"] > 0
    production = load_config(r.path / "release.toml").targets["production"]
    seen = probe(production)  # the gateway's X-Version
    assert seen is not None and seen.version == "1.1.0"
    back = r.cli("rollback", "--json")
    assert back.exit_code == 0, back.stdout + back.stderr
    seen = probe(production)
    assert seen is not None and seen.version == "1.0.0"
    assert r.repo.git("rev-parse", "production").strip() == v100


def test_failed_smoke_after_deploy_marks_the_release_and_points_to_rollback(make_release_repo):
    r, v100 = approved_with_production(make_release_repo)
    # The production deploy starts a sandbox whose search always fails: the smoke subset must catch it.
    res = r.cli("promote", "1.1.0", "--json", env={"SANDBOX_ERROR_RATE": "event.search=1.0"})
    assert res.exit_code == 1, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["outcome"] == "FAILED_AFTER_PROMOTE", data
    assert "release rollback" in data["message"]
    steps = {s["step"]: s for s in data["steps"]}
    assert steps["smoke"]["status"] == "failed"
    status = json.loads(r.cli("status", "1.1.0", "--json").stdout)
    assert status["state"] == "FAILED_AFTER_PROMOTE"

    back = r.cli("rollback", "--json")
    assert back.exit_code == 0, back.stdout + back.stderr
    assert r.repo.git("rev-parse", "production").strip() == v100
    assert json.loads(r.cli("status", "1.1.0", "--json").stdout)["state"] == "ROLLED_BACK"
