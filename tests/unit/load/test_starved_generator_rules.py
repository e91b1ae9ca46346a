"""When is a load generator the bottleneck? Tables over the per-process samples the locustfile records."""

from __future__ import annotations

import json

import pytest

from load.histogram import Histogram
from load.runner import MergedParts, Run, generator_health, starved_generators

pytestmark = pytest.mark.unit


def sample(cpu: list[float], demand: list[float] | None = None, lag: tuple[float, ...] = (1.0,),
           role: str = "worker", index: int = 1, pid: int = 4242) -> dict:
    return {"role": role, "index": index, "pid": pid, "host": "gen-a", "cpu": cpu,
            "demand": cpu if demand is None else demand, "lag_ms": Histogram.of(lag).to_json()}


CALM = [0.2] * 20


@pytest.mark.parametrize(("cpu", "demand", "verdict"), [
    (CALM, None, None),
    ([0.95] * 20, None, "CPU-saturated in 20 of 20 s"),
    ([0.2] * 18 + [0.95] * 2, None, "CPU-saturated in 2 of 20 s"),  # a tenth of the run
    ([0.2] * 19 + [0.95], None, None),  # one second is a hiccup, not a saturated run
    ([0.2] * 10 + [0.95] * 2, None, "CPU-saturated in 2 of 12 s"),  # at least two seconds, however short
    ([0.2] * 36 + [0.95] * 3, None, None),  # 3 of 39 s: under a tenth
    ([0.3] * 20, [1.0] * 20, "starved of CPU: runnable (on a CPU or waiting for one) 97% of the time or more in "
                             "20 of 20 s"),
    ([0.3] * 20, [0.5] * 15 + [0.98] * 5, "or more in 5 of 20 s (limit 5 s)"),  # a quarter of the run
    ([0.3] * 20, [0.5] * 16 + [0.98] * 4, None),  # under a quarter
    ([0.3] * 20, [0.95] * 20, None),  # runnable most of the time on a busy machine, but the loop still idles
    ([], [], None),  # no samples: nothing to judge (the run's other checks still apply)
])
def test_the_verdict_names_what_saturated_the_generator(cpu, demand, verdict) -> None:
    reasons = starved_generators([generator_health(sample(cpu, demand))])
    if verdict is None:
        assert reasons == []
    else:
        [reason] = reasons
        assert reason.startswith("load generator worker 1 (pid 4242 on gen-a) was ")
        assert verdict in reason and "its latencies measure the generator, not the target" in reason


def test_a_saturated_master_is_reported_but_does_not_decide() -> None:
    master = generator_health(sample([1.0] * 20, role="master", index=-1))
    assert master["process"] == "master (pid 4242 on gen-a)" and master["cpu_saturated_s"] == 20
    assert starved_generators([master]) == []


def test_each_starved_process_is_named_once() -> None:
    health = [generator_health(sample([1.0] * 10, index=i, pid=100 + i)) for i in range(3)]
    health.append(generator_health(sample(CALM, index=3, pid=103)))
    reasons = starved_generators(health)
    assert [r.split(")")[0] for r in reasons] == [f"load generator worker {i} (pid {100 + i} on gen-a" for i in
                                                 range(3)]


def test_health_summarises_cpu_demand_and_loop_lag() -> None:
    h = generator_health(sample([0.1, 0.5, 0.9, 0.3], [0.2, 0.6, 0.97, 0.4], lag=[1.0] * 19 + [80.0],
                                role="local", index=0))
    assert h["process"] == "local (pid 4242 on gen-a)"
    assert (h["seconds"], h["cpu_p50"], h["cpu_p90"], h["demand_p90"]) == (4, 0.3, 0.9, 0.97)
    assert (h["cpu_saturated_s"], h["demand_saturated_s"]) == (1, 1)
    assert (h["lag_p95_ms"], h["lag_max_ms"]) == (1.0, 80.0)


def _doc(verdict: str) -> dict:
    return {"verdict": verdict, "errors": []}


@pytest.mark.parametrize(("before", "after"), [("PASSED", "INCONCLUSIVE"), ("FAILED", "INCONCLUSIVE"),
                                               ("ERROR", "ERROR")])
def test_a_starved_generator_turns_a_verdict_inconclusive_but_never_hides_an_error(before, after) -> None:
    doc = _doc(before)
    Run._judge_generators(doc, MergedParts(generators=[sample([1.0] * 5, role="local", index=0)]))
    assert doc["verdict"] == after and doc["inconclusive"][0].startswith("load generator local (pid 4242")


def test_a_calm_generator_leaves_the_verdict_alone() -> None:
    doc = _doc("PASSED")
    Run._judge_generators(doc, MergedParts(generators=[sample(CALM, role="local", index=0)]))
    assert doc["verdict"] == "PASSED" and "inconclusive" not in doc
    assert doc["generators"][0]["seconds"] == 20


def test_unreadable_health_is_an_error_not_a_pass() -> None:
    doc = _doc("PASSED")
    Run._judge_generators(doc, MergedParts(generators=[{"role": "local", "cpu": ["x"]}]))
    assert doc["verdict"] == "ERROR" and doc["errors"][0].startswith("unreadable generator health")


def test_an_inconclusive_run_is_not_compared_and_the_reason_says_why(tmp_path) -> None:
    from load.errors import LoadInputError
    from load.results import read_run
    from load.stats import SCHEMA

    reason = "load generator local (pid 4242 on gen-a) was CPU-saturated in 5 of 5 s"
    (tmp_path / "stats.json").write_text(json.dumps({"schema": SCHEMA, "scenario": {}, "verdict": "INCONCLUSIVE",
                                                      "errors": [], "inconclusive": [reason]}), encoding="utf-8")
    with pytest.raises(LoadInputError) as err:
        read_run(tmp_path)
    assert str(err.value) == f"{tmp_path}: the run's verdict is INCONCLUSIVE ({reason}); it cannot be compared"
