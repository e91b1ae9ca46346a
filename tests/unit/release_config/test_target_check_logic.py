"""The doctor's pure parts: reading a token's scopes the way OpenCRVS encodes them, and its table."""

from __future__ import annotations

import base64
import json

import pytest

from release.workflow.target_check import (
    FAIL,
    OK,
    Check,
    TargetReport,
    render_table,
    scope_types,
    token_claims,
)

pytestmark = pytest.mark.unit


def _jwt(claims: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"e30.{body}.sig"


@pytest.mark.parametrize(("scopes", "expected"), [
    (["type=record.register&placeOfEvent=administrativeArea", "type=record.read"], {"record.register", "record.read"}),
    (["record.search", "type=record.custom-action&event=birth&customActionTypes=VALIDATE_DECLARATION"],
     {"record.search", "record.custom-action"}),
    ("record.create record.read", {"record.create", "record.read"}),
    (None, set()),
    ([1, None], set()),
])
def test_scope_types(scopes, expected):
    assert scope_types(scopes) == expected


def test_token_claims_reads_without_verifying_and_never_raises():
    assert token_claims(_jwt({"scope": ["type=record.read"], "role": "LOCAL_REGISTRAR"}))["role"] == "LOCAL_REGISTRAR"
    assert token_claims("not a token") == {} and token_claims("a.!!!.c") == {}


def test_the_table_puts_the_fix_under_each_failure_and_exit_1_when_one_failed():
    report = TargetReport("qa", "https://gateway.qa.example.org", version="2.0.0")
    report.checks += [Check("gateway", OK, "fine", "never shown"), Check("register", FAIL, "is the gateway", "set it")]
    lines = render_table(report)
    assert lines[0] == "target qa: gateway https://gateway.qa.example.org, version 2.0.0"
    at = next(i for i, line in enumerate(lines) if line.startswith("register"))
    assert "FAIL" in lines[at] and lines[at + 1].strip() == "fix: set it"
    assert "never shown" not in "\n".join(lines) and lines[-1] == "1 check(s) failed: register"
    assert report.exit_code == 1 and report.to_json()["failed"] == ["register"]
    assert TargetReport("qa", "g").exit_code == 0
