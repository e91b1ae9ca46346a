"""[[freeze]] windows: parsing (dates, times, zones), which window is in force, and the errors bad ones give."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from release.config import Config, parse_config
from release.errors import ConfigError
from release.workflow.freeze import active_window, next_window, notice, refuse_inside

pytestmark = pytest.mark.unit

BASE = '''[gates.qa]
kind = "signoff"
role = "qa"

[roles]
qa = ["qa@example.org"]
ecab = ["a@example.org", "b@example.org"]
'''


def config(extra: str) -> Config:
    return parse_config(tomllib.loads(BASE + extra), Path("release.toml"))


ELECTIONS = '''[[freeze]]
name = "elections-2027"
reason = "general elections"
start = 2027-08-01
end = 2027-08-15
timezone = "Africa/Lusaka"
'''


@pytest.mark.parametrize(("moment", "inside"), [
    ("2027-07-31T21:59:59+00:00", False),  # 23:59:59 in Lusaka (UTC+2), the day before
    ("2027-07-31T22:00:00+00:00", True),   # 00:00 on 1 August in Lusaka
    ("2027-08-15T21:59:59+00:00", True),   # an end date counts through the end of that day
    ("2027-08-15T22:00:00+00:00", False),
])
def test_a_date_window_runs_from_midnight_to_the_end_of_its_last_day_in_its_zone(moment: str, inside: bool) -> None:
    windows = config(ELECTIONS).freeze
    found = active_window(windows, datetime.fromisoformat(moment))
    assert (found is not None) is inside
    if inside:
        assert found is not None and found.label == "elections-2027 (general elections)"


def test_times_are_exact_and_an_offset_wins_over_the_zone() -> None:
    windows = config('[[freeze]]\nreason = "census"\nstart = 2030-03-01T06:00:00\nend = "2030-03-01T18:00:00+00:00"\n'
                     'timezone = "Asia/Dhaka"\n').freeze
    assert windows[0].start == datetime(2030, 3, 1, 0, 0, tzinfo=UTC)  # 06:00 in Dhaka (UTC+6)
    assert windows[0].end == datetime(2030, 3, 1, 18, 0, tzinfo=UTC)


def test_status_names_the_window_in_force_and_the_next_one() -> None:
    windows = config(ELECTIONS + '[[freeze]]\nreason = "national census"\nstart = 2028-01-10\nend = 2028-01-20\n').freeze
    now = datetime(2027, 8, 2, tzinfo=UTC)
    seen = notice(windows, now)
    assert seen.active is not None and seen.active.name == "elections-2027"
    assert seen.upcoming is not None and seen.upcoming.reason == "national census"
    assert next_window(windows, datetime(2029, 1, 1, tzinfo=UTC)) is None
    assert notice(windows, datetime(2029, 1, 1, tzinfo=UTC)).to_json() is None


def test_promote_is_refused_inside_naming_the_window() -> None:
    from release.errors import Blocked

    windows = config(ELECTIONS).freeze
    with pytest.raises(Blocked, match=r"elections-2027 \(general elections\).*Africa/Lusaka.*nothing was changed"):
        refuse_inside(windows, datetime(2027, 8, 5, tzinfo=UTC), "1.2.0")
    refuse_inside(windows, datetime(2027, 9, 1, tzinfo=UTC), "1.2.0")  # outside: no error


@pytest.mark.parametrize(("extra", "key", "says"), [
    ('[[freeze]]\nreason = "x"\nstart = 2027-08-15\nend = 2027-08-01\n', "freeze[0].end", "end after the start"),
    ('[[freeze]]\nreason = "x"\nstart = 2027-08-01T12:00:00\nend = 2027-08-01T12:00:00\n', "freeze[0].end",
     "end after the start"),
    ('[[freeze]]\nreason = "x"\nstart = 2027-08-01\nend = 2027-08-15\ntimezone = "Mars/Olympus"\n',
     "freeze[0].timezone", "IANA time zone"),
    ('[[freeze]]\nreason = "x"\nstart = "soon"\nend = 2027-08-15\n', "freeze[0].start", "expected a date"),
    ('[[freeze]]\nstart = 2027-08-01\nend = 2027-08-15\n', "freeze[0].reason", "required"),
    ('[[freeze]]\nreason = "x"\nstart = 2027-08-01\n', "freeze[0].end", "required"),
    ('[[freeze]]\nreason = "x"\nstart = 2027-08-01\nend = 2027-08-15\n[[freeze]]\nreason = "x"\n'
     'start = 2028-08-01\nend = 2028-08-15\n', "freeze[1].name", "used twice"),
    ('[emergency]\nrole = "cab"\n', "emergency.role", "role defined in [roles]"),
    ('[emergency]\nrole = "ecab"\nquorum = 3\n', "emergency.quorum", "at most 2"),
    ('[watch]\nbaseline = "evidence"\n', "watch.gate", "locust gate"),
    ('[watch]\ngate = "qa"\n', "watch.gate", 'kind = "locust"'),
    ('[watch]\nduration = "soon"\n', "watch.duration", "positive duration"),
])
def test_bad_windows_and_tables_are_config_errors_naming_the_key(extra: str, key: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(extra)
    assert caught.value.key == key and says in caught.value.expected, str(caught.value)
