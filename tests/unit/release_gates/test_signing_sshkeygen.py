"""release.signing against the real ssh-keygen: sign, verify, and every way a signature must not verify.

Keys are made here with `ssh-keygen -t ed25519 -N ''`; the allowed-signers file has git's format (one line per
principal, namespaces="..." restricting what the key may sign).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from release.gates import Decision, DecisionKind
from release.signing import (
    NAMESPACE,
    SSH_KEYGEN_ENV,
    DecisionStatement,
    SignatureRefused,
    SigningUnavailable,
    load_allowed_signers,
    sign,
    verify,
    verify_recorded,
)

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 2, 10, 15, 30, tzinfo=UTC)
CHAIR = "chair@example.org"
STATEMENT = DecisionStatement(release="1.1.0", gate="change-board", kind="approval", candidate_sha="a" * 40,
                              record_hash="b" * 64, actor=CHAIR, comment="change record read", at=AT)


def keypair(folder: Path, name: str) -> tuple[Path, str]:
    """A fresh ed25519 key without a passphrase: (private key path, public key line)."""
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key, (folder / f"{name}.pub").read_text().strip()


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    folder = tmp_path / "keys"
    folder.mkdir()
    return {name: keypair(folder, name) for name in ("chair", "intruder")}


def signers(*lines: str) -> bytes:
    return ("".join(line + "\n" for line in lines)).encode()


def line(principal: str, public: str, options: str = f'namespaces="{NAMESPACE}"') -> str:
    return f"{principal} {options} {public}"


def test_a_signature_made_with_the_persons_key_verifies(keys):
    key, public = keys["chair"]
    signature = sign(STATEMENT.payload(), key)
    assert signature.startswith("-----BEGIN SSH SIGNATURE-----\n")
    verified = verify(STATEMENT.payload(), signature, allowed_signers=signers(line(CHAIR, public)), principal=CHAIR,
                      at=AT)
    assert verified.principal == CHAIR and verified.key.startswith("ED25519 key SHA256:")


def test_a_key_not_in_the_allowed_signers_is_refused(keys):
    signature = sign(STATEMENT.payload(), keys["intruder"][0])
    with pytest.raises(SignatureRefused, match=r"does not verify for chair@example\.org"):
        verify(STATEMENT.payload(), signature, allowed_signers=signers(line(CHAIR, keys["chair"][1])),
               principal=CHAIR, at=AT)


def test_a_persons_key_does_not_sign_for_someone_else(keys):
    key, public = keys["chair"]
    signature = sign(STATEMENT.payload(), key)
    allowed = signers(line(CHAIR, public), line("ops@example.org", keys["intruder"][1]))
    with pytest.raises(SignatureRefused):
        verify(STATEMENT.payload(), signature, allowed_signers=allowed, principal="ops@example.org", at=AT)


@pytest.mark.parametrize("field", ["release", "gate", "kind", "candidate_sha", "record_hash", "comment", "at"])
def test_a_signature_does_not_verify_for_other_bytes(keys, field):
    key, public = keys["chair"]
    signature = sign(STATEMENT.payload(), key)
    other: Any = {"release": "1.2.0", "gate": "qa", "kind": "rejection", "candidate_sha": "c" * 40,
             "record_hash": "d" * 64, "comment": "", "at": AT + timedelta(seconds=1)}[field]
    replayed = dataclasses.replace(STATEMENT, **{field: other})
    with pytest.raises(SignatureRefused):
        verify(replayed.payload(), signature, allowed_signers=signers(line(CHAIR, public)), principal=CHAIR, at=AT)


def test_a_signature_made_for_git_does_not_count_here(keys, tmp_path):
    key, public = keys["chair"]
    proc = subprocess.run(["ssh-keygen", "-Y", "sign", "-f", str(key), "-n", "git"], input=STATEMENT.payload(),
                          capture_output=True, check=True)
    with pytest.raises(SignatureRefused):
        verify(STATEMENT.payload(), proc.stdout.decode(), allowed_signers=signers(line(CHAIR, public, "")),
               principal=CHAIR, at=AT)


def test_a_key_restricted_to_git_commits_cannot_sign_decisions(keys):
    key, public = keys["chair"]
    signature = sign(STATEMENT.payload(), key)
    with pytest.raises(SignatureRefused):
        verify(STATEMENT.payload(), signature, allowed_signers=signers(line(CHAIR, public, 'namespaces="git"')),
               principal=CHAIR, at=AT)


def test_validity_is_judged_at_the_decision_time(keys):
    """A key retired with valid-before keeps the signatures it made before (git passes -Overify-time the same way)."""
    key, public = keys["chair"]
    signature = sign(STATEMENT.payload(), key)
    retired = signers(line(CHAIR, public, f'namespaces="{NAMESPACE}",valid-before="20260401"'))
    verify(STATEMENT.payload(), signature, allowed_signers=retired, principal=CHAIR, at=AT)
    late = dataclasses.replace(STATEMENT, at=datetime(2026, 4, 2, tzinfo=UTC))
    late_signature = sign(late.payload(), key)
    with pytest.raises(SignatureRefused):
        verify(late.payload(), late_signature, allowed_signers=retired, principal=CHAIR, at=late.at)


def test_an_altered_signature_is_refused(keys):
    key, public = keys["chair"]
    signature = sign(STATEMENT.payload(), key)
    body = signature.splitlines()
    flipped = body[2][:10] + ("A" if body[2][10] != "A" else "B") + body[2][11:]
    altered = "\n".join([*body[:2], flipped, *body[3:]]) + "\n"
    with pytest.raises(SignatureRefused):
        verify(STATEMENT.payload(), altered, allowed_signers=signers(line(CHAIR, public)), principal=CHAIR, at=AT)


def test_a_missing_key_file_cannot_sign(tmp_path):
    with pytest.raises(SigningUnavailable, match="no such key file"):
        sign(STATEMENT.payload(), tmp_path / "missing")


def test_without_ssh_keygen_nothing_is_accepted(keys, tmp_path):
    env = {**os.environ, SSH_KEYGEN_ENV: str(tmp_path / "no-ssh-keygen")}
    with pytest.raises(SigningUnavailable, match="not found"):
        verify(STATEMENT.payload(), sign(STATEMENT.payload(), keys["chair"][0]),
               allowed_signers=signers(line(CHAIR, keys["chair"][1])), principal=CHAIR, at=AT, environ=env)


def old_ssh_keygen(tmp_path: Path) -> dict[str, str]:
    """An ssh-keygen from before OpenSSH 8.0: -Y is an unknown option (its words, its exit status)."""
    script = tmp_path / "ssh-keygen-7.9"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write('ssh-keygen: illegal option -- Y\\n')\n"
                      "sys.exit(1)\n")
    script.chmod(0o755)
    return {**os.environ, SSH_KEYGEN_ENV: str(script)}


def test_an_ssh_keygen_without_y_is_exit_2_not_a_pass(keys, tmp_path):
    env = old_ssh_keygen(tmp_path)
    signature = sign(STATEMENT.payload(), keys["chair"][0])
    with pytest.raises(SigningUnavailable, match="no -Y verify") as verifying:
        verify(STATEMENT.payload(), signature, allowed_signers=signers(line(CHAIR, keys["chair"][1])),
               principal=CHAIR, at=AT, environ=env)
    with pytest.raises(SigningUnavailable, match="no -Y sign") as signing:
        sign(STATEMENT.payload(), keys["chair"][0], environ=env)
    assert verifying.value.exit_code == signing.value.exit_code == 2


def test_an_ssh_keygen_that_says_good_without_exit_0_is_not_believed(keys, tmp_path):
    script = tmp_path / "liar"
    script.write_text(f'#!{sys.executable}\nimport sys\nprint(\'Good "{NAMESPACE}" signature for {CHAIR} with '
                      "ED25519 key SHA256:x')\nsys.exit(255)\n")
    script.chmod(0o755)
    with pytest.raises(SignatureRefused):
        verify(STATEMENT.payload(), sign(STATEMENT.payload(), keys["chair"][0]),
               allowed_signers=signers(line(CHAIR, keys["chair"][1])), principal=CHAIR, at=AT,
               environ={**os.environ, SSH_KEYGEN_ENV: str(script)})


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=rm@example.org", "-c", "user.name=RM", *args],
                   check=True, capture_output=True, env=env)


@pytest.fixture
def repo(tmp_path: Path, keys) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    (path / ".allowed_signers").write_text(line(CHAIR, keys["chair"][1]) + "\n")
    git(path, "add", ".allowed_signers")
    git(path, "commit", "-q", "-m", "chore: who may sign")
    return path


def test_the_committed_allowed_signers_file_is_read(repo):
    assert load_allowed_signers(repo, ".allowed_signers") == (repo / ".allowed_signers").read_bytes()


def test_a_local_edit_of_the_allowed_signers_does_not_count(repo, keys):
    """Adding your own key under the chair's e-mail in the working copy must not let you sign as the chair."""
    with (repo / ".allowed_signers").open("a") as handle:
        handle.write(line(CHAIR, keys["intruder"][1]) + "\n")
    with pytest.raises(SigningUnavailable, match="uncommitted changes") as caught:
        load_allowed_signers(repo, ".allowed_signers")
    assert caught.value.exit_code == 2


def test_an_untracked_or_missing_allowed_signers_file_is_refused(repo):
    (repo / "signers").write_text("x\n")
    with pytest.raises(SigningUnavailable, match="not committed"):
        load_allowed_signers(repo, "signers")
    with pytest.raises(SigningUnavailable, match="cannot be read"):
        load_allowed_signers(repo, "nowhere")


def decision(signature: str | None, **changes: object) -> Decision:
    base = Decision(kind=DecisionKind.APPROVAL, gate="change-board", actor=CHAIR, role="change-board",
                    candidate_sha="a" * 40, comment="change record read", at=AT, report_hash="b" * 64,
                    signature=signature)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_recorded_signatures_are_re_verified_from_their_rows(repo, keys):
    signature = sign(STATEMENT.payload(), keys["chair"][0])
    good = verify_recorded([("1.1.0", decision(signature)), ("1.1.0", decision(None, actor="ops@example.org"))],
                           root=repo, allowed_signers=".allowed_signers")
    assert (good.checked, good.problems) == (1, ())
    edited = verify_recorded([("1.1.0", decision(signature, kind=DecisionKind.REJECTION)),
                              ("1.1.0", decision(signature, comment="rubber stamp")),
                              ("1.2.0", decision(signature))], root=repo, allowed_signers=".allowed_signers")
    assert edited.checked == 3 and len(edited.problems) == 3
    assert all("does not verify for chair@example.org" in p for p in edited.problems)
    assert "decision rejection on 1.1.0/change-board by chair@example.org" in edited.problems[0]


def test_signed_rows_without_an_allowed_signers_file_are_a_problem(repo, keys):
    signature = sign(STATEMENT.payload(), keys["chair"][0])
    report = verify_recorded([("1.1.0", decision(signature))], root=repo, allowed_signers=None)
    assert report.checked == 0 and "names no [signatures] allowed_signers" in report.problems[0]
