"""promote: blocked means nothing changed; a clean promote tags and moves production; resume; concurrency; rollback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.release_flow.conftest import BOARD, PREPARER, QA, give_all_decisions

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def assert_blocked_and_unchanged(r, *needles):
    """promote exits 1 naming each needle, and git refs and every ledger row are unchanged."""
    refs, rows = r.refs(), r.ledger_dump()
    res = r.cli("promote", "1.1.0", "--json")
    assert res.exit_code == 1, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["outcome"] == "BLOCKED"
    for needle in needles:
        assert needle in data["message"], data["message"]
    assert r.refs() == refs
    assert r.ledger_dump() == rows
    assert "v1.1.0\n" not in r.repo.git("tag", "--list") + "\n" or "refs/tags/v1.1.0 " not in refs
    return data


def test_blocked_by_a_missing_sign_off(candidate):
    give_all_decisions(candidate, skip=("qa",))
    assert_blocked_and_unchanged(candidate, "qa: PENDING")


def test_blocked_by_a_rejection(candidate):
    give_all_decisions(candidate, skip=("board2",))
    res = candidate.cli("approve", "1.1.0", "--reject", "--comment", "backout plan missing", "--as", BOARD[1])
    assert res.exit_code == 0, res.stderr
    assert_blocked_and_unchanged(candidate, "change-board: FAILED", "rejected by ops@example.org")


def test_blocked_by_a_failing_gate(candidate):
    give_all_decisions(candidate)
    res = candidate.cli("gate", "run", "checks", "--json", env={"CHECK_VERDICT": "fail"})
    assert res.exit_code == 1
    assert json.loads(res.stdout)["state"] == "FAILED"
    assert_blocked_and_unchanged(candidate, "checks: FAILED")


def test_blocked_by_stale_evidence_after_a_new_commit(candidate):
    give_all_decisions(candidate)
    assert candidate.cli("status").exit_code == 0  # promotable before the new commit
    candidate.repo.git("checkout", "--quiet", "release/v1.1.0")
    candidate.repo.commit("fix(search): late fix")
    assert candidate.cli("prepare", "--no-deploy", "--no-gates").exit_code == 0
    assert_blocked_and_unchanged(candidate, "checks: STALE", "commit changed")


def test_blocked_by_an_expired_waiver(candidate):
    give_all_decisions(candidate, skip=("qa",))
    res = candidate.cli("waive", "qa", "1.1.0", "--as", QA, "--reason", "QA lead on leave; smoke covered",
                        "--expires", "2020-01-05", env={"RELEASE_TEST_NOW": "2020-01-01T00:00:00+00:00"})
    assert res.exit_code == 0, res.stderr
    assert_blocked_and_unchanged(candidate, "qa: PENDING")
    status = json.loads(candidate.cli("status", "--json").stdout)
    qa = next(g for g in status["gates"] if g["gate"] == "qa")
    assert any("waiver expired" in reason for reason in qa["reasons"])


def test_a_valid_waiver_counts(candidate):
    give_all_decisions(candidate, skip=("qa",))
    res = candidate.cli("waive", "qa", "1.1.0", "--as", QA, "--reason", "covered by smoke", "--expires", "2999-01-01")
    assert res.exit_code == 0, res.stderr
    assert candidate.cli("status").exit_code == 0


def test_blocked_after_a_self_approval_is_refused(candidate):
    give_all_decisions(candidate, skip=("board2",))
    res = candidate.cli("approve", "1.1.0", "--as", PREPARER)
    assert res.exit_code == 1 and "prepared release 1.1.0" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert_blocked_and_unchanged(candidate, "1 of 2 approvals")


def test_the_same_approver_is_counted_once(candidate):
    give_all_decisions(candidate, skip=("board2",))
    for actor in (BOARD[0], BOARD[0].upper()):
        res = candidate.cli("approve", "1.1.0", "--as", actor)
        assert res.exit_code == 1 and "already approved" in res.stderr
    assert_blocked_and_unchanged(candidate, "1 of 2 approvals")


def test_promote_tags_the_candidate_and_moves_production_then_rollback(candidate):
    r = candidate
    give_all_decisions(r)
    sha = r.repo.git("rev-parse", "v1.1.0-rc.1^{commit}").strip()
    v100 = r.repo.git("rev-parse", "v1.0.0^{commit}").strip()
    dry = r.cli("promote", "1.1.0", "--dry-run", "--json")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["outcome"] == "PLANNED"
    assert "refs/tags/v1.1.0 " not in r.refs()
    res = r.cli("promote", "1.1.0", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert [s["step"] for s in json.loads(res.stdout)["steps"]] == ["tag", "production-branch", "deploy", "smoke",
                                                                    "audit"]
    assert r.repo.git("rev-parse", "v1.1.0^{commit}").strip() == sha
    assert r.repo.git("rev-parse", "production").strip() == sha
    again = r.cli("promote", "1.1.0", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["outcome"] == "ALREADY_PROMOTED"
    plan = r.cli("rollback", "--dry-run", "--json")
    assert plan.exit_code == 0 and r.repo.git("rev-parse", "production").strip() == sha
    back = r.cli("rollback", "--json")
    assert back.exit_code == 0, back.stdout + back.stderr
    assert json.loads(back.stdout)["to_version"] == "1.0.0"
    assert r.repo.git("rev-parse", "production").strip() == v100
    assert r.repo.git("rev-parse", "v1.1.0^{commit}").strip() == sha  # history is never rewritten
    states = {row[1]: row[5] for row in dict(r.ledger_dump())["releases"]}
    assert states["1.1.0"] == "ROLLED_BACK"
    nothing = r.cli("rollback")
    assert nothing.exit_code == 1 and "nothing to roll back" in nothing.stderr


def test_rollback_with_nothing_promoted_is_refused(candidate):
    refs = candidate.refs()
    res = candidate.cli("rollback")
    assert res.exit_code == 1 and "nothing to roll back" in res.stderr
    assert candidate.refs() == refs


@pytest.mark.parametrize("crash_after", ["tag", "production-branch"])
def test_a_killed_promotion_resumes_without_repeating_a_step(candidate, crash_after):
    r = candidate
    give_all_decisions(r)
    res = r.cli("promote", "1.1.0", env={"RELEASE_TEST_CRASH_AFTER_STEP": crash_after})
    assert res.exit_code == 137
    assert "refs/tags/v1.1.0 " in r.refs()
    res = r.cli("promote", "1.1.0", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    steps = {s["step"]: s["status"] for s in json.loads(res.stdout)["steps"]}
    assert steps["tag"] == "skipped (already done)"
    sha = r.repo.git("rev-parse", "v1.1.0-rc.1^{commit}").strip()
    assert r.repo.git("rev-parse", "production").strip() == sha
    done = [json.loads(row[5]) for row in dict(r.ledger_dump())["audit_events"] if row[3] == "promotion.step"]
    done_steps = [e["step"] for e in done if e["status"] == "done"]
    assert sorted(done_steps) == sorted(["tag", "production-branch", "deploy", "smoke", "audit"])


def test_two_concurrent_promotions_exactly_one_wins(candidate):
    r = candidate
    give_all_decisions(r)
    procs = [subprocess.Popen([sys.executable, "-m", "release.cli.main", "promote", "1.1.0", "--json"], cwd=r.path,
                              env=r.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    promoted = [o for o in outs if o[0] == 0 and json.loads(o[1])["outcome"] == "PROMOTED"]
    assert len(promoted) == 1, outs
    loser = next(o for o in outs if o is not promoted[0])
    assert (loser[0] == 1 and "already in progress" in loser[2]) or json.loads(loser[1])["outcome"] == "ALREADY_PROMOTED"
    claims = [row for row in dict(r.ledger_dump())["audit_events"] if row[3] == "promotion.claimed"]
    assert len(claims) == 1


def test_promote_and_rollback_are_announced_once_each_signed(candidate):
    """[[notify.webhook]] on promoted and rolled_back: each delivered once, inline, signed, with no secret in it."""
    from release.notify import verify_signature
    from tests.integration.release_notify.receiver import Receiver

    r, receiver = candidate, Receiver()
    try:
        toml = r.path / "release.toml"
        toml.write_text(toml.read_text() + f'''
[[notify.webhook]]
name = "ops"
url = "{receiver.url}"
secret_env = "HOOK_KEY"
events = ["promoted", "rolled_back"]
''')
        r.repo.git("commit", "--quiet", "-am", "chore: announce promotions")
        r.env["HOOK_KEY"] = "promote-hook-key"
        give_all_decisions(r)
        assert r.cli("promote", "1.1.0", "--json").exit_code == 0
        assert len(receiver.posts) == 1  # sent by promote itself, before the command returned
        assert r.cli("rollback", "--json").exit_code == 0
        assert len(receiver.posts) == 2
        events = [json.loads(body) for _, body in receiver.posts]
        assert [(e["event"], e["release"]) for e in events] == [("promoted", "1.1.0"), ("rolled_back", "1.1.0")]
        assert all(verify_signature("promote-hook-key", body, headers["x-release-signature-256"])
                   for headers, body in receiver.posts)
        assert not any("promote-hook-key" in body.decode() for _, body in receiver.posts)
        assert r.cli("audit", "verify").exit_code == 0
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
