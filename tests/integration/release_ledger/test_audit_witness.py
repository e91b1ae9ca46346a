"""`release audit verify --against REF|HEAD_HASH` and `release audit head`: each form of witness, read for real.

Tags are real annotated git tags in a throwaway repository (as promote writes them: the message ends with
`crvs-release-audit-head: <seq> <hash>`); the ledger is built through the Ledger API. The witness in a tag made
by a real promotion is covered by test_ledger_tamper_cycle.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ledger_data import seed
from sqlalchemy import text

from release.ledger import Ledger
from release.ledger.audit import check_witness, parse_checkpoint, parse_witnesses
from release.ledger.records import AuditCheckpoint
from tests.gitrepo import GitRepoHandle, make_repo

pytestmark = pytest.mark.integration


@pytest.fixture
def witnessed(tmp_path: Path) -> tuple[GitRepoHandle, AuditCheckpoint]:
    """A git repository with a seeded SQLite ledger and tag v1.2.0 whose annotation holds the head."""
    repo = make_repo(tmp_path / "repo", ["feat: registration search"])
    with Ledger.open(None, repo.path) as ledger:
        seed(ledger, tmp_path)
        head = ledger.audit_checkpoint()
    repo.git("tag", "--annotate", "--message", f"release 1.2.0\n\n{head.witness_line()}", "v1.2.0", "HEAD")
    return repo, head


def test_every_form_of_witness_verifies_on_an_intact_ledger(run_cli, witnessed) -> None:
    repo, head = witnessed
    assert head.seq == 4
    for ref in ("v1.2.0", "refs/tags/v1.2.0", f"{head.seq}:{head.hash}", head.hash, head.hash.upper()):
        res = run_cli("audit", "verify", "--against", ref, cwd=repo.path)
        assert res.exit_code == 0, (ref, res.stderr)
        assert "is in the chain" in res.stdout
    res = run_cli("audit", "verify", "--json", "--against", "v1.2.0", "--against", f"3:{'0' * 64}", cwd=repo.path)
    data = json.loads(res.stdout)
    assert res.exit_code == 1 and data["head_seq"] == 4 and data["checked_rows"] == 4
    assert data["witnesses"][0] == {"source": "tag v1.2.0", "seq": 4, "hash": head.hash}
    [problem] = data["problems"]
    assert problem.startswith(f"witness 3:{'0' * 64} (seq 3 {'0' * 16}): event seq 3 has hash ")
    assert problem.endswith(f", not the published {'0' * 16} (the chain was rewritten)")


def test_audit_head_prints_the_line_to_publish(run_cli, witnessed) -> None:
    repo, head = witnessed
    res = run_cli("audit", "head", cwd=repo.path)
    assert res.exit_code == 0 and res.stdout.strip() == f"crvs-release-audit-head: 4 {head.hash}"
    data = json.loads(run_cli("audit", "head", "--json", cwd=repo.path).stdout)
    assert data == {"seq": 4, "hash": head.hash, "line": f"crvs-release-audit-head: 4 {head.hash}"}


def test_deleting_the_newest_event_is_caught_against_the_tag(run_cli, witnessed) -> None:
    repo, head = witnessed
    with Ledger.open(None, repo.path) as ledger, ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    res = run_cli("audit", "verify", "--against", "v1.2.0", cwd=repo.path)
    assert res.exit_code == 1
    assert (f"error: audit broken: witness tag v1.2.0 ({head}): the chain ends at seq 3, before the published seq 4 "
            "(its newest events were deleted)") in res.stderr


@pytest.mark.parametrize("make, needle", [
    ("lightweight", "a lightweight tag has no annotation"),
    ("annotated", "its annotation has no crvs-release-audit-head line"),
    ("missing", "no such tag"),
    ("option", "is not a tag name"),
])
def test_a_witness_that_cannot_be_read_is_exit_2_and_reads_no_ledger(run_cli, witnessed, make: str,
                                                                       needle: str) -> None:
    repo, _ = witnessed
    ref = {"lightweight": "light", "annotated": "v1.0.0", "missing": "v9.9.9", "option": "--upload-pack=x"}[make]
    if make == "lightweight":
        repo.git("tag", "light", "HEAD")
    if make == "annotated":
        repo.git("tag", "--annotate", "--message", "release 1.0.0", "v1.0.0", "HEAD")
    res = run_cli("audit", "verify", f"--against={ref}", cwd=repo.path)
    assert res.exit_code == 2, res.stderr
    assert needle in res.stderr and "Traceback" not in res.stderr


def test_a_file_with_no_witness_is_exit_2(run_cli, witnessed, tmp_path: Path) -> None:
    repo, _ = witnessed
    empty = tmp_path / "record.md"
    empty.write_text("# Change record\n\nno head here\n")
    res = run_cli("audit", "verify", "--against", str(empty), cwd=repo.path)
    assert res.exit_code == 2 and "no crvs-release-audit-head line" in res.stderr


def test_parsing_and_checking_witnesses() -> None:
    h = "ab" * 32
    assert parse_checkpoint(f"12:{h}") == AuditCheckpoint(12, h)
    assert parse_checkpoint(f"12 {h}") == AuditCheckpoint(12, h)
    assert parse_checkpoint(h) == AuditCheckpoint(None, h)
    assert parse_checkpoint("v1.2.0") is None and parse_checkpoint(f"x:{h}") is None
    text_ = f"release 1.2.0\n\ncrvs-release-audit-head: 7 {h}\n-----BEGIN SSH SIGNATURE-----\n"
    assert parse_witnesses(text_) == [AuditCheckpoint(7, h)]
    chain = [(1, "a" * 64), (2, "b" * 64)]
    assert check_witness(chain, AuditCheckpoint(2, "b" * 64)) is None
    assert check_witness(chain, AuditCheckpoint(None, "a" * 64)) is None
    assert "event seq 1 has hash" in (check_witness(chain, AuditCheckpoint(1, "c" * 64)) or "")
    assert "the chain ends at seq 2" in (check_witness(chain, AuditCheckpoint(3, "c" * 64)) or "")
    assert "event seq 1 is missing" in (check_witness([(2, "b" * 64)], AuditCheckpoint(1, "a" * 64)) or "")
    assert AuditCheckpoint(3, h).witness_line() == f"crvs-release-audit-head: 3 {h}"
