"""The office, health facility and administrative area a run uses: named in the profile or discovered.

Discovery follows farajaland's own e2e (e2e/testcases/birth/helpers.ts): `locations.list {locationType}` for
CRVS_OFFICE and HEALTH_FACILITY, `administrativeAreas.list` for areas, matched by name. A profile value is a
UUID (used as is after a check that it exists), a name (looked up), or null (the first active one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crvs_client.client import CRVSClient
from crvs_client.deployment import LocationSpec, is_uuid
from crvs_client.errors import CRVSError, LocationNotFound

OFFICE, HEALTH_FACILITY = "CRVS_OFFICE", "HEALTH_FACILITY"


@dataclass(frozen=True)
class Place:
    """One location: its id and name."""

    id: str
    name: str


@dataclass(frozen=True)
class Locations:
    """What declarations and system clients need: an office, a health facility, an administrative area."""

    office: Place
    health_facility: Place
    administrative_area: Place

    def to_json(self) -> dict[str, dict[str, str]]:
        """Plain data (handed to pytest workers and written to summaries)."""
        return {k: {"id": p.id, "name": p.name} for k, p in
                (("office", self.office), ("health_facility", self.health_facility),
                 ("administrative_area", self.administrative_area))}

    @classmethod
    def from_json(cls, data: dict[str, dict[str, str]]) -> Locations:
        """The inverse of to_json."""
        return cls(**{k: Place(str(v["id"]), str(v["name"])) for k, v in data.items()})


def _active(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if not i.get("validUntil")]


def pick(items: Sequence[dict[str, Any]], wanted: str | None, what: str) -> Place:
    """Choose from `items` by UUID, by exact name, or the first active one (pure)."""
    if wanted is not None:
        key = "id" if is_uuid(wanted) else "name"
        for item in items:
            if item.get(key) == wanted:
                return Place(str(item["id"]), str(item.get("name", "")))
        names = ", ".join(sorted(str(i.get("name")) for i in items)[:8])
        raise LocationNotFound("locations", None, f"no {what} with {key} {wanted!r} on the target"
                               + (f" (it has: {names}…)" if names else ""))
    active = _active(items) or list(items)
    if not active:
        raise LocationNotFound("locations", None, f"the target lists no {what}")
    return Place(str(active[0]["id"]), str(active[0].get("name", "")))


def discover(client: CRVSClient, spec: LocationSpec) -> Locations:
    """Resolve the profile's location spec against the target with `client` (any authenticated client).

    Without a named area, the health facility's own administrative area is used (farajaland's e2e pairs
    "Klow Village Hospital" with the area "Klow"), else the first area that has no child areas.
    """
    office = pick(client.locations(OFFICE), spec.office, "office (CRVS_OFFICE)")
    facilities = client.locations(HEALTH_FACILITY)
    facility = pick(facilities, spec.health_facility, "health facility (HEALTH_FACILITY)")
    facility_area = next((str(f["administrativeAreaId"]) for f in facilities
                          if f.get("id") == facility.id and f.get("administrativeAreaId")), None)
    try:
        areas = client.administrative_areas()
    except CRVSError as exc:
        if spec.administrative_area is not None and not is_uuid(spec.administrative_area):
            raise LocationNotFound("administrativeAreas.list", exc.status,
                                   f"cannot look up the area {spec.administrative_area!r}: {exc.message}") from exc
        areas = []
    if spec.administrative_area is not None:
        area = pick(areas, spec.administrative_area, "administrative area") if areas else \
            Place(spec.administrative_area, "")
    elif facility_area is not None:
        area = next((Place(facility_area, str(a.get("name", ""))) for a in areas if a.get("id") == facility_area),
                    Place(facility_area, ""))
    else:
        parents = {a.get("parentId") for a in areas}
        leaves = [a for a in areas if a.get("id") not in parents]
        area = pick(leaves, None, "administrative area")
    return Locations(office, facility, area)
