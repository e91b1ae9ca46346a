"""The audit chain: each event's hash covers the previous hash and the event's canonical content."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from release.gates.canonical import ZERO_HASH, canonical_json, iso_utc, sha256_hex
from release.ledger.records import WITNESS_PREFIX, AuditCheckpoint

#: Payload keys that must never reach the audit log.
SECRET_KEYS = frozenset({"password", "password_hash", "secret", "client_secret", "token", "access_token",
                         "authorization", "api_key"})


def scrub(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Drop secret-looking keys (recursively) so secrets never enter the audit payload."""
    clean: dict[str, Any] = {}
    for key, value in payload.items():
        if str(key).lower() in SECRET_KEYS:
            continue
        clean[str(key)] = scrub(value) if isinstance(value, Mapping) else value
    return clean


def event_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str,
               payload: Mapping[str, Any]) -> str:
    """Return sha256(prev_hash + canonical_json({seq, at, actor, action, subject, payload}))."""
    body = canonical_json({"seq": seq, "at": iso_utc(at), "actor": actor, "action": action,
                           "subject": subject, "payload": payload})
    return sha256_hex(prev_hash + body)


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_chain(rows: Iterable[Sequence[Any]]) -> tuple[int, list[str], str]:
    """Check (seq, at, actor, action, subject, payload_text, prev_hash, hash) rows in seq order.

    Returns the number of events checked, the problems found (first one first) and the last hash.
    """
    expected_prev = ZERO_HASH
    problems: list[str] = []
    count = 0
    for seq, at, actor, action, subject, payload_text, prev_hash, stored_hash in rows:
        count += 1
        if prev_hash != expected_prev:
            problems.append(f"audit event seq {seq}: prev_hash does not match the event before it "
                            "(an event was deleted, inserted or reordered)")
        try:
            payload = json.loads(payload_text)
            recomputed = event_hash(prev_hash, seq, at, actor, action, subject, payload)
        except (ValueError, TypeError):
            recomputed = ""
        if recomputed != stored_hash:
            problems.append(f"audit event seq {seq}: content does not match its hash (the event was edited)")
        expected_prev = stored_hash
    return count, problems, expected_prev


def verify_artifact(root: Path, relpath: str, sha256: str, size: int) -> str | None:
    """Say what is wrong with one stored artifact file, or None when it is intact."""
    path = (root / relpath).resolve()
    if not path.is_relative_to(root.resolve()):
        return f"artifact {relpath}: path escapes the evidence root"
    if not path.is_file():
        return f"artifact {relpath}: file is missing from {root}"
    actual = file_sha256(path)
    if actual != sha256 or path.stat().st_size != size:
        return f"artifact {relpath}: sha256 {actual[:12]} does not match the ledger's {sha256[:12]} (file was modified)"
    return None


#: A published head: `crvs-release-audit-head: <seq> <hash>` (in a tag annotation, change record or manifest).
_WITNESS = re.compile(re.escape(WITNESS_PREFIX) + r"\s*(\d{1,18})\s+([0-9a-f]{64})\b")
_SEQ_HASH = re.compile(r"^(\d{1,18})[:@ ]([0-9a-f]{64})$")
_HASH = re.compile(r"^[0-9a-f]{64}$")


def parse_witnesses(text: str, source: str = "") -> list[AuditCheckpoint]:
    """Every `crvs-release-audit-head: <seq> <hash>` line in text, as checkpoints."""
    return [AuditCheckpoint(int(m.group(1)), m.group(2), source) for m in _WITNESS.finditer(text)]


def parse_checkpoint(text: str) -> AuditCheckpoint | None:
    """`SEQ:HASH`, `SEQ HASH` or a bare 64-hex HASH as a checkpoint; None when text is neither."""
    clean = text.strip().lower()
    m = _SEQ_HASH.match(clean)
    if m is not None:
        return AuditCheckpoint(int(m.group(1)), m.group(2), text.strip())
    if _HASH.match(clean):
        return AuditCheckpoint(None, clean, text.strip())
    return None


def check_witness(chain: Sequence[tuple[int, str]], witness: AuditCheckpoint) -> str | None:
    """Say how the chain (seq, hash) pairs fail to contain the witnessed event, or None when they contain it.

    With the chain itself verified (each hash covers its predecessor), containing event `seq` with the published
    hash proves that every event up to it is exactly what was published: Rekor's consistency check, with the
    hash chain standing in for the Merkle tree.
    """
    name = f"witness {witness.source + ' ' if witness.source else ''}({witness})"
    if witness.seq is None:
        if any(h == witness.hash for _, h in chain):
            return None
        return f"{name}: no event in the chain has this hash (the chain was truncated or rewritten)"
    by_seq = dict(chain)
    last = chain[-1][0] if chain else 0
    if witness.seq not in by_seq:
        if witness.seq > last:
            return (f"{name}: the chain ends at seq {last}, before the published seq {witness.seq} "
                    "(its newest events were deleted)")
        return f"{name}: event seq {witness.seq} is missing from the chain (events were deleted)"
    if by_seq[witness.seq] != witness.hash:
        return (f"{name}: event seq {witness.seq} has hash {by_seq[witness.seq][:16]}, not the published "
                f"{witness.hash[:16]} (the chain was rewritten)")
    return None
