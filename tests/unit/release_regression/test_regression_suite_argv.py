"""The pytest command line `release regression run` builds, and its option checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release.errors import InputError, UsageError
from release.regression_suite import SuiteOptions, check_options, pytest_argv, render_text

pytestmark = pytest.mark.unit
SUITE = Path("/site/regression")
T = Path("/cfg/staging.json")
CLIENT_ID = "6f1c2f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"


def test_suite_run_uses_its_own_ini_and_the_plugin():
    argv = pytest_argv(SuiteOptions(target_file=T), SUITE, Path("/tmp/s.json"), python="py")
    assert argv[:10] == ["py", "-m", "pytest", "/site/regression", "-p", "regression.plugin",
                         "-c", "/site/regression/suite.ini", "--rootdir", "/site"]
    assert argv[argv.index("--crvs-summary") + 1] == "/tmp/s.json"
    assert argv[argv.index("--crvs-target") + 1] == "/cfg/staging.json"
    assert argv[argv.index("--reruns") + 1] == "1"


@pytest.mark.parametrize(("options", "expected"), [
    (SuiteOptions(target_file=T, workers="auto"), ["-n", "auto"]),
    (SuiteOptions(target_file=T, markexpr="smoke and not browser"), ["-m", "smoke and not browser"]),
    (SuiteOptions(sandbox=True, cleanup=True), ["--crvs-sandbox", "--cleanup"]),
    (SuiteOptions(target_file=T, pytest_args=("-x",)), ["-x"]),
])
def test_options_map_to_pytest_flags(options, expected):
    argv = pytest_argv(options, SUITE, Path("s.json"))
    assert all(flag in argv for flag in expected)


def test_zero_reruns_and_zero_workers_add_nothing():
    argv = pytest_argv(SuiteOptions(target_file=T, reruns=0, workers="0"), SUITE, Path("s.json"))
    assert "--reruns" not in argv and "-n" not in argv


def test_paths_replace_the_suite():
    argv = pytest_argv(SuiteOptions(target_file=T, paths=("tests/mine",)), SUITE, Path("s.json"))
    assert "tests/mine" in argv and str(SUITE) not in argv and "-c" not in argv


def _profile(tmp_path: Path, **changes) -> Path:
    data = {"name": "t", "gateway": "http://127.0.0.1:1", "client": {"id": CLIENT_ID, "secret_env": "S"},
            "users": {"local_registrar": [{"username": "k.mweene", "password_env": "P"}]}, **changes}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(("options", "env", "message"), [
    (SuiteOptions(target_file=T, sandbox=True), {}, "exclude each other"),
    (SuiteOptions(), {}, "no target"),
    (SuiteOptions(target_file=T, workers="many"), {"S": "s", "P": "p"}, "--workers"),
])
def test_bad_options_are_refused(options, env, message, tmp_path):
    if options.target_file is not None and options.workers:
        options = SuiteOptions(target_file=_profile(tmp_path), workers=options.workers)
    with pytest.raises(UsageError, match=message):
        check_options(options, env)


@pytest.mark.parametrize(("changes", "env", "words"), [
    ({}, {"P": "p"}, "client.secret_env: S is not set"),
    ({"client": {"id": "not-a-uuid", "secret_env": "S"}}, {"S": "s", "P": "p"}, "client.id"),
    ({"users": {"registrar": [{"username": "x", "password_env": "P"}]}}, {"S": "s", "P": "p"}, "unknown role"),
    ({"two_fa": True}, {"S": "s", "P": "p"}, "login_code_env"),
])
def test_a_bad_profile_is_input_error_naming_file_and_key(tmp_path, changes, env, words):
    path = _profile(tmp_path, **changes)
    with pytest.raises(InputError) as caught:
        check_options(SuiteOptions(target_file=path), env)
    assert words in str(caught.value) and str(path) in str(caught.value)


def test_target_file_from_environment_is_enough(tmp_path):
    path = _profile(tmp_path)
    check_options(SuiteOptions(), {"CRVS_TARGET_FILE": str(path), "S": "s", "P": "p"})


def test_text_summary_lists_failures_and_flaky():
    text = render_text({"status": "failed", "target": {"url": "http://t", "version": "2.0"}, "duration_s": 3.2,
                        "counts": {"passed": 5, "failed": 1, "errors": 0, "skipped": 0, "flaky": 1},
                        "failures": [{"nodeid": "regression/test_a.py::t", "reason": "ids must be unique"}],
                        "flaky": [{"nodeid": "regression/test_b.py::u", "reruns": 1}], "artifacts": []})
    assert text.splitlines()[0].startswith("regression suite FAILED against http://t (X-Version 2.0): 5 passed, "
                                           "1 failed")
    assert "  FAILED regression/test_a.py::t: ids must be unique" in text
    assert "  FLAKY  regression/test_b.py::u (passed after 1 rerun(s))" in text
