"""Table tests for SLO checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from load.slo import (
    ERROR,
    FAILED,
    PASSED,
    SloError,
    abort_reasons,
    default_slo,
    evaluate,
    load_slo_file,
    parse_slo,
)

pytestmark = pytest.mark.unit


def stats(count: int = 1000, failures: int = 0, p95: float = 100.0, rps: float = 20.0) -> dict:
    return {"count": count, "failures": failures, "error_rate": failures / count if count else 0.0,
            "p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 1.5, "rps": rps}


GATE = parse_slo({"event.search": {"p95_ms": 150}, "event.actions.register.request": {"p95_ms": 300},
                  "errors": 0.001})


@pytest.mark.parametrize(("procedures", "expected"), [
    ({"event.search": stats(p95=120), "event.actions.register.request": stats(p95=250)}, PASSED),
    ({"event.search": stats(p95=151), "event.actions.register.request": stats(p95=250)}, FAILED),
    ({"event.search": stats(p95=120)}, ERROR),  # register has an SLO and no samples
    ({"event.search": stats(p95=120), "event.actions.register.request": stats(count=0)}, ERROR),
    ({"event.search": stats(failures=5), "event.actions.register.request": stats()}, FAILED),  # 0.25 % errors
    ({}, ERROR),
])
def test_gate_slo(procedures: dict, expected: str) -> None:
    assert evaluate(GATE, procedures).verdict == expected


@pytest.mark.parametrize(("table", "procedures", "expected"), [
    ({"event.get": {"error_rate": 0.01}}, {"event.get": stats(failures=20)}, FAILED),
    ({"event.get": {"error_rate": 0.01}}, {"event.get": stats(failures=5)}, PASSED),
    ({"event.get": {"min_rps": 50}}, {"event.get": stats(rps=20)}, FAILED),
    ({"event.get": {"p99_ms": 200, "p50_ms": 60}}, {"event.get": stats(p95=100)}, PASSED),
    ({"errors": 0.001}, {}, ERROR),
])
def test_metric_table(table: dict, procedures: dict, expected: str) -> None:
    assert evaluate(parse_slo(table), procedures).verdict == expected


def test_breach_is_named() -> None:
    result = evaluate(GATE, {"event.search": stats(p95=400), "event.actions.register.request": stats()})
    failed = [c for c in result.checks if not c.ok]
    assert [(c.procedure, c.metric, c.observed) for c in failed] == [("event.search", "p95_ms", 400.0)]
    assert any("event.search" in e for e in result.errors)


def test_default_is_opencrvs_performance_test_limits() -> None:
    policy = default_slo(["event.search", "event.create"])
    limits = {(t.procedure, t.metric): t.limit for t in policy.thresholds}
    assert limits[("event.search", "p95_ms")] == 150
    assert limits[("event.create", "p99_ms")] == 500
    assert policy.errors == 0.001
    assert "event.get" not in policy.procedures


@pytest.mark.parametrize("table", [
    {"event.search": {"p95": 150}},
    {"event.search": {"p95_ms": -1}},
    {"event.search": {"p95_ms": "fast"}},
    {"event.search": 150},
    {"errors": 2},
    {"event.search": {"abort_on_fail": True}},
])
def test_malformed_tables_are_rejected(table: dict) -> None:
    with pytest.raises(SloError):
        parse_slo(table)


def test_abort_only_on_marked_thresholds() -> None:
    policy = parse_slo({"event.search": {"p95_ms": 150, "abort_on_fail": True}, "event.get": {"p95_ms": 10}})
    assert policy.aborts
    live = {"event.search": stats(p95=300), "event.get": stats(p95=300)}
    reasons = abort_reasons(policy, live)
    assert len(reasons) == 1 and reasons[0].startswith("event.search p95_ms")
    assert abort_reasons(policy, {"event.search": stats(p95=100)}) == []


def test_reads_release_toml_gate_table(tmp_path: Path) -> None:
    f = tmp_path / "release.toml"
    f.write_text('[gates.load]\nkind = "locust"\nslo = { "event.search" = { p95_ms = 150 }, errors = 0.001 }\n')
    policy = load_slo_file(f)
    assert policy.procedures == ("event.search",) and policy.errors == 0.001


def test_reads_json_and_round_trips(tmp_path: Path) -> None:
    f = tmp_path / "slo.json"
    f.write_text('{"event.get": {"p50_ms": 50, "abort_on_fail": true}, "grace_s": 2}')
    policy = load_slo_file(f)
    assert parse_slo(policy.to_json()) == policy


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "slo.toml"
    f.write_text("event.search = {")
    with pytest.raises(SloError) as err:
        load_slo_file(f)
    assert str(f) in str(err.value)
