"""The command gate fails closed: missing, unparseable or empty JUnit XML is ERROR, never PASSED."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize(("verdict", "state", "reason"), [
    ("pass", "PASSED", "2 of 2 tests passed"),
    ("fail", "FAILED", "1 of 2 tests failed"),
    ("nojunit", "ERROR", "wrote no JUnit XML"),
    ("garbage", "ERROR", "unparseable JUnit XML"),
    ("empty", "ERROR", "no test cases"),
])
def test_command_gate_outcomes(candidate, verdict, state, reason):
    res = candidate.cli("gate", "run", "checks", "--candidate", "v1.1.0-rc.1", "--json",
                        env={"CHECK_VERDICT": verdict})
    assert res.exit_code == (0 if state == "PASSED" else 1), res.stderr
    data = json.loads(res.stdout)
    assert data["state"] == state and reason in data["reason"]
    status = json.loads(candidate.cli("status", "--json").stdout)
    assert next(g for g in status["gates"] if g["gate"] == "checks")["state"] == state


def test_a_gate_against_a_target_that_runs_something_else_is_error(candidate):
    # Redeploy staging with another build: evidence would not be about the candidate.
    deploy = candidate.path / "scripts" / "deploy"
    import subprocess

    subprocess.run([str(deploy), "staging", "9.9.9", "0" * 40], cwd=candidate.path, check=True,
                   capture_output=True)
    try:
        res = candidate.cli("gate", "run", "checks", "--json")
        assert res.exit_code == 1
        assert "not candidate v1.1.0-rc.1" in json.loads(res.stdout)["reason"]
        status = json.loads(candidate.cli("status", "--json").stdout)
        checks = next(g for g in status["gates"] if g["gate"] == "checks")
        assert checks["state"] == "ERROR"
    finally:
        sha = candidate.repo.git("rev-parse", "v1.1.0-rc.1^{commit}").strip()
        subprocess.run([str(deploy), "staging", "1.1.0-rc.1", sha], cwd=candidate.path, check=True,
                       capture_output=True)
