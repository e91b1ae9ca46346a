"""`release status` and `release gate run` speak CI: GitHub annotations, Markdown, JUnit, JSON; exit codes as promotion."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from tests.integration.release_flow.conftest import ReleaseRepo, give_all_decisions

pytestmark = pytest.mark.integration


def junit(text: str) -> ET.Element:
    return ET.fromstring(text.split("?>", 1)[-1])


def test_blocked_status_in_every_ci_format(candidate: ReleaseRepo):
    github = candidate.cli("status", "v1.1.0-rc.1", "--format", "github")
    assert github.exit_code == 1
    assert "BLOCKED" in github.stdout and "| qa |" in github.stdout
    assert "::error title=gate qa%3A PENDING::" in github.stderr

    gitlab = candidate.cli("status", "1.1.0", "--format", "gitlab")
    assert gitlab.exit_code == 1 and "| change-board |" in gitlab.stdout

    report = junit(candidate.cli("status", "1.1.0", "--format", "junit").stdout)
    failing = {case.get("name") for case in report.iter("testcase") if case.find("failure") is not None}
    assert {"qa", "change-board"} <= failing
    assert "checks" not in failing

    data = json.loads(candidate.cli("status", "1.1.0", "--format", "json").stdout)
    assert data["promotable"] is False


def test_promotable_status_exits_zero_and_has_no_annotations(candidate: ReleaseRepo):
    give_all_decisions(candidate)
    github = candidate.cli("status", "1.1.0", "--format", "github")
    assert github.exit_code == 0, github.stdout
    assert "::error" not in github.stderr
    assert junit(candidate.cli("status", "1.1.0", "--format", "junit").stdout).get("failures") == "0"


def test_gate_run_formats(candidate: ReleaseRepo):
    passed = candidate.cli("gate", "run", "checks", "--candidate", "v1.1.0-rc.1", "--format", "junit")
    assert passed.exit_code == 0, passed.stderr
    assert junit(passed.stdout).get("failures") == "0"
    failed = candidate.cli("gate", "run", "checks", "--format", "github", env={"CHECK_VERDICT": "fail"})
    assert failed.exit_code == 1
    assert "::error title=gate checks%3A FAILED::" in failed.stderr


def test_unknown_format_is_a_usage_error(candidate: ReleaseRepo):
    result = candidate.cli("status", "1.1.0", "--format", "yaml")
    assert result.exit_code == 2
