"""Which build a CRVS target runs, learnt the way the target's identity spec says, and waiting for a candidate.

OpenCRVS serves no version endpoint. The gateway sets ``X-Version`` (its package version) on every non-error
answer (opencrvs-core v2.0.0 packages/gateway/src/server.ts, ``onPreResponse``), so the default probe is that
header on ``GET {gateway}/ping``. A team can instead name a JSON endpoint and a key, or a command whose stdout's
first line is the version. No commit is exposed, so a target runs a candidate when it reports its version.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from release.config import IdentitySpec, Target

#: The deploy hook's record of what it deployed: stdout lines ``RELEASE_IMAGE_<NAME>=<image:tag>``.
IMAGE_PREFIX = "RELEASE_IMAGE_"
_IMAGE_LINE = re.compile(rf"^{IMAGE_PREFIX}([A-Za-z0-9_]+)=(\S+)$")


@dataclass(frozen=True)
class TargetIdentity:
    """What a target reported about itself at one moment, and how it was asked."""

    url: str
    version: str
    how: str = ""
    images: Mapping[str, str] = field(default_factory=dict)

    def runs(self, version: str, commit: str = "") -> bool:
        """True when this target reports `version` (OpenCRVS reports no commit, so that is the only check)."""
        return bool(self.version) and self.version == version

    def with_images(self, images: Mapping[str, str]) -> TargetIdentity:
        """The same identity with the deploy step's recorded image tags attached."""
        return TargetIdentity(self.url, self.version, self.how, dict(images))

    def to_json(self) -> dict[str, Any]:
        """A JSON-able view."""
        data: dict[str, Any] = {"url": self.url, "version": self.version, "how": self.how}
        if self.images:
            data["images"] = dict(self.images)
        return data

    def __eq__(self, other: object) -> bool:
        # Two probes agree when they saw the same build; the deploy record is evidence, not identity.
        if not isinstance(other, TargetIdentity):
            return NotImplemented
        return (self.url, self.version) == (other.url, other.version)

    def __hash__(self) -> int:
        return hash((self.url, self.version))


@dataclass(frozen=True)
class ProbeResult:
    """An identity, or why there is none (what was asked and what came back)."""

    identity: TargetIdentity | None
    problem: str = ""


def parse_image_record(output: str) -> dict[str, str]:
    """The image tags a deploy hook printed as ``RELEASE_IMAGE_CORE=ghcr.io/opencrvs/ocrvs-core:v2.0.0`` lines."""
    images: dict[str, str] = {}
    for line in output.splitlines():
        m = _IMAGE_LINE.match(line.strip())
        if m:
            images[m.group(1).lower()] = m.group(2)
    return images


def _resolve(url_or_path: str, base: str) -> str:
    return url_or_path if url_or_path.startswith(("http://", "https://")) else f"{base.rstrip('/')}{url_or_path}"


def _dig(body: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(body, dict) or part not in body:
            return None
        body = body[part]
    return body


def probe_identity(target: Target, *, timeout: float = 3.0, environ: Mapping[str, str] | None = None) -> ProbeResult:
    """Ask the target which version it runs, per its identity spec; the reason when it cannot tell."""
    spec: IdentitySpec = target.identity
    if spec.kind == "command":
        return _probe_command(target, spec, environ)
    url = _resolve(spec.json_url or spec.path, target.gateway)
    how = f"{spec.header} header of GET {url}" if spec.kind == "header" else f"key {spec.key!r} of GET {url}"
    import httpx  # here, not at the top: every CLI command imports this module, few of them probe a target

    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return ProbeResult(None, f"GET {url}: {type(exc).__name__}: {exc}")
    if response.status_code >= 400:
        return ProbeResult(None, f"GET {url} answered {response.status_code}")
    if spec.kind == "header":
        assert spec.header is not None
        version = response.headers.get(spec.header, "").strip()
        if not version:
            return ProbeResult(None, f"GET {url} answered {response.status_code} without a {spec.header} header")
        return ProbeResult(TargetIdentity(target.gateway, version, how))
    try:
        value = _dig(response.json(), spec.key)
    except ValueError:
        return ProbeResult(None, f"GET {url} did not answer JSON")
    if not isinstance(value, str) or not value.strip():
        return ProbeResult(None, f"GET {url} has no string at key {spec.key!r}")
    return ProbeResult(TargetIdentity(target.gateway, value.strip(), how))


def _probe_command(target: Target, spec: IdentitySpec, environ: Mapping[str, str] | None) -> ProbeResult:
    assert spec.command is not None
    env = dict(os.environ if environ is None else environ)
    env.update(RELEASE_TARGET_GATEWAY=target.gateway, RELEASE_TARGET_REGISTER=target.register or "",
               RELEASE_TARGET_CONFIG=target.config or "", RELEASE_TARGET_NAME=target.name)
    how = f"stdout of {spec.command!r}"
    try:
        proc = subprocess.run(shlex.split(spec.command), env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=spec.timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return ProbeResult(None, f"identity command {spec.command!r} did not finish within {spec.timeout_s:g}s")
    except (OSError, ValueError) as exc:
        return ProbeResult(None, f"identity command {spec.command!r} could not start: {exc}")
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return ProbeResult(None, f"identity command {spec.command!r} exited {proc.returncode}: {detail}")
    return ProbeResult(TargetIdentity(target.gateway, lines[0][:200], how))


def probe(target: Target, timeout: float = 3.0, *, environ: Mapping[str, str] | None = None) -> TargetIdentity | None:
    """Ask a target which version it runs; None when it cannot be reached or does not say."""
    return probe_identity(target, timeout=timeout, environ=environ).identity


def wait_for(target: Target, version: str, commit: str, timeout_s: float, *, poll_s: float = 0.5,
             environ: Mapping[str, str] | None = None) -> TargetIdentity | None:
    """Poll until the target reports `version`; None if it never does within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen = probe(target, timeout=min(3.0, max(0.5, timeout_s)), environ=environ)
        if seen is not None and seen.runs(version, commit):
            return seen
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll_s)
