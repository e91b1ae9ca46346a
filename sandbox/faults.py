"""Fault injection config: added latency, proportional slowdown, slow tails, error rate, crash-after and named
defects, from flags and env.

`--latency PROC=MS` adds a fixed delay. `--slowdown PROC=1.20` makes each call take 20 % longer than it would have:
the server times the whole request (the gateway's token check, routing and JSON included, not only the handler)
and holds the response for 0.20 of that time, so the size holds at any load and is the size a client sees
(sandbox/app.py `FaultTiming`, `fault_delay`). `--tail PROC=0.05:+50`
adds 50 ms to 5 % of the calls, chosen by a seeded random stream per procedure (`--fault-seed`), so the median is
unchanged and the share of slow calls is reproducible.
"""

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


MAX_SLOWDOWN = 100.0


class FaultConfigError(ValueError):
    """A fault flag or env value is malformed."""


@dataclass(frozen=True)
class TailFault:
    """`share` of the calls (0..1] get `added_ms` more."""

    share: float
    added_ms: float

    def to_text(self) -> str:
        """The flag form, SHARE:+MS."""
        return f"{self.share:g}:+{self.added_ms:g}"


@dataclass(frozen=True)
class Faults:
    """What to break on purpose; empty means a healthy server."""

    latency_ms: Mapping[str, float] = field(default_factory=dict)
    error_rate: Mapping[str, float] = field(default_factory=dict)
    defects: frozenset[str] = frozenset()
    crash_after: int | None = None
    slowdown: Mapping[str, float] = field(default_factory=dict)
    tail: Mapping[str, TailFault] = field(default_factory=dict)
    seed: int = 0

    def slowdown_for(self, procedure: str) -> float:
        """How many times as long a call of `procedure` takes (1.0: as it would have)."""
        return float(self.slowdown.get(procedure, self.slowdown.get(ALL_PROCEDURES, 1.0)))

    def tail_for(self, procedure: str) -> TailFault | None:
        """The slow tail injected into `procedure`, if any."""
        return self.tail.get(procedure, self.tail.get(ALL_PROCEDURES))

    def stretches(self, procedure: str) -> bool:
        """Whether `procedure` has a --slowdown or a --tail (its calls are then timed and held)."""
        return self.slowdown_for(procedure) != 1.0 or self.tail_for(procedure) is not None

    @property
    def timed(self) -> bool:
        """Whether any fault depends on how long a call took (the server then times each call)."""
        return bool(self.slowdown or self.tail)

    def describe(self) -> dict[str, object]:
        """The faults as the server announces them (JSON-ready)."""
        return {"latency_ms": dict(self.latency_ms), "error_rate": dict(self.error_rate),
                "slowdown": dict(self.slowdown), "tail": {k: v.to_text() for k, v in self.tail.items()},
                "fault_seed": self.seed, "defects": sorted(self.defects), "crash_after": self.crash_after}

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


def _split(items: Iterable[str], what: str, form: str) -> Iterable[tuple[str, str, str]]:
    """(name, value, original) for every PROCEDURE=VALUE in comma lists; a bare VALUE means every procedure."""
    for item in items:
        for raw in item.split(","):
            text = raw.strip()
            if not text:
                continue
            name, sep, value = text.partition("=")
            if not sep:
                name, value = ALL_PROCEDURES, text
            if not value.strip():
                raise FaultConfigError(f"{what}: {text!r} is not {form}")
            yield name.strip() or ALL_PROCEDURES, value.strip(), text


def parse_slowdown(items: Iterable[str], what: str = "--slowdown") -> dict[str, float]:
    """`PROC=1.20` (each call 20 % longer): a factor of at least 1."""
    out: dict[str, float] = {}
    for name, value, text in _split(items, what, "PROCEDURE=FACTOR (e.g. event.search=1.20)"):
        try:
            factor = float(value)
        except ValueError:
            raise FaultConfigError(f"{what}: {text!r} is not PROCEDURE=FACTOR (e.g. event.search=1.20)") from None
        if not 1.0 <= factor <= MAX_SLOWDOWN:
            raise FaultConfigError(f"{what}: {text!r}: the factor must be between 1 and {MAX_SLOWDOWN:g} "
                                   "(1.20 = 20 % slower)")
        out[name] = factor
    return out


def parse_tail(items: Iterable[str], what: str = "--tail") -> dict[str, TailFault]:
    """`PROC=0.05:+50` (5 % of calls get +50 ms): a share in (0, 1] and milliseconds of at least 0."""
    form = "PROCEDURE=SHARE:+MS (e.g. event.search=0.05:+50)"
    out: dict[str, TailFault] = {}
    for name, value, text in _split(items, what, form):
        share_text, sep, ms_text = value.partition(":")
        try:
            share, added = float(share_text), float(ms_text.strip().lstrip("+"))
        except ValueError:
            raise FaultConfigError(f"{what}: {text!r} is not {form}") from None
        if not sep or not 0 < share <= 1 or not 0 <= added <= 600_000:
            raise FaultConfigError(f"{what}: {text!r}: the share must be in (0, 1] and the added time between 0 and "
                                   "600000 ms")
        out[name] = TailFault(share, added)
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
                 crash_after: int | None = None, env: Mapping[str, str] | None = None, *,
                 slowdown: Iterable[str] = (), tail: Iterable[str] = (), seed: int | None = None) -> Faults:
    """Merge SANDBOX_* env values with flags (flags win per procedure)."""
    env = os.environ if env is None else env
    slow = parse_slowdown([env.get("SANDBOX_SLOWDOWN", "")], "SANDBOX_SLOWDOWN")
    slow.update(parse_slowdown(slowdown))
    tails = parse_tail([env.get("SANDBOX_TAIL", "")], "SANDBOX_TAIL")
    tails.update(parse_tail(tail))
    if seed is None:
        try:
            seed = int(env.get("SANDBOX_FAULT_SEED", "").strip() or 0)
        except ValueError:
            raise FaultConfigError("SANDBOX_FAULT_SEED: expected a whole number") from None
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
    return Faults(latency_ms=lat, error_rate=err, defects=found, crash_after=crash_after, slowdown=slow, tail=tails,
                  seed=seed)
