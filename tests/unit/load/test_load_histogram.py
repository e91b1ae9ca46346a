"""Histograms: 0.1 ms buckets, merge, percentiles, JSON round trip and stats."""

from __future__ import annotations

import pytest

from load.histogram import Histogram, histograms_document, read_histograms_document
from load.personas import expected_procedures, parse_weights
from load.stats import procedure_stats
from load.transport import wire_problem

pytestmark = pytest.mark.unit


def test_buckets_are_a_tenth_of_a_millisecond() -> None:
    h = Histogram.of([1.04, 1.06, 1.06, 250.0])
    assert h.to_json() == {"values_ms": [1.0, 1.1, 250.0], "counts": [1, 2, 1]}


def test_percentiles_are_nearest_rank() -> None:
    h = Histogram.of(float(v) for v in range(1, 101))
    assert (h.percentile(50), h.percentile(95), h.percentile(99), h.max()) == (50.0, 95.0, 99.0, 100.0)
    assert Histogram().percentile(95) == 0.0


def test_merge_is_lossless() -> None:
    a, b = Histogram.of([1.0, 2.0]), Histogram.of([2.0, 3.0])
    assert a.merge(b).to_json() == {"values_ms": [1.0, 2.0, 3.0], "counts": [1, 2, 1]}


def test_document_round_trip() -> None:
    doc = histograms_document({"event.get": Histogram.of([1.0, 5.5])})
    assert read_histograms_document(doc)["event.get"].to_json() == {"values_ms": [1.0, 5.5], "counts": [1, 1]}


@pytest.mark.parametrize("doc", [
    {"schema": "other"},
    {"schema": "crvs-release/load-histograms/1", "resolution_ms": 1.0, "procedures": {}},
    {"schema": "crvs-release/load-histograms/1", "resolution_ms": 0.1, "procedures": {"x": {"values_ms": [1]}}},
    {"schema": "crvs-release/load-histograms/1", "resolution_ms": 0.1,
     "procedures": {"x": {"values_ms": [-1], "counts": [1]}}},
    {"schema": "crvs-release/load-histograms/1", "resolution_ms": 0.1,
     "procedures": {"x": {"values_ms": [1], "counts": [1.5]}}},
])
def test_corrupt_documents_are_rejected(doc: dict) -> None:
    with pytest.raises(ValueError):
        read_histograms_document(doc)


def test_procedure_stats_count_failures() -> None:
    s = procedure_stats(Histogram.of([10.0] * 98), failures=2, duration_s=10)
    assert (s["count"], s["failures"], s["error_rate"], s["p95_ms"], s["rps"]) == (100, 2, 0.02, 10.0, 10.0)


@pytest.mark.parametrize(("path", "status", "text", "problem"), [
    ("/events/event.get", 200, '[{"result": {"data": {"json": {}}}}]', None),
    ("/events/event.get", 200, '[{"error": {"json": {}}}]', "answer is not a tRPC batch result"),
    ("/events/event.get", 200, "<html>", "answer is not JSON"),
    ("/events/event.get", 500, "", "HTTP 500"),
    ("/ping", 200, '{"status": "ok"}', None),
    ("/ping", 0, "", "no answer"),
])
def test_wire_problem(path: str, status: int, text: str, problem: str | None) -> None:
    assert wire_problem(path, status, text) == problem


def test_weights() -> None:
    assert parse_weights(None) == {"registrar": 50, "searcher": 30, "reader": 20}
    assert parse_weights("ping=1") == {"registrar": 0, "searcher": 0, "reader": 0, "ping": 1}
    assert expected_procedures(parse_weights("reader=1")) == {"event.get"}
    for bad in ("x=1", "reader=-1", "reader=a", "reader=0"):
        with pytest.raises(ValueError):
            parse_weights(bad)
