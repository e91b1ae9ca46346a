"""--slowdown and --tail inject faults of the size asked for.

As a client sees it: calls to two sandboxes that differ only in the fault are paired, alternating which one is
called first, so machine noise cancels in the per-pair comparison (no wall-clock thresholds). As the server
reports it: the Server-Timing header of each faulted call says how long the call took and what the fault added.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sandbox_wire import OFFICE, Api, client_token

from sandbox.process import SandboxProcess, SandboxStartError

pytestmark = pytest.mark.integration

# Both servers add 100 ms to event.search, so each search takes a known ~100 ms "as it would have": the client's
# own share of a call (a few ms of HTTP on a busy machine), which no server fault can stretch, then hardly
# dilutes the ratio the client sees.
BASE = {"latency": {"event.search": 100}}
FAULTS = ["--slowdown", "event.search=1.20", "--tail", "event.get=0.05:+50", "--fault-seed", "7"]
PAIRS_SLOWDOWN = 50
PAIRS_TAIL = 300  # the faulted server's first 300 event.get draws (no other test calls it there)


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Api, Api, str, str]]:
    """(plain, faulted) callers and one record on each, for event.get."""
    procs = [SandboxProcess(**BASE), SandboxProcess(**BASE, extra_args=FAULTS)]
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(p.start) for p in procs]
        try:
            for future in futures:
                future.result()
            apis = [Api(p.url, client_token(p.url)) for p in procs]
            records = [api.create()["id"] for api in apis]
            yield apis[0], apis[1], records[0], records[1]
        finally:
            for p in procs:
                p.stop()


def _timed(call) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = call()
    assert response.status_code == 200, response.text
    return (time.perf_counter() - started) * 1000, response


def _paired(plain, faulted, n: int) -> list[tuple[float, float, dict[str, float]]]:
    """n (plain ms, faulted ms, faulted Server-Timing) triples, the first call of each pair alternating."""
    out = []
    for i in range(n):
        if i % 2:
            f, response = _timed(faulted)
            p, _ = _timed(plain)
        else:
            p, _ = _timed(plain)
            f, response = _timed(faulted)
        out.append((p, f, server_timing(response)))
    return out


def server_timing(response: httpx.Response) -> dict[str, float]:
    """`app;dur=12.3, fault;dur=2.5` as {"app": 12.3, "fault": 2.5} (empty without the header)."""
    out = {}
    for part in response.headers.get("server-timing", "").split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            out[name] = float(dur)
    return out


def _search(api: Api):
    return lambda: api.raw("event.search", {"query": {"type": "and", "clauses": []}})


def _get(api: Api, event_id: str):
    return lambda: api.raw("event.get", {"eventId": event_id}, "GET")


def test_slowdown_makes_each_call_20_percent_longer(pair) -> None:
    plain, faulted, _, _ = pair
    pairs = _paired(_search(plain), _search(faulted), PAIRS_SLOWDOWN)
    observed = statistics.median(f / p for p, f, _ in pairs)
    assert observed == pytest.approx(1.20, abs=0.03), f"median per-pair ratio {observed:.3f}, asked for 1.20"
    added = statistics.median(t["fault"] / t["app"] for _, _, t in pairs)
    assert added == pytest.approx(0.20, abs=0.01), f"the server added {added:.3f} of each call, asked for 0.20"


def test_faults_touch_only_their_procedures(pair) -> None:
    plain, faulted, _, _ = pair
    response = faulted.raw("event.create", {"transactionId": "no-fault-here", "type": "birth",
                                            "createdAtLocation": OFFICE})
    assert response.status_code == 200 and "server-timing" not in response.headers
    assert "server-timing" not in _search(plain)().headers


def test_tail_slows_the_asked_share_of_calls_and_not_the_median(pair) -> None:
    plain, faulted, plain_id, faulted_id = pair
    pairs = _paired(_get(plain, plain_id), _get(faulted, faulted_id), PAIRS_TAIL)
    slowed = [(p, f) for p, f, t in pairs if t["fault"] >= 50]
    share = len(slowed) / len(pairs)
    assert share == pytest.approx(0.05, abs=0.02), f"{share:.1%} of calls got the tail, asked for 5 %"
    # The calls the server says it slowed are slower than their pair by the 50 ms, as the client sees them ...
    assert statistics.median(f - p for p, f in slowed) == pytest.approx(50, abs=10)
    # ... and the median call is not moved.
    median_shift = statistics.median(f - p for p, f, _ in pairs)
    assert abs(median_shift) < 5, f"the median moved by {median_shift:.1f} ms"


def test_a_bad_fault_size_refuses_to_start() -> None:
    with pytest.raises(SandboxStartError, match="factor must be between 1"):
        SandboxProcess(extra_args=["--slowdown", "event.search=0.8"], startup_timeout=20).start()
