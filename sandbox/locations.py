"""A fixed, synthetic location set shaped like OpenCRVS v2.0.0's `Location` and `AdministrativeArea`.

Shapes: opencrvs-core packages/commons/src/events/locations.ts (`Location`: id, name, externalId,
administrativeAreaId, validUntil, locationType; `AdministrativeArea`: id, name, externalId, parentId, validUntil).
Filters: packages/events/src/router/locations/index.ts (`locations.list {locationType?, isActive?, locationIds?,
externalId?}`) and packages/events/src/router/administrative-areas/index.ts (`administrativeAreas.list {isActive?,
ids?}`). Names follow farajaland's src/data-seeding/locations/source/*.csv (its e2e picks "Klow Village Hospital"
and the area "Klow"); the UUIDs are the sandbox's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

CRVS_OFFICE, HEALTH_FACILITY = "CRVS_OFFICE", "HEALTH_FACILITY"

_EXPIRED = "2024-01-01T00:00:00.000Z"  # a closed office, so isActive filtering has something to filter


def _uuid(block: str, n: int) -> str:
    return f"3f6f9a2c-0000-4000-8000-{block}{n:04x}"


# -------------------------------------------------------------------------------- administrative areas
FARAJALAND_CENTRAL = _uuid("00000000", 0xB01)
IBOMBO = _uuid("00000000", 0xB02)
ISAMBA = _uuid("00000000", 0xB03)
KLOW = _uuid("00000000", 0xB04)
MBONDO = _uuid("00000000", 0xB05)
ILANGA = _uuid("00000000", 0xB06)
SULAKA = _uuid("00000000", 0xB07)

_AREAS: tuple[dict[str, Any], ...] = (
    {"id": FARAJALAND_CENTRAL, "name": "Central", "externalId": "WoNZq5uKPT0", "parentId": None, "validUntil": None},
    {"id": SULAKA, "name": "Sulaka", "externalId": "EdAHjSJkuLb", "parentId": None, "validUntil": None},
    {"id": IBOMBO, "name": "Ibombo", "externalId": "RNblUNSnSpQ", "parentId": FARAJALAND_CENTRAL, "validUntil": None},
    {"id": ISAMBA, "name": "Isamba", "externalId": "Qxj1vERd9JJ", "parentId": FARAJALAND_CENTRAL, "validUntil": None},
    {"id": ILANGA, "name": "Ilanga", "externalId": "g9bEobgzisg", "parentId": SULAKA, "validUntil": None},
    {"id": KLOW, "name": "Klow", "externalId": "IkYcYBUcyY2", "parentId": IBOMBO, "validUntil": None},
    {"id": MBONDO, "name": "Mbondo", "externalId": "Qhvv5hvo3mY", "parentId": IBOMBO, "validUntil": None},
)

# -------------------------------------------------------------------------------- offices and facilities
OFFICE_ID = "3f6f9a2c-0000-4000-8000-0000000000a1"  # "Ibombo District Office": the dev users' office
IBOMBO_DISTRICT_OFFICE = OFFICE_ID
KLOW_VILLAGE_OFFICE = "3f6f9a2c-0000-4000-8000-0000000000a2"
ISAMBA_DISTRICT_OFFICE = "3f6f9a2c-0000-4000-8000-0000000000a3"
ILANGA_DISTRICT_OFFICE = "3f6f9a2c-0000-4000-8000-0000000000a4"
HQ_OFFICE = "3f6f9a2c-0000-4000-8000-0000000000a5"
CLOSED_OFFICE = "3f6f9a2c-0000-4000-8000-0000000000a6"
OFFICE_IDS: tuple[str, ...] = (IBOMBO_DISTRICT_OFFICE, KLOW_VILLAGE_OFFICE, ISAMBA_DISTRICT_OFFICE,
                               ILANGA_DISTRICT_OFFICE, HQ_OFFICE)

KLOW_VILLAGE_HOSPITAL = "3f6f9a2c-0000-4000-8000-0000000000c1"
IBOMBO_DISTRICT_HOSPITAL = "3f6f9a2c-0000-4000-8000-0000000000c2"
ISAMBA_DISTRICT_HOSPITAL = "3f6f9a2c-0000-4000-8000-0000000000c3"
ILANGA_DISTRICT_HOSPITAL = "3f6f9a2c-0000-4000-8000-0000000000c4"
HEALTH_FACILITY_IDS: tuple[str, ...] = (KLOW_VILLAGE_HOSPITAL, IBOMBO_DISTRICT_HOSPITAL, ISAMBA_DISTRICT_HOSPITAL,
                                        ILANGA_DISTRICT_HOSPITAL)


def _location(id_: str, name: str, external_id: str, area: str | None, kind: str,
              valid_until: str | None = None) -> dict[str, Any]:
    return {"id": id_, "name": name, "externalId": external_id, "administrativeAreaId": area,
            "validUntil": valid_until, "locationType": kind}


_LOCATIONS: tuple[dict[str, Any], ...] = (
    _location(IBOMBO_DISTRICT_OFFICE, "Ibombo District Office", "xmJJAsGfSTn", IBOMBO, CRVS_OFFICE),
    _location(KLOW_VILLAGE_OFFICE, "Klow Village Office", "PmAyxAJkxiJ", KLOW, CRVS_OFFICE),
    _location(ISAMBA_DISTRICT_OFFICE, "Isamba District Office", "DC5stjQ45n3", ISAMBA, CRVS_OFFICE),
    _location(ILANGA_DISTRICT_OFFICE, "Ilanga District Office", "Ap0mxDoJJ9s", ILANGA, CRVS_OFFICE),
    _location(HQ_OFFICE, "HQ Office", "LHUYvwY2Aq1", None, CRVS_OFFICE),
    _location(CLOSED_OFFICE, "Mbondo Village Office (closed)", "sandbox-closed-office", MBONDO, CRVS_OFFICE,
              _EXPIRED),
    _location(KLOW_VILLAGE_HOSPITAL, "Klow Village Hospital", "QmAyxAJkxiJ", KLOW, HEALTH_FACILITY),
    _location(IBOMBO_DISTRICT_HOSPITAL, "Ibombo District Hospital", "t0qT1Vh8qi3", IBOMBO, HEALTH_FACILITY),
    _location(ISAMBA_DISTRICT_HOSPITAL, "Isamba District Hospital", "R2i8nqg83Y0", ISAMBA, HEALTH_FACILITY),
    _location(ILANGA_DISTRICT_HOSPITAL, "Ilanga District Hospital", "8OrJQUdLE4r", ILANGA, HEALTH_FACILITY),
)

_BY_ID = {loc["id"]: loc for loc in _LOCATIONS}
_AREA_BY_ID = {area["id"]: area for area in _AREAS}
_PARENT_IDS = frozenset(area["parentId"] for area in _AREAS if area["parentId"])


def _active(valid_until: str | None, now: dt.datetime | None = None) -> bool:
    if valid_until is None:
        return True
    moment = now or dt.datetime.now(dt.UTC)
    return dt.datetime.fromisoformat(valid_until.replace("Z", "+00:00")) > moment


def list_locations(location_type: str | None = None, is_active: bool | None = None,
                   location_ids: Iterable[str] | None = None, external_id: str | None = None) -> list[dict[str, Any]]:
    """`locations.list`: every location matching all the given filters (copies, safe to change)."""
    wanted = set(location_ids) if location_ids is not None else None
    out = []
    for loc in _LOCATIONS:
        if location_type is not None and loc["locationType"] != location_type:
            continue
        if is_active is not None and _active(loc["validUntil"]) is not is_active:
            continue
        if wanted is not None and loc["id"] not in wanted:
            continue
        if external_id is not None and loc["externalId"] != external_id:
            continue
        out.append(dict(loc))
    return out


def administrative_areas(is_active: bool | None = None, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """`administrativeAreas.list`: the administrative areas matching the filters (copies)."""
    wanted = set(ids) if ids is not None else None
    return [dict(area) for area in _AREAS
            if (is_active is None or _active(area["validUntil"]) is is_active)
            and (wanted is None or area["id"] in wanted)]


def location_exists(location_id: object) -> bool:
    """Whether an id names a location (office or facility) or an administrative area."""
    return isinstance(location_id, str) and (location_id in _BY_ID or location_id in _AREA_BY_ID)


def is_office(location_id: object) -> bool:
    """Whether an id names a CRVS office."""
    return isinstance(location_id, str) and _BY_ID.get(location_id, {}).get("locationType") == CRVS_OFFICE


def is_health_facility(location_id: object) -> bool:
    """Whether an id names a health facility."""
    return isinstance(location_id, str) and _BY_ID.get(location_id, {}).get("locationType") == HEALTH_FACILITY


def is_admin_area(location_id: object) -> bool:
    """Whether an id names an administrative area."""
    return isinstance(location_id, str) and location_id in _AREA_BY_ID


def is_leaf_admin_area(location_id: object) -> bool:
    """Whether an id names an administrative area with no child areas (a domestic address must name one)."""
    return is_admin_area(location_id) and location_id not in _PARENT_IDS


def location_name(location_id: str) -> str | None:
    """A location's or area's display name."""
    found = _BY_ID.get(location_id) or _AREA_BY_ID.get(location_id)
    return None if found is None else str(found["name"])
