"""The suite's mutation score: against a sandbox with each named defect, the shipped suite fails and says why."""

from __future__ import annotations

import pytest

from tests.integration.regression.targets import write_target

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# defect -> (sandbox faults, the targeted slice of the shipped suite, words the failure must contain)
DEFECTS = {
    "no-idempotency": ({"defects": ["no-idempotency"]}, ["-k", "idempotent"], "idempotency"),
    "duplicate-registration-number": ({"defects": ["duplicate-registration-number"]},
                                      ["-k", "registration_numbers_unique"], "registration numbers must be unique"),
    "search-ignores-new-records": ({"defects": ["search-ignores-new-records"]},
                                   ["-k", "searchable_within_delay or new_declaration_is_searchable"],
                                   "search must find new records"),
    "skip-permission-check": ({"defects": ["skip-permission-check"]}, ["-m", "security"], "permission check"),
    "drop-field:child.dob": ({"defects": ["drop-field:child.dob"]}, ["-k", "fields_intact"], "child.dob"),
    "error-rate event.search=0.2": ({"error_rate": {"event.search": 0.2}}, ["-k", "search_is_reliable"],
                                    "search must answer reliably"),
    "stuck-requested": ({"defects": ["stuck-requested"]},
                        ["-k", "birth_create_declare_validate_register_print", "--crvs-accept-timeout", "2"],
                        "still Requested"),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_suite_catches_defect(defect, sandbox_with, run_suite, tmp_path):
    faults, selection, words = DEFECTS[defect]
    target, env = write_target(sandbox_with(**faults), tmp_path)
    # --reruns 1 is what `release regression run` uses by default: a defect must fail twice, not turn FLAKY.
    run = run_suite("--crvs-target", str(target), "--reruns", "1", *selection, env=env)
    summary = run.summary
    assert summary.get("status") == "failed", f"{defect}: the suite must fail, got {summary.get('status')}\n{run.output[-2000:]}"
    assert run.exit_code == 1, f"{defect}: pytest must exit 1 on failures, got {run.exit_code}"
    assert summary["counts"]["failed"] >= 1
    reasons = run.failed_reasons()
    assert words in reasons, f"{defect}: no failure names the broken behaviour ({words!r}):\n{reasons}"


def test_permission_failure_names_the_test_and_marker(sandbox_with, run_suite, tmp_path):
    target, env = write_target(sandbox_with(defects=["skip-permission-check"]), tmp_path)
    run = run_suite("--crvs-target", str(target), "-k", "hospital_clerk_cannot_register", env=env)
    failures = run.summary["failures"]
    assert [f["nodeid"] for f in failures] == ["regression/test_security.py::test_hospital_clerk_cannot_register"]
    assert failures[0]["markers"] == ["smoke", "security"]
    assert run.summary["markers"]["security"]["failed"] == 1
    assert "\n" not in failures[0]["reason"] and "permission check" in failures[0]["reason"]
