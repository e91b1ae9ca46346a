"""The plugin itself: preflight errors, flaky reporting, empty runs, cleanup and xdist, against real sandboxes."""

from __future__ import annotations

import textwrap

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.integration

FLAKY_TEST = '''
import pathlib
import pytest

@pytest.mark.search
def test_fails_once_then_passes(tmp_path_factory, system_client):
    marker = pathlib.Path({marker!r})
    if not marker.exists():
        marker.write_text("failed once")
        assert False, "search must find new records: first attempt fails on purpose"

@pytest.mark.smoke
def test_always_passes(crvs):
    assert crvs.version
'''


def test_unreachable_target_is_one_line_and_exit_2(run_suite):
    url = f"http://127.0.0.1:{free_port()}"
    run = run_suite("--crvs-url", url, "-m", "smoke")
    assert run.exit_code == 2
    assert run.summary["status"] == "error" and run.summary["exit_code"] == 2
    assert run.summary["error"] == f"crvs-regression: target {url} unreachable: connection refused"
    assert "Traceback" not in run.output
    assert run.summary["counts"]["total"] == 0 and run.summary["passed_nodeids"] == []


def test_no_target_is_an_error(run_suite):
    run = run_suite("-m", "smoke")
    assert run.exit_code == 2
    assert "no target" in run.summary["error"]


def test_wrong_client_secret_stops_before_any_test(clean_sandbox, run_suite):
    run = run_suite("--crvs-url", clean_sandbox.url, "-m", "smoke", env={"CRVS_CLIENT_SECRET": "not-the-secret"})
    assert run.exit_code == 2 and run.summary["status"] == "error"
    assert "system client 'release-gate' not authenticated" in run.summary["error"]
    assert "not-the-secret" not in run.output and "not-the-secret" not in str(run.summary)


def test_wrong_user_password_stops_before_any_test(clean_sandbox, run_suite):
    run = run_suite("--crvs-url", clean_sandbox.url, "-m", "smoke", env={"CRVS_LOCAL_REGISTRAR": "k.mweene:nope-secret"})
    assert run.exit_code == 2 and run.summary["status"] == "error"
    assert "user 'k.mweene' (local_registrar) could not log in" in run.summary["error"]
    assert "nope-secret" not in run.output and "nope-secret" not in str(run.summary)


def test_no_tests_selected_is_an_error_not_a_pass(clean_sandbox, run_suite):
    run = run_suite("--crvs-url", clean_sandbox.url, "-k", "no_test_has_this_name")
    assert run.summary["status"] == "error" and run.summary["exit_code"] == 2
    assert run.summary["counts"]["total"] == 0


def test_flaky_test_is_reported_flaky_not_passed(clean_sandbox, run_suite, tmp_path):
    suite = tmp_path / "flakysuite"
    suite.mkdir()
    (suite / "test_flaky_probe.py").write_text(textwrap.dedent(FLAKY_TEST.format(marker=str(tmp_path / "once"))))
    run = run_suite("--crvs-url", clean_sandbox.url, "--reruns", "1", "-p", "no:cacheprovider",
                    "--rootdir", str(tmp_path), paths=(str(suite),))
    summary = run.summary
    assert summary["status"] == "passed", run.output[-1500:]
    assert summary["counts"]["flaky"] == 1 and summary["counts"]["passed"] == 1
    assert summary["flaky"] == [{"nodeid": "flakysuite/test_flaky_probe.py::test_fails_once_then_passes", "reruns": 1}]
    assert summary["markers"]["search"]["flaky"] == 1
    assert all("test_fails_once" not in n for n in summary["passed_nodeids"])
    assert "FLAKY" in run.output


def test_cleanup_archives_created_records_under_xdist(clean_sandbox, run_suite):
    run = run_suite("--crvs-url", clean_sandbox.url, "-n", "2", "--cleanup", "-k",
                    "test_by_tracking_id or test_create_is_idempotent or test_archive_sets_archived")
    summary = run.summary
    assert summary["status"] == "passed", run.output[-1500:]
    assert summary["counts"]["passed"] == 3
    assert summary["cleanup"]["archived"] >= 2
    token = httpx.post(f"{clean_sandbox.url}/auth/token", params={
        "grant_type": "client_credentials", "client_id": "release-gate", "client_secret": "release-gate-secret"}).json()
    body = {"0": {"json": {"query": {"type": "and", "clauses": [{"flags": {"anyOf": ["test-data"]},
                                                                   "status": {"type": "exact", "term": "DECLARED"}}]},
                           "limit": 100, "offset": 0}}}
    found = httpx.post(f"{clean_sandbox.url}/events/event.search?batch=1", json=body,
                       headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert found[0]["result"]["data"]["json"]["total"] == 0, "no test-data record may stay DECLARED after --cleanup"


def test_sandbox_option_with_xdist(run_suite):
    run = run_suite("--crvs-sandbox", "-n", "2", "-m", "smoke and not browser")
    summary = run.summary
    assert summary["status"] == "passed", run.output[-1500:]
    assert summary["counts"]["passed"] >= 10
    assert summary["target"]["version"] == "2.0.0-sandbox"
    assert "regression/test_search.py::test_by_registration_number" in summary["passed_nodeids"]


def test_missing_chromium_fails_browser_tests_loudly(clean_sandbox, run_suite, tmp_path):
    missing = str(tmp_path / "no-chromium-here")
    run = run_suite("--crvs-url", clean_sandbox.url, "-m", "browser", "-k", "login_with_code",
                    env={"CRVS_CHROMIUM": missing})
    assert run.summary["status"] == "failed" and run.exit_code == 1
    assert run.summary["counts"]["skipped"] == 0
    (failure,) = run.summary["failures"]
    assert failure["nodeid"] == "regression/test_browser.py::test_login_with_code_shows_current_user"
    assert f"browser tests need Chromium at {missing}" in failure["reason"]
