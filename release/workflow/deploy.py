"""Run a target's deploy or promote command: placeholders filled per argument, no shell, bounded in time."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from release.errors import UsageError

PLACEHOLDERS = ("version", "commit", "tag")
DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class DeployResult:
    """How a deploy command ended: its argv, exit code (None on timeout or when it could not start), output tail."""

    argv: tuple[str, ...]
    exit_code: int | None
    output_tail: str
    #: The lines of the whole output that record deployed images (``RELEASE_IMAGE_<NAME>=<tag>``).
    image_lines: tuple[str, ...] = ()

    @property
    def output(self) -> str:
        """The image lines and the output tail, for parsers of the deploy record."""
        return "\n".join((*self.image_lines, self.output_tail))

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_code == 0

    def describe(self) -> str:
        """One line saying how it ended."""
        if self.exit_code is None:
            return f"deploy command {self.argv[0] if self.argv else '?'} did not complete: {self.output_tail}"
        last = self.output_tail.strip().splitlines()[-1:] or [""]
        return f"deploy command exited {self.exit_code}" + (f": {last[0]}" if last[0] else "")


def command_argv(template: str, *, version: str, commit: str, tag: str) -> tuple[str, ...]:
    """Split a command template like a POSIX shell would, then fill {version} {commit} {tag} in each word."""
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise UsageError(f"cannot parse command {template!r}: {exc}") from exc
    values = {"version": version, "commit": commit, "tag": tag}
    filled = []
    for word in words:
        for key, value in values.items():
            word = word.replace("{" + key + "}", value)
        filled.append(word)
    if not filled:
        raise UsageError(f"empty command {template!r}")
    return tuple(filled)


def run_command(argv: tuple[str, ...], cwd: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                env: Mapping[str, str] | None = None) -> DeployResult:
    """Run argv in cwd without a shell; never raises for a failing, missing or hanging command."""
    # Output goes to a file, not a pipe: a deploy script that leaves a server running in the background
    # would otherwise hold the pipe open and hang us.
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.run(list(argv), cwd=str(cwd), env=dict(env if env is not None else os.environ),
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return DeployResult(argv, None, f"timed out after {timeout_s:g}s")
        except OSError as exc:
            return DeployResult(argv, None, f"could not start: {exc.strerror or exc}")
        out.seek(0)
        whole = out.read()
        tail = whole[-2000:].decode("utf-8", "replace")
        images = tuple(line.strip() for line in whole.decode("utf-8", "replace").splitlines()
                       if line.strip().startswith("RELEASE_IMAGE_"))[:50]
    return DeployResult(argv, proc.returncode, tail, images)
