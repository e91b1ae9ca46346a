"""Read the evidence files a change record shows (summaries, load documents, screenshots) from the store.

Every file is re-hashed against the sha256 the ledger recorded before it is used: a file that does not
match is left out and named in `problems`, so the record never shows evidence that was altered.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MAX_SCREENSHOTS = 12
MAX_SCREENSHOT_BYTES = 2_000_000
MAX_JSON_BYTES = 50_000_000
_LOAD_NAMES = ("stats.json", "histograms.json", "comparison.json")


def _load_key(name: str) -> str | None:
    """Which load document a stored file is: stats, histograms, comparison, or their baseline_ twins."""
    for doc in _LOAD_NAMES:
        if name.endswith(doc):
            key = doc.removesuffix(".json")
            if key != "comparison" and "baseline" in name:
                return f"baseline_{key}"
            return key
    return None


def _verified_bytes(root: Path, artifact: Mapping[str, Any], limit: int) -> bytes | None:
    path = root / str(artifact["path"])
    try:
        if path.stat().st_size > limit:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == artifact.get("sha256") else None


def read_gate_files(evidence_root: Path, gates: Sequence[Mapping[str, Any]]) -> tuple[dict[str, dict[str, Any]],
                                                                                    list[str]]:
    """For each gate with evidence: {summary, screenshots, stats, histograms, comparison, baseline_*}; problems."""
    files: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for g in gates:
        ev = g.get("evidence")
        if not ev:
            continue
        got: dict[str, Any] = {"screenshots": []}
        for art in ev.get("artifacts") or []:
            kind, name = art.get("kind"), Path(str(art.get("path"))).name
            if kind == "screenshot":
                if len(got["screenshots"]) >= MAX_SCREENSHOTS:
                    continue
                data = _verified_bytes(evidence_root, art, MAX_SCREENSHOT_BYTES)
                if data is None:
                    problems.append(f"{g['gate']}: screenshot {name} missing, too large or altered")
                    continue
                got["screenshots"].append({"name": name, "sha256": art["sha256"],
                                           "data_uri": "data:image/png;base64," + base64.b64encode(data).decode()})
                continue
            key = "summary" if kind == "summary" else (_load_key(name) if kind == "load" else None)
            if key is None:
                continue
            data = _verified_bytes(evidence_root, art, MAX_JSON_BYTES)
            if data is None:
                problems.append(f"{g['gate']}: {name} missing or altered (sha256 does not match the ledger)")
                continue
            try:
                got[key] = json.loads(data)
            except ValueError:
                problems.append(f"{g['gate']}: {name} is not JSON")
        files[g["gate"]] = got
    return files, problems
