"""Write a sandbox's deployment profile to a file, as `release` does for a target (docs/wire-contract.md §2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.process import SandboxProcess


def write_target(sandbox: SandboxProcess, directory: Path, name: str = "target.json",
                 **changes: Any) -> tuple[Path, dict[str, str]]:
    """The profile file (with `changes` applied) and the env vars holding the secrets it names."""
    profile = {**sandbox.profile(), **changes}
    path = directory / name
    path.write_text(json.dumps(profile, indent=2), encoding="utf-8")
    return path, sandbox.profile_env()
