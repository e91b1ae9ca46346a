"""Table tests for the A/B statistics over paired time windows (load/stats.py, load/compare.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from load.compare import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    SCHEMA,
    SCHEMA_V1,
    Look,
    Policy,
    compare_windows,
    read_comparison,
    with_doubt,
)
from load.histogram import Histogram
from load.stats import spending, spent_alpha, window_ratio

pytestmark = pytest.mark.unit

SEARCH = "event.search"
POLICY = Policy(decide=(SEARCH,), min_samples=100)


def windows(seed: int, *, count: int = 12, n: int = 120, shift: float = 1.0, tail: float = 0.0,
            common: float = 0.0, side: float = 0.02, ar: float = 0.0, same: bool = False) -> tuple[dict, dict]:
    """Paired windows of lognormal search latencies (median 10 ms).

    `common`: per-window noise both sides share (machine load); `side`: per-window noise each side has on its
    own, an AR(1) process with coefficient `ar`; `shift`: the candidate's median factor; `tail`: the share of
    candidate calls that get +50 ms; `same`: the candidate's windows are the baseline's.
    """
    rng = np.random.default_rng(seed)
    base, cand = {}, {}
    level_b = level_c = 0.0
    for k in range(count):
        shared = rng.normal(0, common)
        level_b = ar * level_b + rng.normal(0, side)
        level_c = ar * level_c + rng.normal(0, side)
        b = rng.lognormal(math.log(10) + shared + level_b, 0.3, n)
        c = b if same else rng.lognormal(math.log(10 * shift) + shared + level_c, 0.3, n)
        if tail:
            c = c + (rng.random(n) < tail) * 50
        base[k], cand[k] = {SEARCH: Histogram.of(b)}, {SEARCH: Histogram.of(c)}
    return base, cand


def search(result):
    return result.procedures[SEARCH]


@pytest.mark.parametrize(("case", "kwargs", "verdict", "failed_on"), [
    ("identical inputs", {"same": True}, PASS, ()),
    ("same distribution", {}, PASS, ()),
    ("median 30 % slower", {"shift": 1.3}, FAIL, ("median", "tail")),
    ("5 % of calls +50 ms: the tail only", {"tail": 0.05}, FAIL, ("tail",)),
    ("strong load both sides share", {"common": 0.3}, PASS, ()),
    ("a faster candidate", {"shift": 0.8}, PASS, ()),
])
def test_window_verdicts(case: str, kwargs: dict, verdict: str, failed_on: tuple) -> None:
    result = compare_windows(*windows(1, **kwargs), POLICY)
    assert (result.verdict, search(result).failed_on) == (verdict, failed_on), search(result).reason


def test_identical_inputs_give_exactly_one() -> None:
    stats = search(compare_windows(*windows(2, same=True), POLICY)).statistics
    for key in ("median", "tail"):
        assert stats[key]["ratio"] == 1.0 and stats[key]["se_log"] == 0.0
        assert stats[key]["ci_low"] <= 1.0 <= stats[key]["ci_high"]


def test_fail_names_the_procedure_and_the_statistic() -> None:
    result = compare_windows(*windows(3, tail=0.05), POLICY)
    assert result.failed == [SEARCH]
    assert "event.search (tail)" in result.reason
    assert "tail" in search(result).reason and "slower than the budget" in search(result).reason


def test_autocorrelated_windows_widen_the_interval() -> None:
    calm = search(compare_windows(*windows(4), POLICY)).statistics["median"]
    wavy = search(compare_windows(*windows(4, side=0.1, ar=0.95), POLICY)).statistics["median"]
    width = {name: math.log(s["ci_high"]) - math.log(s["ci_low"]) for name, s in (("calm", calm), ("wavy", wavy))}
    assert width["wavy"] > 1.5 * width["calm"], width
    # The request-level interval (every request independent) would not see it: it stays as narrow as when calm.
    from load.compare import shift_interval

    base, cand = windows(4, side=0.1, ar=0.95)
    pooled = [Histogram(), Histogram()]
    for k in base:
        pooled[0].merge(base[k][SEARCH])
        pooled[1].merge(cand[k][SEARCH])
    _, low, high = shift_interval(pooled[0], pooled[1], 0.95)
    assert high - low < width["wavy"] / 2


def test_too_few_windows_is_inconclusive_with_a_power_estimate() -> None:
    result = compare_windows(*windows(5, count=3, n=200), POLICY)
    proc = search(result)
    assert result.verdict == INCONCLUSIVE and proc.verdict == INCONCLUSIVE
    assert "only 3 paired windows" in proc.reason and "would decide it" in proc.reason
    assert proc.needed is not None and proc.needed["windows"] >= POLICY.min_windows
    assert proc.needed["seconds"] == proc.needed["windows"] * POLICY.window_s
    assert proc.needed["samples_per_side"] >= proc.needed["windows"] * 150


def test_the_power_estimate_is_a_run_length_that_decides() -> None:
    """A straddling verdict names a number of windows; a run of that many windows of the same noise decides."""
    kwargs = {"shift": 1.04, "side": 0.06, "n": 60}
    first = search(compare_windows(*windows(21, count=8, **kwargs), POLICY))
    assert first.verdict == INCONCLUSIVE and first.needed is not None, first.reason
    need = first.needed["windows"]
    decided = [compare_windows(*windows(seed, count=need, **kwargs), POLICY).verdict for seed in (7, 8, 9)]
    assert decided.count(PASS) >= 2, (need, decided)


def test_one_window_has_unknown_noise() -> None:
    proc = search(compare_windows(*windows(5, count=1, n=300), POLICY))
    assert proc.verdict == INCONCLUSIVE and "the noise is unknown" in proc.reason and proc.needed is None


def test_spending_adds_up_and_early_looks_are_strict() -> None:
    parts = spending(4, 0.025)
    assert sum(parts) == pytest.approx(0.025)
    assert parts[0] < 1e-4 < parts[1] < parts[2] < parts[3] < 0.025
    assert spent_alpha(0.025, 1.0) == pytest.approx(0.025)


def test_an_early_look_does_not_decide_what_only_the_full_run_can() -> None:
    base, cand = windows(10, shift=1.22, side=0.05)
    assert compare_windows(base, cand, POLICY, Look(4, 4, 1.0, 0.75)).verdict == FAIL
    assert compare_windows(base, cand, POLICY, Look(1, 4, 0.25, 0.0)).verdict == INCONCLUSIVE


def test_an_early_look_decides_a_large_slowdown() -> None:
    base, cand = windows(11, shift=2.0)
    assert compare_windows(base, cand, POLICY, Look(2, 4, 0.5, 0.25)).verdict == FAIL


def test_only_deciding_procedures_block() -> None:
    base, cand = windows(12)
    slow_b, slow_c = windows(13, shift=1.5)
    for k in base:
        base[k]["event.get"], cand[k]["event.get"] = slow_b[k][SEARCH], slow_c[k][SEARCH]
    result = compare_windows(base, cand, POLICY)
    assert result.verdict == PASS and result.failed == []
    get = result.procedures["event.get"]
    assert get.verdict == FAIL and get.decides is False
    assert compare_windows(base, cand, Policy(decide=(), min_samples=100)).verdict == FAIL


def test_a_deciding_procedure_never_seen_is_inconclusive() -> None:
    result = compare_windows(*windows(14), Policy(decide=(SEARCH, "event.actions.register.request"), min_samples=100))
    assert result.verdict == INCONCLUSIVE
    assert "event.actions.register.request" in result.reason


def test_windows_on_one_side_only_are_not_compared() -> None:
    base, cand = windows(15)
    base[99] = {SEARCH: Histogram.of([500.0] * 200)}  # a window the candidate did not record
    assert search(compare_windows(base, cand, POLICY)).statistics["median"]["windows"] == 12


def test_the_same_windows_give_the_same_interval() -> None:
    base, cand = windows(16)
    b, c = [base[k][SEARCH] for k in base], [cand[k][SEARCH] for k in cand]
    assert window_ratio(b, c, 0.95) == window_ratio(b, c, 0.95)


def test_a_doubted_side_makes_the_verdict_inconclusive() -> None:
    result = with_doubt(compare_windows(*windows(17, shift=1.5), POLICY), ["candidate: generator pid 7 starved"])
    assert result.verdict == INCONCLUSIVE and "FAIL not trusted: candidate: generator pid 7 starved" in result.reason


def test_comparison_documents_round_trip_and_old_ones_load() -> None:
    doc = json.loads(json.dumps(compare_windows(*windows(18), POLICY).to_json()))
    assert doc["schema"] == SCHEMA and doc["method"] == "paired-windows"
    assert read_comparison(doc)["procedures"][SEARCH]["statistics"]["tail"]["quantile"] == 0.95
    old = {"schema": SCHEMA_V1, "verdict": "FAIL", "reason": "slower than the budget: event.search",
           "max_slowdown": 0.1, "confidence": 0.95, "min_samples": 200,
           "procedures": {SEARCH: {"verdict": "FAIL", "ratio": 1.5, "ci_low": 1.4, "ci_high": 1.6}}}
    read = read_comparison(old)
    assert read["procedures"][SEARCH]["failed_on"] == ["median"] and read["method"] == "mann-whitney"


@pytest.mark.parametrize(("doc", "message"), [
    ({"schema": "crvs-release/load-comparison/9", "verdict": "PASS", "procedures": {}},
     "schema 'crvs-release/load-comparison/9' is not one this version reads"),
    ({"verdict": "PASS", "procedures": {}}, "schema None"),
    ({"schema": SCHEMA, "verdict": "MAYBE", "procedures": {}}, "without a verdict"),
    ([], "not a JSON object"),
])
def test_unreadable_comparisons_name_what_they_carry(doc, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_comparison(doc, "comparison.json")


def test_the_gate_config_default_decides_what_the_comparison_does() -> None:
    from load.compare import DEFAULT_DECIDE
    from release.config_models import DEFAULT_DECIDE as CONFIG_DEFAULT

    assert CONFIG_DEFAULT == DEFAULT_DECIDE == Policy().decide


def test_new_baseline_keys_stay_out_of_the_gate_options_until_set() -> None:
    from release.config_models import BaselineTable

    assert set(BaselineTable().options()) == {"against", "max_slowdown", "confidence", "mode", "min_samples"}
    set_keys = BaselineTable(decide=["event.search"], looks=1, max_tail_slowdown=0.5).options()
    assert (set_keys["decide"], set_keys["looks"], set_keys["max_tail_slowdown"]) == (["event.search"], 1, 0.5)


def test_the_gate_names_the_procedure_the_statistic_and_the_run_that_would_decide() -> None:
    from release.workflow.gate_runner import _ab_flags, _comparison_reason

    base, cand = windows(19, tail=0.05)
    slow_b, slow_c = windows(20, count=12, n=6, side=0.2)
    for k in base:
        base[k]["event.create"], cand[k]["event.create"] = slow_b[k][SEARCH], slow_c[k][SEARCH]
    doc = json.loads(json.dumps(compare_windows(base, cand, Policy(decide=(SEARCH, "event.create"),
                                                                   min_samples=100)).to_json()))
    reason = _comparison_reason(doc)
    assert reason.startswith("event.search FAIL (tail): tail +"), reason
    doc["procedures"][SEARCH]["verdict"] = "PASS"
    unsure = _comparison_reason(doc)
    assert unsure.startswith("event.create INCONCLUSIVE") and "s of run" in unsure, unsure
    tail_only = doc["procedures"][SEARCH]
    tail_only.update(verdict="INCONCLUSIVE", failed_on=[])
    tail_only["statistics"]["tail"]["verdict"] = "INCONCLUSIVE"
    assert "event.search INCONCLUSIVE: tail +" in _comparison_reason(doc)
    assert _ab_flags({"decide": [], "looks": 1, "window": 2.0, "max_tail_slowdown": None}) == [
        "--decide", "*", "--looks", "1", "--window", "2"]
