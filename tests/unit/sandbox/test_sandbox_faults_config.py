"""Fault config parsing from flags and env."""

from __future__ import annotations

import pytest

from sandbox.faults import FaultConfigError, build_faults

pytestmark = pytest.mark.unit


def test_flags_and_env_merge_with_flags_winning():
    faults = build_faults(["event.search=+250"], ["event.get=0.5"], ["no-idempotency"], None,
                          env={"SANDBOX_LATENCY": "event.search=100,event.get=50", "SANDBOX_DEFECTS": "drop-field:child.dob",
                               "SANDBOX_CRASH_AFTER": "7"})
    assert faults.latency_for("event.search") == 250 and faults.latency_for("event.get") == 50
    assert faults.latency_for("event.create") == 0
    assert faults.error_rate_for("event.get") == 0.5
    assert faults.has("no-idempotency") and faults.dropped_fields == {"child.dob"}
    assert faults.crash_after == 7


def test_bare_plus_latency_applies_to_every_procedure():
    assert build_faults(["+40"], env={}).latency_for("event.create") == 40


@pytest.mark.parametrize("kwargs,message", [
    ({"latency": ["event.search=fast"]}, "--latency"),
    ({"error_rate": ["event.search=2"]}, "between 0 and 1"),
    ({"defects": ["faster"]}, "unknown defect"),
    ({"defects": ["drop-field:"]}, "unknown defect"),
    ({"crash_after": 0}, "--crash-after"),
])
def test_bad_fault_values_are_refused(kwargs, message):
    with pytest.raises(FaultConfigError, match=message):
        build_faults(env={}, **kwargs)


def test_stuck_requested_is_a_known_defect():
    assert build_faults(defects=["stuck-requested"], env={}).has("stuck-requested")


def test_slowdown_and_tail_from_flags_and_env():
    faults = build_faults(env={"SANDBOX_SLOWDOWN": "event.get=1.5", "SANDBOX_TAIL": "event.get=0.1:+20",
                               "SANDBOX_FAULT_SEED": "9"},
                          slowdown=["event.search=1.20"], tail=["event.search=0.05:+50"])
    assert faults.slowdown_for("event.search") == 1.2 and faults.slowdown_for("event.get") == 1.5
    assert faults.slowdown_for("event.create") == 1.0 and faults.tail_for("event.create") is None
    tail = faults.tail_for("event.search")
    assert tail is not None and (tail.share, tail.added_ms) == (0.05, 50.0)
    assert faults.seed == 9 and faults.timed
    assert faults.describe()["tail"] == {"event.get": "0.1:+20", "event.search": "0.05:+50"}


def test_bare_slowdown_applies_to_every_procedure():
    assert build_faults(env={}, slowdown=["1.3"]).slowdown_for("event.create") == 1.3


@pytest.mark.parametrize("kwargs,message", [
    ({"slowdown": ["event.search=0.9"]}, "between 1 and 100"),
    ({"slowdown": ["event.search=fast"]}, "PROCEDURE=FACTOR"),
    ({"slowdown": ["event.search=nan"]}, "between 1 and 100"),
    ({"tail": ["event.search=0.05"]}, "PROCEDURE=SHARE:\\+MS"),
    ({"tail": ["event.search=0:+50"]}, "share must be in"),
    ({"tail": ["event.search=0.05:+ms"]}, "PROCEDURE=SHARE:\\+MS"),
    ({"env": {"SANDBOX_FAULT_SEED": "x"}}, "SANDBOX_FAULT_SEED"),
    ({"env": {"SANDBOX_TAIL": "event.get=2:+5"}}, "SANDBOX_TAIL"),
])
def test_bad_slowdown_and_tail_values_are_refused(kwargs, message):
    kwargs.setdefault("env", {})
    with pytest.raises(FaultConfigError, match=message):
        build_faults(**kwargs)
