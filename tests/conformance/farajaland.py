"""farajaland v2.0.0 declarations, built key for key as its e2e test data builds them (synthetic values only).

- Birth: farajaland e2e/testcases/test-data/birth-declaration.ts getDeclaration (informant MOTHER) with
  getPlaceOfBirth('HEALTH_FACILITY' | 'PRIVATE_HOME'); the place ids come from `locations.list
  {locationType: 'HEALTH_FACILITY'}` ("Klow Village Hospital") and `administrativeAreas.list` ("Klow"),
  e2e/testcases/birth/helpers.ts getLocations / getAdministrativeAreas / getIdByName.
- Death: e2e/testcases/test-data/death-declaration.ts getDeclaration ('DECEASED_USUAL_RESIDENCE'), with the
  undefined `spouse.age` omitted as its omitBy does.
- Annotation: `{'review.comment': 'My comment', 'review.signature': {path, originalFilename, type}}`, the
  signature uploaded first (test-data/utils.ts uploadFile).
The field ids are farajaland's (src/events/birth/forms/pages/*.ts, src/events/death/forms/pages/*.ts).
"""

from __future__ import annotations

import random
import string
from datetime import date, timedelta
from typing import Any

_rng = random.SystemRandom()


def synthetic_name() -> str:
    """A made-up name of letters only (farajaland's name validator allows letters, digits, - ' _)."""
    return "Conf" + "".join(_rng.choice(string.ascii_lowercase) for _ in range(7))


def synthetic_nid() -> str:
    """A made-up 10-digit national id (e2e uses faker.string.numeric(10))."""
    return "".join(_rng.choice(string.digits) for _ in range(10))


def domestic_address(area_id: str) -> dict[str, str]:
    """`{country: 'FAR', addressType: 'DOMESTIC', administrativeArea}` (AddressType.DOMESTIC)."""
    return {"country": "FAR", "addressType": "DOMESTIC", "administrativeArea": area_id}


def birth_declaration(*, village_id: str, hospital_id: str, place: str = "HEALTH_FACILITY") -> dict[str, Any]:
    """A complete farajaland birth declaration (informant: the mother; father's details not available)."""
    if place == "HEALTH_FACILITY":
        place_of_birth: dict[str, Any] = {"child.placeOfBirth": "HEALTH_FACILITY", "child.birthLocation": hospital_id,
                                          "child.birthLocationId": hospital_id}
    elif place == "PRIVATE_HOME":
        place_of_birth = {"child.placeOfBirth": "PRIVATE_HOME",
                          "child.birthLocation.privateHome": domestic_address(village_id),
                          "child.birthLocationId": village_id}
    else:
        raise ValueError(f"unknown place of birth type {place!r}")
    return {
        "father.detailsNotAvailable": True,
        "father.reason": "Father is missing.",
        "mother.name": {"firstname": synthetic_name(), "surname": synthetic_name()},
        "mother.dob": "1998-03-14",
        "mother.nationality": "FAR",
        "mother.idType": "NATIONAL_ID",
        "mother.nid": synthetic_nid(),
        "mother.address": domestic_address(village_id),
        "child.name": {"firstname": synthetic_name(), "surname": synthetic_name()},
        "child.gender": "female",
        "child.dob": (date.today() - timedelta(days=_rng.randint(1, 13))).isoformat(),
        **place_of_birth,
        "informant.relation": "MOTHER",
        "informant.email": "informant@example.org",
    }


def death_declaration(*, village_id: str) -> dict[str, Any]:
    """A complete farajaland death declaration (informant: the spouse; place of death: usual residence)."""
    return {
        "spouse.dob": "1975-02-18",
        "spouse.nid": synthetic_nid(),
        "spouse.name": {"firstname": synthetic_name(), "surname": synthetic_name()},
        "deceased.dob": "1950-04-21",
        "deceased.nid": synthetic_nid(),
        "deceased.name": {"firstname": synthetic_name(), "surname": synthetic_name()},
        "spouse.idType": "NATIONAL_ID",
        "deceased.gender": "male",
        "deceased.idType": "NATIONAL_ID",
        "informant.email": "informant@example.org",
        "eventDetails.date": (date.today() - timedelta(days=1)).isoformat(),
        "informant.relation": "SPOUSE",
        "spouse.nationality": "FAR",
        "deceased.nationality": "FAR",
        "spouse.addressSameAs": "YES",
        "deceased.maritalStatus": "MARRIED",
        "eventDetails.placeOfDeath": "DECEASED_USUAL_RESIDENCE",
        "eventDetails.mannerOfDeath": "MANNER_NATURAL",
        "deceased.numberOfDependants": 3,
        "eventDetails.sourceCauseDeath": "PHYSICIAN",
        "eventDetails.causeOfDeathEstablished": True,
        "deceased.address": domestic_address(village_id),
        "eventDetails.deathLocationId": village_id,
    }


def annotation(signature: dict[str, str]) -> dict[str, Any]:
    """The DECLARE/REGISTER annotation farajaland's e2e sends."""
    return {"review.comment": "My comment", "review.signature": signature}


# Fields marked `secured: true` in farajaland's v2.0.0 forms: core strips them from search results
# (packages/events/src/service/indexing/utils.ts removeSecuredFields).
BIRTH_SECURED_FIELDS = ("child.dob", "child.placeOfBirth", "child.birthLocation", "child.birthLocation.privateHome",
                        "child.birthLocation.other", "mother.dob", "mother.address", "father.dob", "father.address",
                        "informant.phoneNo", "informant.email")
DEATH_SECURED_FIELDS = ("deceased.address", "eventDetails.date", "eventDetails.placeOfDeath",
                        "eventDetails.deathLocation", "eventDetails.deathLocationOther", "informant.phoneNo",
                        "informant.email")
