"""Synthetic declarations in farajaland v2.0.0's shape."""

from __future__ import annotations

import datetime as dt
import struct
import zlib

import pytest

from crvs_client import Locations, Place, SyntheticFactory, signature_png
from crvs_client.synthetic import plain_name, review_annotation

pytestmark = pytest.mark.unit

PLACES = Locations(Place("office-1", "Ibombo District Office"), Place("hf-1", "Klow Village Hospital"),
                   Place("area-1", "Klow"))
TODAY = dt.date(2026, 6, 1)


def test_birth_has_every_required_farajaland_field():
    birth = SyntheticFactory(3, locations=PLACES, today=TODAY).birth_declaration()
    for field_id in ("child.name", "child.gender", "child.dob", "child.placeOfBirth", "child.birthLocation",
                     "mother.name", "mother.dob", "mother.nationality", "mother.idType", "mother.nid",
                     "mother.address", "father.detailsNotAvailable", "father.reason", "informant.relation",
                     "informant.email"):
        assert field_id in birth, field_id
    assert birth["child.birthLocation"] == "hf-1" and birth["child.placeOfBirth"] == "HEALTH_FACILITY"
    assert birth["mother.address"] == {"country": "FAR", "addressType": "DOMESTIC", "administrativeArea": "area-1"}
    assert "child.reason" not in birth, "a recent birth needs no late-registration reason"
    assert birth["informant.email"].endswith("@example.org")


def test_late_birth_gets_a_reason_and_none_removes_a_field():
    birth = SyntheticFactory(3, locations=PLACES, today=TODAY).birth_declaration(**{"child.dob": "2024-01-01",
                                                                                   "mother.address": None})
    assert birth["child.reason"] and "mother.address" not in birth


def test_death_has_no_cause_of_death_field_and_a_late_one_a_reason():
    factory = SyntheticFactory(4, locations=PLACES, today=TODAY)
    death = factory.death_declaration()
    assert "eventDetails.causeOfDeath" not in death
    assert death["deceased.address"]["administrativeArea"] == "area-1"
    assert "eventDetails.reasonForLateRegistration" not in death
    late = factory.death_declaration(**{"eventDetails.date": "2026-01-01"})
    assert late["eventDetails.reasonForLateRegistration"]


def test_declarations_need_locations():
    with pytest.raises(ValueError, match="locations"):
        SyntheticFactory(1).birth_declaration()


def test_same_seed_same_declaration():
    a = SyntheticFactory(9, locations=PLACES, today=TODAY).birth_declaration()
    b = SyntheticFactory(9, locations=PLACES, today=TODAY).birth_declaration()
    assert a == b


def test_names_are_plain_and_short():
    assert plain_name("Zoë-Noëlle d'Ávila") == "Zoe-Noelled'Avila"
    assert len(plain_name("A" * 40)) <= 18


def test_signature_is_a_valid_png():
    png = signature_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    length = struct.unpack(">I", png[8:12])[0]
    assert png[12:16] == b"IHDR" and struct.unpack(">I", png[16 + length:20 + length])[0] == \
        zlib.crc32(png[12:16 + length]) & 0xFFFFFFFF
    annotation = review_annotation({"path": "p.png", "originalFilename": "s.png", "type": "image/png"})
    assert annotation["review.signature"]["path"] == "p.png" and annotation["review.comment"]
