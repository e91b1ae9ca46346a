"""Signed evidence bundles: carry a release's gate runs, artifacts and decisions between ledgers.

A bundle is a gzip'd tar holding `manifest.json`, the artifact files under `artifacts/`, and
`signature.json` (HMAC-SHA256 of the manifest bytes with a key from the environment). The manifest
records the sha256 of every artifact, so the signature covers the files too. Import verifies the
signature and every file *before* it writes anything; a bundle that does not verify changes nothing.

The signed manifest also carries the exporting ledger's audit head (`source_audit_seq`, `source_audit_head`): a
witness kept outside that ledger, like a Sigstore Rekor checkpoint. `release audit verify --against BUNDLE` on the
source ledger proves its chain still holds that event, so a later truncation of it is caught.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from release import __version__
from release.errors import InputError, UsageError
from release.gates import Decision, DecisionKind, EvidenceBinding, GateState, Waiver, iso_utc
from release.ledger import Ledger, ReleaseRecord

SCHEMA = "crvs-release/evidence-bundle/1"
KEY_ENV = "RELEASE_EVIDENCE_KEY"
MAX_MEMBER_BYTES = 512 * 1024 * 1024


class BundleRefused(InputError):
    """The bundle's signature, hashes or layout do not verify; nothing was imported."""


@dataclass(frozen=True)
class ImportResult:
    """What an import added (already-present items are skipped, so re-import is a no-op)."""

    version: str
    candidates: int
    gate_runs: int
    decisions: int
    waivers: int
    skipped: int


def signing_key(environ: Mapping[str, str], key_env: str = KEY_ENV) -> bytes:
    """The HMAC key from the named env var; UsageError when it is unset or too short."""
    key = environ.get(key_env, "")
    if len(key) < 16:
        raise UsageError(f"set {key_env} to a shared secret of at least 16 characters to sign or verify bundles")
    return key.encode("utf-8")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _time(text: str) -> datetime:
    return _aware(datetime.fromisoformat(text))


def build_manifest(ledger: Ledger, release: ReleaseRecord) -> dict[str, Any]:
    """Everything the ledger knows about one release that a verdict depends on, as plain JSON."""
    candidates = ledger.candidates(release.version)
    rc_of = {c.sha: c.rc for c in candidates}
    runs = []
    for run in ledger.runs_for_release(release.version):
        if run.finished_at is None:
            continue  # a run still in progress is not evidence yet
        runs.append({
            "gate": run.gate, "candidate_sha": run.candidate_sha, "rc": rc_of.get(run.candidate_sha),
            "state": run.state.value, "started_at": iso_utc(run.started_at), "finished_at": iso_utc(run.finished_at),
            "binding": {"commit_sha": run.binding.commit_sha, "config_hash": run.binding.config_hash,
                        "target_url": run.binding.target_url, "target_version": run.binding.target_version,
                        "tool_version": run.binding.tool_version},
            "summary": dict(run.summary),
            "artifacts": [{"path": a.path, "sha256": a.sha256, "size": a.size, "kind": a.kind} for a in run.artifacts],
        })
    decisions = [{"kind": d.kind.value, "gate": d.gate, "actor": d.actor, "role": d.role,
                  "candidate_sha": d.candidate_sha, "comment": d.comment, "at": iso_utc(d.at),
                  "report_hash": d.report_hash, "criterion": d.criterion, "signature": d.signature}
                 for d in ledger.decisions_for(release.version)]
    head = ledger.audit_checkpoint()
    waivers = [{"gate": w.gate, "actor": w.actor, "reason": w.reason, "expires_at": iso_utc(w.expires_at),
                "created_at": iso_utc(w.created_at), "candidate_sha": w.candidate_sha}
               for w in ledger.waivers_for(release.version)]
    return {
        "schema": SCHEMA, "tool_version": __version__, "exported_at": iso_utc(datetime.now(UTC)),
        "source_audit_head": head.hash, "source_audit_seq": head.seq,
        "release": {"version": release.version, "previous_version": release.previous_version,
                    "preparer": release.preparer, "created_at": iso_utc(release.created_at)},
        "candidates": [{"rc": c.rc, "tag": c.tag, "sha": c.sha, "created_by": c.created_by,
                        "created_at": iso_utc(c.created_at)} for c in candidates],
        "gate_runs": runs, "decisions": decisions, "waivers": waivers,
    }


def _canonical(manifest: Mapping[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(manifest_bytes: bytes, key: bytes) -> str:
    """HMAC-SHA256 of the manifest bytes, hex."""
    return hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def export_bundle(ledger: Ledger, release: ReleaseRecord, out: Path, key: bytes) -> dict[str, Any]:
    """Write a signed bundle of `release` to `out`; returns the manifest."""
    manifest = build_manifest(ledger, release)
    body = _canonical(manifest)
    root = ledger.evidence_root
    files: dict[str, bytes] = {}
    for run in manifest["gate_runs"]:
        for art in run["artifacts"]:
            src = root / art["path"]
            data = src.read_bytes() if src.is_file() else b""
            if hashlib.sha256(data).hexdigest() != art["sha256"]:
                raise BundleRefused(f"artifact {art['path']} does not match its recorded sha256; "
                                    f"run `release audit verify` before exporting")
            files[f"artifacts/{art['path']}"] = data
    signature = {"alg": "HMAC-SHA256", "manifest_sha256": hashlib.sha256(body).hexdigest(), "mac": sign(body, key)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with tarfile.open(tmp, "w:gz") as tar:
        _add(tar, "manifest.json", body)
        for name in sorted(files):
            _add(tar, name, files[name])
        _add(tar, "signature.json", json.dumps(signature, sort_keys=True).encode())
    tmp.replace(out)
    return manifest


def read_bundle(path: Path, key: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Open and verify a bundle: signature, manifest schema and every artifact hash. Writes nothing."""
    if not path.is_file():
        raise BundleRefused(f"{path}: no such bundle")
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                name = PurePosixPath(member.name)
                if not member.isfile() or name.is_absolute() or ".." in name.parts:
                    raise BundleRefused(f"{path}: unexpected entry {member.name!r}")
                if member.size > MAX_MEMBER_BYTES:
                    raise BundleRefused(f"{path}: entry {member.name!r} is too large")
                handle = tar.extractfile(member)
                if handle is None:
                    raise BundleRefused(f"{path}: unreadable entry {member.name!r}")
                members[str(name)] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleRefused(f"{path}: not a readable bundle ({exc})") from exc
    body, sig_raw = members.pop("manifest.json", None), members.pop("signature.json", None)
    if body is None or sig_raw is None:
        raise BundleRefused(f"{path}: manifest.json or signature.json is missing")
    try:
        signature = json.loads(sig_raw)
        mac = str(signature["mac"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleRefused(f"{path}: signature.json is malformed") from exc
    if not hmac.compare_digest(mac, sign(body, key)):
        raise BundleRefused(f"{path}: signature does not match (wrong key, or the bundle was altered)")
    try:
        manifest = json.loads(body)
    except ValueError as exc:
        raise BundleRefused(f"{path}: manifest.json is not JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise BundleRefused(f"{path}: not a {SCHEMA} bundle")
    expected: set[str] = set()
    for run in manifest.get("gate_runs", []):
        for art in run.get("artifacts", []):
            entry = f"artifacts/{art['path']}"
            expected.add(entry)
            data = members.get(entry)
            if data is None or hashlib.sha256(data).hexdigest() != art["sha256"]:
                raise BundleRefused(f"{path}: artifact {art['path']} is missing or does not match its sha256")
    extra = set(members) - expected
    if extra:
        raise BundleRefused(f"{path}: entries not named in the manifest: {', '.join(sorted(extra))}")
    return manifest, members


def import_bundle(ctx: Any, path: Path, key: bytes) -> ImportResult:
    """Verify the bundle, then add what the ledger lacks: release, candidates, runs, artifacts, decisions, waivers."""
    from release.workflow.status import gate_spec, release_facts

    manifest, files = read_bundle(path, key)
    ledger: Ledger = ctx.ledger
    rel = manifest["release"]
    for item in manifest["gate_runs"] + manifest["decisions"] + manifest["waivers"]:
        if item["gate"] not in ctx.config.gates:
            raise BundleRefused(f"{path}: gate {item['gate']!r} is not in {ctx.config.path.name}; nothing imported")
    added = {"candidates": 0, "gate_runs": 0, "decisions": 0, "waivers": 0, "skipped": 0}
    try:
        release = ledger.get_release(rel["version"])
    except InputError:
        release = ledger.create_release(rel["version"], preparer=rel["preparer"],
                                        previous_version=rel["previous_version"], now=_time(rel["created_at"]))
    known = {c.sha for c in ledger.candidates(release.version)}
    for cand in manifest["candidates"]:
        if cand["sha"] in known:
            added["skipped"] += 1
            continue
        ledger.add_candidate(release.version, rc=cand["rc"], tag=cand["tag"], sha=cand["sha"],
                             created_by=cand["created_by"], now=_time(cand["created_at"]))
        added["candidates"] += 1
    by_sha = {c.sha: c for c in ledger.candidates(release.version)}
    present = {(r.gate, r.candidate_sha, iso_utc(r.started_at), r.binding.digest())
               for r in ledger.runs_for_release(release.version)}
    with tempfile.TemporaryDirectory(prefix="crvs-release-import-") as scratch:
        for run in manifest["gate_runs"]:
            binding = EvidenceBinding(**run["binding"])
            key_of_run = (run["gate"], run["candidate_sha"], iso_utc(_time(run["started_at"])), binding.digest())
            if key_of_run in present:
                added["skipped"] += 1
                continue
            started = ledger.start_gate_run(by_sha[run["candidate_sha"]], run["gate"], binding,
                                            actor="evidence-import", now=_time(run["started_at"]))
            refs = []
            for art in run["artifacts"]:
                src = Path(scratch) / PurePosixPath(art["path"]).name
                src.write_bytes(files[f"artifacts/{art['path']}"])
                refs.append(ledger.store_artifact(started.id, src, art["kind"]))
            ledger.finish_gate_run(started.id, GateState(run["state"]), run["summary"], refs,
                                   actor="evidence-import", now=_time(run["finished_at"]))
            added["gate_runs"] += 1
    existing = {(d.kind.value, d.gate, d.actor.lower(), d.candidate_sha, d.criterion)
                for d in ledger.decisions_for(release.version)}
    release = ledger.get_release(release.version)
    for dec in manifest["decisions"]:
        if (dec["kind"], dec["gate"], dec["actor"].lower(), dec["candidate_sha"], dec["criterion"]) in existing:
            added["skipped"] += 1
            continue
        cand = by_sha[dec["candidate_sha"]]
        decision = Decision(DecisionKind(dec["kind"]), dec["gate"], dec["actor"], dec["role"], dec["candidate_sha"],
                            dec["comment"], _time(dec["at"]), dec["report_hash"], dec["criterion"],
                            signature=dec.get("signature"))
        ledger.record_decision(decision, spec=gate_spec(ctx.config.gates[dec["gate"]]),
                               facts=release_facts(ctx, release, cand), now=_time(dec["at"]))
        added["decisions"] += 1
    have_waivers = {(w.gate, w.candidate_sha, iso_utc(w.created_at)) for w in ledger.waivers_for(release.version)}
    for wv in manifest["waivers"]:
        if (wv["gate"], wv["candidate_sha"], iso_utc(_time(wv["created_at"]))) in have_waivers:
            added["skipped"] += 1
            continue
        waiver = Waiver(wv["gate"], wv["actor"], wv["reason"], _time(wv["expires_at"]), _time(wv["created_at"]),
                        wv["candidate_sha"])
        ledger.record_waiver(waiver, spec=gate_spec(ctx.config.gates[wv["gate"]]),
                             facts=release_facts(ctx, release, by_sha[wv["candidate_sha"]]),
                             now=_time(wv["created_at"]))
        added["waivers"] += 1
    if any(added[k] for k in ("candidates", "gate_runs", "decisions", "waivers")):
        ledger.append_audit(ctx.actor or "evidence-import", "evidence.imported", release.version,
                            {"bundle_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                             "source_audit_head": manifest.get("source_audit_head"),
                             "source_audit_seq": manifest.get("source_audit_seq"), **added})
    return ImportResult(release.version, **added)


__all__ = ["KEY_ENV", "SCHEMA", "BundleRefused", "ImportResult", "export_bundle",
           "import_bundle", "read_bundle", "signing_key"]
