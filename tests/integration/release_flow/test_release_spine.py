"""prepare on a real repository: candidate, tags, ledger, deploy to a real sandbox, a command gate, the report."""

from __future__ import annotations

import json

import pytest

from tests.integration.release_flow.conftest import AUTHOR, PREPARER

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_prepare_cuts_the_candidate_deploys_it_and_runs_the_gate(candidate):
    r = candidate
    sha = r.repo.git("rev-parse", "release/v1.1.0").strip()
    assert r.repo.git("rev-parse", "v1.1.0-rc.1^{commit}").strip() == sha
    assert sha == r.repo.git("rev-parse", "main").strip()
    res = r.cli("status", "1.1.0", "--json")
    data = json.loads(res.stdout)
    assert res.exit_code == 1  # manual gates pending
    assert data["candidate"]["tag"] == "v1.1.0-rc.1" and data["preparer"] == PREPARER
    checks = next(g for g in data["gates"] if g["gate"] == "checks")
    assert checks["state"] == "PASSED"
    assert checks["evidence"]["commit"] == sha and checks["evidence"]["target_version"] == "1.1.0-rc.1"
    assert {a["kind"] for a in checks["evidence"]["artifacts"]} >= {"junit"}
    assert all(len(a["sha256"]) == 64 for a in checks["evidence"]["artifacts"])
    acceptance = next(g for g in data["gates"] if g["gate"] == "acceptance")
    assert any("AC-1 verified by" in reason for reason in acceptance["reasons"])
    reports = sorted(p.name for p in (r.path / ".release" / "reports" / "v1.1.0-rc.1").iterdir())
    assert reports == ["CHANGELOG.md", "report.html", "report.md"]
    md = (r.path / ".release" / "reports" / "v1.1.0-rc.1" / "report.md").read_text()
    assert "search by registration number" in md and "BLOCKED" in md and sha in md


def test_prepare_again_on_the_same_head_reuses_the_candidate(candidate):
    r = candidate
    before = r.refs()
    res = r.cli("prepare", "--no-deploy", "--no-gates", "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["tag"] == "v1.1.0-rc.1" and data["tag_created"] is False
    assert r.refs() == before
    assert [row[0] for row in dict(r.ledger_dump())["candidates"]] == [1]


def test_a_new_commit_on_the_release_branch_gets_the_next_rc_and_old_evidence_turns_stale(candidate):
    r = candidate
    r.repo.git("checkout", "--quiet", "release/v1.1.0")
    r.repo.commit("fix(search): trim the registration number")
    res = r.cli("prepare", "--no-deploy", "--no-gates", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["tag"] == "v1.1.0-rc.2"
    st = json.loads(r.cli("status", "--json").stdout)
    checks = next(g for g in st["gates"] if g["gate"] == "checks")
    assert checks["state"] == "STALE" and "commit changed" in checks["reasons"][0]


def test_dry_run_prepare_plans_every_step_and_changes_nothing(make_release_repo):
    r = make_release_repo()
    before_refs = r.refs()
    res = r.cli("prepare", "--dry-run", "--json")
    assert res.exit_code == 0, res.stderr
    planned = json.loads(res.stdout)["planned"]
    assert any("create branch release/v1.1.0" in p for p in planned)
    assert any("create tag v1.1.0-rc.1" in p for p in planned)
    assert any(p.startswith("deploy to staging: scripts/deploy staging 1.1.0-rc.1") for p in planned)
    assert any("run gate checks" in p for p in planned)
    assert r.refs() == before_refs
    assert not (r.path / ".release" / "ledger.db").exists() or all(
        not rows for table, rows in r.ledger_dump() if table != "alembic_version")
    assert not list(r.run_dir.glob("*.pid"))  # nothing was deployed


def test_prepare_refuses_a_dirty_tree(make_release_repo):
    r = make_release_repo()
    (r.path / "notes.txt").write_text("uncommitted\n")
    res = r.cli("prepare", "--no-deploy", "--no-gates")
    assert res.exit_code == 2
    assert "uncommitted or untracked" in res.stderr and "Traceback" not in res.stderr
    assert "v1.1.0-rc.1" not in r.refs()


def test_a_failing_deploy_makes_the_gates_error(make_release_repo):
    r = make_release_repo()
    (r.run_dir / "staging.json").unlink()  # the deploy script cannot know where to deploy
    res = r.cli("prepare", "--json")
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["gates"][0]["state"] == "ERROR" and "deploy to staging failed" in data["gates"][0]["reason"]


def test_the_commit_author_cannot_approve(candidate):
    res = candidate.cli("approve", "1.1.0", "--as", AUTHOR)
    assert res.exit_code == 1 and "authored a commit" in res.stderr
