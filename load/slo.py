"""SLO thresholds per procedure (like k6 thresholds) and the pure check of a run's stats against them."""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METRICS = ("p50_ms", "p95_ms", "p99_ms", "error_rate", "min_rps")
PASSED, FAILED, ERROR = "PASSED", "FAILED", "ERROR"
DEFAULT_GRACE_S = 5.0

# OpenCRVS's 2.x performance test: reads 50/150/300 ms, writes 100/300/500 ms (p50/p95/p99), 5xx < 0.1%.
READS = ("event.get", "event.search")
WRITES = ("event.create", "event.actions.declare.request", "event.actions.assignment.assign",
          "event.actions.register.request")
_READ_LIMITS = {"p50_ms": 50.0, "p95_ms": 150.0, "p99_ms": 300.0}
_WRITE_LIMITS = {"p50_ms": 100.0, "p95_ms": 300.0, "p99_ms": 500.0}
DEFAULT_ERRORS = 0.001


class SloError(ValueError):
    """An SLO table or file is malformed."""


@dataclass(frozen=True)
class Threshold:
    """One limit on one procedure's metric; `abort_on_fail` stops the run early on a breach."""

    procedure: str
    metric: str
    limit: float
    abort_on_fail: bool = False


@dataclass(frozen=True)
class SloPolicy:
    """Every threshold of a run, plus the global error fraction."""

    thresholds: tuple[Threshold, ...] = ()
    errors: float | None = None
    abort_on_fail_errors: bool = False
    grace_s: float = DEFAULT_GRACE_S

    @property
    def procedures(self) -> tuple[str, ...]:
        """Procedures that have at least one threshold (each must see samples)."""
        return tuple(dict.fromkeys(t.procedure for t in self.thresholds))

    @property
    def aborts(self) -> bool:
        """Whether any threshold can stop the run early."""
        return self.abort_on_fail_errors or any(t.abort_on_fail for t in self.thresholds)

    def to_json(self) -> dict[str, Any]:
        """The table form `parse_slo` reads back (used to pass the policy to the locust process)."""
        out: dict[str, Any] = {}
        for t in self.thresholds:
            entry = out.setdefault(t.procedure, {})
            entry[t.metric] = t.limit
            if t.abort_on_fail:
                entry["abort_on_fail"] = True
        if self.errors is not None:
            out["errors"] = self.errors
        if self.abort_on_fail_errors:
            out["abort_on_fail"] = True
        out["grace_s"] = self.grace_s
        return out


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise SloError(f"{where}: expected a non-negative number, got {value!r}")
    return float(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SloError(f"{where}: expected true or false, got {value!r}")
    return value


def parse_slo(table: Any, source: str = "slo") -> SloPolicy:
    """Read `{"event.search": {p95_ms=150, abort_on_fail=true}, errors=0.001, abort_on_fail=..., grace_s=...}`."""
    if not isinstance(table, Mapping):
        raise SloError(f"{source}: expected a table of procedure -> thresholds")
    thresholds: list[Threshold] = []
    errors: float | None = None
    abort_errors = False
    grace = DEFAULT_GRACE_S
    for key, value in table.items():
        where = f"{source}: {key}"
        if key == "errors":
            errors = _number(value, where)
            if errors > 1:
                raise SloError(f"{where}: expected a fraction between 0 and 1, got {value!r}")
        elif key == "abort_on_fail":
            abort_errors = _flag(value, where)
        elif key == "grace_s":
            grace = _number(value, where)
        elif isinstance(value, Mapping):
            abort = _flag(value.get("abort_on_fail", False), f"{where}.abort_on_fail")
            metrics = [m for m in value if m != "abort_on_fail"]
            if not metrics:
                raise SloError(f"{where}: no thresholds (expected one of {', '.join(METRICS)})")
            for metric in metrics:
                if metric not in METRICS:
                    raise SloError(f"{where}.{metric}: unknown metric (expected one of {', '.join(METRICS)})")
                limit = _number(value[metric], f"{where}.{metric}")
                if metric == "error_rate" and limit > 1:
                    raise SloError(f"{where}.{metric}: expected a fraction between 0 and 1, got {limit!r}")
                thresholds.append(Threshold(str(key), metric, limit, abort))
        else:
            raise SloError(f"{where}: expected a table of thresholds, got {value!r}")
    return SloPolicy(tuple(thresholds), errors, abort_errors, grace)


def load_slo_file(path: str | Path) -> SloPolicy:
    """Read an SLO from TOML or JSON: the top level, an `[slo]` table, or `[gates.load].slo` of release.toml."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SloError(f"{p}: cannot read ({exc.strerror})") from exc
    try:
        data = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise SloError(f"{p}: not valid {'JSON' if p.suffix == '.json' else 'TOML'} ({exc})") from exc
    if isinstance(data, Mapping):
        gates = data.get("gates")
        if isinstance(gates, Mapping) and isinstance(gates.get("load"), Mapping) and "slo" in gates["load"]:
            return parse_slo(gates["load"]["slo"], f"{p}: gates.load.slo")
        if "slo" in data:
            return parse_slo(data["slo"], f"{p}: slo")
    return parse_slo(data, str(p))


def default_slo(procedures: Iterable[str] | None = None) -> SloPolicy:
    """OpenCRVS's performance-test thresholds, limited to `procedures` when given."""
    wanted = set(procedures) if procedures is not None else None
    thresholds: list[Threshold] = []
    for names, limits in ((READS, _READ_LIMITS), (WRITES, _WRITE_LIMITS)):
        for name in names:
            if wanted is None or name in wanted:
                thresholds.extend(Threshold(name, m, v) for m, v in limits.items())
    return SloPolicy(tuple(thresholds), DEFAULT_ERRORS)


@dataclass(frozen=True)
class Check:
    """One threshold against what was observed (`observed` None when there were no samples)."""

    procedure: str
    metric: str
    threshold: float
    observed: float | None
    ok: bool

    def to_json(self) -> dict[str, Any]:
        """The stats.json form."""
        return {"procedure": self.procedure, "metric": self.metric, "threshold": self.threshold,
                "observed": self.observed, "ok": self.ok}


@dataclass(frozen=True)
class SloResult:
    """The verdict of the SLO checks and why."""

    verdict: str
    checks: tuple[Check, ...]
    errors: tuple[str, ...]

    def to_json(self, aborted: bool = False) -> dict[str, Any]:
        """The `slo` object of stats.json."""
        return {"verdict": self.verdict, "aborted": aborted, "checks": [c.to_json() for c in self.checks]}


def _observe(metric: str, stats: Mapping[str, Any]) -> float:
    if metric == "min_rps":
        return float(stats.get("rps", 0.0))
    return float(stats.get(metric, 0.0))


def evaluate(policy: SloPolicy, procedures: Mapping[str, Mapping[str, Any]]) -> SloResult:
    """Check per-procedure stats (`count`, `failures`, `error_rate`, `pXX_ms`, `rps`) against the policy.

    A procedure with a threshold and no samples, or a run with no samples at all, is ERROR (never PASSED).
    """
    checks: list[Check] = []
    errors: list[str] = []
    missing: list[str] = []
    for t in policy.thresholds:
        stats = procedures.get(t.procedure)
        if not stats or int(stats.get("count", 0)) == 0:
            if t.procedure not in missing:
                missing.append(t.procedure)
            checks.append(Check(t.procedure, t.metric, t.limit, None, False))
            continue
        observed = _observe(t.metric, stats)
        ok = observed >= t.limit if t.metric == "min_rps" else observed <= t.limit
        checks.append(Check(t.procedure, t.metric, t.limit, round(observed, 4), ok))
    total = sum(int(s.get("count", 0)) for s in procedures.values())
    failures = sum(int(s.get("failures", 0)) for s in procedures.values())
    if policy.errors is not None and total:
        observed = failures / total
        checks.append(Check("*", "errors", policy.errors, round(observed, 6), observed <= policy.errors))
    errors.extend(f"no samples for {name} (it has an SLO)" for name in missing)
    if total == 0:
        errors.append("no samples at all")
    if errors:
        verdict = ERROR
    elif all(c.ok for c in checks):
        verdict = PASSED
    else:
        verdict = FAILED
    errors.extend(f"SLO breach: {c.procedure} {c.metric} {c.observed} > {c.threshold}" if c.metric != "min_rps"
                  else f"SLO breach: {c.procedure} min_rps {c.observed} < {c.threshold}"
                  for c in checks if not c.ok and c.observed is not None)
    return SloResult(verdict, tuple(checks), tuple(errors))


def abort_reasons(policy: SloPolicy, procedures: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Breaches of thresholds marked abort_on_fail, from live stats (procedures without samples are skipped)."""
    reasons = []
    for t in policy.thresholds:
        stats = procedures.get(t.procedure)
        if not t.abort_on_fail or not stats or int(stats.get("count", 0)) == 0:
            continue
        observed = _observe(t.metric, stats)
        ok = observed >= t.limit if t.metric == "min_rps" else observed <= t.limit
        if not ok:
            reasons.append(f"{t.procedure} {t.metric} {observed:g} breaches {t.limit:g}")
    if policy.abort_on_fail_errors and policy.errors is not None:
        total = sum(int(s.get("count", 0)) for s in procedures.values())
        failures = sum(int(s.get("failures", 0)) for s in procedures.values())
        if total and failures / total > policy.errors:
            reasons.append(f"errors {failures / total:.4f} breaches {policy.errors:g}")
    return reasons
