"""Synthetic declarations in the shape of farajaland v2.0.0's birth and death forms, with invented people.

The form profile follows farajaland release/v2.0.0: src/events/birth/forms/pages/{child,mother,father,
informant}.ts and src/events/death/forms/pages/{deceased,eventDetails,informant,spouse}.ts, and what its own
e2e sends (e2e/testcases/test-data/birth-declaration.ts, death-declaration.ts). Every required field is set:
the child's place of birth is a discovered health facility, the mother's address a discovered administrative
area, the father `detailsNotAvailable` with a reason. The death form has no `eventDetails.causeOfDeath`.
Names come from Faker, never from real records; deterministic by seed.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
import unicodedata
import zlib
from typing import Any

from faker import Faker

from crvs_client.locations import Locations

_LOCALES = ["en_GB", "fr_FR", "pt_PT", "en_US"]
# farajaland src/events/utils/constants.ts: a birth older than this needs `child.reason` (late registration).
BIRTH_LATE_REGISTRATION_TARGET_DAYS = 365
# Same file: a death declared later than this needs `eventDetails.reasonForLateRegistration`.
DEATH_REGISTRATION_TARGET_DAYS = 45
COUNTRY = "FAR"
DOMESTIC = "DOMESTIC"
# Field ids whose values OpenCRVS strips from search results (`secured: true` in farajaland's forms).
SECURED_FIELDS = frozenset({
    "child.dob", "child.placeOfBirth", "child.birthLocation", "child.birthLocation.privateHome",
    "child.birthLocation.other", "mother.dob", "mother.address", "father.dob", "father.address",
    "informant.phoneNo", "informant.email", "deceased.address", "eventDetails.date", "eventDetails.placeOfDeath",
    "eventDetails.deathLocation", "eventDetails.deathLocationOther",
})


# farajaland caps names at 32 characters (src/events/birth/validators.ts MAX_NAME_LENGTH); the suite appends
# a 10-letter tag to surnames, so generated parts stay short.
MAX_GENERATED_NAME = 18


def plain_name(text: str) -> str:
    """A name part in plain letters, hyphens and apostrophes: accents folded, spaces and dots dropped.

    OpenCRVS accepts any Latin letter (packages/commons/src/conditionals/conditionals.ts isValidEnglishName);
    generated names stay in the narrowest common set so they pass stricter country configs too.
    """
    folded = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in folded if c.isascii() and (c.isalnum() or c in "-'"))
    return (kept or "Name")[:MAX_GENERATED_NAME]


def signature_png(width: int = 24, height: int = 8, seed: int = 0) -> bytes:
    """A tiny, valid grey-scale PNG drawn in code: a wavy line standing in for a signature."""
    rng = random.Random(seed)
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type 0
        for x in range(width):
            on = abs((x * 3 + rng.randint(0, 2)) % height - y) <= 0
            row.append(0 if on else 255)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))


def review_annotation(signature: dict[str, str], comment: str = "Declared by the release gate") -> dict[str, Any]:
    """The DECLARE annotation farajaland's review page requires: `review.comment` and `review.signature`."""
    return {"review.comment": comment, "review.signature": dict(signature)}


class SyntheticFactory:
    """Makes farajaland-shaped birth and death declarations; needs the target's locations."""

    def __init__(self, seed: int = 0, *, locations: Locations | None = None, today: dt.date | None = None) -> None:
        self._rng = random.Random(seed)
        self._faker = Faker(_LOCALES)
        self._faker.seed_instance(seed)
        self.locations = locations
        self.today = today or dt.date.today()

    def _places(self) -> Locations:
        if self.locations is None:
            raise ValueError("SyntheticFactory needs the target's locations (a health facility and an "
                             "administrative area) to build a farajaland declaration")
        return self.locations

    def _name(self, gender: str | None = None) -> dict[str, str]:
        first = self._faker.first_name_female() if gender == "female" else (
            self._faker.first_name_male() if gender == "male" else self._faker.first_name())
        return {"firstname": plain_name(first), "surname": plain_name(self._faker.last_name())}

    def _date_between(self, start: dt.date, end: dt.date) -> str:
        days = max((end - start).days, 0)
        return (start + dt.timedelta(days=self._rng.randint(0, days))).isoformat()

    def _years_ago(self, years: int) -> dt.date:
        return self.today - dt.timedelta(days=int(years * 365.25))

    def phone(self) -> str:
        """A Farajaland-style mobile number (fictional country): 0 then 7 or 9, then 8 digits."""
        return "0" + self._rng.choice("79") + "".join(self._rng.choice("0123456789") for _ in range(8))

    def nid(self) -> str:
        """A 10-digit made-up national ID."""
        return "".join(self._rng.choice("0123456789") for _ in range(10))

    def email(self, who: str) -> str:
        """An address at example.org (reserved for examples, RFC 2606)."""
        return f"{who}{self._rng.randint(1000, 9999)}@example.org"

    def address(self) -> dict[str, str]:
        """A domestic address in the discovered administrative area."""
        return {"country": COUNTRY, "addressType": DOMESTIC,
                "administrativeArea": self._places().administrative_area.id}

    def birth_declaration(self, **overrides: Any) -> dict[str, Any]:
        """A complete birth declaration; `overrides` replace fields by id (None removes one)."""
        facility = self._places().health_facility.id
        gender = self._rng.choice(["male", "female"])
        child_dob = self._date_between(self.today - dt.timedelta(days=300), self.today - dt.timedelta(days=1))
        declaration: dict[str, Any] = {
            "child.name": self._name(gender),
            "child.gender": gender,
            "child.dob": child_dob,
            "child.placeOfBirth": "HEALTH_FACILITY",
            "child.birthLocation": facility,
            "child.birthLocationId": facility,
            "child.weightAtBirth": round(self._rng.uniform(2.2, 4.6), 1),
            "mother.name": self._name("female"),
            "mother.dob": self._date_between(self._years_ago(45), self._years_ago(19)),
            "mother.nationality": COUNTRY,
            "mother.idType": "NATIONAL_ID",
            "mother.nid": self.nid(),
            "mother.address": self.address(),
            "father.detailsNotAvailable": True,
            "father.reason": "Father is not known to the informant",
            "informant.relation": "MOTHER",
            "informant.email": self.email("informant"),
        }
        declaration.update(overrides)
        dob = declaration.get("child.dob")
        age = _days_before(dob, self.today) if isinstance(dob, str) else None
        if "child.reason" not in overrides and age is not None and age > BIRTH_LATE_REGISTRATION_TARGET_DAYS:
            declaration["child.reason"] = "Registration delayed: the family lived far from an office"
        return {k: v for k, v in declaration.items() if v is not None}

    def death_declaration(self, **overrides: Any) -> dict[str, Any]:
        """A complete death declaration (deceased died at their usual residence; the spouse informs)."""
        gender = self._rng.choice(["male", "female"])
        declaration: dict[str, Any] = {
            "deceased.name": self._name(gender),
            "deceased.gender": gender,
            "deceased.dob": self._date_between(self._years_ago(95), self._years_ago(40)),
            "deceased.nationality": COUNTRY,
            "deceased.idType": "NATIONAL_ID",
            "deceased.nid": self.nid(),
            "deceased.maritalStatus": "MARRIED",
            "deceased.address": self.address(),
            "eventDetails.date": self._date_between(self.today - dt.timedelta(days=40),
                                                    self.today - dt.timedelta(days=1)),
            "eventDetails.placeOfDeath": "DECEASED_USUAL_RESIDENCE",
            "eventDetails.deathLocationId": self._places().administrative_area.id,
            "eventDetails.mannerOfDeath": "MANNER_NATURAL",
            "eventDetails.causeOfDeathEstablished": True,
            "eventDetails.sourceCauseDeath": "PHYSICIAN",
            "informant.relation": "SPOUSE",
            "informant.email": self.email("informant"),
            "spouse.name": self._name("female" if gender == "male" else "male"),
            "spouse.dob": self._date_between(self._years_ago(90), self._years_ago(35)),
            "spouse.nationality": COUNTRY,
            "spouse.idType": "NATIONAL_ID",
            "spouse.nid": self.nid(),
            "spouse.addressSameAs": "YES",
        }
        declaration.update(overrides)
        day = declaration.get("eventDetails.date")
        age = _days_before(day, self.today) if isinstance(day, str) else None
        if "eventDetails.reasonForLateRegistration" not in overrides and age is not None \
                and age > DEATH_REGISTRATION_TARGET_DAYS:
            declaration["eventDetails.reasonForLateRegistration"] = "The family registered after the funeral"
        return {k: v for k, v in declaration.items() if v is not None}

    def declaration(self, event_type: str, **overrides: Any) -> dict[str, Any]:
        """A complete declaration for `event_type` ("birth" or "death")."""
        if event_type == "birth":
            return self.birth_declaration(**overrides)
        if event_type == "death":
            return self.death_declaration(**overrides)
        raise ValueError(f"unknown event type {event_type!r}")


def _days_before(iso_date: str, today: dt.date) -> int | None:
    try:
        return (today - dt.date.fromisoformat(iso_date)).days
    except ValueError:
        return None
