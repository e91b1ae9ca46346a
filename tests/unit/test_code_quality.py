"""The project's own lint and type checks run with the tests, so CI goes red when they break."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.unit


def test_ruff_is_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "release", "regression", "load", "sandbox",
                           "crvs_client", "tests", "benchmarks"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean_on_the_release_tool():
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
