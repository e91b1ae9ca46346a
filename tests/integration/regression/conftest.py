"""Fixtures for testing the regression suite itself: sandboxes (healthy or broken) and a suite runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.process import SandboxProcess

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class SuiteRun:
    """What one run of the suite produced."""

    exit_code: int
    summary: dict[str, Any]
    output: str

    def failed_reasons(self) -> str:
        """Every failing node id and reason, one per line (for asserts and their messages)."""
        return "\n".join(f"{f['nodeid']}: {f['reason']}" for f in self.summary.get("failures", []))


def suite_env() -> dict[str, str]:
    """The environment without any CRVS_* settings of the developer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRVS_", "SANDBOX_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


@pytest.fixture
def run_suite(tmp_path: Path) -> Callable[..., SuiteRun]:
    """Run `python -m pytest regression -p regression.plugin ...` as a subprocess; return its summary."""

    def run(*args: str, paths: tuple[str, ...] = ("regression",), env: dict[str, str] | None = None,
            timeout: float = 300) -> SuiteRun:
        summary_path = tmp_path / f"summary-{len(list(tmp_path.glob('summary-*')))}.json"
        argv = [sys.executable, "-m", "pytest", *paths, "-p", "regression.plugin", "-q", "-p", "no:randomly",
                "--crvs-summary", str(summary_path), *args]
        proc = subprocess.run(argv, cwd=str(REPO_ROOT), env={**suite_env(), **(env or {})}, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        return SuiteRun(proc.returncode, summary, proc.stdout + proc.stderr)

    return run


@pytest.fixture
def sandbox_with(tmp_path: Path) -> Iterator[Callable[..., SandboxProcess]]:
    """Start sandboxes with the given faults; all are stopped at teardown."""
    started: list[SandboxProcess] = []

    def start(**faults: Any) -> SandboxProcess:
        process = SandboxProcess(tmp_path / f"sandbox-{len(started)}.db", **faults)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="module")
def clean_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One healthy sandbox shared by a module."""
    process = SandboxProcess(tmp_path_factory.mktemp("clean-sandbox") / "sandbox.db")
    process.start()
    yield process
    process.stop()
