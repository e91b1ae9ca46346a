"""The ledger on real SQLite and PostgreSQL: migrations, transactions, records and the promotion claim."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from ledger_data import PREPARER, SHA1, SHA2, binding, now, seed
from sqlalchemy import func, insert, inspect, select, text

from release.errors import (
    DuplicateApproval,
    InputError,
    LedgerConflict,
    SeparationOfDuties,
    UnknownRelease,
    WaiverInvalid,
)
from release.gates import (
    Decision,
    DecisionKind,
    GateKind,
    GateSpec,
    GateState,
    ReleaseFacts,
    Waiver,
    evaluate,
)
from release.ledger import Ledger, ReleaseState, StepStatus
from release.ledger.database import current_revision
from release.ledger.schema import AuditEventRow, Base, ReleaseRow

pytestmark = pytest.mark.integration

TABLES = {"releases", "candidates", "gate_runs", "artifacts", "decisions", "waivers", "promotion_steps",
          "audit_events", "web_users", "alembic_version"}
CAB = GateSpec("change-board", GateKind.APPROVAL, "cfg-cab", role="change-board", quorum=2)
FACTS = ReleaseFacts("1.2.0", SHA1, PREPARER, frozenset({"dev@example.org"}),
                     {"change-board": frozenset({"chair@example.org", "ops@example.org", PREPARER}),
                      "release-manager": frozenset({"rm@example.org"})})


def _count(ledger: Ledger, model: type) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_migrations_apply_on_empty_db_and_are_idempotent(ledger_url: str, repo: Path) -> None:
    first = Ledger.open(ledger_url, repo)
    first.create_release("1.0.0", preparer=PREPARER)
    first.close()
    again = Ledger.open(ledger_url, repo)
    try:
        assert current_revision(again.engine) == "0003"
        with again.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= TABLES
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diffs == [], "ORM models and migrations disagree"
        assert [r.version for r in again.list_releases()] == ["1.0.0"]
    finally:
        again.close()


def test_sqlite_pragmas(repo: Path) -> None:
    ledger = Ledger.open(None, repo)
    try:
        assert (repo / ".release" / "ledger.db").is_file()
        with ledger.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        ledger.close()


def test_environment_url_wins(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere.db"
    monkeypatch.setenv("RELEASE_LEDGER_URL", f"sqlite:///{elsewhere}")
    Ledger.open(None, repo).close()
    assert elsewhere.is_file() and not (repo / ".release" / "ledger.db").exists()


def test_release_and_candidate_records(ledger: Ledger) -> None:
    ledger.create_release("1.2.0", preparer=PREPARER, previous_version="1.1.0")
    assert ledger.get_release("1.2.0").state is ReleaseState.PREPARED
    with pytest.raises(UnknownRelease, match=r"no release 9\.9\.9"):
        ledger.get_release("9.9.9")
    events = len(ledger.audit_events())
    with pytest.raises(LedgerConflict, match="already exists"):
        ledger.create_release("1.2.0", preparer=PREPARER)
    assert len(ledger.audit_events()) == events
    assert ledger.latest_candidate("1.2.0") is None
    c1 = ledger.add_candidate("1.2.0", rc=1, tag="v1.2.0-rc.1", sha=SHA1, created_by=PREPARER)
    assert ledger.add_candidate("1.2.0", rc=1, tag="v1.2.0-rc.1", sha=SHA1, created_by=PREPARER) == c1
    with pytest.raises(LedgerConflict):
        ledger.add_candidate("1.2.0", rc=1, tag="v1.2.0-rc.1", sha=SHA2, created_by=PREPARER)
    c2 = ledger.add_candidate("1.2.0", rc=2, tag="v1.2.0-rc.2", sha=SHA2, created_by=PREPARER)
    assert ledger.latest_candidate("1.2.0") == c2
    assert ledger.get_candidate("1.2.0", sha=SHA1) == c1


def test_release_with_candidate_is_one_write_that_reuses_a_release_already_recorded(ledger: Ledger) -> None:
    rel, cand = ledger.create_release_with_candidate("1.3.0", preparer=PREPARER, previous_version="1.2.0", rc=1,
                                                     tag="v1.3.0-rc.1", sha=SHA1)
    assert rel.version == "1.3.0" and ledger.latest_candidate("1.3.0") == cand
    assert [e.action for e in ledger.audit_events()[-2:]] == ["release.created", "candidate.added"]
    events = len(ledger.audit_events())
    # A concurrent prepare recorded the release first: the candidate joins it, nothing is written twice.
    assert ledger.create_release_with_candidate("1.3.0", preparer=PREPARER, previous_version="1.2.0", rc=1,
                                                tag="v1.3.0-rc.1", sha=SHA1)[1] == cand
    assert len(ledger.audit_events()) == events
    with pytest.raises(InputError, match="rc >= 1"):
        ledger.create_release_with_candidate("1.4.0", preparer=PREPARER, previous_version=None, rc=0,
                                             tag="v1.4.0-rc.0", sha=SHA1)
    with pytest.raises(UnknownRelease):
        ledger.get_release("1.4.0")


def test_failure_mid_write_leaves_nothing(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.create_release("1.0.0", preparer=PREPARER)
    releases, events = _count(ledger, ReleaseRow), _count(ledger, AuditEventRow)
    real_append = Ledger._append

    def append_then_collide(self, session, *args, **kwargs):  # type: ignore[no-untyped-def]
        row = real_append(self, session, *args, **kwargs)
        # A second release with the same version: a real IntegrityError after the first inserts.
        session.execute(insert(ReleaseRow).values(version="2.0.0", preparer="x", created_at=row.at, state="PREPARED"))
        return row

    monkeypatch.setattr(Ledger, "_append", append_then_collide)
    with pytest.raises(LedgerConflict):
        ledger.create_release("2.0.0", preparer=PREPARER)
    monkeypatch.undo()
    assert (_count(ledger, ReleaseRow), _count(ledger, AuditEventRow)) == (releases, events)
    with pytest.raises(UnknownRelease):
        ledger.get_release("2.0.0")
    assert ledger.verify_audit().ok


def test_gate_runs_and_evidence(ledger: Ledger, tmp_path: Path) -> None:
    cand = seed(ledger, tmp_path)
    [run] = ledger.runs_for(cand)
    assert run.state is GateState.PASSED and run.binding == binding() and run.candidate_sha == SHA1
    [art] = run.artifacts
    assert art.path == "1.2.0/rc.1/regression/run-1/junit.xml" or art.path.endswith("/junit.xml")
    assert (ledger.evidence_root / art.path).read_text().startswith("<testsuite")
    with pytest.raises(LedgerConflict, match="already finished"):
        ledger.finish_gate_run(run.id, GateState.FAILED, {})
    running = ledger.start_gate_run(cand, "load", binding())
    with pytest.raises(InputError, match="cannot finish as STALE"):
        ledger.finish_gate_run(running.id, GateState.STALE, {})
    assert ledger.get_gate_run(running.id).state is GateState.RUNNING


def test_decisions_are_checked_inside_the_write(ledger: Ledger, tmp_path: Path) -> None:
    seed(ledger, tmp_path)
    at = now()

    def approval(actor: str) -> Decision:
        return Decision(DecisionKind.APPROVAL, CAB.name, actor, None, SHA1, "looks good", at)

    ledger.record_decision(approval("chair@example.org"), spec=CAB, facts=FACTS)
    with pytest.raises(DuplicateApproval):
        ledger.record_decision(approval("chair@example.org"), spec=CAB, facts=FACTS)
    with pytest.raises(SeparationOfDuties):
        ledger.record_decision(approval(PREPARER), spec=CAB, facts=FACTS)
    assert [d.actor for d in ledger.decisions_for("1.2.0")] == ["chair@example.org"]
    ledger.record_decision(approval("ops@example.org"), spec=CAB, facts=FACTS)
    checklist = evaluate([CAB], FACTS, [], ledger.decisions_for("1.2.0"), [], {}, now())
    assert checklist.gate(CAB.name).state is GateState.PASSED and checklist.promotable
    with pytest.raises(WaiverInvalid):
        ledger.record_waiver(Waiver(CAB.name, "rm@example.org", "", at + timedelta(days=1), at, SHA1),
                             spec=CAB, facts=FACTS)
    waiver = Waiver("regression", "rm@example.org", "flaky", at + timedelta(days=1), at, SHA1)
    spec = GateSpec("regression", GateKind.PYTEST, "cfg-reg")
    ledger.record_waiver(waiver, spec=spec, facts=FACTS)
    assert ledger.waivers_for("1.2.0") == [waiver]


def _race(ledger_url: str, repo: Path, version: str, owners: list[str]) -> list[bool]:
    """Let each owner claim the promotion from its own connection at the same moment."""
    ledgers = [Ledger.open(ledger_url, repo) for _ in owners]
    barrier = threading.Barrier(len(owners))
    results: dict[str, bool] = {}
    errors: list[BaseException] = []

    def claim(led: Ledger, owner: str) -> None:
        try:
            barrier.wait()
            results[owner] = led.claim_promotion(version, owner)
        except BaseException as exc:  # surfaced below, so a crash fails the test
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(led, o)) for led, o in zip(ledgers, owners, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for led in ledgers:
        led.close()
    assert not errors, errors
    return [results[o] for o in owners]


def test_concurrent_claims_exactly_one_wins(ledger: Ledger, ledger_url: str, repo: Path) -> None:
    for i in range(3):
        version = f"1.{i}.0"
        ledger.create_release(version, preparer=PREPARER)
        outcome = _race(ledger_url, repo, version, ["ci-runner-a", "ci-runner-b", "laptop"])
        assert sorted(outcome) == [False, False, True]
        release = ledger.get_release(version)
        winner = ["ci-runner-a", "ci-runner-b", "laptop"][outcome.index(True)]
        assert release.state is ReleaseState.PROMOTING and release.promotion_owner == winner
    assert ledger.verify_audit().ok


def test_claim_resume_rule(ledger: Ledger) -> None:
    ledger.create_release("1.0.0", preparer=PREPARER)
    assert ledger.claim_promotion("1.0.0", "runner-a")
    assert ledger.claim_promotion("1.0.0", "runner-a"), "the same owner re-claims after a crash"
    assert not ledger.claim_promotion("1.0.0", "runner-b")
    assert ledger.claim_promotion("1.0.0", "runner-b", resume=True), "--resume takes over a dead claim"
    assert ledger.get_release("1.0.0").promotion_owner == "runner-b"
    assert not ledger.release_promotion("1.0.0", "runner-a")
    assert ledger.release_promotion("1.0.0", "runner-b")
    assert ledger.get_release("1.0.0").state is ReleaseState.PREPARED
    ledger.set_release_state("1.0.0", ReleaseState.PROMOTED, actor="runner-b")
    assert not ledger.claim_promotion("1.0.0", "runner-c")
    assert ledger.audit_events()[-1].action == "release.state"


def test_promotion_steps(ledger: Ledger) -> None:
    ledger.create_release("1.0.0", preparer=PREPARER)
    ledger.record_step("1.0.0", "tag", StepStatus.DONE, {"tag": "v1.0.0"})
    ledger.record_step("1.0.0", "production-ref", StepStatus.STARTED)
    ledger.record_step("1.0.0", "production-ref", StepStatus.DONE, {"from": "a", "to": "b"})
    ledger.record_step("1.0.0", "deploy", StepStatus.FAILED, {"exit": 3})
    assert ledger.completed_steps("1.0.0") == ["tag", "production-ref"]
    assert [s.status for s in ledger.steps("1.0.0")] == [StepStatus.DONE, StepStatus.DONE, StepStatus.FAILED]


def test_web_users_never_audit_the_password_hash(ledger: Ledger) -> None:
    ledger.add_web_user("chair@example.org", "change-board", "$argon2id$secret-hash", actor="admin@example.org")
    assert ledger.get_web_user("chair@example.org").password_hash == "$argon2id$secret-hash"  # type: ignore[union-attr]
    ledger.add_web_user("ops@example.org", "change-board", "$argon2id$other", actor="admin@example.org")
    ledger.set_web_user_disabled("ops@example.org", True, actor="admin@example.org")
    assert [(u.email, u.disabled) for u in ledger.list_web_users()] == [("chair@example.org", False),
                                                                          ("ops@example.org", True)]
    with ledger.engine.connect() as conn:
        payloads = " ".join(conn.execute(text("SELECT payload FROM audit_events")).scalars())
    assert "secret-hash" not in payloads
    ledger.append_audit("admin@example.org", "note", "x", {"token": "abc123", "detail": {"password": "pw"}})
    assert "abc123" not in str(ledger.audit_events()[-1].payload)


def test_the_shortcut_head_is_alembics_head(ledger: Ledger) -> None:
    """Opening a ledger at HEAD_REVISION skips Alembic; that constant must be the newest migration's revision."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from release.ledger.database import HEAD_REVISION, MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD_REVISION]
    assert current_revision(ledger.engine) == HEAD_REVISION
