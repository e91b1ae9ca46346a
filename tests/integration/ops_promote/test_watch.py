"""The post-promote watch against a production sandbox that gets slower right after the deploy.

The candidate ships deploy/faults.json ({"slowdown": {"event.search": 3.0}}), which scripts/deploy passes to the
production sandbox it starts as --slowdown event.search=3.0: the watch's comparison with the pre-deploy baseline
must FAIL, roll production back by itself, and leave all of it in the ledger and the audit chain.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release.config import load_config
from release.workflow.context import open_context
from release.workflow.promote import promote
from release.workflow.sandbox_deploy import stop_all
from release.workflow.target import probe
from tests.integration.ops_promote.conftest import build_ops_repo, deploy_production, prepared

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ops-watch")]

WATCH = '''[watch]
duration = "4s"
users = 6
weights = "searcher=100"
procedures = ["event.search"]
min_samples = 8
max_slowdown = 0.10
rollback = true
'''


def test_a_slowdown_right_after_the_deploy_fails_the_watch_and_rolls_production_back(tmp_path: Path) -> None:
    # The smoke step is waived here (tests/integration/release_flow runs it against a production sandbox): this
    # test is about the watch that follows it.
    r = build_ops_repo(tmp_path, extra=WATCH, sandbox=True, smoke_waiver="covered by release_flow",
                       candidate_files={"deploy/faults.json": json.dumps({"slowdown": {"event.search": 3.0}})})
    try:
        v100 = deploy_production(r, "1.0.0", "v1.0.0")
        prepared(r)
        plan = promote(open_context(r.path, environ=r.env, dry_run=True), "1.1.0").planned
        assert plan[2].startswith("watch baseline: 6 users for 4s") and plan[5].startswith("watch: 6 users"), plan
        res = r.cli("promote", "1.1.0", "--json")
        assert res.exit_code == 1, res.stdout + res.stderr
        data = json.loads(res.stdout)
        assert data["outcome"] == "ROLLED_BACK", data["message"]
        steps = {s["step"]: s for s in data["steps"]}
        assert [s["step"] for s in data["steps"]] == ["tag", "production-branch", "watch-baseline", "deploy",
                                                       "smoke", "watch"]
        watch = steps["watch"]
        assert watch["status"] == "failed" and watch["verdict"] == "FAIL", watch
        assert "event.search" in watch["reason"]
        assert watch["rollback"] == "done", watch

        production = load_config(r.path / "release.toml").targets["production"]
        seen = probe(production)
        assert seen is not None and seen.version == "1.0.0"
        assert r.repo.git("rev-parse", "production").strip() == v100

        status = json.loads(r.cli("status", "1.1.0", "--json").stdout)
        assert status["state"] == "ROLLED_BACK"
        from release.ledger import Ledger

        with Ledger.open(None, r.path, create=False) as ledger:
            actions = [(e.action, e.subject) for e in ledger.audit_events()]
            recorded = {s.step: s for s in ledger.steps("1.1.0")}
        assert ("release.watch_failed", "1.1.0") in actions and ("release.rolled_back", "1.1.0") in actions
        assert ("release.promoted", "1.1.0") not in actions
        assert recorded["watch"].status.value == "failed" and recorded["watch"].detail["verdict"] == "FAIL"
        assert recorded["watch-baseline"].status.value == "done"
        verify = r.cli("audit", "verify")
        assert verify.exit_code == 0, verify.stdout + verify.stderr
    finally:
        stop_all(r.run_dir)
