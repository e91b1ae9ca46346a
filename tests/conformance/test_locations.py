"""Locations and administrative areas, asked the way farajaland's e2e asks (e2e/testcases/birth/helpers.ts
getLocations / getAdministrativeAreas, e2e/testcases/events-rest-api/events-locations.spec.ts)."""

from __future__ import annotations

import pytest

from tests.conformance.records import Hosts
from tests.conformance.schemas import ADMINISTRATIVE_AREA, LOCATION, assert_conforms
from tests.conformance.wire import query, rest

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("conformance")]


@pytest.mark.parametrize(("location_type", "expected_name"), [("HEALTH_FACILITY", "Klow Village Hospital"),
                                                               ("CRVS_OFFICE", "Ibombo District Office")])
def test_locations_list_answers_locations_of_the_type(hosts: Hosts, registrar: str, location_type: str,
                                                     expected_name: str) -> None:
    """core packages/events/src/router/locations/index.ts `locations.list {locationType}` answers
    `Location[]` = `{id, name, externalId, administrativeAreaId, validUntil, locationType}`
    (packages/commons/src/events/locations.ts)."""
    answer = query(hosts.events, "locations.list", {"locationType": location_type}, registrar)
    locations = answer.data
    assert isinstance(locations, list) and locations
    for location in locations:
        assert_conforms(location, LOCATION, f"locations.list item {location.get('name')!r}")
        assert location["locationType"] == location_type
    assert expected_name in {loc["name"] for loc in locations}


def test_locations_list_filters_by_ids(hosts: Hosts, registrar: str) -> None:
    """`locations.list {locationIds}` answers only those locations."""
    every = query(hosts.events, "locations.list", {"locationType": "HEALTH_FACILITY"}, registrar).data
    wanted = [every[0]["id"]]
    answer = query(hosts.events, "locations.list", {"locationIds": wanted}, registrar).data
    assert [loc["id"] for loc in answer] == wanted


def test_locations_over_rest_on_the_register_host(hosts: Hosts, system_token: str) -> None:
    """events-locations.spec.ts: `GET {register}/api/events/locations` with a client token is 200 and a non-empty
    array (the route is locations.list's OpenAPI path `/locations` under the events service)."""
    answer = rest("GET", f"{hosts.rest}/locations", system_token)
    assert answer.status_code == 200, answer.text[:300]
    body = answer.json()
    assert isinstance(body, list) and body
    for location in body:
        assert_conforms(location, LOCATION, "GET /api/events/locations item")


def test_administrative_areas_list(hosts: Hosts, registrar: str) -> None:
    """core packages/events/src/router/administrative-areas/index.ts `administrativeAreas.list` answers
    `AdministrativeArea[]` = `{id, name, externalId, parentId, validUntil}`; farajaland's e2e picks 'Klow' and
    'Central' (events-notify.spec.ts)."""
    areas = query(hosts.events, "administrativeAreas.list", {}, registrar).data
    assert isinstance(areas, list) and areas
    for area in areas:
        assert_conforms(area, ADMINISTRATIVE_AREA, f"administrativeAreas.list item {area.get('name')!r}")
    names = {a["name"] for a in areas}
    assert {"Klow", "Central"} <= names
    by_id = {a["id"]: a for a in areas}
    klow = next(a for a in areas if a["name"] == "Klow")
    assert klow["parentId"] in by_id, "Klow's parent is not an administrative area"
