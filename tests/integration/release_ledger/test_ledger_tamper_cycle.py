"""The tamper test on a ledger after a whole release cycle: prepare on a sandbox, gates, decisions, promote.

Each field of each deciding table is changed with raw SQL, one at a time, and rows are deleted and inserted:
`audit verify` names every change, and `status` and `promote` refuse (exit 1, naming the row). Deleting the newest
audit rows is caught by `audit verify --against` the promotion's tag, even when the rows are rolled back to agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from test_ledger_tamper import (
    TABLES,
    caught,
    columns,
    delete_row,
    dispose_raw,
    insert_row,
    other_value,
    raw,
    rows_of,
    set_value,
    unlike,
)

from release.errors import LedgerTampered
from release.gates import EvidenceBinding, GateKind, GateSpec, GateState, ReleaseFacts, Waiver
from release.gates.canonical import canonical_hash
from release.ledger import Ledger
from release.ledger.integrity import COVERED, DIGEST
from release.workflow.context import open_context
from release.workflow.promote import promote
from release.workflow.status import evaluate_release
from tests.integration.release_flow.conftest import (  # noqa: F401  (prepared_repo and candidate are fixtures)
    BOARD,
    PREPARER,
    ReleaseRepo,
    candidate,
    clone_release_repo,
    give_all_decisions,
    prepared_repo,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WITNESS = re.compile(r"^crvs-release-audit-head: (\d+) ([0-9a-f]{64})$", re.M)


def ledger_of(r: ReleaseRepo) -> Ledger:
    """The repository's own SQLite ledger."""
    return Ledger.open(f"sqlite:///{r.path / '.release' / 'ledger.db'}", r.path, create=False)


def add_open_release(r: ReleaseRepo) -> None:
    """A second release after the promotion, so every foreign key has another row to point at (Ledger API)."""
    sha = r.repo.git("rev-parse", "main").strip()
    with ledger_of(r) as ledger:
        ledger.create_release("1.2.0", preparer=PREPARER, previous_version="1.1.0")
        cand = ledger.add_candidate("1.2.0", rc=1, tag="v1.2.0-rc.1", sha=sha, created_by=PREPARER)
        run = ledger.start_gate_run(cand, "checks", EvidenceBinding(sha, "cfg", "http://127.0.0.1:9", "1.2.0", "0"))
        junit = r.path / "build" / "junit-1.2.0.xml"
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text('<testsuite name="checks" tests="1"/>')
        ledger.finish_gate_run(run.id, GateState.PASSED, {"tests": 1}, [ledger.store_artifact(run.id, junit, "junit")])
        facts = ReleaseFacts("1.2.0", sha, PREPARER, frozenset(), {"qa-lead": frozenset({"qa@example.org"})})
        now = datetime.now().astimezone()
        ledger.record_waiver(Waiver("qa", "qa@example.org", "QA lead on leave", now + timedelta(days=2), now, sha),
                             spec=GateSpec("qa", GateKind.SIGNOFF, "cfg-qa", role="qa-lead"), facts=facts)
        ledger.add_web_user("chair@example.org", "change-board", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                            actor=PREPARER)


@pytest.fixture(scope="module")
def promoted_repo(prepared_repo: ReleaseRepo, tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:  # noqa: F811
    """The whole cycle once per module: the prepared candidate, every decision, `release promote 1.1.0`."""
    r = clone_release_repo(prepared_repo, tmp_path_factory.mktemp("promoted") / "crvs")
    give_all_decisions(r)
    res = r.cli("promote", "1.1.0", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["outcome"] == "PROMOTED"
    return r


@pytest.fixture
def cycle(promoted_repo: ReleaseRepo, tmp_path: Path) -> Iterator[ReleaseRepo]:
    """A private copy of the promoted repository, ledger and evidence included."""
    yield clone_release_repo(promoted_repo, tmp_path / "clone")
    dispose_raw()


def tag_witness(r: ReleaseRepo, tag: str = "v1.1.0") -> tuple[int, str]:
    """The (seq, hash) the promotion wrote into its tag's annotation."""
    message = r.repo.git("for-each-ref", f"refs/tags/{tag}", "--format=%(contents)")
    [(seq, digest)] = WITNESS.findall(message)
    return int(seq), digest


def refuses(r: ReleaseRepo, needle: str) -> None:
    """`status` and `promote` exit 1 naming needle; `audit verify` exits 1 too."""
    for args in (("status", "1.1.0"), ("promote", "1.1.0"), ("audit", "verify")):
        res = r.cli(*args)
        assert res.exit_code == 1, (args, res.stdout, res.stderr)
        assert needle in res.stderr, (args, res.stderr)
    assert "ledger tampered: " in r.cli("status", "1.1.0").stderr


def test_the_cycle_leaves_an_intact_ledger_and_a_witness_in_the_tag(cycle: ReleaseRepo) -> None:
    seq, digest = tag_witness(cycle)
    with ledger_of(cycle) as ledger:
        report = ledger.verify_audit()
        assert report.ok, report.problems
        event = next(e for e in ledger.audit_events() if e.seq == seq)
        assert event.hash == digest and event.action == "promotion.step" and event.payload["step"] == "tag"
        tag_step = next(s for s in ledger.steps("1.1.0") if s.step == "tag")
        assert tag_step.detail["audit_head"] == f"crvs-release-audit-head: {seq} {digest}"
    for args in (("status", "1.1.0"), ("promote", "1.1.0"), ("audit", "verify"), ("audit", "verify", "--against",
                                                                                  "v1.1.0")):
        res = cycle.cli(*args)
        assert res.exit_code == 0, (args, res.stdout, res.stderr)
    assert f"tag v1.1.0 (seq {seq} {digest[:16]}) is in the chain" in cycle.cli("audit", "verify", "--against",
                                                                                "v1.1.0").stdout


def test_the_issues_exploit_no_longer_promotes(candidate: ReleaseRepo) -> None:  # noqa: F811
    """`update decisions set kind='approval' where kind='rejection'` turned a rejected release into a promoted one."""
    give_all_decisions(candidate, skip=("board2",))
    res = candidate.cli("approve", "1.1.0", "--reject", "--comment", "backout plan missing", "--as", BOARD[1])
    assert res.exit_code == 0, res.stderr
    assert json.loads(candidate.cli("promote", "1.1.0", "--json").stdout)["outcome"] == "BLOCKED"
    with ledger_of(candidate) as ledger:
        [rejection] = [r for r in rows_of(ledger, COVERED["decisions"]) if r["kind"] == "rejection"]
        with raw(ledger) as conn:
            conn.execute(text("update decisions set kind='approval' where kind='rejection'"))
    dispose_raw()
    refs = candidate.refs()
    res = candidate.cli("promote", "1.1.0")
    assert res.exit_code == 1
    assert f"ledger tampered: decisions row {rejection['id']}: kind is 'approval' but audit event seq " in res.stderr
    assert candidate.refs() == refs  # no tag, no branch moved
    assert f"decisions row {rejection['id']}: kind" in candidate.cli("status", "1.1.0").stderr


def test_every_field_of_every_deciding_table_is_caught_after_a_cycle(cycle: ReleaseRepo) -> None:
    add_open_release(cycle)
    ctx = open_context(cycle.path, actor=PREPARER, environ=cycle.env)
    ledger = ctx.ledger
    assert ledger.verify_audit().ok
    missed: list[str] = []
    tried: dict[str, int] = {}
    try:
        for name, table in TABLES.items():
            [pk] = table.primary_key.columns
            for row in rows_of(ledger, table):
                for column in columns(table):
                    key, original = row[pk.name], row[column.name]
                    forged = other_value(ledger, table, row, column)
                    try:
                        set_value(ledger, table, key, column, forged)
                    except IntegrityError:  # a unique pair taken there: point at no parent row at all instead
                        parent = next(iter(column.foreign_keys)).column.table
                        forged = max(r["id"] for r in rows_of(ledger, parent)) + 99
                        set_value(ledger, table, key, column, forged)
                    tried[name] = tried.get(name, 0) + 1
                    named = forged if column.primary_key else key
                    if not caught(ledger.verify_audit(), name, named, None if column.primary_key else column.name):
                        missed.append(f"audit verify missed {name} row {key}: {column.name}")
                    needle = "audit event seq " if name == "audit_events" else f"{name} row {named}: "
                    for decide in (lambda: evaluate_release(ctx, "1.1.0"), lambda: promote(ctx, "1.1.0")):
                        with pytest.raises(LedgerTampered) as refused:
                            decide()
                        if needle not in str(refused.value) or refused.value.exit_code != 1:
                            missed.append(f"status/promote did not name {name} row {key}: {refused.value}")
                    set_value(ledger, table, named, column, original)
                    assert ledger.verify_audit().ok, (name, column.name, ledger.verify_audit().problems)
    finally:
        ctx.ledger.close()
    assert missed == []
    assert set(tried) == set(TABLES) and sum(tried.values()) > 200, tried


def test_deleted_and_inserted_rows_are_caught_after_a_cycle(cycle: ReleaseRepo) -> None:
    add_open_release(cycle)
    with ledger_of(cycle) as ledger:
        for name, table in COVERED.items():
            for row in rows_of(ledger, table):
                delete_row(ledger, table, row["id"])
                assert any(p.table == name and p.row_id == row["id"] and "it was deleted" in p.message
                           for p in ledger.verify_audit().rows), (name, row["id"])
                insert_row(ledger, table, row)
            forged = {**rows_of(ledger, table)[-1]}
            forged["id"] += 500
            for unique in ("version", "email", "sha", "step", "relpath", "record_hash"):
                if unique in forged:
                    forged[unique] = unlike(forged[unique])  # not "...f": a sha may already end in f
            for number in ("rc", "n"):  # a forged row, not a duplicate of a unique number
                if number in forged:
                    forged[number] += 7
            insert_row(ledger, table, forged)
            assert [(p.table, p.row_id, p.field) for p in ledger.verify_audit().rows] == [(name, forged["id"], None)]
            delete_row(ledger, table, forged["id"])
        assert ledger.verify_audit().ok


@pytest.mark.parametrize("change", ["decision kind", "decision deleted", "decision inserted", "gate run state",
                                    "artifact sha256", "step status", "release state", "candidate sha",
                                    "waiver expiry"])
def test_status_and_promote_refuse_naming_the_row(cycle: ReleaseRepo, change: str) -> None:
    add_open_release(cycle)
    with ledger_of(cycle) as ledger:
        decisions = rows_of(ledger, COVERED["decisions"])
        first = decisions[0]
        sql, needle = {
            "decision kind": ("UPDATE decisions SET kind = 'rejection' WHERE id = :id", "decisions row {id}: kind"),
            "decision deleted": ("DELETE FROM decisions WHERE id = :id",
                                 "decisions row {id}: audit event seq"),
            "decision inserted": ("INSERT INTO decisions (id, candidate_id, gate, kind, actor, role, comment, at) "
                                  "SELECT 900, candidate_id, gate, 'approval', 'mallory@example.org', role, '', at "
                                  "FROM decisions WHERE id = :id", "decisions row 900: no audit event made this row"),
            "gate run state": ("UPDATE gate_runs SET state = 'FAILED' WHERE id = (SELECT min(id) FROM gate_runs) "
                               "AND :id > 0", "gate_runs row 1: state is 'FAILED'"),
            "artifact sha256": ("UPDATE artifacts SET sha256 = '" + "0" * 64 + "' WHERE id = :id", "artifacts row "),
            "step status": ("UPDATE promotion_steps SET status = 'failed' WHERE step = 'smoke' AND :id > 0",
                            "promotion_steps row "),
            "release state": ("UPDATE releases SET state = 'PREPARED' WHERE version = '1.1.0' AND :id > 0",
                              "releases row 1: state is 'PREPARED'"),
            "candidate sha": ("UPDATE candidates SET sha = '" + "f" * 40 + "' WHERE rc = 1 AND :id > 0",
                              "candidates row "),
            "waiver expiry": ("UPDATE waivers SET expires_at = '2999-01-01 00:00:00.000000' WHERE :id > 0",
                              "waivers row "),
        }[change]
        if change == "artifact sha256":
            first = rows_of(ledger, COVERED["artifacts"])[0]
        with raw(ledger) as conn:
            assert conn.execute(text(sql), {"id": first["id"]}).rowcount >= 1
    dispose_raw()
    refuses(cycle, needle.format(id=first["id"]))


# ----- the witness in the promotion's tag ---------------------------------------------------------------------


def image_value(ledger: Ledger, table: str, row_id: Any, column: str) -> Any:
    """A column's value as the newest remaining image of its row recorded it (datetimes parsed back)."""
    value, source = None, None
    for event in ledger.audit_events():
        for entry in event.payload.get("rows", []):
            if entry["table"] == table and entry["values"]["id"] == row_id:
                value, source = entry["values"].get(column), event
    if isinstance(value, str) and value.startswith(DIGEST):
        # a JSON column is imaged as its digest; a promotion step's event also carries the detail itself
        assert source is not None and table == "promotion_steps" and column == "detail", (table, column)
        assert DIGEST + canonical_hash(source.payload["detail"]) == value
        return source.payload["detail"]
    if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT", value):
        return datetime.fromisoformat(value)
    return value


def roll_back_to(ledger: Ledger, seq: int) -> None:
    """The careful attacker: delete every audit event from seq on, then make every row agree with what is left."""
    with raw(ledger) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq >= :seq"), {"seq": seq})
    for problem in ledger.verify_audit(artifacts=False).rows:
        table = COVERED[problem.table]
        if problem.field is None:
            delete_row(ledger, table, problem.row_id)
        else:
            set_value(ledger, table, problem.row_id, table.c[problem.field],
                      image_value(ledger, problem.table, problem.row_id, problem.field))


def test_deleting_the_newest_audit_rows_is_caught_against_the_promotions_tag(cycle: ReleaseRepo) -> None:
    seq, digest = tag_witness(cycle)
    with ledger_of(cycle) as ledger, raw(ledger) as conn:  # the plain truncation: the newest events, nothing else
        conn.execute(text("DELETE FROM audit_events WHERE seq >= :seq"), {"seq": seq})
    dispose_raw()
    res = cycle.cli("audit", "verify", "--against", "v1.1.0")
    assert res.exit_code == 1
    assert (f"error: audit broken: witness tag v1.1.0 (seq {seq} {digest[:16]}): the chain ends at seq {seq - 1}, "
            f"before the published seq {seq} (its newest events were deleted)") in res.stderr


def test_a_truncation_with_rows_rolled_back_is_caught_only_against_the_tag(cycle: ReleaseRepo) -> None:
    seq, digest = tag_witness(cycle)
    with ledger_of(cycle) as ledger:
        roll_back_to(ledger, seq)
        assert ledger.get_release("1.1.0").state.value == "PROMOTING" and ledger.steps("1.1.0") == []
    dispose_raw()
    alone = cycle.cli("audit", "verify")
    assert alone.exit_code == 0, alone.stderr  # consistent on its own: this is what the witness is for
    res = cycle.cli("audit", "verify", "--against", "v1.1.0")
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        f"error: audit broken: witness tag v1.1.0 (seq {seq} {digest[:16]}): the chain ends at seq {seq - 1}, "
        f"before the published seq {seq} (its newest events were deleted)"]
    assert cycle.cli("audit", "verify", "--json", "--against", "v1.1.0").exit_code == 1


def test_the_change_record_and_the_bundle_carry_the_head(cycle: ReleaseRepo, tmp_path: Path) -> None:
    env = {"RELEASE_EVIDENCE_KEY": "a shared secret of 32 characters"}
    record = tmp_path / "change-record.md"
    assert cycle.cli("report", "1.1.0", "--format", "md", "--out", str(record)).exit_code == 0
    bundle = tmp_path / "evidence.tar.gz"
    res = cycle.cli("evidence", "export", "1.1.0", "--out", str(bundle), env=env)
    assert res.exit_code == 0, res.stderr
    with ledger_of(cycle) as ledger:
        head = ledger.audit_checkpoint()
    assert head.seq is not None
    assert f"crvs-release-audit-head: {head.seq} {head.hash}" in record.read_text()
    for witness in (str(record), str(bundle), f"{head.seq}:{head.hash}", head.hash, "v1.1.0"):
        res = cycle.cli("audit", "verify", "--against", witness)
        assert res.exit_code == 0, (witness, res.stderr)
    with ledger_of(cycle) as ledger:
        roll_back_to(ledger, head.seq)  # only the newest event
    dispose_raw()
    assert cycle.cli("audit", "verify").exit_code == 0
    for witness in (str(record), str(bundle)):
        res = cycle.cli("audit", "verify", "--against", witness)
        assert res.exit_code == 1 and "its newest events were deleted" in res.stderr, (witness, res.stderr)
    assert cycle.cli("audit", "verify", "--against", "v1.1.0").exit_code == 0  # the tag's head is older: still held
