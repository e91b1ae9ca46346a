"""Turning the web forms into wire-format inputs, and API field ids back into form words (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GENDERS = ("male", "female")
INFORMANT_RELATIONS = ("MOTHER", "FATHER", "OTHER")
BIRTH_FORM_FIELDS = ("child_firstname", "child_surname", "child_gender", "child_dob",
                     "mother_firstname", "mother_surname", "informant_relation")

# Contract field id -> (label shown to the user, form inputs that carry it)
FIELD_LABELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "child.name": ("Child's name", ("child_firstname", "child_surname")),
    "child.gender": ("Child's sex", ("child_gender",)),
    "child.dob": ("Child's date of birth", ("child_dob",)),
    "mother.name": ("Mother's name", ("mother_firstname", "mother_surname")),
    "informant.relation": ("Informant's relation to the child", ("informant_relation",)),
}

WORKQUEUE_SIZE = 20
SEARCH_PAGE_SIZE = 50


def _text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def birth_form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The submitted birth form, trimmed, for re-rendering."""
    return {key: _text(form, key) for key in BIRTH_FORM_FIELDS}


def birth_declaration(values: Mapping[str, str]) -> dict[str, Any]:
    """The wire-format birth declaration for the submitted form values.

    Empty inputs are left out, so the API names them as missing required fields.
    """
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
    names = [label for key, label in SEARCH_FIELD_LABELS if any(key in f for f in fields)]
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
