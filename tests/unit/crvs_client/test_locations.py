"""Choosing the office, health facility and area: by UUID, by name, or the first active one."""

import pytest

from crvs_client import LocationNotFound
from crvs_client.locations import pick

pytestmark = pytest.mark.unit

ROWS = [
    {"id": "3f6f9a2c-0000-4000-8000-0000000000a6", "name": "Closed Office", "validUntil": "2024-01-01T00:00:00Z"},
    {"id": "3f6f9a2c-0000-4000-8000-0000000000a1", "name": "Ibombo District Office", "validUntil": None},
    {"id": "3f6f9a2c-0000-4000-8000-0000000000a2", "name": "Klow Village Office", "validUntil": None},
]


def test_discovery_takes_the_first_active_location():
    assert pick(ROWS, None, "office").name == "Ibombo District Office"


def test_a_name_or_uuid_picks_that_location():
    assert pick(ROWS, "Klow Village Office", "office").id.endswith("a2")
    assert pick(ROWS, "3f6f9a2c-0000-4000-8000-0000000000a6", "office").name == "Closed Office"


def test_an_unknown_name_says_what_exists():
    with pytest.raises(LocationNotFound) as caught:
        pick(ROWS, "Nowhere Office", "office")
    assert "no office with name 'Nowhere Office'" in caught.value.message and "Klow Village Office" in caught.value.message
    with pytest.raises(LocationNotFound, match="lists no office"):
        pick([], None, "office")
