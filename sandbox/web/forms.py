"""Turning the web forms into wire-format inputs, and API field ids back into form words (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GENDERS = ("male", "female")
INFORMANT_RELATIONS = ("MOTHER", "FATHER", "OTHER")
BIRTH_FORM_FIELDS = ("child_firstname", "child_surname", "child_gender", "child_dob",
                     "mother_firstname", "mother_surname", "informant_relation",
                     "child_reason", "child_birth_location", "mother_dob", "mother_age", "mother_area", "informant_email",
                     "father_reason", "review_comment")
# What a clerk would pick or type on farajaland's v2.0.0 birth form when the page has no input for it, so that a
# form with only the first seven inputs filled is still a complete declaration (farajaland's e2e
# e2e/testcases/test-data/birth-declaration.ts sends the same shape).
BIRTH_FORM_DEFAULTS = {
    "mother_age": "30",
    "informant_email": "informant@example.org",
    "father_reason": "Father's details were not given",
    "review_comment": "Declared through the sandbox web client",
}
COUNTRY = "FAR"

# Contract field id -> (label shown to the user, form inputs that carry it)
FIELD_LABELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "child.name": ("Child's name", ("child_firstname", "child_surname")),
    "child.gender": ("Child's sex", ("child_gender",)),
    "child.dob": ("Child's date of birth", ("child_dob",)),
    "mother.name": ("Mother's name", ("mother_firstname", "mother_surname")),
    "informant.relation": ("Informant's relation to the child", ("informant_relation",)),
    "child.reason": ("Reason for late registration", ("child_reason",)),
    "child.placeOfBirth": ("Place of birth", ("child_birth_location",)),
    "child.birthLocation": ("Health facility", ("child_birth_location",)),
    "mother.dob": ("Mother's date of birth", ("mother_dob",)),
    "mother.age": ("Mother's age", ("mother_age",)),
    "mother.address": ("Mother's address", ("mother_area",)),
    "informant.email": ("Informant's e-mail", ("informant_email",)),
    "father.reason": ("Why the father's details are missing", ("father_reason",)),
    "review.comment": ("Comment", ("review_comment",)),
    "review.signature": ("Signature", ()),
}

WORKQUEUE_SIZE = 20
SEARCH_PAGE_SIZE = 50


def _text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def birth_form_values(form: Mapping[str, Any], defaults: Mapping[str, str] | None = None) -> dict[str, str]:
    """The submitted birth form, trimmed, for re-rendering; an input the page did not send takes its default."""
    chosen = {**BIRTH_FORM_DEFAULTS, **(defaults or {})}
    return {key: _text(form, key) if key in form else chosen.get(key, "") for key in BIRTH_FORM_FIELDS}


def blank_birth_form(defaults: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values of a new, empty declare page (the defaults filled in)."""
    return birth_form_values({}, defaults)


def _mother_dob_or_age(values: Mapping[str, str]) -> dict[str, Any]:
    if values.get("mother_dob"):
        return {"mother.dob": values["mother_dob"]}
    age = values.get("mother_age", "")
    out: dict[str, Any] = {"mother.dobUnknown": True}
    if age:
        out["mother.age"] = {"age": int(age) if age.isdigit() else age, "asOfDateRef": "child.dob"}
    return out


def birth_declaration(values: Mapping[str, str]) -> dict[str, Any]:
    """The wire-format birth declaration (farajaland v2.0.0's birth form) for the submitted form values.

    Empty inputs are left out, so the API names them as missing required fields. The mother's id type is NONE,
    the place of birth a health facility and the father's details are marked as not available (unless the father
    is the informant).
    """
    declaration = _typed_inputs(values)
    if values.get("child_reason"):
        declaration["child.reason"] = values["child_reason"]
    if values.get("child_birth_location"):
        declaration["child.placeOfBirth"] = "HEALTH_FACILITY"
        declaration["child.birthLocation"] = values["child_birth_location"]
    declaration.update({"mother.nationality": COUNTRY, "mother.idType": "NONE", **_mother_dob_or_age(values)})
    if values.get("mother_area"):
        declaration["mother.address"] = {"country": COUNTRY, "addressType": "DOMESTIC",
                                         "administrativeArea": values["mother_area"]}
    if values.get("informant_email"):
        declaration["informant.email"] = values["informant_email"]
    if values.get("informant_relation") != "FATHER":
        declaration["father.detailsNotAvailable"] = True
        if values.get("father_reason"):
            declaration["father.reason"] = values["father_reason"]
    return declaration


def _typed_inputs(values: Mapping[str, str]) -> dict[str, Any]:
    declaration: dict[str, Any] = {}
    child = {"firstname": values.get("child_firstname", ""), "surname": values.get("child_surname", "")}
    if any(child.values()):
        declaration["child.name"] = child
    if values.get("child_gender"):
        declaration["child.gender"] = values["child_gender"]
    if values.get("child_dob"):
        declaration["child.dob"] = values["child_dob"]
    mother = {"firstname": values.get("mother_firstname", ""), "surname": values.get("mother_surname", "")}
    if any(mother.values()):
        declaration["mother.name"] = mother
    if values.get("informant_relation"):
        declaration["informant.relation"] = values["informant_relation"]
    return declaration


def field_error_message(fields: tuple[str, ...], api_message: str) -> str:
    """A one-line message naming the offending fields in the user's words."""
    if not fields:
        return f"The declaration was refused: {api_message}"
    names = [f"{FIELD_LABELS[f][0]} ({f})" if f in FIELD_LABELS else f for f in fields]
    return f"Please correct: {', '.join(names)}. {api_message}".strip()


def invalid_inputs(fields: tuple[str, ...]) -> frozenset[str]:
    """The form inputs to mark as invalid for the API's offending field ids."""
    return frozenset(i for f in fields if f in FIELD_LABELS for i in FIELD_LABELS[f][1])


# Search inputs by the wire path the API names in its field errors
SEARCH_FIELD_LABELS = (("child.name", "Child's name"), ("child.dob", "Date of birth"),
                       ("trackingId", "Tracking ID"), ("registrationNumber", "Registration number"))


def search_error_message(fields: tuple[str, ...], api_message: str) -> str:
    """A one-line message naming the search inputs the API refused."""
    where = fields or (api_message,)  # without field ids, the message names the input's path
    names = [label for key, label in SEARCH_FIELD_LABELS if any(key in f for f in where)]
    if not names:
        return f"The search was refused: {api_message}"
    return f"Please correct the search: {', '.join(names)}."


@dataclass(frozen=True)
class SearchForm:
    """The search page's inputs."""

    name: str = ""
    dob: str = ""
    tracking_id: str = ""
    registration_number: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SearchForm:
        """Read the GET parameters of the search page."""
        return cls(_text(params, "name"), _text(params, "dob"), _text(params, "tracking_id"),
                   _text(params, "registration_number"))

    @property
    def is_empty(self) -> bool:
        """True when no search term was given."""
        return not (self.name or self.dob or self.tracking_id or self.registration_number)


def search_input(form: SearchForm) -> dict[str, Any]:
    """The SearchInput for the search form: every given term ANDed in one clause."""
    clause: dict[str, Any] = {}
    data: dict[str, Any] = {}
    if form.name:
        data["child.name"] = {"type": "fuzzy", "term": form.name}
    if form.dob:
        data["child.dob"] = {"type": "exact", "term": form.dob}
    if data:
        clause["data"] = data
    if form.tracking_id:
        clause["trackingId"] = {"type": "exact", "term": form.tracking_id.upper()}
    if form.registration_number:
        clause["legalStatuses.REGISTERED.registrationNumber"] = {"type": "exact", "term": form.registration_number}
    return {"query": {"type": "and", "clauses": [clause]}, "limit": SEARCH_PAGE_SIZE, "offset": 0,
            "sort": [{"field": "createdAt", "direction": "desc"}]}


def workqueue_input() -> dict[str, Any]:
    """The SearchInput for the home page: the most recently updated records of either type."""
    return {"query": {"type": "or", "clauses": [{"eventType": "birth"}, {"eventType": "death"}]},
            "limit": WORKQUEUE_SIZE, "offset": 0, "sort": [{"field": "updatedAt", "direction": "desc"}]}
