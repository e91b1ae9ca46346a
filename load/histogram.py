"""Lossless latency histograms at 0.1 ms resolution (value -> count), mergeable across workers."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RESOLUTION_MS = 0.1
SCHEMA = "crvs-release/load-histograms/1"


def bucket(value_ms: float) -> int:
    """The 0.1 ms bucket of one response time (rounded to nearest, never negative)."""
    return max(round(value_ms / RESOLUTION_MS), 0)


@dataclass
class Histogram:
    """Counts of response times per 0.1 ms bucket."""

    counts: Counter[int] = field(default_factory=Counter)

    def add(self, value_ms: float, count: int = 1) -> None:
        """Record `count` samples of `value_ms`."""
        self.counts[bucket(value_ms)] += count

    def merge(self, other: Histogram) -> Histogram:
        """Add another histogram's counts into this one; returns self."""
        self.counts.update(other.counts)
        return self

    @property
    def n(self) -> int:
        """Number of samples."""
        return sum(self.counts.values())

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted values in ms and their counts."""
        keys = sorted(k for k, c in self.counts.items() if c > 0)
        values = np.array(keys, dtype=float) * RESOLUTION_MS
        counts = np.array([self.counts[k] for k in keys], dtype=np.int64)
        return values, counts

    def samples(self) -> np.ndarray:
        """Every sample, expanded (for tests and scipy calls that take raw samples)."""
        values, counts = self.arrays()
        return np.repeat(values, counts)

    def percentile(self, q: float) -> float:
        """The nearest-rank q-th percentile (0 < q <= 100) in ms; 0.0 when empty."""
        values, counts = self.arrays()
        total = int(counts.sum())
        if total == 0:
            return 0.0
        rank = max(math.ceil(q / 100.0 * total), 1)
        idx = int(np.searchsorted(np.cumsum(counts), rank))
        return round(float(values[min(idx, len(values) - 1)]), 1)

    def max(self) -> float:
        """The largest sample in ms; 0.0 when empty."""
        keys = [k for k, c in self.counts.items() if c > 0]
        return round(max(keys) * RESOLUTION_MS, 1) if keys else 0.0

    def to_json(self) -> dict[str, list[float] | list[int]]:
        """`{"values_ms": [...], "counts": [...]}`, values ascending."""
        keys = sorted(k for k, c in self.counts.items() if c > 0)
        return {"values_ms": [round(k * RESOLUTION_MS, 1) for k in keys], "counts": [self.counts[k] for k in keys]}

    @classmethod
    def from_json(cls, data: Any) -> Histogram:
        """Read `{"values_ms", "counts"}`; raises ValueError on any malformed entry."""
        if not isinstance(data, Mapping):
            raise ValueError("histogram is not an object")
        values, counts = data.get("values_ms"), data.get("counts")
        if not isinstance(values, list) or not isinstance(counts, list) or len(values) != len(counts):
            raise ValueError("histogram needs values_ms and counts lists of the same length")
        hist = cls()
        for v, c in zip(values, counts, strict=True):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise ValueError(f"histogram value {v!r} is not a non-negative number")
            if isinstance(c, bool) or not isinstance(c, int) or c < 0:
                raise ValueError(f"histogram count {c!r} is not a non-negative integer")
            if c:
                hist.add(float(v), c)
        return hist

    @classmethod
    def of(cls, values_ms: Iterable[float]) -> Histogram:
        """A histogram of raw samples."""
        hist = cls()
        for v in values_ms:
            hist.add(v)
        return hist


def histograms_document(histograms: Mapping[str, Histogram]) -> dict[str, Any]:
    """The histograms.json document."""
    return {"schema": SCHEMA, "resolution_ms": RESOLUTION_MS,
            "procedures": {name: histograms[name].to_json() for name in sorted(histograms)}}


def read_histograms_document(doc: Any) -> dict[str, Histogram]:
    """Parse a histograms.json document; raises ValueError when it is not one."""
    if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document")
    if doc.get("resolution_ms") != RESOLUTION_MS:
        raise ValueError(f"resolution_ms must be {RESOLUTION_MS}")
    procs = doc.get("procedures")
    if not isinstance(procs, Mapping):
        raise ValueError("procedures is not an object")
    return {str(name): Histogram.from_json(h) for name, h in procs.items()}
