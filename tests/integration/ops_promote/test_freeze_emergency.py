"""Freeze windows and the emergency path against a real git repository and ledger (SQLite).

A promote inside a [[freeze]] window exits 1 naming it and changes no ref and no ledger row. An emergency promote
needs approvals from the [emergency] role (never the preparer's nor the promoter's own) and a reason; it is
recorded as an emergency, and the next prepare refuses until a follow-up review is recorded.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from release.errors import Blocked, InputError, NotInRole, SeparationOfDuties, UsageError
from release.ledger import Ledger
from release.workflow import emergency
from release.workflow.context import open_context
from release.workflow.promote import promote
from release.workflow.status import evaluate_release, view_json
from tests.integration.ops_promote.conftest import (
    CIO,
    DUTY,
    REVIEWER,
    build_ops_repo,
    prepared,
    window_around_now,
)
from tests.integration.release_flow.conftest import PREPARER, ReleaseRepo

pytestmark = pytest.mark.integration


def ops_extra() -> str:
    start, end = window_around_now()
    text = (f'[[freeze]]\nname = "elections-2027"\nreason = "general elections"\nstart = {start}\nend = {end}\n'
            'timezone = "Africa/Lusaka"\n\n'
            f'[[freeze]]\nreason = "national census"\nstart = 2999-01-10\nend = 2999-01-20\n\n')
    return text + '[emergency]\nrole = "ecab"\nreview_role = "cab"\n'


def ctx_as(r: ReleaseRepo, actor: str):
    return open_context(r.path, actor=actor, environ=r.env)


def audit_actions(r: ReleaseRepo) -> list[tuple[str, str, dict]]:
    with Ledger.open(None, r.path, create=False) as ledger:
        return [(e.action, e.subject, dict(e.payload)) for e in ledger.audit_events()]


def record_md(r: ReleaseRepo, version: str) -> str:
    """The Markdown change record `release report` writes."""
    out = r.path.parent / f"record-{version}.md"
    res = r.cli("report", version, "--format", "md", "--out", str(out))
    assert res.exit_code == 0, res.stdout + res.stderr
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    """Candidate 1.1.0 with every gate passed, inside a freeze window in force now."""
    return prepared(build_ops_repo(tmp_path_factory.mktemp("frozen"), extra=ops_extra()))


@pytest.fixture
def candidate(frozen: ReleaseRepo, tmp_path: Path) -> ReleaseRepo:
    from tests.integration.release_flow.conftest import clone_release_repo

    return clone_release_repo(frozen, tmp_path / "clone")


def test_promote_inside_a_freeze_window_exits_1_names_it_and_changes_nothing(candidate: ReleaseRepo) -> None:
    refs, rows = candidate.refs(), candidate.ledger_dump()
    res = candidate.cli("promote", "1.1.0")
    assert res.exit_code == 1, res.stdout + res.stderr
    assert "elections-2027 (general elections)" in res.stderr and "Africa/Lusaka" in res.stderr
    assert "nothing was changed" in res.stderr
    assert candidate.refs() == refs and candidate.ledger_dump() == rows
    assert "refs/tags/v1.1.0 " not in candidate.refs()

    status = candidate.cli("status", "1.1.0", "--json")
    assert status.exit_code == 1
    data = json.loads(status.stdout)
    assert data["freeze"]["active"]["name"] == "elections-2027"
    assert data["freeze"]["upcoming"]["reason"] == "national census"
    assert any("elections-2027" in reason for reason in data["blocking_reasons"])


def test_an_emergency_promote_without_an_emergency_approval_exits_1_and_changes_nothing(
        candidate: ReleaseRepo) -> None:
    refs, rows = candidate.refs(), candidate.ledger_dump()
    res = candidate.cli("promote", "1.1.0", "--emergency", "--reason", "registration offices cannot print", actor=CIO)
    assert res.exit_code == 1, res.stdout + res.stderr
    assert "needs 1 approval(s) from role ecab" in res.stderr
    with pytest.raises(UsageError, match="--reason"):
        promote(ctx_as(candidate, CIO), "1.1.0", emergency=True)
    assert candidate.refs() == refs and candidate.ledger_dump() == rows


def test_the_emergency_role_is_checked_with_separation_of_duties(candidate: ReleaseRepo) -> None:
    with pytest.raises(SeparationOfDuties):  # the preparer is in ecab, and still may not authorise it
        emergency.approve(ctx_as(candidate, PREPARER), "1.1.0", reason="hotfix")
    with pytest.raises(NotInRole):
        emergency.approve(ctx_as(candidate, REVIEWER), "1.1.0", reason="hotfix")
    emergency.approve(ctx_as(candidate, DUTY), "1.1.0", reason="hotfix")
    planned = promote(open_context(candidate.path, actor=CIO, environ=candidate.env, dry_run=True), "1.1.0",
                      emergency=True, reason="hotfix")
    assert planned.outcome == "PLANNED" and "approved by duty@example.org" in planned.planned[0]
    with pytest.raises(Blocked, match="has 0 valid"):  # the promoter's own approval does not count
        promote(ctx_as(candidate, DUTY), "1.1.0", emergency=True, reason="hotfix")
    with pytest.raises(UsageError):
        promote(ctx_as(candidate, CIO), "1.1.0", reason="hotfix")  # --reason without --emergency


def test_an_approved_emergency_promote_is_recorded_and_demands_a_review(candidate: ReleaseRepo) -> None:
    emergency.approve(ctx_as(candidate, DUTY), "1.1.0", reason="death registrations fail since 1.0.0")
    res = candidate.cli("promote", "1.1.0", "--emergency", "--reason", "death registrations fail", "--json",
                        actor=CIO)
    assert res.exit_code == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["outcome"] == "PROMOTED" and "EMERGENCY" in data["message"]
    assert "refs/tags/v1.1.0 " in candidate.refs()
    events = audit_actions(candidate)
    record = next(p for a, s, p in events if a == "promotion.emergency" and s == "1.1.0")
    assert record["approvers"] == [DUTY] and record["reason"] == "death registrations fail"
    assert record["window"]["label"] == "elections-2027 (general elections)"
    promoted = next(p for a, s, p in events if a == "release.promoted" and s == "1.1.0")
    assert promoted["emergency"]["approvers"] == [DUTY]

    pending = record_md(candidate, "1.1.0")  # the change record says emergency, and that the review is owed
    assert f"emergency promotion by {CIO}" in pending and "approved by " + DUTY in pending
    assert "follow-up review: pending" in pending
    assert "promoted on the emergency path" in pending and "**Risk: HIGH**" in pending

    refused = candidate.cli("prepare")  # the next release waits for the review
    assert refused.exit_code == 1 and "release review 1.1.0" in refused.stderr, refused.stderr
    with pytest.raises(SeparationOfDuties, match="ran the emergency promotion"):
        emergency.review(ctx_as(candidate, CIO), "1.1.0", notes="fine")
    with pytest.raises(NotInRole):
        emergency.review(ctx_as(candidate, PREPARER), "1.1.0", notes="fine")
    done = candidate.cli("review", "1.1.0", "--notes", "root cause found; tests added", actor=REVIEWER)
    assert done.exit_code == 0, done.stdout + done.stderr
    status = view_json(evaluate_release(ctx_as(candidate, PREPARER), "1.1.0"))
    assert status["emergency"]["promoted_by"] == CIO and status["review"]["reviewed_by"] == REVIEWER
    reviewed = record_md(candidate, "1.1.0")
    assert f"follow-up review by {REVIEWER}" in reviewed and "follow-up review: pending" not in reviewed
    with pytest.raises(InputError, match="already reviewed"):
        emergency.review(ctx_as(candidate, REVIEWER), "1.1.0", notes="again")
    emergency.refuse_pending(ctx_as(candidate, PREPARER), "prepare")  # no longer refused
    assert candidate.cli("audit", "verify").exit_code == 0


def test_without_an_emergency_table_nobody_can_promote_in_a_freeze(candidate: ReleaseRepo) -> None:
    ctx = ctx_as(candidate, CIO)
    ctx.config = dataclasses.replace(ctx.config, emergency=None)
    with pytest.raises(Blocked, match=r"no \[emergency\] table") as caught:
        promote(ctx, "1.1.0", emergency=True, reason="hotfix")
    assert caught.value.exit_code == 1
    thawed = ctx_as(candidate, CIO)
    thawed.config = dataclasses.replace(thawed.config, freeze=())
    with pytest.raises(UsageError, match="none is in force"):  # --emergency outside a window: promote normally
        promote(thawed, "1.1.0", emergency=True, reason="hotfix")
