"""The operations gates' decisions as pure functions: snapshots in, a verdict naming fields and counts out."""

from __future__ import annotations

from pathlib import Path

import pytest

from release.config import parse_config
from release.errors import ConfigError
from release.gates import GateState
from release.gates.ops import age_text, compare, drill_verdict, rehearsal_verdict

pytestmark = pytest.mark.unit

FIELDS = ("eventDetails.date", "child.dob")
LABELS = {"eventDetails.date": "date of death"}


def records(*rows: tuple[str, str | None, str | None]) -> list[tuple[str, tuple[str | None, ...]]]:
    return [(rid, (dod, dob)) for rid, dod, dob in rows]


BEFORE = records(("a", "d1", None), ("b", "d2", None), ("c", None, "b1"), ("d", "d3", None))
COUNTS = {"death/REGISTERED": 3, "birth/DECLARED": 1}


def test_identical_snapshots_pass_with_their_counts():
    cmp = compare(COUNTS, COUNTS, BEFORE, BEFORE, ["R1", "R2"], ["R1", "R2"], FIELDS, LABELS)
    assert cmp.problems() == []
    assert rehearsal_verdict(cmp) == (GateState.PASSED, "4 records, 2 registration numbers and 2 fields unchanged "
                                                        "by the migration")


def test_a_field_dropped_from_every_death_is_named_with_its_label_and_count():
    after = records(("a", None, None), ("b", None, None), ("c", None, "b1"), ("d", None, None))
    cmp = compare(COUNTS, COUNTS, BEFORE, after, [], [], FIELDS, LABELS)
    state, reason = rehearsal_verdict(cmp)
    assert state is GateState.FAILED
    assert reason == "migration loses data: eventDetails.date (date of death): 3 of 3 records lost it"
    assert cmp.fields[0].examples == ["a", "b", "d"]


@pytest.mark.parametrize(("after", "expected"), [
    (records(("a", "d1", None), ("b", "XX", None), ("c", None, "b1"), ("d", "d3", None)),
     "eventDetails.date (date of death): 1 records changed it"),
    (records(("a", "d1", None), ("b", "d2", None), ("c", "d9", "b1"), ("d", "d3", None)),
     "eventDetails.date (date of death): 1 records gained it"),
    (records(("a", "d1", None), ("c", None, "b1"), ("d", "d3", None)), "1 of 4 records missing"),
    (records(("a", "d1", None), ("b", "d2", None), ("c", None, "b1"), ("d", "d3", None), ("e", None, None)),
     "1 records appeared"),
])
def test_each_kind_of_difference_has_its_own_line(after, expected):
    cmp = compare(COUNTS, COUNTS, BEFORE, after, [], [], FIELDS, LABELS)
    assert expected in cmp.problems()


def test_registration_numbers_compare_as_sets_and_counts_by_type_and_status():
    cmp = compare(COUNTS, {"death/REGISTERED": 2, "birth/DECLARED": 1, "death/ARCHIVED": 1}, BEFORE, BEFORE,
                  ["R1", "R2", "R3"], ["R1", "R3", "R4"], FIELDS)
    problems = cmp.problems()
    assert "1 of 3 registration numbers lost" in problems and "1 registration numbers appeared" in problems
    assert "record counts changed: death/ARCHIVED 0 -> 1, death/REGISTERED 3 -> 2" in problems


def test_nothing_to_compare_is_inconclusive_never_passed():
    empty = compare({}, {}, [], [], [], [], FIELDS)
    assert rehearsal_verdict(empty)[0] is GateState.INCONCLUSIVE
    assert drill_verdict(empty, 0.1, 60)[0] is GateState.INCONCLUSIVE


@pytest.mark.parametrize(("seconds", "rto", "state"), [(0.5, 60, GateState.PASSED), (61, 60, GateState.FAILED)])
def test_the_restore_time_is_held_against_the_rto(seconds, rto, state):
    cmp = compare(COUNTS, COUNTS, BEFORE, BEFORE, [], [], FIELDS)
    assert drill_verdict(cmp, seconds, rto)[0] is state


def test_a_drill_copy_that_differs_fails_even_when_fast():
    after = records(("a", "d1", None))
    state, reason = drill_verdict(compare(COUNTS, COUNTS, BEFORE, after, [], [], FIELDS), 0.1, 60)
    assert state is GateState.FAILED and "3 of 4 records missing" in reason


@pytest.mark.parametrize(("seconds", "text"), [(120, "2 min"), (5400, "1.5 h"), (3 * 86400, "3.0 days")])
def test_age_text(seconds, text):
    assert age_text(seconds) == text


# ------------------------------------------------------------------------------------------------ config

TARGETS = {"staging": {"gateway": "http://127.0.0.1:1"}, "production": {"gateway": "http://127.0.0.1:2"}}


def _gate(table):
    return parse_config({"targets": TARGETS, "gates": {"g": table}}, Path("release.toml")).gates["g"]


def test_gate_tables_become_options_the_runner_reads():
    migration = _gate({"kind": "migration", "source": "b.db", "migrate": "m {db}", "fields": ["eventDetails.date"],
                       "labels": {"eventDetails.date": "date of death"}})
    assert migration.automated and migration.target == "staging"
    assert dict(migration.options) == {"source": "b.db", "migrate": "m {db}", "fields": ("eventDetails.date",),
                                       "labels": {"eventDetails.date": "date of death"}}
    drill = _gate({"kind": "restore-drill", "database": "p.db", "rto": "15m", "max_age": "30d"})
    assert drill.target == "production" and drill.options["rto"] == 900 and drill.options["max_age"] == 30 * 86400


@pytest.mark.parametrize(("table", "key", "expected"), [
    ({"kind": "migration", "source": "b.db", "migrate": "m"}, "gates.g.fields", "required"),
    ({"kind": "migration", "source": "b.db", "migrate": "m", "fields": []}, "gates.g.fields", "at least one"),
    ({"kind": "migration", "source": "b.db", "migrate": "m", "fields": ["a", "a"]}, "gates.g.fields[1]", "once"),
    ({"kind": "migration", "source": "b.db", "migrate": "m", "fields": ["a"], "labels": {"b": "x"}},
     "gates.g.labels.b", "a field listed in fields"),
    ({"kind": "restore-drill", "rto": "1m"}, "gates.g.database", "exactly one of database"),
    ({"kind": "restore-drill", "database": "x", "database_env": "Y", "rto": "1m"}, "gates.g.database",
     "exactly one of database"),
    ({"kind": "restore-drill", "database": "x"}, "gates.g.rto", "recovery-time objective"),
    ({"kind": "restore-drill", "database": "x", "rto": "1m", "max_age": "1 fortnight"}, "gates.g.max_age",
     '"30d"'),
])
def test_bad_gate_tables_name_the_key(table, key, expected):
    with pytest.raises(ConfigError) as err:
        _gate(table)
    assert f"release.toml: {key}: " in str(err.value) and expected in str(err.value)
