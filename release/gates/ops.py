"""Operations gates as pure decisions: compare a database before and after (a migration, a backup and restore).

The migration rehearsal and the restore drill (release/workflow/drills.py) reduce each database to a snapshot:
record counts per event type and status, the registration numbers as a set, and per configured field one digest
per record. These functions compare two snapshots, streamed in record-id order, and decide. They see digests,
counts and ids only, never a value: a report can name a field and a count, not a person.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

from release.gates.model import GateState

#: One record of a snapshot: its id and, per configured field, a digest of its value (None: absent or null).
RecordDigests = tuple[str, tuple[str | None, ...]]
#: How many record ids a field's problem keeps as examples.
EXAMPLE_IDS = 5


@dataclass
class FieldChange:
    """What happened to one field across the records both snapshots hold."""

    field: str
    label: str | None = None
    present_before: int = 0
    present_after: int = 0
    lost: int = 0
    changed: int = 0
    added: int = 0
    examples: list[str] = _field(default_factory=list)

    @property
    def name(self) -> str:
        """The field id, with its label when config gives one: 'eventDetails.date (date of death)'."""
        return f"{self.field} ({self.label})" if self.label else self.field

    @property
    def ok(self) -> bool:
        """True when no record lost, changed or gained this field."""
        return not (self.lost or self.changed or self.added)

    def problem(self) -> str:
        """One line naming the field and how many records lost or changed it."""
        parts = []
        if self.lost:
            parts.append(f"{self.lost} of {self.present_before} records lost it")
        if self.changed:
            parts.append(f"{self.changed} records changed it")
        if self.added:
            parts.append(f"{self.added} records gained it")
        return f"{self.name}: {', '.join(parts)}"

    def to_json(self) -> dict[str, Any]:
        """Counts and example record ids."""
        return {"field": self.field, "label": self.label, "present_before": self.present_before,
                "present_after": self.present_after, "lost": self.lost, "changed": self.changed,
                "added": self.added, "example_record_ids": list(self.examples)}


@dataclass
class Comparison:
    """Two snapshots compared: counts, registration numbers, records and fields."""

    counts_before: dict[str, int]
    counts_after: dict[str, int]
    records_before: int = 0
    records_after: int = 0
    records_missing: int = 0
    records_new: int = 0
    numbers_before: int = 0
    numbers_after: int = 0
    numbers_lost: int = 0
    numbers_new: int = 0
    fields: list[FieldChange] = _field(default_factory=list)
    missing_examples: list[str] = _field(default_factory=list)

    def count_changes(self) -> list[str]:
        """'death/REGISTERED 420 -> 0' for each type and status whose record count differs."""
        keys = sorted(set(self.counts_before) | set(self.counts_after))
        return [f"{k} {self.counts_before.get(k, 0)} -> {self.counts_after.get(k, 0)}" for k in keys
                if self.counts_before.get(k, 0) != self.counts_after.get(k, 0)]

    def problems(self) -> list[str]:
        """Every difference, each one line with its count; empty when the data survived intact."""
        out = [f.problem() for f in self.fields if not f.ok]
        if self.records_missing:
            out.append(f"{self.records_missing} of {self.records_before} records missing")
        if self.records_new:
            out.append(f"{self.records_new} records appeared")
        if self.numbers_lost:
            out.append(f"{self.numbers_lost} of {self.numbers_before} registration numbers lost")
        if self.numbers_new:
            out.append(f"{self.numbers_new} registration numbers appeared")
        changes = self.count_changes()
        if changes:
            out.append("record counts changed: " + ", ".join(changes[:4]) + (" ..." if len(changes) > 4 else ""))
        return out

    def to_json(self) -> dict[str, Any]:
        """The comparison as recorded evidence (counts and ids only)."""
        return {"records_before": self.records_before, "records_after": self.records_after,
                "records_missing": self.records_missing, "records_new": self.records_new,
                "missing_record_ids": list(self.missing_examples),
                "counts_before": dict(sorted(self.counts_before.items())),
                "counts_after": dict(sorted(self.counts_after.items())),
                "registration_numbers": {"before": self.numbers_before, "after": self.numbers_after,
                                         "lost": self.numbers_lost, "new": self.numbers_new},
                "fields": [f.to_json() for f in self.fields], "problems": self.problems()}


def _merge(before: Iterator[Any], after: Iterator[Any], key: Any) -> Iterator[tuple[Any | None, Any | None]]:
    """Walk two iterators sorted by key together: (a, b) pairs, None on the side that lacks the key."""
    a, b = next(before, None), next(after, None)
    while a is not None or b is not None:
        if b is None or (a is not None and key(a) < key(b)):
            yield a, None
            a = next(before, None)
        elif a is None or key(b) < key(a):
            yield None, b
            b = next(after, None)
        else:
            yield a, b
            a, b = next(before, None), next(after, None)


def compare_records(before: Iterable[RecordDigests], after: Iterable[RecordDigests], fields: Sequence[str],
                    labels: Mapping[str, str] | None = None) -> tuple[list[FieldChange], dict[str, int], list[str]]:
    """Per field: how many records (held by both sides) lost, changed or gained it; both sides sorted by id.

    Returns the field changes, the record tally (before, after, missing, new) and a few missing records' ids.
    """
    changes = [FieldChange(f, (labels or {}).get(f)) for f in fields]
    tally = {"records_before": 0, "records_after": 0, "records_missing": 0, "records_new": 0}
    missing: list[str] = []
    for a, b in _merge(iter(before), iter(after), key=lambda r: r[0]):
        if a is not None:
            tally["records_before"] += 1
        if b is not None:
            tally["records_after"] += 1
        if a is None:
            tally["records_new"] += 1
            continue
        if b is None:
            tally["records_missing"] += 1
            if len(missing) < EXAMPLE_IDS:
                missing.append(a[0])
            continue
        for i, change in enumerate(changes):
            old, new = a[1][i], b[1][i]
            change.present_before += old is not None
            change.present_after += new is not None
            if old == new:
                continue
            if new is None:
                change.lost += 1
            elif old is None:
                change.added += 1
            else:
                change.changed += 1
            if len(change.examples) < EXAMPLE_IDS:
                change.examples.append(a[0])
    return changes, tally, missing


def compare_numbers(before: Iterable[str], after: Iterable[str]) -> dict[str, int]:
    """The registration numbers as sets (both sorted, without repeats): how many each side has and lacks."""
    out = {"numbers_before": 0, "numbers_after": 0, "numbers_lost": 0, "numbers_new": 0}
    for a, b in _merge(iter(before), iter(after), key=lambda n: n):
        out["numbers_before"] += a is not None
        out["numbers_after"] += b is not None
        out["numbers_lost"] += b is None
        out["numbers_new"] += a is None
    return out


def compare(counts_before: Mapping[str, int], counts_after: Mapping[str, int],
            records_before: Iterable[RecordDigests], records_after: Iterable[RecordDigests],
            numbers_before: Iterable[str], numbers_after: Iterable[str], fields: Sequence[str],
            labels: Mapping[str, str] | None = None) -> Comparison:
    """Compare two snapshots whole: counts per type and status, records and fields, registration numbers."""
    changes, tally, missing = compare_records(records_before, records_after, fields, labels)
    numbers = compare_numbers(numbers_before, numbers_after)
    return Comparison(dict(counts_before), dict(counts_after), fields=changes, missing_examples=missing,
                      **tally, **numbers)


def rehearsal_verdict(comparison: Comparison) -> tuple[GateState, str]:
    """PASSED when the migration kept every record, number and field; FAILED naming each field and count."""
    problems = comparison.problems()
    if comparison.records_before == 0:
        return GateState.INCONCLUSIVE, "the data set holds no records: a rehearsal on nothing proves nothing"
    if problems:
        return GateState.FAILED, "migration loses data: " + "; ".join(problems)
    return GateState.PASSED, (f"{comparison.records_before} records, {comparison.numbers_before} registration "
                              f"numbers and {len(comparison.fields)} fields unchanged by the migration")


def drill_verdict(comparison: Comparison, restore_s: float, rto_s: float) -> tuple[GateState, str]:
    """PASSED when the restored copy matches its source and came back within the RTO; FAILED otherwise."""
    problems = comparison.problems()
    timing = f"restored in {restore_s:.3g} s (RTO {rto_s:g} s)"
    if comparison.records_before == 0:
        return GateState.INCONCLUSIVE, f"the database holds no records: nothing to verify; {timing}"
    if problems:
        return GateState.FAILED, "the restored copy differs from its source: " + "; ".join(problems) + f"; {timing}"
    if restore_s > rto_s:
        return GateState.FAILED, f"restore took {restore_s:.3g} s, slower than the RTO of {rto_s:g} s"
    return GateState.PASSED, f"{comparison.records_before} records verified; {timing}"


def age_text(seconds: float) -> str:
    """A drill's age for people: '3 h', '2.5 days'."""
    if seconds < 3600:
        return f"{max(0, round(seconds / 60))} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
