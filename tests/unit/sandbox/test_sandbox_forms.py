"""farajaland v2.0.0's birth and death forms: required fields, conditionals, hidden fields, value checks."""

from __future__ import annotations

import datetime as dt

import pytest

from sandbox import forms, locations

pytestmark = pytest.mark.unit
TODAY = dt.date(2025, 6, 30)
CLERK = forms.Context(role="HOSPITAL_CLERK", today=TODAY)
HOME = {"country": "FAR", "addressType": "DOMESTIC", "administrativeArea": locations.KLOW}
BIRTH = {
    "child.name": {"firstname": "Chipo", "surname": "Banda"}, "child.gender": "female", "child.dob": "2025-06-01",
    "child.placeOfBirth": "HEALTH_FACILITY", "child.birthLocation": locations.KLOW_VILLAGE_HOSPITAL,
    "informant.relation": "MOTHER", "informant.email": "informant@example.org",
    "mother.name": {"firstname": "Mwila", "surname": "Banda"}, "mother.dob": "1995-03-01",
    "mother.nationality": "FAR", "mother.idType": "NATIONAL_ID", "mother.nid": "1234567890", "mother.address": HOME,
    "father.detailsNotAvailable": True, "father.reason": "Not known",
}
DEATH = {
    "deceased.name": {"firstname": "Joseph", "surname": "Phiri"}, "deceased.gender": "male",
    "deceased.dob": "1950-01-20", "deceased.nationality": "FAR", "deceased.idType": "NONE", "deceased.address": HOME,
    "eventDetails.date": "2025-06-20", "eventDetails.placeOfDeath": "DECEASED_USUAL_RESIDENCE",
    "informant.relation": "SPOUSE", "informant.email": "informant@example.org",
    "spouse.name": {"firstname": "Grace", "surname": "Phiri"}, "spouse.dob": "1952-02-02",
    "spouse.nationality": "FAR", "spouse.idType": "NONE", "spouse.addressSameAs": "YES",
}


def issues(event_type: str, declaration: dict, update: dict | None = None) -> dict[str, str]:
    form = forms.FORMS[event_type]
    found = forms.declaration_issues(form, declaration, declaration if update is None else update, CLERK)
    return {i["id"]: i["message"] for i in found}


def without(declaration: dict, *keys: str) -> dict:
    return {k: v for k, v in declaration.items() if k not in keys}


def test_complete_declarations_pass():
    assert issues("birth", BIRTH) == {}
    assert issues("death", DEATH) == {}


@pytest.mark.parametrize("missing", ["child.name", "child.gender", "child.dob", "child.birthLocation", "informant.relation", "informant.email", "mother.name",
                                     "mother.address", "mother.nid"])
def test_required_birth_fields(missing):
    assert issues("birth", without(BIRTH, missing)) == {missing: "Required"}


def test_without_a_place_of_birth_the_location_is_hidden():
    assert issues("birth", without(BIRTH, "child.placeOfBirth")) == {"child.birthLocation": forms.HIDDEN}
    assert issues("birth", without(BIRTH, "child.placeOfBirth", "child.birthLocation")) == {
        "child.placeOfBirth": "Required"}


def test_father_details_or_the_reason_they_are_missing():
    assert issues("birth", without(BIRTH, "father.reason")) == {"father.reason": "Required"}
    with_father = {**without(BIRTH, "father.detailsNotAvailable", "father.reason"),
                   "father.name": {"firstname": "Mulenga", "surname": "Banda"}, "father.dob": "1990-01-01",
                   "father.nationality": "FAR", "father.idType": "NONE", "father.addressSameAs": "YES"}
    assert issues("birth", with_father) == {}
    # Without addressSameAs = YES the father's own address is required too.
    assert set(issues("birth", without(with_father, "father.name", "father.addressSameAs"))) == {
        "father.name", "father.addressSameAs", "father.address"}


def test_birth_location_must_be_a_health_facility():
    office = {**BIRTH, "child.birthLocation": locations.OFFICE_ID}
    assert issues("birth", office) == {"child.birthLocation": "Invalid input"}
    home = {**without(BIRTH, "child.birthLocation"), "child.placeOfBirth": "PRIVATE_HOME",
            "child.birthLocation.privateHome": HOME}
    assert issues("birth", home) == {}


def test_a_hidden_field_with_a_value_is_refused():
    home = {**BIRTH, "child.placeOfBirth": "PRIVATE_HOME", "child.birthLocation.privateHome": HOME}
    assert issues("birth", home) == {"child.birthLocation": forms.HIDDEN}


def test_domestic_addresses_name_a_leaf_administrative_area():
    assert issues("birth", {**BIRTH, "mother.address": {**HOME, "administrativeArea": locations.IBOMBO}}) == {
        "mother.address": "Invalid input"}
    assert issues("birth", {**BIRTH, "mother.address": {"country": "FAR"}}) == {"mother.address": "Invalid input"}


@pytest.mark.parametrize("change,field", [
    ({"child.dob": "2025-07-01"}, "child.dob"),            # future
    ({"child.dob": "2023-02-29"}, "child.dob"),            # not a real date
    ({"child.dob": 20240101}, "child.dob"),
    ({"child.name": "Chipo"}, "child.name"),
    ({"child.name": {"firstname": "Chipo", "nickname": "C"}}, "child.name"),
    ({"child.name": {"firstname": "Зоя", "surname": "Banda"}}, "child.name"),   # not a Latin-script name
    ({"child.gender": "F"}, "child.gender"),
    ({"child.weightAtBirth": "3"}, "child.weightAtBirth"),
    ({"child.weightAtBirth": 9}, "child.weightAtBirth"),
    ({"mother.nid": "12345"}, "mother.nid"),
    ({"mother.dob": "2010-01-01"}, "mother.dob"),           # less than 18 years before the child
    ({"informant.email": "not-an-email"}, "informant.email"),
])
def test_invalid_values_name_the_field(change, field):
    assert field in issues("birth", {**BIRTH, **change})


@pytest.mark.parametrize("name", ["Zoë-Noëlle", "Ñúñez d'Ávila", "Łukasz", "Dvořák", "Ana (Nana)", "Jr.", "2nd",
                                  "12345"])
def test_latin_script_names_are_english_names(name):
    """isValidEnglishName (core commons/src/conditionals/conditionals.ts) takes any \\p{Script=Latin} letter, the
    digits and ' . -, so accented names pass, and so does a name of digits only."""
    assert "child.name" not in issues("birth", {**BIRTH, "child.name": {"firstname": name, "surname": "Banda"}})


@pytest.mark.parametrize("name", ["Иван", "陳", "Ana_Banda", "Ana ()", "Ana(Na)(Na)", "e\u0301"])
def test_other_scripts_and_symbols_are_not_english_names(name):
    """Cyrillic and Han letters, "_", an empty "()" or two "(...)" in one word, and a combining accent (Script
    Inherited, not Latin) fail the pattern."""
    found = issues("birth", {**BIRTH, "child.name": {"firstname": name, "surname": "Banda"}})
    assert found.get("child.name", "").startswith("Input contains invalid characters")


def test_a_late_birth_needs_a_reason():
    late = {**BIRTH, "child.dob": "2023-06-01"}
    assert issues("birth", late) == {"child.reason": "Required"}
    assert issues("birth", {**late, "child.reason": "Family moved"}) == {}


def test_death_before_birth_is_refused():
    found = issues("death", {**DEATH, "eventDetails.date": "1949-01-01"})
    assert "eventDetails.date" in found or "deceased.dob" in found


def test_the_death_form_has_no_cause_of_death_field():
    assert forms.unknown_fields(forms.FORMS["death"], {**DEATH, "eventDetails.causeOfDeath": "NATURAL"}) == [
        "eventDetails.causeOfDeath"]
    assert forms.unknown_fields(forms.FORMS["birth"], BIRTH) == []


def test_notify_checks_types_only_and_names_unexpected_fields():
    form = forms.FORMS["birth"]
    found = forms.notify_issues(form, {"child.dob": "2025-06-01", "foo.bar": 1}, {}, CLERK)
    assert found == [{"message": "Unexpected field", "id": "foo.bar", "value": 1}]
    assert forms.notify_issues(form, {"child.gender": "F"}, {}, CLERK)[0]["id"] == "child.gender"


def test_review_needs_a_comment_and_a_signature_file():
    form = forms.FORMS["birth"]
    assert {i["id"] for i in forms.review_issues(form, {}, CLERK)} == {"review.comment", "review.signature"}
    signature = {"path": "/ocrvs/x.png", "originalFilename": "s.png", "type": "image/png"}
    assert forms.review_issues(form, {"review.comment": "ok", "review.signature": signature}, CLERK) == []
    bad = forms.review_issues(form, {"review.comment": "ok", "review.signature": "/ocrvs/x.png"}, CLERK)
    assert bad == [{"message": "Invalid input", "id": "review.signature", "value": "/ocrvs/x.png"}]


def test_secured_fields_follow_the_forms():
    assert {"child.dob", "child.placeOfBirth", "child.birthLocation", "mother.address",
            "informant.email"} <= forms.FORMS["birth"].secured_ids
    assert "child.name" not in forms.FORMS["birth"].secured_ids
    assert {"eventDetails.date", "deceased.address"} <= forms.FORMS["death"].secured_ids


def test_required_field_lists():
    birth = forms.FORMS["birth"].required_ids()
    assert {"child.name", "child.birthLocation", "mother.address", "father.reason"} <= set(birth)
    assert "eventDetails.date" in forms.FORMS["death"].required_ids()
