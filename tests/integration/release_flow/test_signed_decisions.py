"""Approvals signed by the person (issue 12, item 4), on a real prepared release, through the real CLI.

The change board and the QA sign-off require SSH signatures; the keys are made here with ssh-keygen, the
allowed-signers file is committed like code, and `release audit verify` re-verifies what the ledger stores.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from release.signing import NAMESPACE, SSH_KEYGEN_ENV, DecisionStatement
from tests.integration.release_flow.conftest import BOARD, PREPARER, QA, ReleaseRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHAIR, OPS, GENERAL = BOARD


@dataclasses.dataclass
class Signed:
    """The prepared repository with signatures required, and everyone's private keys."""

    r: ReleaseRepo
    keys: dict[str, Path]

    def approve(self, actor: str, *args: str, env: dict[str, str] | None = None):
        return self.r.cli("approve", "1.1.0", *args, actor=actor, env=env)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.r.path / ".release" / "ledger.db")

    def signatures(self) -> list[tuple[str, str, str | None, str | None]]:
        db = self.db()
        try:
            return list(db.execute("select actor, kind, signature, report_hash from decisions order by id"))
        finally:
            db.close()


def keygen(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


@pytest.fixture
def signed(candidate: ReleaseRepo, tmp_path: Path) -> Signed:
    """Signatures required on change-board and qa; everyone but the intruder is in the committed allowed signers."""
    folder = tmp_path / "keys"
    folder.mkdir()
    people = {"chair": CHAIR, "ops": OPS, "general": GENERAL, "qa": QA}
    keys = {name: keygen(folder, name) for name in (*people, "intruder")}
    lines = [f'{email} namespaces="{NAMESPACE}" {(folder / f"{name}.pub").read_text().strip()}'
             for name, email in people.items()]
    (candidate.path / ".allowed_signers").write_text("\n".join(lines) + "\n")
    toml = candidate.path / "release.toml"
    text = toml.read_text()
    assert text.count("quorum = 2\n") == 1 and text.count('role = "qa-lead"\n') == 1
    text = text.replace("quorum = 2\n", "quorum = 2\nrequire_signature = true\n")
    text = text.replace('role = "qa-lead"\n', 'role = "qa-lead"\nrequire_signature = true\n')
    toml.write_text(text + '\n[signatures]\nallowed_signers = ".allowed_signers"\n')
    candidate.repo.git("add", "release.toml", ".allowed_signers")
    candidate.repo.git("commit", "--quiet", "-m", "chore: signed decisions for the change board")
    return Signed(candidate, keys)


def test_signed_approvals_count_and_audit_verify_re_verifies_them(signed):
    first = signed.approve(CHAIR, "--sign-with", str(signed.keys["chair"]), "--comment", "record read")
    assert first.exit_code == 0, first.stderr
    assert "recorded approval on change-board" in first.stdout and "signed with ED25519 key SHA256:" in first.stdout
    # The key can also come from RELEASE_SIGNING_KEY, as --sign-with's default.
    second = signed.approve(OPS, "--json", env={"RELEASE_SIGNING_KEY": str(signed.keys["ops"])})
    assert second.exit_code == 0, second.stderr
    assert json.loads(second.stdout)["authenticated"] == "ssh-signature"
    rows = signed.signatures()
    assert [(a, k) for a, k, _, _ in rows] == [(CHAIR, "approval"), (OPS, "approval")]
    assert all(sig and sig.startswith("-----BEGIN SSH SIGNATURE-----") for _, _, sig, _ in rows)
    assert all(h and len(h) == 64 for _, _, _, h in rows)  # the record hash each signer's statement carried
    status = json.loads(signed.r.cli("status", "1.1.0", "--json").stdout)
    board = next(g for g in status["gates"] if g["gate"] == "change-board")
    assert board["state"] == "PASSED", board
    audit = signed.r.cli("audit", "verify")
    assert audit.exit_code == 0, audit.stdout + audit.stderr
    assert "2 signatures verified" in audit.stdout


def test_an_unsigned_approval_is_refused_when_required_and_nothing_is_recorded(signed):
    before = signed.r.ledger_dump()
    res = signed.approve(CHAIR)
    assert res.exit_code == 1
    assert "change-board requires a signed decision" in res.stderr and "Traceback" not in res.stderr
    rejection = signed.approve(CHAIR, "--reject", "--comment", "unsigned no")
    assert rejection.exit_code == 1 and "requires a signed decision" in rejection.stderr
    assert signed.r.ledger_dump() == before


def test_a_key_not_in_the_allowed_signers_is_refused(signed):
    before = signed.r.ledger_dump()
    res = signed.approve(CHAIR, "--sign-with", str(signed.keys["intruder"]))
    assert res.exit_code == 1
    assert "does not verify for chair@example.org" in res.stderr
    # Another member's own key does not sign for the chair either.
    res = signed.approve(CHAIR, "--sign-with", str(signed.keys["ops"]))
    assert res.exit_code == 1 and "does not verify" in res.stderr
    assert signed.r.ledger_dump() == before


def test_adding_your_key_to_the_working_copy_of_the_allowed_signers_does_not_count(signed):
    """The preparer appends their key under the chair's e-mail, uncommitted: refused, exit 2, nothing recorded."""
    intruder = (signed.keys["intruder"].parent / "intruder.pub").read_text().strip()
    with (signed.r.path / ".allowed_signers").open("a") as handle:
        handle.write(f'{CHAIR} namespaces="{NAMESPACE}" {intruder}\n')
    before = signed.r.ledger_dump()
    res = signed.r.cli("approve", "1.1.0", "--as", CHAIR, "--sign-with", str(signed.keys["intruder"]),
                       actor=PREPARER)
    assert res.exit_code == 2 and "uncommitted changes" in res.stderr
    assert signed.r.ledger_dump() == before


def printed(signed: Signed, actor: str, *args: str) -> bytes:
    """What `release approve --print-payload` writes for actor."""
    res = signed.approve(actor, *args, "--print-payload")
    assert res.exit_code == 0, res.stderr
    return res.stdout.encode()


def sign_file(signed: Signed, tmp_path: Path, key: str, data: bytes, name: str = "decision") -> tuple[Path, Path]:
    """Write a statement and sign it with ssh-keygen as a person would offline: (FILE, FILE.sig)."""
    payload = tmp_path / f"{name}.json"
    payload.write_bytes(data)
    subprocess.run(["ssh-keygen", "-Y", "sign", "-f", str(signed.keys[key]), "-n", NAMESPACE, str(payload)],
                   check=True, capture_output=True)
    return payload, payload.with_name(payload.name + ".sig")


def offline(signed: Signed, tmp_path: Path, actor: str, key: str, *args: str) -> tuple[Path, Path]:
    """--print-payload as actor, then sign it with key."""
    return sign_file(signed, tmp_path, key, printed(signed, actor, *args))


def test_a_decision_signed_offline_counts(signed, tmp_path):
    payload, sig = offline(signed, tmp_path, CHAIR, "chair", "--comment", "read on the air-gapped laptop")
    statement = json.loads(payload.read_bytes())
    assert statement["release"] == "1.1.0" and statement["gate"] == "change-board" and statement["actor"] == CHAIR
    res = signed.approve(CHAIR, "--comment", "read on the air-gapped laptop", "--payload", str(payload),
                         "--signature", str(sig))
    assert res.exit_code == 0, res.stderr
    [(actor, kind, stored, record_hash)] = signed.signatures()
    assert (actor, kind, record_hash) == (CHAIR, "approval", statement["record_hash"])
    assert stored == sig.read_text()


def test_a_signature_for_another_release_gate_or_candidate_is_refused(signed, tmp_path):
    """Replays: each statement below is validly signed by the chair, but for another decision."""
    before = signed.r.ledger_dump()
    honest = printed(signed, CHAIR)
    honest_file = tmp_path / "honest.json"
    honest_file.write_bytes(honest)
    others = {"release": {"release": "1.2.0"}, "gate": {"gate": "qa"}, "candidate": {"candidate_sha": "f" * 40},
              "record": {"record_hash": "0" * 64}, "kind": {"kind": "rejection"}}
    for name, edit in others.items():
        other = dataclasses.replace(DecisionStatement.parse(honest), **edit).payload()  # type: ignore[arg-type]
        payload, sig = sign_file(signed, tmp_path, "chair", other, name)
        res = signed.approve(CHAIR, "--payload", str(payload), "--signature", str(sig))
        assert res.exit_code == 1, (name, res.stderr)
        assert "the signed statement is not this decision" in res.stderr, name
        # The same signature beside this decision's own statement does not verify: it covers other bytes.
        res = signed.approve(CHAIR, "--payload", str(honest_file), "--signature", str(sig))
        assert res.exit_code == 1 and "does not verify for chair@example.org" in res.stderr, (name, res.stderr)
    # The chair's statement and signature, presented by another member, are not theirs.
    payload, sig = sign_file(signed, tmp_path, "chair", honest, "chair-for-ops")
    res = signed.approve(OPS, "--payload", str(payload), "--signature", str(sig))
    assert res.exit_code == 1 and "actor is 'chair@example.org'" in res.stderr
    assert signed.r.ledger_dump() == before


def test_a_stale_statement_is_refused(signed, tmp_path):
    payload, sig = offline(signed, tmp_path, CHAIR, "chair")
    later = datetime.now(UTC) + timedelta(minutes=30)
    res = signed.approve(CHAIR, "--payload", str(payload), "--signature", str(sig),
                         env={"RELEASE_TEST_NOW": later.isoformat()})
    assert res.exit_code == 1 and "more than 5 minutes" in res.stderr
    assert signed.signatures() == []


def test_a_signature_changed_in_the_ledger_is_caught_by_audit_verify(signed):
    for actor, key in ((CHAIR, "chair"), (OPS, "ops")):
        res = signed.approve(actor, "--sign-with", str(signed.keys[key]))
        assert res.exit_code == 0, res.stderr
    assert signed.r.cli("audit", "verify").exit_code == 0
    db = signed.db()
    try:
        # The ops member's valid signature pasted onto the chair's row: a real signature, for other bytes.
        db.execute("update decisions set signature = (select signature from decisions where actor = ?) "
                   "where actor = ?", (OPS, CHAIR))
        db.commit()
    finally:
        db.close()
    res = signed.r.cli("audit", "verify", "--json")
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    assert report["ok"] is False and report["checked_signatures"] == 2
    assert any(f"decision approval on 1.1.0/change-board by {CHAIR}" in p and "does not verify" in p
               for p in report["problems"]), report["problems"]


def test_a_signed_field_changed_in_the_ledger_is_caught_by_audit_verify(signed):
    res = signed.approve(CHAIR, "--sign-with", str(signed.keys["chair"]), "--comment", "ok")
    assert res.exit_code == 0, res.stderr
    db = signed.db()
    try:
        db.execute("update decisions set comment = 'rubber stamp' where actor = ?", (CHAIR,))
        db.commit()
    finally:
        db.close()
    report = json.loads(signed.r.cli("audit", "verify", "--json").stdout)
    assert any(CHAIR in p and "does not verify" in p for p in report["problems"]), report["problems"]


def test_sign_off_and_acceptance_are_signed_the_same_way(signed):
    res = signed.r.cli("sign-off", "qa", "1.1.0", actor=QA)
    assert res.exit_code == 1 and "qa requires a signed decision" in res.stderr
    res = signed.r.cli("sign-off", "qa", "1.1.0", "--sign-with", str(signed.keys["qa"]), actor=QA)
    assert res.exit_code == 0, res.stderr
    # Acceptance does not require a signature here, but one that is given is verified, and counts.
    res = signed.r.cli("accept", "1.1.0", "AC-2", "--sign-with", str(signed.keys["intruder"]), actor=GENERAL)
    assert res.exit_code == 1 and "does not verify" in res.stderr
    res = signed.r.cli("accept", "1.1.0", "AC-2", "--sign-with", str(signed.keys["general"]), actor=GENERAL)
    assert res.exit_code == 0, res.stderr
    assert [(a, k) for a, k, s, _ in signed.signatures() if s] == [(QA, "signoff"), (GENERAL, "acceptance")]
    audit = signed.r.cli("audit", "verify")
    assert audit.exit_code == 0 and "2 signatures verified" in audit.stdout, audit.stdout + audit.stderr


def test_without_ssh_keygen_y_a_signed_decision_is_exit_2(signed, tmp_path):
    old = tmp_path / "ssh-keygen-7.9"
    old.write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write('ssh-keygen: illegal option -- Y\\n')\n"
                   "sys.exit(1)\n")
    old.chmod(0o755)
    before = signed.r.ledger_dump()
    res = signed.approve(CHAIR, "--sign-with", str(signed.keys["chair"]), env={SSH_KEYGEN_ENV: str(old)})
    assert res.exit_code == 2 and "OpenSSH 8.0 or newer" in res.stderr
    assert signed.r.ledger_dump() == before


def test_web_decisions_stay_authenticated_by_the_session(signed):
    """A signature-requiring gate still takes the web's decision: the logged-in session is the authentication."""
    from release.web import board
    from release.workflow.context import open_context

    ctx = open_context(signed.r.path, environ=signed.r.env)
    try:
        view = board.release_view(ctx, "1.1.0", CHAIR, "change-board")
        line = board.decide(ctx, "1.1.0", action="approve", gate="change-board", actor=CHAIR,
                            account_role="change-board", candidate_sha=view["candidate_sha"],
                            report_hash=view["report_hash"], comment="read in the browser", confirmed=True)
    finally:
        ctx.ledger.close()
    assert line.startswith("recorded approval on change-board") and "signed" not in line
    [(actor, kind, signature, record_hash)] = signed.signatures()
    assert (actor, kind, signature, record_hash) == (CHAIR, "approval", None, view["report_hash"])
    assert signed.r.cli("audit", "verify").exit_code == 0
