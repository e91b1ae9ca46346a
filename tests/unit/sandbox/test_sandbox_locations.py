"""The sandbox's synthetic locations: OpenCRVS's Location shape and the locations.list filters."""

from __future__ import annotations

import pytest

from sandbox import locations

pytestmark = pytest.mark.unit
LOCATION_KEYS = {"id", "name", "externalId", "administrativeAreaId", "validUntil", "locationType"}


def test_every_location_has_the_opencrvs_shape():
    found = locations.list_locations()
    assert found and all(set(loc) == LOCATION_KEYS for loc in found)
    assert all(set(area) == {"id", "name", "externalId", "parentId", "validUntil"}
               for area in locations.administrative_areas())


def test_the_dev_office_and_farajalands_e2e_names_exist():
    by_name = {loc["name"]: loc for loc in locations.list_locations()}
    assert by_name["Ibombo District Office"]["id"] == "3f6f9a2c-0000-4000-8000-0000000000a1"
    assert by_name["Klow Village Hospital"]["locationType"] == "HEALTH_FACILITY"
    assert "Klow" in {area["name"] for area in locations.administrative_areas()}


@pytest.mark.parametrize("filters,expected", [
    ({"location_type": "HEALTH_FACILITY"}, set(locations.HEALTH_FACILITY_IDS)),
    ({"location_type": "CRVS_OFFICE", "is_active": True}, set(locations.OFFICE_IDS)),
    ({"is_active": False}, {locations.CLOSED_OFFICE}),
    ({"location_ids": [locations.KLOW_VILLAGE_HOSPITAL, "nope"]}, {locations.KLOW_VILLAGE_HOSPITAL}),
    ({"external_id": "QmAyxAJkxiJ"}, {locations.KLOW_VILLAGE_HOSPITAL}),
    ({"location_type": "NOT_A_TYPE"}, set()),
])
def test_list_filters(filters, expected):
    assert {loc["id"] for loc in locations.list_locations(**filters)} == expected


def test_kind_checks():
    assert locations.is_health_facility(locations.KLOW_VILLAGE_HOSPITAL)
    assert not locations.is_health_facility(locations.OFFICE_ID)
    assert locations.is_admin_area(locations.KLOW) and locations.is_leaf_admin_area(locations.KLOW)
    assert locations.is_admin_area(locations.IBOMBO) and not locations.is_leaf_admin_area(locations.IBOMBO)
    assert locations.location_exists(locations.OFFICE_ID) and not locations.location_exists("nope")
    assert not locations.location_exists(None)


def test_lists_are_copies():
    locations.list_locations()[0]["name"] = "changed"
    assert locations.list_locations()[0]["name"] != "changed"
