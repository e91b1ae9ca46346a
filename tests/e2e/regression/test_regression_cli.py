"""`release regression run` end to end: a clean sandbox passes (API and browser, two workers), a down target is ERROR."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.process import SandboxProcess
from tests.conftest import free_port
from tests.integration.regression.targets import write_target

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    process = SandboxProcess(tmp_path_factory.mktemp("cli-sandbox") / "sandbox.db")
    process.start()
    yield process
    process.stop()


def test_stopped_target_is_exit_2_with_one_line(run_cli, sandbox, tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}"
    target, env = write_target(sandbox, tmp_path, gateway=url, register=None)
    result = run_cli("regression", "run", "--target-file", str(target), "--json", str(tmp_path / "summary.json"),
                     env=env)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: crvs-regression: gateway {url} unreachable: connection refused"]
    assert "Traceback" not in result.stdout + result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "error" and summary["exit_code"] == 2


def test_target_and_sandbox_together_is_a_usage_error(run_cli, tmp_path: Path):
    result = run_cli("regression", "run", "--target-file", str(tmp_path / "t.json"), "--sandbox")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "exclude each other" in result.stderr


def test_no_target_is_a_usage_error(run_cli):
    result = run_cli("regression", "run")
    assert result.exit_code == 2 and "no target" in result.stderr


@pytest.mark.parametrize(("changes", "unset", "words"), [
    ({"client": {"id": "release-gate", "secret_env": "CRVS_SANDBOX_CLIENT_SECRET"}}, None, "client.id: expected a UUID"),
    ({}, "CRVS_SANDBOX_PASSWORD", "CRVS_SANDBOX_PASSWORD is not set"),
    ({"two_fa": True, "login_code_env": None}, None, "login_code_env: two_fa is true"),
    ({"users": {"field_agent": [{"username": "k.bwalya", "password_env": "CRVS_SANDBOX_PASSWORD"}]}}, None,
     "users.field_agent: unknown role"),
])
def test_bad_profile_is_exit_2_naming_file_and_key(run_cli, sandbox, tmp_path: Path, changes, unset, words):
    target, env = write_target(sandbox, tmp_path, **changes)
    if unset:
        env.pop(unset)
    result = run_cli("regression", "run", "--target-file", str(target), env=env)
    assert result.exit_code == 2
    assert words in result.stderr and str(target) in result.stderr
    assert "regression suite" not in result.stdout, "nothing may run on a bad profile"


def test_nothing_selected_is_error_not_pass(run_cli, sandbox, tmp_path: Path):
    target, env = write_target(sandbox, tmp_path)
    result = run_cli("regression", "run", "--target-file", str(target), "-k", "no_test_has_this_name",
                     "--format", "json", env=env)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["status"] == "error"
    assert "no test was collected" in result.stderr


@pytest.mark.browser
@pytest.mark.slow
def test_clean_sandbox_passes_whole_suite_with_two_workers(run_cli, sandbox, tmp_path: Path):
    junit, summary_path = tmp_path / "junit.xml", tmp_path / "summary.json"
    target, env = write_target(sandbox, tmp_path)
    result = run_cli("regression", "run", "--target-file", str(target), "--workers", "2", "--junit", str(junit),
                     "--json", str(summary_path), "--artifacts", str(tmp_path / "artifacts"), "--cleanup", env=env)
    summary = json.loads(summary_path.read_text())
    assert result.exit_code == 0, result.stdout + result.stderr
    assert summary["status"] == "passed"
    counts, markers = summary["counts"], summary["markers"]
    assert counts["failed"] == counts["errors"] == counts["skipped"] == 0
    api_passed = counts["passed"] + counts["flaky"] - markers["browser"]["passed"] - markers["browser"]["flaky"]
    assert api_passed >= 60 and markers["browser"]["passed"] >= 4
    assert "regression/test_search.py::test_by_registration_number" in summary["passed_nodeids"]
    assert junit.is_file() and {"path": str(junit.resolve()), "kind": "junit"} in summary["artifacts"]
    assert summary["cleanup"]["archived"] > 0
    assert "regression suite PASSED" in result.stdout
    assert summary["target"]["version"] == "2.0.0-sandbox"
    assert "release-gate-secret" not in result.stdout + result.stderr + summary_path.read_text()


@pytest.mark.browser
def test_failing_browser_test_keeps_screenshot_and_trace(run_cli, tmp_path: Path):
    with SandboxProcess(tmp_path / "broken.db", defects=["drop-field:child.dob"]) as broken:
        target, env = write_target(broken, tmp_path)
        result = run_cli("regression", "run", "--target-file", str(target), "-m", "browser", "-k", "declare_birth",
                         "--artifacts", str(tmp_path / "artifacts"), "--reruns", "0", "--json", "-", env=env)
    summary = json.loads(result.stdout)
    assert result.exit_code == 1, result.stderr
    assert summary["status"] == "failed"
    assert [f["nodeid"] for f in summary["failures"]] == ["regression/test_browser.py::test_declare_birth_through_form"]
    kinds = {a["kind"]: Path(a["path"]) for a in summary["artifacts"]}
    assert kinds["screenshot"].is_file() and kinds["screenshot"].stat().st_size > 0
    assert kinds["trace"].is_file() and kinds["trace"].suffix == ".zip"
    assert result.stderr.strip().startswith("error: regression suite failed: 1 failed")
