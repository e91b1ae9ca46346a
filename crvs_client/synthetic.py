"""Synthetic declarations with invented people, deterministic by seed. Never real personal data."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from faker import Faker

# Records a test suite creates carry this annotation so a staging team can find and archive them.
TEST_DATA_ANNOTATION = {"test-data": "crvs-release"}

_LOCALES = ["en_GB", "fr_FR", "pt_PT", "en_US"]


class SyntheticFactory:
    """Makes birth and death declarations in OpenCRVS v2 field ids."""

    def __init__(self, seed: int = 0, *, today: dt.date | None = None) -> None:
        self._rng = random.Random(seed)
        self._faker = Faker(_LOCALES)
        self._faker.seed_instance(seed)
        self.today = today or dt.date.today()

    def _name(self, gender: str | None = None) -> dict[str, str]:
        first = self._faker.first_name_female() if gender == "female" else (
            self._faker.first_name_male() if gender == "male" else self._faker.first_name())
        return {"firstname": first, "surname": self._faker.last_name()}

    def _date_between(self, start: dt.date, end: dt.date) -> str:
        days = max((end - start).days, 0)
        return (start + dt.timedelta(days=self._rng.randint(0, days))).isoformat()

    def phone(self) -> str:
        """A Farajaland-style mobile number (fictional country)."""
        return "0" + self._rng.choice("79") + "".join(self._rng.choice("0123456789") for _ in range(8))

    def nid(self) -> str:
        """A 10-digit made-up national ID."""
        return "".join(self._rng.choice("0123456789") for _ in range(10))

    def birth_declaration(self, **overrides: Any) -> dict[str, Any]:
        """A complete birth declaration; `overrides` replace fields by id."""
        gender = self._rng.choice(["male", "female"])
        child_dob = self._date_between(self.today - dt.timedelta(days=365), self.today - dt.timedelta(days=1))
        mother_dob = self._date_between(self.today - dt.timedelta(days=45 * 365), self.today - dt.timedelta(days=18 * 365))
        declaration: dict[str, Any] = {
            "child.name": self._name(gender),
            "child.gender": gender,
            "child.dob": child_dob,
            "child.placeOfBirth": "HEALTH_FACILITY",
            "child.weightAtBirth": round(self._rng.uniform(2.2, 4.6), 1),
            "mother.name": self._name("female"),
            "mother.dob": mother_dob,
            "mother.nationality": "FAR",
            "mother.idType": "NATIONAL_ID",
            "mother.nid": self.nid(),
            "informant.relation": "MOTHER",
            "informant.phoneNo": self.phone(),
            "informant.email": f"informant{self._rng.randint(1000, 9999)}@example.org",
        }
        declaration.update(overrides)
        return declaration

    def death_declaration(self, **overrides: Any) -> dict[str, Any]:
        """A complete death declaration; `overrides` replace fields by id."""
        gender = self._rng.choice(["male", "female"])
        dob = self._date_between(self.today - dt.timedelta(days=95 * 365), self.today - dt.timedelta(days=20 * 365))
        date_of_death = self._date_between(self.today - dt.timedelta(days=60), self.today - dt.timedelta(days=1))
        declaration: dict[str, Any] = {
            "deceased.name": self._name(gender),
            "deceased.gender": gender,
            "deceased.dob": dob,
            "deceased.nationality": "FAR",
            "deceased.idType": "NATIONAL_ID",
            "deceased.nid": self.nid(),
            "eventDetails.date": date_of_death,
            "eventDetails.causeOfDeath": "NATURAL_CAUSES",
            "eventDetails.placeOfDeath": "HEALTH_FACILITY",
            "informant.relation": "SPOUSE",
            "informant.name": self._name(),
            "informant.phoneNo": self.phone(),
            "informant.email": f"informant{self._rng.randint(1000, 9999)}@example.org",
            "spouse.name": self._name(),
        }
        declaration.update(overrides)
        return declaration

    def declaration(self, event_type: str, **overrides: Any) -> dict[str, Any]:
        """A complete declaration for `event_type` ("birth" or "death")."""
        if event_type == "birth":
            return self.birth_declaration(**overrides)
        if event_type == "death":
            return self.death_declaration(**overrides)
        raise ValueError(f"unknown event type {event_type!r}")
