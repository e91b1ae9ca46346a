"""The plugin itself: preflight errors, flaky reporting, empty runs, cleanup and xdist, against real sandboxes."""

from __future__ import annotations

import json
import textwrap

import pytest

from crvs_client import Deployment, Target, TokenCache
from crvs_client.client import exact
from tests.conftest import free_port
from tests.integration.regression.targets import write_target

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


def _target(tmp_path, sandbox, **changes):
    return write_target(sandbox, tmp_path, **changes)


def test_unreachable_target_is_one_line_and_exit_2(run_suite, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    profile = {"name": "down", "gateway": url, "client": {"id": "6f1c2f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
                                                           "secret_env": "S"},
               "users": {role: [{"username": "u", "password_env": "S"}]
                         for role in ("hospital_clerk", "registration_agent", "local_registrar")}}
    path = tmp_path / "down.json"
    path.write_text(json.dumps(profile))
    run = run_suite("--crvs-target", str(path), "-m", "smoke", env={"S": "x"})
    assert run.exit_code == 2
    assert run.summary["status"] == "error" and run.summary["exit_code"] == 2
    assert run.summary["error"] == f"crvs-regression: gateway {url} unreachable: connection refused"
    assert "Traceback" not in run.output
    assert run.summary["counts"]["total"] == 0 and run.summary["passed_nodeids"] == []


def test_no_target_is_an_error(run_suite):
    run = run_suite("-m", "smoke")
    assert run.exit_code == 2
    assert "no target" in run.summary["error"] and "--crvs-target" in run.summary["error"]


def test_unset_secret_names_the_key_before_any_test(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox)
    env.pop("CRVS_SANDBOX_PASSWORD")
    run = run_suite("--crvs-target", str(target), "-m", "smoke", env=env)
    assert run.exit_code == 2 and run.summary["status"] == "error"
    assert "users.hospital_clerk[0].password_env: CRVS_SANDBOX_PASSWORD is not set" in run.summary["error"]


def test_non_uuid_client_id_names_the_key(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox, client={"id": "release-gate", "secret_env": "CRVS_SANDBOX_CLIENT_SECRET"})
    run = run_suite("--crvs-target", str(target), "-m", "smoke", env=env)
    assert run.exit_code == 2 and "client.id: expected a UUID" in run.summary["error"]


def test_wrong_client_secret_stops_before_any_test(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox)
    run = run_suite("--crvs-target", str(target), "-m", "smoke", env={**env, "CRVS_SANDBOX_CLIENT_SECRET": "not-the-secret"})
    assert run.exit_code == 2 and run.summary["status"] == "error"
    assert f"system client {clean_sandbox.client_id} not authenticated" in run.summary["error"]
    assert "not-the-secret" not in run.output and "not-the-secret" not in str(run.summary)


def test_wrong_user_password_stops_before_any_test(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox, users={
        "hospital_clerk": [{"username": "k.bwalya", "password_env": "CRVS_SANDBOX_PASSWORD"}],
        "registration_agent": [{"username": "f.katongo", "password_env": "CRVS_SANDBOX_PASSWORD"}],
        "local_registrar": [{"username": "k.mweene", "password_env": "WRONG_PASSWORD"}]})
    run = run_suite("--crvs-target", str(target), "-m", "smoke", env={**env, "WRONG_PASSWORD": "nope-secret"})
    assert run.exit_code == 2 and run.summary["status"] == "error"
    assert "user 'k.mweene' (local_registrar) could not log in" in run.summary["error"]
    assert "nope-secret" not in run.output and "nope-secret" not in str(run.summary)


def test_missing_role_is_named(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox, users={
        "local_registrar": [{"username": "k.mweene", "password_env": "CRVS_SANDBOX_PASSWORD"}]})
    run = run_suite("--crvs-target", str(target), "-m", "smoke", env=env)
    assert run.exit_code == 2 and "names no account for hospital_clerk, registration_agent" in run.summary["error"]


def test_unknown_location_name_stops_before_any_test(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox, locations={"health_facility": "Atlantis General Hospital"})
    run = run_suite("--crvs-target", str(target), "-m", "smoke", env=env)
    assert run.exit_code == 2
    assert "no health facility (HEALTH_FACILITY) with name 'Atlantis General Hospital'" in run.summary["error"]


def test_summary_records_the_x_version_and_the_hosts(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox)
    run = run_suite("--crvs-target", str(target), "-k", "test_by_tracking_id", env=env)
    assert run.summary["status"] == "passed", run.output[-1500:]
    recorded = run.summary["target"]
    assert recorded["version"] == "2.0.0-sandbox" and recorded["gateway"] == clean_sandbox.gateway_url
    assert recorded["register"] == clean_sandbox.register_url
    assert recorded["rest"] == clean_sandbox.register_url + "/api"
    assert recorded["locations"]["health_facility"]["name"] == "Klow Village Hospital"


def test_no_tests_selected_is_an_error_not_a_pass(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox)
    run = run_suite("--crvs-target", str(target), "-k", "no_test_has_this_name", env=env)
    assert run.summary["status"] == "error" and run.summary["exit_code"] == 2
    assert run.summary["counts"]["total"] == 0


def test_flaky_test_is_reported_flaky_not_passed(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox)
    suite = tmp_path / "flakysuite"
    suite.mkdir()
    (suite / "test_flaky_probe.py").write_text(textwrap.dedent(FLAKY_TEST.format(marker=str(tmp_path / "once"))))
    run = run_suite("--crvs-target", str(target), "--reruns", "1", "-p", "no:cacheprovider",
                    "--rootdir", str(tmp_path), paths=(str(suite),), env=env)
    summary = run.summary
    assert summary["status"] == "passed", run.output[-1500:]
    assert summary["counts"]["flaky"] == 1 and summary["counts"]["passed"] == 1
    assert summary["flaky"] == [{"nodeid": "flakysuite/test_flaky_probe.py::test_fails_once_then_passes", "reruns": 1}]
    assert summary["markers"]["search"]["flaky"] == 1
    assert all("test_fails_once" not in n for n in summary["passed_nodeids"])
    assert "FLAKY" in run.output


def _declared(target, env) -> int:
    deployment = Deployment.from_profile(json.loads(target.read_text()), env)
    system = Target(deployment, tokens=TokenCache()).system()
    return int(system.search([{"status": exact("DECLARED")}], limit=1)["total"])


def test_cleanup_archives_created_records_under_xdist(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox)
    before = _declared(target, env)
    run = run_suite("--crvs-target", str(target), "-n", "2", "--cleanup", "-k",
                    "test_by_tracking_id or test_create_is_idempotent or test_archive_sets_archived", env=env)
    summary = run.summary
    assert summary["status"] == "passed", run.output[-1500:]
    assert summary["counts"]["passed"] == 3
    # The declared record is archived; the CREATED one (not indexed, and OpenCRVS offers no ARCHIVE on CREATED)
    # and the one already archived are kept.
    assert summary["cleanup"]["archived"] >= 1 and summary["cleanup"]["archived"] + summary["cleanup"]["kept"] >= 3
    # Whatever this run declared is now ARCHIVED: none of its DECLARED records is left for staging to clean up.
    assert _declared(target, env) <= before, "no record the suite declared may stay DECLARED after --cleanup"


def test_sandbox_option_with_xdist(run_suite):
    run = run_suite("--crvs-sandbox", "-n", "2", "-m", "smoke and not browser")
    summary = run.summary
    assert summary["status"] == "passed", run.output[-1500:]
    assert summary["counts"]["passed"] >= 10
    assert summary["target"]["version"] == "2.0.0-sandbox"
    assert "regression/test_search.py::test_by_registration_number" in summary["passed_nodeids"]


def test_missing_chromium_fails_browser_tests_loudly(clean_sandbox, run_suite, tmp_path):
    target, env = _target(tmp_path, clean_sandbox)
    missing = str(tmp_path / "no-chromium-here")
    run = run_suite("--crvs-target", str(target), "-m", "browser", "-k", "login_with_code",
                    env={**env, "CRVS_CHROMIUM": missing})
    assert run.summary["status"] == "failed" and run.exit_code == 1
    assert run.summary["counts"]["skipped"] == 0
    (failure,) = run.summary["failures"]
    assert failure["nodeid"] == "regression/test_browser.py::test_login_with_code_shows_current_user"
    assert f"browser tests need Chromium at {missing}" in failure["reason"]
