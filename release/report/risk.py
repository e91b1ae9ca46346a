"""The change record's risk level, derived from facts by a rule the record prints next to it (pure, no I/O).

A fixed "Risk: Medium" says the same of a patch and of a major release with breaking changes, so the level is
computed: the highest level any rule line triggers, LOW when none does. Each line is a plain fact a board member
can check in the record (a breaking change, a gate that did not pass, a waiver, a slower procedure, the size of
the change, a migration), and the record shows every line with whether it fired. Like Kayenta's canary score the
inputs are the measured facts, not anyone's opinion; unlike a score there are no weights to argue about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum


class RiskLevel(IntEnum):
    """Ordered so that the highest triggered rule wins."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3


#: A release of at least this many changes is large (HIGH) or sizeable (MEDIUM).
LARGE_CHANGE = 200
SIZEABLE_CHANGE = 50


@dataclass(frozen=True)
class RiskFacts:
    """What the rule reads; every tuple holds short labels the record can print as they are."""

    bump: str = "patch"  #: "major", "minor", "patch" or "initial" (no production version yet)
    changes: int = 0
    breaking: tuple[str, ...] = ()  #: subjects of breaking changes
    not_passed: tuple[str, ...] = ()  #: "load: FAILED", gates FAILED, ERROR, INCONCLUSIVE or STALE
    waived: tuple[str, ...] = ()  #: "browser (until 2026-01-20)"
    over_budget: tuple[str, ...] = ()  #: procedures whose slowdown failed the load budget
    slower: tuple[str, ...] = ()  #: procedures measurably slower (interval above 1.0) but within budget
    migrations: tuple[str, ...] = ()  #: migration gates of this release with their state
    emergency: tuple[str, ...] = ()  #: "promoted on the emergency path by ..." (inside a freeze window)


@dataclass(frozen=True)
class RiskRule:
    """One line of the rule: the level it sets, what it says, and the facts that made it fire (empty: it did not)."""

    level: RiskLevel
    text: str
    evidence: Callable[[RiskFacts], tuple[str, ...]]


def _bump(kind: str) -> Callable[[RiskFacts], tuple[str, ...]]:
    return lambda f: (f"{f.bump} version",) if f.bump == kind else ()


def _size(at_least: int, below: int | None) -> Callable[[RiskFacts], tuple[str, ...]]:
    def fired(f: RiskFacts) -> tuple[str, ...]:
        big = f.changes >= at_least and (below is None or f.changes < below)
        return (f"{f.changes} changes",) if big else ()
    return fired


RULES: tuple[RiskRule, ...] = (
    RiskRule(RiskLevel.HIGH, "a gate did not pass (it failed, errored, was inconclusive or is stale)",
             lambda f: f.not_passed),
    RiskRule(RiskLevel.HIGH, "a breaking change", lambda f: f.breaking),
    RiskRule(RiskLevel.HIGH, "a procedure is slower than the load budget allows", lambda f: f.over_budget),
    RiskRule(RiskLevel.HIGH, f"{LARGE_CHANGE} or more changes", _size(LARGE_CHANGE, None)),
    RiskRule(RiskLevel.HIGH, "promoted on the emergency path (inside a freeze window)", lambda f: f.emergency),
    RiskRule(RiskLevel.MEDIUM, "a waived gate", lambda f: f.waived),
    RiskRule(RiskLevel.MEDIUM, "a major version", _bump("major")),
    RiskRule(RiskLevel.MEDIUM, "the release migrates data (a migration gate is configured)", lambda f: f.migrations),
    RiskRule(RiskLevel.MEDIUM, "a procedure is measurably slower, within budget (interval above 1.0)",
             lambda f: f.slower),
    RiskRule(RiskLevel.MEDIUM, f"{SIZEABLE_CHANGE} to {LARGE_CHANGE - 1} changes",
             _size(SIZEABLE_CHANGE, LARGE_CHANGE)),
)


@dataclass(frozen=True)
class RiskLine:
    """One rule line as the record shows it."""

    level: str
    text: str
    fired: bool
    because: tuple[str, ...]


def _short(fact: str, limit: int = 60) -> str:
    return fact if len(fact) <= limit else fact[:limit - 1].rstrip() + "\u2026"


@dataclass(frozen=True)
class Risk:
    """The level, the lines that fired it, and the whole rule."""

    level: str
    lines: tuple[RiskLine, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """Each fired line as '<text>: <first fact>' (and how many more), short enough for the summary's top."""
        out = []
        for line in self.lines:
            if line.fired:
                more = f" and {len(line.because) - 1} more" if len(line.because) > 1 else ""
                out.append(f"{line.text}: {_short(line.because[0])}{more}")
        return tuple(out)

    def to_json(self) -> dict[str, object]:
        """The record's `risk` block."""
        return {"level": self.level, "reasons": list(self.reasons),
                "rule": [{"level": x.level, "text": x.text, "fired": x.fired, "because": list(x.because)}
                         for x in self.lines],
                "default": RiskLevel.LOW.name}


def assess(facts: RiskFacts) -> Risk:
    """The highest level among the rule lines the facts fire; LOW when none fires."""
    lines = tuple(RiskLine(rule.level.name, rule.text, bool(hit := rule.evidence(facts)), tuple(hit))
                  for rule in RULES)
    level = max((RiskLevel[x.level] for x in lines if x.fired), default=RiskLevel.LOW)
    return Risk(level.name, lines)


def version_bump(version: str, previous: str | None) -> str:
    """'major', 'minor' or 'patch' from two semantic versions ('initial' without a previous one)."""
    if not previous:
        return "initial"

    def core(text: str) -> tuple[int, ...]:
        parts = text.lstrip("v").split("-", 1)[0].split("+", 1)[0].split(".")
        return tuple(int(p) if p.isdigit() else 0 for p in ([*parts, "0", "0", "0"])[:3])

    new, old = core(version), core(previous)
    if new[0] != old[0]:
        return "major"
    return "minor" if new[1] != old[1] else "patch"
