"""Read published audit heads (witnesses) back from where the ledger cannot rewrite them.

A promotion writes `crvs-release-audit-head: <seq> <hash>` into its annotated git tag, the change record shows the
same line, and an evidence bundle's signed manifest carries `source_audit_seq` and `source_audit_head`. Like a
Sigstore Rekor checkpoint, a witness kept outside the log lets anyone check later that the log still contains what
it contained then: `release audit verify --against v1.2.0` catches a ledger whose newest events were deleted.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

from release.errors import InputError
from release.ledger.audit import parse_checkpoint, parse_witnesses
from release.ledger.records import AuditCheckpoint

MAX_WITNESS_FILE = 64 * 1024 * 1024


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"cannot run git to read a tag: {exc}") from exc


def tag_witnesses(root: Path, tag: str) -> list[AuditCheckpoint]:
    """The witnesses in an annotated tag's message; InputError (exit 2: cannot be sure) when there are none."""
    name = tag.strip()
    if not name or name.startswith("-") or any(c.isspace() or c in "~^:?*[\\" for c in name):
        raise InputError(f"{tag!r} is not a tag name, SEQ:HASH or a 64-hex audit hash")
    ref = name if name.startswith("refs/") else f"refs/tags/{name}"
    kind = _git(root, "cat-file", "-t", ref)
    if kind.returncode != 0:
        raise InputError(f"--against {name}: no such tag in {root} (fetch tags first), and not SEQ:HASH or a hash")
    if kind.stdout.strip() != "tag":
        raise InputError(f"--against {name}: a lightweight tag has no annotation, so it holds no audit head")
    body = _git(root, "cat-file", "tag", ref)
    if body.returncode != 0:
        raise InputError(f"--against {name}: cannot read the tag: {body.stderr.strip()[:200]}")
    message = body.stdout.split("\n\n", 1)[1] if "\n\n" in body.stdout else ""
    found = parse_witnesses(message, f"tag {name}")
    if not found:
        raise InputError(f"--against {name}: its annotation has no crvs-release-audit-head line, so it cannot "
                         "vouch for the chain (tags made before witnesses were written have none)")
    return found


def file_witnesses(path: Path) -> list[AuditCheckpoint]:
    """The witnesses in a change record (md, html, pdf text) or an evidence bundle's manifest."""
    if path.stat().st_size > MAX_WITNESS_FILE:
        raise InputError(f"--against {path}: file too large to hold a witness")
    source = f"file {path.name}"
    if tarfile.is_tarfile(path):
        try:
            with tarfile.open(path, "r:gz") as tar:
                member = tar.extractfile("manifest.json")
                manifest = json.loads(member.read()) if member is not None else None
        except (tarfile.TarError, KeyError, OSError, EOFError, ValueError) as exc:
            raise InputError(f"--against {path}: not a readable evidence bundle ({exc})") from exc
        seq, head = (manifest.get("source_audit_seq"), manifest.get("source_audit_head")) \
            if isinstance(manifest, dict) else (None, None)
        if not isinstance(head, str) or not (seq is None or isinstance(seq, int)):
            raise InputError(f"--against {path}: the bundle's manifest names no audit head")
        found = [AuditCheckpoint(seq, head, f"bundle {path.name}")]
    else:
        found = parse_witnesses(path.read_bytes().decode("utf-8", errors="replace"), source)
    if not found:
        raise InputError(f"--against {path}: no crvs-release-audit-head line in it")
    return found


def resolve_witness(text: str, root: Path) -> list[AuditCheckpoint]:
    """What `--against` names: SEQ:HASH, a bare HASH, a change record or bundle file, or an annotated tag."""
    checkpoint = parse_checkpoint(text)
    if checkpoint is not None:
        return [checkpoint]
    path = Path(text)
    if path.is_file():
        return file_witnesses(path)
    return tag_witnesses(root, text)


__all__ = ["file_witnesses", "resolve_witness", "tag_witnesses"]
