"""Which build a CRVS target runs: GET /api/version, and waiting until it reports a given candidate."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class TargetIdentity:
    """What a target reported about itself at one moment."""

    url: str
    version: str
    commit: str

    def runs(self, version: str, commit: str) -> bool:
        """True when this target reports `version` or `commit` (a full or abbreviated sha)."""
        if self.version and self.version == version:
            return True
        mine, theirs = self.commit.lower(), commit.lower()
        return bool(mine) and len(mine) >= 7 and (theirs.startswith(mine) or mine.startswith(theirs))

    def to_json(self) -> dict[str, str]:
        """A JSON-able view."""
        return {"url": self.url, "version": self.version, "commit": self.commit}


def probe(url: str, timeout: float = 3.0) -> TargetIdentity | None:
    """Ask a target which version it runs; None when it cannot be reached or answers nonsense."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/api/version", timeout=timeout)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("version"), str):
        return None
    commit = body.get("commit")
    return TargetIdentity(url=url, version=body["version"], commit=commit if isinstance(commit, str) else "")


def wait_for(url: str, version: str, commit: str, timeout_s: float, *, poll_s: float = 0.5) -> TargetIdentity | None:
    """Poll until the target reports `version` or `commit`; None if it never does within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen = probe(url, timeout=min(3.0, max(0.5, timeout_s)))
        if seen is not None and seen.runs(version, commit):
            return seen
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll_s)
