"""Fault injection config: added latency, error rate, crash-after and named defects, from flags and env."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# stuck-requested: confirmable actions stay Requested for ever (a country config that answers 202 and never confirms).
KNOWN_DEFECTS = ("no-idempotency", "duplicate-registration-number", "search-ignores-new-records",
                 "skip-permission-check", "stuck-requested")
DROP_FIELD_PREFIX = "drop-field:"
ALL_PROCEDURES = "*"

# REST calls count as the tRPC procedure they mirror, so one knob slows both.
REST_PROCEDURES = {
    ("POST", "/api/events/events"): "event.create",
    ("GET", "/api/events/events/{eventId}"): "event.get",
    ("POST", "/api/events/events/{eventId}/notify"): "event.actions.notify.request",
    ("POST", "/api/events/events/search"): "event.search",
}


class FaultConfigError(ValueError):
    """A fault flag or env value is malformed."""


@dataclass(frozen=True)
class Faults:
    """What to break on purpose; empty means a healthy server."""

    latency_ms: Mapping[str, float] = field(default_factory=dict)
    error_rate: Mapping[str, float] = field(default_factory=dict)
    defects: frozenset[str] = frozenset()
    crash_after: int | None = None

    def latency_for(self, procedure: str) -> float:
        """Added latency in milliseconds for one procedure."""
        return float(self.latency_ms.get(procedure, self.latency_ms.get(ALL_PROCEDURES, 0.0)))

    def error_rate_for(self, procedure: str) -> float:
        """Fraction of calls to `procedure` that fail with a 500."""
        return float(self.error_rate.get(procedure, self.error_rate.get(ALL_PROCEDURES, 0.0)))

    def has(self, defect: str) -> bool:
        """Whether a named defect is on."""
        return defect in self.defects

    @property
    def dropped_fields(self) -> frozenset[str]:
        """Declaration field ids silently dropped when stored (defect drop-field:<id>)."""
        return frozenset(d[len(DROP_FIELD_PREFIX):] for d in self.defects if d.startswith(DROP_FIELD_PREFIX))


def _parse_pairs(items: Iterable[str], what: str, *, fraction: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        for raw in item.split(","):
            text = raw.strip()
            if not text:
                continue
            name, sep, value = text.rpartition("=")
            if not sep:
                name, value = ALL_PROCEDURES, text
            name = name.strip() or ALL_PROCEDURES
            try:
                number = float(value.strip().lstrip("+"))
            except ValueError:
                raise FaultConfigError(f"{what}: {text!r} is not PROCEDURE=NUMBER") from None
            if number < 0 or (fraction and number > 1):
                limit = "between 0 and 1" if fraction else "zero or more"
                raise FaultConfigError(f"{what}: {text!r}: value must be {limit}")
            out[name] = number
    return out


def parse_defects(items: Iterable[str]) -> frozenset[str]:
    """Validate defect names (comma lists allowed)."""
    out: set[str] = set()
    for item in items:
        for raw in item.split(","):
            name = raw.strip()
            if not name:
                continue
            if name not in KNOWN_DEFECTS and not (name.startswith(DROP_FIELD_PREFIX) and
                                                  len(name) > len(DROP_FIELD_PREFIX)):
                known = ", ".join((*KNOWN_DEFECTS, "drop-field:<field id>"))
                raise FaultConfigError(f"--defect: unknown defect {name!r}; known: {known}")
            out.add(name)
    return frozenset(out)


def build_faults(latency: Iterable[str] = (), error_rate: Iterable[str] = (), defects: Iterable[str] = (),
                 crash_after: int | None = None, env: Mapping[str, str] | None = None) -> Faults:
    """Merge SANDBOX_* env values with flags (flags win per procedure)."""
    env = os.environ if env is None else env
    lat = _parse_pairs([env.get("SANDBOX_LATENCY", "")], "SANDBOX_LATENCY", fraction=False)
    lat.update(_parse_pairs(latency, "--latency", fraction=False))
    err = _parse_pairs([env.get("SANDBOX_ERROR_RATE", "")], "SANDBOX_ERROR_RATE", fraction=True)
    err.update(_parse_pairs(error_rate, "--error-rate", fraction=True))
    found = parse_defects([env.get("SANDBOX_DEFECTS", ""), *defects])
    if crash_after is None and env.get("SANDBOX_CRASH_AFTER", "").strip():
        try:
            crash_after = int(env["SANDBOX_CRASH_AFTER"])
        except ValueError:
            raise FaultConfigError("SANDBOX_CRASH_AFTER: expected a whole number") from None
    if crash_after is not None and crash_after < 1:
        raise FaultConfigError("--crash-after: expected a whole number of at least 1")
    return Faults(latency_ms=lat, error_rate=err, defects=found, crash_after=crash_after)
