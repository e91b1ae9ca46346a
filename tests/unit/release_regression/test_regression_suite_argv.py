"""The pytest command line `release regression run` builds, and its option checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from release.errors import UsageError
from release.regression_suite import SuiteOptions, check_options, pytest_argv, render_text

pytestmark = pytest.mark.unit
SUITE = Path("/site/regression")


def test_suite_run_uses_its_own_ini_and_the_plugin():
    argv = pytest_argv(SuiteOptions(target="http://t"), SUITE, Path("/tmp/s.json"), python="py")
    assert argv[:10] == ["py", "-m", "pytest", "/site/regression", "-p", "regression.plugin",
                         "-c", "/site/regression/suite.ini", "--rootdir", "/site"]
    assert argv[argv.index("--crvs-summary") + 1] == "/tmp/s.json"
    assert argv[argv.index("--crvs-url") + 1] == "http://t"
    assert argv[argv.index("--reruns") + 1] == "1"


@pytest.mark.parametrize(("options", "expected"), [
    (SuiteOptions(target="http://t", workers="auto"), ["-n", "auto"]),
    (SuiteOptions(target="http://t", markexpr="smoke and not browser"), ["-m", "smoke and not browser"]),
    (SuiteOptions(sandbox=True, cleanup=True), ["--crvs-sandbox", "--cleanup"]),
    (SuiteOptions(target="http://t", pytest_args=("-x",)), ["-x"]),
])
def test_options_map_to_pytest_flags(options, expected):
    argv = pytest_argv(options, SUITE, Path("s.json"))
    assert all(flag in argv for flag in expected)


def test_zero_reruns_and_zero_workers_add_nothing():
    argv = pytest_argv(SuiteOptions(target="http://t", reruns=0, workers="0"), SUITE, Path("s.json"))
    assert "--reruns" not in argv and "-n" not in argv


def test_paths_replace_the_suite():
    argv = pytest_argv(SuiteOptions(target="http://t", paths=("tests/mine",)), SUITE, Path("s.json"))
    assert "tests/mine" in argv and str(SUITE) not in argv and "-c" not in argv


@pytest.mark.parametrize(("options", "env", "message"), [
    (SuiteOptions(target="http://t", sandbox=True), {}, "exclude each other"),
    (SuiteOptions(), {}, "no target"),
    (SuiteOptions(target="ftp://t"), {}, r"not an http\(s\) URL"),
    (SuiteOptions(target="http://t", workers="many"), {}, "--workers"),
])
def test_bad_options_are_refused(options, env, message):
    with pytest.raises(UsageError, match=message):
        check_options(options, env)


def test_target_from_environment_is_enough():
    check_options(SuiteOptions(), {"CRVS_URL": "http://t"})


def test_text_summary_lists_failures_and_flaky():
    text = render_text({"status": "failed", "target": {"url": "http://t", "version": "2.0"}, "duration_s": 3.2,
                        "counts": {"passed": 5, "failed": 1, "errors": 0, "skipped": 0, "flaky": 1},
                        "failures": [{"nodeid": "regression/test_a.py::t", "reason": "ids must be unique"}],
                        "flaky": [{"nodeid": "regression/test_b.py::u", "reruns": 1}], "artifacts": []})
    assert text.splitlines()[0].startswith("regression suite FAILED against http://t (version 2.0): 5 passed, 1 failed")
    assert "  FAILED regression/test_a.py::t: ids must be unique" in text
    assert "  FLAKY  regression/test_b.py::u (passed after 1 rerun(s))" in text
