"""SSH signatures on people's decisions, made and checked with `ssh-keygen -Y`, the way git signs commits.

A CLI decision (approval, rejection, sign-off, acceptance) is a claim of who decided; `--as` alone is only a
claim. Signed, it is the person's: the signer's ssh-keygen signs the decision's canonical bytes (its
`DecisionStatement`) in the namespace ``crvs-release-decision``, and the tool verifies the signature against the
allowed-signers file that release.toml names, with the deciding actor's e-mail as the principal. This is git's
model for SSH-signed commits (gpg.format = ssh): ``ssh-keygen -Y sign -n git`` to sign, ``ssh-keygen -Y verify
-f <gpg.ssh.allowedSignersFile> -I <committer email> -n git -s <sig>`` to check, and a verification counts only
when ssh-keygen exits 0 *and* prints ``Good "<namespace>" signature for <principal>``.

The statement binds the release, the gate, the kind, the candidate commit, the hash of the change record the
person read, the criterion, the comment, the actor and the time the signer chose; a signature over one
decision does not verify for another (no replay onto another release, gate, candidate or record), and a
signature older or newer than SIGNATURE_WINDOW is refused when recorded. `release audit verify` rebuilds each
stored decision's statement from its ledger row and re-verifies its signature, with -Overify-time set to the
decision's time as git does, so a key retired later with valid-before keeps its old signatures valid.

Nothing here accepts when it cannot check: no ssh-keygen, or one without -Y (OpenSSH < 8.0), is exit 2
(SigningUnavailable), never a pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from release.errors import DecisionRefused, InputError, ReleaseError
from release.gates.canonical import canonical_json, iso_utc

#: The signing namespace (ssh-keygen -n): a signature made for git ("git") or for files ("file") does not verify
#: here, and one made here does not verify as a git commit signature.
NAMESPACE = "crvs-release-decision"
#: Version of the statement's layout; a change of fields is a new version, never a silent reinterpretation.
STATEMENT_VERSION = 1
#: How far the signer's chosen time may be from the recording clock, either way.
SIGNATURE_WINDOW = timedelta(minutes=5)
#: An armored SSHSIG of an ed25519, ECDSA or RSA-4096 key is well under 2 KiB; anything far larger is not one.
MAX_SIGNATURE_CHARS = 16 * 1024
#: The private key (or, with an agent, the public key) `--sign-with` defaults to.
SIGNING_KEY_ENV = "RELEASE_SIGNING_KEY"
#: The ssh-keygen to run (default: the one on PATH), like git's gpg.ssh.program.
SSH_KEYGEN_ENV = "RELEASE_SSH_KEYGEN"
#: How long one ssh-keygen verify may take.
VERIFY_TIMEOUT_S = 30.0

_ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_ARMOR_END = "-----END SSH SIGNATURE-----"
_BASE64_LINE = re.compile(r"^[A-Za-z0-9+/=]+$")
_NO_Y_OPTION = re.compile(r"(illegal|unknown|invalid|unrecognized) option.{0,8}Y", re.IGNORECASE)
_STATEMENT_KEYS = frozenset({"v", "namespace", "release", "gate", "kind", "candidate_sha", "record_hash",
                             "criterion", "comment", "actor", "at"})


class SignatureRefused(DecisionRefused):
    """A decision's signature is missing, malformed, for another decision, out of time or does not verify (exit 1)."""


class SigningUnavailable(ReleaseError):
    """The signature cannot be made or checked: no ssh-keygen -Y, no allowed-signers file, a bad key (exit 2)."""


# ------------------------------------------------------------------------------------------------ the statement


@dataclass(frozen=True)
class DecisionStatement:
    """What a person signs: one decision on one candidate of one release, after reading one change record."""

    release: str
    gate: str
    kind: str
    candidate_sha: str
    record_hash: str | None
    actor: str
    comment: str
    at: datetime
    criterion: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The statement as plain JSON (the signed bytes are its canonical form)."""
        return {"v": STATEMENT_VERSION, "namespace": NAMESPACE, "release": self.release, "gate": self.gate,
                "kind": self.kind, "candidate_sha": self.candidate_sha, "record_hash": self.record_hash,
                "criterion": self.criterion, "comment": self.comment, "actor": self.actor, "at": iso_utc(self.at)}

    def payload(self) -> bytes:
        """The exact bytes signed: canonical JSON (sorted keys, no spaces, UTF-8) and one newline."""
        try:
            return (canonical_json(self.to_json()) + "\n").encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (a non-UTF-8 byte in argv) has no UTF-8 form to sign
            raise InputError("the decision's text is not valid Unicode (a comment or e-mail with a stray "
                             "byte?); nothing recorded") from None

    @classmethod
    def parse(cls, data: bytes, source: str = "payload") -> DecisionStatement:
        """Read a statement written by `--print-payload`; InputError unless it is exactly canonical."""
        try:
            text = data.decode("utf-8")
            doc = json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{source}: not a decision statement (expected the JSON `--print-payload` wrote)") from exc
        if not isinstance(doc, dict) or set(doc) != _STATEMENT_KEYS:
            raise InputError(f"{source}: expected exactly the keys {', '.join(sorted(_STATEMENT_KEYS))}")
        if doc["v"] != STATEMENT_VERSION or doc["namespace"] != NAMESPACE:
            raise InputError(f"{source}: statement version {doc['v']!r} in namespace {doc['namespace']!r}; "
                             f"this tool signs version {STATEMENT_VERSION} in {NAMESPACE}")
        strings = ("release", "gate", "kind", "candidate_sha", "comment", "actor", "at")
        if any(not isinstance(doc[k], str) for k in strings) or any(
                doc[k] is not None and not isinstance(doc[k], str) for k in ("record_hash", "criterion")):
            raise InputError(f"{source}: every field is a string (record_hash and criterion may be null)")
        try:
            at = datetime.fromisoformat(doc["at"])
        except ValueError:
            raise InputError(f"{source}: at {doc['at']!r} is not an ISO-8601 time") from None
        if at.tzinfo is None:
            raise InputError(f"{source}: at {doc['at']!r} has no timezone")
        statement = cls(release=doc["release"], gate=doc["gate"], kind=doc["kind"],
                        candidate_sha=doc["candidate_sha"], record_hash=doc["record_hash"], actor=doc["actor"],
                        comment=doc["comment"], at=at, criterion=doc["criterion"])
        if statement.payload() != data:
            # The signature covers bytes, not meaning: only the canonical form is accepted, so the bytes the
            # tool rebuilds from the ledger later are the bytes that were signed.
            raise InputError(f"{source}: not in canonical form; sign the file `--print-payload` wrote, unchanged")
        return statement

    def differences(self, other: DecisionStatement) -> list[str]:
        """The fields (other than the time) in which other says something else, as 'field: ours != theirs'."""
        mine, theirs = self.to_json(), other.to_json()
        return [f"{key} is {theirs[key]!r}, but this decision's is {mine[key]!r}"
                for key in ("release", "gate", "kind", "candidate_sha", "record_hash", "criterion", "comment",
                            "actor") if mine[key] != theirs[key]]


def signing_time(now: datetime) -> datetime:
    """The time a signer puts in a statement: now, UTC, to the second (easy to read and to compare)."""
    return now.astimezone(UTC).replace(microsecond=0)


def check_time(at: datetime, now: datetime) -> None:
    """SignatureRefused unless the signed time is within SIGNATURE_WINDOW of now (a stale or post-dated statement)."""
    if abs(now - at) > SIGNATURE_WINDOW:
        minutes = int(SIGNATURE_WINDOW.total_seconds() // 60)
        raise SignatureRefused(f"the signed time {iso_utc(at)} is more than {minutes} minutes from now "
                               f"({iso_utc(now)}); sign a fresh statement (release ... --print-payload)")


# ------------------------------------------------------------------------------------------------ armor


def normalise_signature(text: str, source: str = "signature") -> str:
    """The armored SSH signature with its lines re-joined by \\n; SignatureRefused unless it looks like one."""
    if len(text) > MAX_SIGNATURE_CHARS:
        raise SignatureRefused(f"{source}: {len(text)} characters is not an SSH signature")
    lines = [line.strip() for line in text.strip().splitlines()]
    body = lines[1:-1]
    if (len(lines) < 3 or lines[0] != _ARMOR_BEGIN or lines[-1] != _ARMOR_END
            or not all(_BASE64_LINE.match(line) for line in body)):
        raise SignatureRefused(f"{source}: expected an armored SSH signature ({_ARMOR_BEGIN} ... {_ARMOR_END}), "
                               "as `ssh-keygen -Y sign` writes")
    return "\n".join([_ARMOR_BEGIN, *body, _ARMOR_END]) + "\n"


def read_signature(path: Path) -> str:
    """Read and normalise a signature file (`ssh-keygen -Y sign` writes FILE.sig)."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_SIGNATURE_CHARS + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the signature ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise SignatureRefused(f"{path}: expected an armored SSH signature (ASCII)") from None
    return normalise_signature(text, str(path))


def read_payload(path: Path) -> DecisionStatement:
    """Read a statement file written by `--print-payload`."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the statement ({exc.strerror or exc})") from exc
    return DecisionStatement.parse(data, str(path))


# ------------------------------------------------------------------------------------------------ ssh-keygen


def ssh_keygen(environ: Mapping[str, str] | None = None) -> str:
    """The ssh-keygen program to run; SigningUnavailable (exit 2) when there is none."""
    env = os.environ if environ is None else environ
    program = env.get(SSH_KEYGEN_ENV) or "ssh-keygen"
    found = shutil.which(program)
    if found is None:
        raise SigningUnavailable(f"{program} not found: signed decisions need OpenSSH's ssh-keygen (8.0 or newer, "
                                 "for -Y sign and -Y verify); install openssh-client")
    return found


def _unavailable(stderr: str) -> bool:
    return _NO_Y_OPTION.search(stderr) is not None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


def sign(payload: bytes, key: Path, *, environ: Mapping[str, str] | None = None) -> str:
    """Sign payload with `ssh-keygen -Y sign -f KEY -n crvs-release-decision` (a .pub key signs via ssh-agent).

    ssh-keygen asks for a passphrase on the terminal itself, so no timeout applies. SigningUnavailable (exit 2)
    when it cannot sign: no such key, a wrong passphrase, no -Y.
    """
    key = Path(key).expanduser()
    if not key.is_file():
        raise SigningUnavailable(f"{key}: no such key file (--sign-with or {SIGNING_KEY_ENV})")
    program = ssh_keygen(environ)
    try:
        proc = subprocess.run([program, "-Y", "sign", "-f", str(key), "-n", NAMESPACE], input=payload,
                              capture_output=True, check=False)
    except OSError as exc:
        raise SigningUnavailable(f"{program}: cannot run ({exc.strerror or exc})") from exc
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0 or _unavailable(stderr):
        if _unavailable(stderr):
            raise SigningUnavailable(f"{program} has no -Y sign (OpenSSH 8.0 or newer is needed)")
        raise SigningUnavailable(f"ssh-keygen could not sign with {key}: {_last_line(stderr)}")
    try:
        text = proc.stdout.decode("ascii")
    except UnicodeDecodeError:
        raise SigningUnavailable(f"ssh-keygen -Y sign wrote something other than a signature with {key}") from None
    return normalise_signature(text, "ssh-keygen -Y sign output")


@dataclass(frozen=True)
class Verified:
    """A signature that verified: who (the principal) and with which key (ssh-keygen's fingerprint)."""

    principal: str
    key: str


def verify(payload: bytes, signature: str, *, allowed_signers: bytes, principal: str, at: datetime,
           environ: Mapping[str, str] | None = None) -> Verified:
    """Check signature over payload for principal with `ssh-keygen -Y verify`, as git checks an SSH commit.

    -Overify-time is the decision's time, so a key's valid-after/valid-before in the allowed-signers file are
    judged at the moment the person decided (git passes the commit time the same way). SignatureRefused when it
    does not verify; SigningUnavailable when ssh-keygen cannot be run or has no -Y.
    """
    program = ssh_keygen(environ)
    when = at.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")
    with tempfile.TemporaryDirectory(prefix="release-verify-") as scratch:
        signers, sig = Path(scratch) / "allowed_signers", Path(scratch) / "decision.sig"
        signers.write_bytes(allowed_signers)
        sig.write_text(normalise_signature(signature), encoding="ascii")
        try:
            proc = subprocess.run([program, "-Y", "verify", "-f", str(signers), "-I", principal, "-n", NAMESPACE,
                                   "-s", str(sig), f"-Overify-time={when}"], input=payload, capture_output=True,
                                  check=False, timeout=VERIFY_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise SigningUnavailable(f"ssh-keygen -Y verify did not answer within {VERIFY_TIMEOUT_S:.0f} s") from exc
        except OSError as exc:
            raise SigningUnavailable(f"{program}: cannot run ({exc.strerror or exc})") from exc
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    if _unavailable(stderr):
        raise SigningUnavailable(f"{program} has no -Y verify (OpenSSH 8.0 or newer is needed)")
    good = f'Good "{NAMESPACE}" signature for {principal} with '
    line = next((ln for ln in stdout.splitlines() if ln.startswith(good)), None)
    if proc.returncode != 0 or line is None:
        # git likewise requires both the exit status and the "Good" line.
        raise SignatureRefused(f"the signature does not verify for {principal} against the allowed signers "
                               f"({_last_line(stderr + stdout)})")
    return Verified(principal, line[len(good):].strip())


# ------------------------------------------------------------------------------------------------ allowed signers


def allowed_signers_path(relpath: str) -> PurePosixPath:
    """The configured path as a repository-relative path; InputError if it leaves the repository."""
    path = PurePosixPath(relpath)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InputError(f"allowed_signers {relpath!r}: expected a path inside the repository")
    return path


def load_allowed_signers(root: Path, relpath: str) -> bytes:
    """The allowed-signers file as committed at HEAD; SigningUnavailable if it is missing or edited locally.

    Who may sign for whom is decided by that file, so a local edit (adding your own key under the chair's
    e-mail) must not count: only the committed version does, and a working copy that differs is refused
    rather than silently ignored.
    """
    rel = allowed_signers_path(relpath)
    path = Path(root) / rel
    try:
        working = path.read_bytes()
    except OSError as exc:
        raise SigningUnavailable(f"{rel}: the allowed-signers file release.toml names cannot be read "
                                 f"({exc.strerror or exc}); see docs/signing.md") from exc
    try:
        proc = subprocess.run(["git", "-C", str(root), "cat-file", "blob", f"HEAD:{rel.as_posix()}"],
                              capture_output=True, check=False, timeout=VERIFY_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SigningUnavailable(f"git could not read {rel} at HEAD ({exc})") from exc
    if proc.returncode != 0:
        raise SigningUnavailable(f"{rel} is not committed; commit the allowed-signers file so that changes "
                                 "to who may sign are reviewed like code")
    if proc.stdout != working:
        raise SigningUnavailable(f"{rel} has uncommitted changes; commit them (or undo them) first: only the "
                                 "committed allowed-signers file counts")
    return working


# ------------------------------------------------------------------------------------------------ the ledger


@dataclass(frozen=True)
class SignatureReport:
    """The re-verification of every stored signature: how many were checked and what did not verify."""

    checked: int
    problems: tuple[str, ...]


def statement_of(version: str, decision: Any) -> DecisionStatement:
    """The statement a stored decision's signature must cover, rebuilt from its ledger row."""
    return DecisionStatement(release=version, gate=decision.gate, kind=str(getattr(decision.kind, "value",
                                                                                   decision.kind)),
                             candidate_sha=decision.candidate_sha, record_hash=decision.report_hash,
                             actor=decision.actor, comment=decision.comment, at=decision.at,
                             criterion=decision.criterion)


def verify_recorded(decisions: Iterable[tuple[str, Any]], *, root: Path, allowed_signers: str | None,
                    environ: Mapping[str, str] | None = None) -> SignatureReport:
    """Re-verify the signature of every (version, decision) that has one; each failure is a problem.

    A changed signature, a changed field the signature covers (kind, actor, comment, time, candidate, record
    hash), or a signer no longer allowed at the decision's time is reported by the decision it belongs to.
    """
    signed = [(v, d) for v, d in decisions if getattr(d, "signature", None)]
    if not signed:
        return SignatureReport(0, ())
    subject = f"{len(signed)} signed decision(s)"
    if allowed_signers is None:
        return SignatureReport(0, (f"signatures: {subject} but release.toml names no [signatures] "
                                   "allowed_signers to check them against",))
    try:
        signers = load_allowed_signers(root, allowed_signers)
        ssh_keygen(environ)
    except (SigningUnavailable, InputError) as exc:
        return SignatureReport(0, (f"signatures: cannot re-verify {subject}: {exc}",))
    problems: list[str] = []
    for version, decision in signed:
        statement = statement_of(version, decision)
        where = (f"decision {statement.kind} on {version}/{statement.gate} by {statement.actor} at "
                 f"{iso_utc(statement.at)}")
        try:
            verify(statement.payload(), decision.signature, allowed_signers=signers, principal=statement.actor,
                   at=statement.at, environ=environ)
        except SignatureRefused as exc:
            problems.append(f"{where}: {exc}")
        except SigningUnavailable as exc:
            problems.append(f"{where}: cannot re-verify: {exc}")
    return SignatureReport(len(signed), tuple(problems))


def verify_ledger_signatures(ledger: Any, start: Path | None = None,
                             environ: Mapping[str, str] | None = None) -> SignatureReport:
    """`release audit verify`'s signature check: every signed decision of every release in the ledger.

    release.toml (found from start, default the working directory) names the allowed-signers file; it is read
    only when there is a signature to check, so a ledger without signed decisions needs no config at all.
    """
    from release.config import find_config, load_config
    from release.ledger.location import find_repo_root

    decisions = [(rel.version, d) for rel in ledger.list_releases() for d in ledger.decisions_for(rel.version)]
    if not any(getattr(d, "signature", None) for _, d in decisions):
        return SignatureReport(0, ())
    here = Path(start or Path.cwd())
    root = find_repo_root(here)
    try:
        if root is None:
            raise InputError(f"{here} is not inside a git repository")
        config = load_config(find_config(here))
        allowed = config.signatures.allowed_signers
        if allowed is not None:
            allowed = (config.path.parent.resolve() / allowed).relative_to(root.resolve()).as_posix()
    except (ReleaseError, ValueError) as exc:
        count = sum(1 for _, d in decisions if getattr(d, "signature", None))
        return SignatureReport(0, (f"signatures: cannot re-verify {count} signed decision(s): {exc}",))
    return verify_recorded(decisions, root=root, allowed_signers=allowed, environ=environ)
