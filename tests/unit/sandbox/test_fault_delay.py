"""fault_delay: how long FaultTiming holds a response so each faulted call takes its factor times as long."""

from __future__ import annotations

import pytest

from sandbox.app import TimedCall, fault_delay


@pytest.mark.parametrize(("calls", "request_s", "expected"), [
    # one call: the whole request is stretched, the time outside the handler included (10 ms handler of 15 ms)
    ([TimedCall(0.010, 1.20, faulted=True)], 0.015, 0.003),
    # no fault: nothing added
    ([TimedCall(0.010)], 0.015, 0.0),
    # a tail drawn adds its time on top of the slowdown
    ([TimedCall(0.010, 1.20, 0.050, faulted=True)], 0.015, 0.053),
    # a tail only: exactly its time, whatever the request took
    ([TimedCall(0.004, 1.0, 0.050, faulted=True)], 0.020, 0.050),
    # a batch: each call gets its own factor over its dispatch and an equal share of the 6 ms outside the calls
    ([TimedCall(0.010, 1.50, faulted=True), TimedCall(0.004)], 0.020, 0.5 * (0.010 + 0.003)),
    # a clock that says the calls took longer than the request: no negative share
    ([TimedCall(0.010, 2.0, faulted=True)], 0.008, 0.010),
    ([], 0.010, 0.0),
])
def test_fault_delay(calls: list[TimedCall], request_s: float, expected: float) -> None:
    assert fault_delay(calls, request_s) == pytest.approx(expected)
