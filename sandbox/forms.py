"""farajaland v2.0.0's birth and death declaration forms, as the sandbox validates them (pure, no I/O).

Sources (opencrvs-farajaland, branch release/v2.0.0): src/events/birth/forms/declaration.ts and
forms/pages/{child,informant,mother,father,documents}.ts; src/events/death/forms/declaration.ts and
forms/pages/{deceased,eventDetails,causeOfDeathDetails,informant,spouse,documents}.ts; validators in
src/events/birth/validators.ts. The validation order and messages follow opencrvs-core
packages/events/src/router/middleware/validate/index.ts (`validateDeclarationUpdateAction`, `validateNotifyAction`)
and packages/commons/src/conditionals/validate.ts (`errorMessages`).

What is modelled: every field id, its kind, whether it is required, secured, its SHOW conditional (so a hidden
field with a value is refused and a hidden required field is not required), select options where they matter, and
the cross-field date rules. What is not: MOSIP/e-Signet widget fields beyond accepting them, street-level address
validators, and country-code lists.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox import locations
from sandbox.domain import parse_date

# errorMessages (packages/commons/src/conditionals/validate.ts)
REQUIRED = "Required"
HIDDEN = "Hidden or disabled field should not receive a value"
UNEXPECTED = "Unexpected field"
INVALID = "Invalid input"
INVALID_DATE = "Invalid date field"
INVALID_EMAIL = "Invalid email address"

# Field kinds (FieldType names in packages/commons/src/events/FieldConfig.ts).
NAME, DATE, SELECT, TEXT, TEXTAREA, NUMBER, CHECKBOX = "NAME", "DATE", "SELECT", "TEXT", "TEXTAREA", "NUMBER", "CHECKBOX"
LOCATION, ADDRESS, EMAIL, PHONE, ID, COUNTRY, AGE = "LOCATION", "ADDRESS", "EMAIL", "PHONE", "ID", "COUNTRY", "AGE"
FILE, HIDDEN_VALUE, RADIO, SIGNATURE, ANY = "FILE", "ALPHA_HIDDEN", "RADIO_GROUP", "SIGNATURE", "ANY"

Form = Mapping[str, Any]
Condition = Callable[[Form, "Context"], bool]
Check = Callable[[Any, Form, "Context"], str | None]


@dataclass(frozen=True)
class Context:
    """What a conditional may look at besides the form: the acting user's role and today's date."""

    role: str | None
    today: dt.date


@dataclass(frozen=True)
class FormField:
    """One declaration or review field."""

    id: str
    kind: str
    required: bool = False
    secured: bool = False
    options: tuple[str, ...] = ()
    shown: Condition | None = None
    location_type: str | None = None
    checks: tuple[Check, ...] = ()

    def visible(self, form: Form, ctx: Context) -> bool:
        """Whether the field's SHOW conditional holds."""
        return self.shown is None or bool(self.shown(form, ctx))


@dataclass(frozen=True)
class EventForm:
    """A declaration form: its fields, dynamic id prefixes and the DECLARE review fields."""

    event_type: str
    fields: Mapping[str, FormField]
    review: Mapping[str, FormField]
    dynamic_prefixes: tuple[tuple[str, Condition], ...] = ()

    def field(self, field_id: str) -> FormField | None:
        """The field with this id (dynamic ids become ANY fields), or None."""
        found = self.fields.get(field_id)
        if found is not None:
            return found
        for prefix, shown in self.dynamic_prefixes:
            if field_id.startswith(prefix):
                return FormField(field_id, ANY, shown=shown)
        return None

    @property
    def secured_ids(self) -> frozenset[str]:
        """Fields stripped from search results (packages/events/src/service/indexing/utils.ts)."""
        return frozenset(f.id for f in self.fields.values() if f.secured)

    def required_ids(self) -> tuple[str, ...]:
        """Required field ids (ignoring conditionals): for documentation and the web client."""
        return tuple(f.id for f in self.fields.values() if f.required)


# ---------------------------------------------------------------------------------------------- helpers


def _is(field_id: str, value: Any) -> Condition:
    return lambda form, _ctx: form.get(field_id) == value


def _falsy(value: Any) -> bool:
    return value is None or value is False or value == "" or value == {} or value == []


def _not(cond: Condition) -> Condition:
    return lambda form, ctx: not cond(form, ctx)


def _and(*conds: Condition) -> Condition:
    return lambda form, ctx: all(c(form, ctx) for c in conds)


def _or(*conds: Condition) -> Condition:
    return lambda form, ctx: any(c(form, ctx) for c in conds)


_date = parse_date  # one reading of a YYYY-MM-DD date, shared with the domain


def _late(field_id: str, days: int) -> Condition:
    """`not(field.isAfter().days(N).inPast()) and field.isBefore().now()`: the event is more than N days ago."""
    def cond(form: Form, ctx: Context) -> bool:
        when = _date(form.get(field_id))
        return when is not None and when < ctx.today and when <= ctx.today - dt.timedelta(days=days)
    return cond


def _before_now(message: str) -> Check:
    def check(value: Any, _form: Form, ctx: Context) -> str | None:
        when = _date(value)
        return message if when is not None and when >= ctx.today else None
    return check


def _before_field(other: str, message: str, *, min_days: int = 0, unless: str | None = None) -> Check:
    def check(value: Any, form: Form, _ctx: Context) -> str | None:
        if unless is not None and form.get(unless) is True:
            return None
        mine, theirs = _date(value), _date(form.get(other))
        if mine is None or theirs is None:
            return None
        return message if mine >= theirs - dt.timedelta(days=min_days) else None
    return check


def _after_field(other: str, message: str, *, unless: str | None = None) -> Check:
    def check(value: Any, form: Form, _ctx: Context) -> str | None:
        if unless is not None and form.get(unless) is True:
            return None
        mine, theirs = _date(value), _date(form.get(other))
        return message if mine is not None and theirs is not None and mine <= theirs else None
    return check


_NID = re.compile(r"^[0-9]{10}$")
_PHONE = re.compile(r"^0(7|9)[0-9]{8}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# isValidEnglishName (core packages/commons/src/conditionals/conditionals.ts; farajaland validators.ts uses it):
# space-separated words of \p{Script=Latin} letters, digits and ' . -, each with at most one "(...)" group.
_NAME_WORD = re.compile(r"a*(\(a+\))?a*")
_NAME_PUNCTUATION = frozenset("0123456789'.-")
_NAME_MESSAGE = ("Input contains invalid characters. Please use only letters (a-z, A-Z), numbers (0-9), "
                 "hyphens (-) and apostrophes(')")
_MAX_NAME_LENGTH = 32


def _latin_letter(char: str) -> bool:
    """A letter of the Latin script; Python's `re` has no \\p{Script=Latin}, so the Unicode name says it (the few
    Latin-script letters whose name lacks LATIN, such as modifier letters, are refused)."""
    return unicodedata.category(char).startswith("L") and "LATIN" in unicodedata.name(char, "").split()


def valid_english_name(value: str) -> bool:
    """isValidEnglishName's pattern: e.g. "Zoë O'Brien-Nkosi" and "Ana (Nana)" pass; Cyrillic, "_" and "()" fail."""
    shape = "".join("a" if c in _NAME_PUNCTUATION or _latin_letter(c) else c if c in "() " else "!" for c in value)
    return all(_NAME_WORD.fullmatch(word) for word in shape.split(" "))


def _nid_check(value: Any, _form: Form, _ctx: Context) -> str | None:
    if isinstance(value, str) and not _NID.match(value):
        return "The national ID can only be numeric and must be 10 digits long"
    return None


def _unique_nid(*others: str) -> Check:
    def check(value: Any, form: Form, _ctx: Context) -> str | None:
        return "National id must be unique" if value and any(form.get(o) == value for o in others) else None
    return check


def _phone_check(value: Any, _form: Form, _ctx: Context) -> str | None:
    return None if _falsy(value) or (isinstance(value, str) and _PHONE.match(value)) else INVALID


def _weight_check(value: Any, _form: Form, _ctx: Context) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 6
    return None if ok else "Must be within 0 and 6"


def _age_between(low: int, high: int) -> Check:
    def check(value: Any, _form: Form, _ctx: Context) -> str | None:
        age = value.get("age") if isinstance(value, Mapping) else value
        ok = isinstance(age, int | float) and not isinstance(age, bool) and low <= age <= high
        return None if ok else f"Age must be between {low} and {high}"
    return check


# ---------------------------------------------------------------------------------------------- structure


def _structural(spec: FormField, value: Any, ctx: Context) -> str | None:
    """Type-level validation of one value (zod per FieldType, plus the form's own option lists)."""
    kind = spec.kind
    if kind == NAME:
        if not isinstance(value, Mapping) or set(value) - {"firstname", "surname", "middlename"}:
            return INVALID
        if not all(isinstance(v, str) for v in value.values() if v is not None):
            return INVALID
        if spec.required and not (str(value.get("firstname") or "").strip() and
                                  str(value.get("surname") or "").strip()):
            return REQUIRED
        parts = [str(v) for v in value.values() if v]
        if any(not valid_english_name(p) or len(p) > _MAX_NAME_LENGTH for p in parts):
            return _NAME_MESSAGE
        return None
    if kind == DATE:
        return None if _date(value) is not None else INVALID_DATE
    if kind in (SELECT, RADIO):
        if not isinstance(value, str):
            return INVALID
        return INVALID if spec.options and value not in spec.options else None
    if kind in (TEXT, TEXTAREA, ID, COUNTRY, PHONE, HIDDEN_VALUE):
        return None if isinstance(value, str) else INVALID
    if kind == EMAIL:
        return None if isinstance(value, str) and _EMAIL.match(value) else INVALID_EMAIL
    if kind == NUMBER:
        return None if isinstance(value, int | float) and not isinstance(value, bool) else INVALID
    if kind == CHECKBOX:
        return None if isinstance(value, bool) else INVALID
    if kind == AGE:
        ok = isinstance(value, Mapping) and isinstance(value.get("age"), int | float) and \
            isinstance(value.get("asOfDateRef"), str)
        return None if ok else INVALID
    if kind == LOCATION:
        if not isinstance(value, str) or not locations.location_exists(value):
            return INVALID
        if spec.location_type == locations.HEALTH_FACILITY and not locations.is_health_facility(value):
            return INVALID
        return None
    if kind == ADDRESS:
        return _address_problem(value)
    if kind in (FILE, SIGNATURE):
        return None if _file_value(value) else INVALID
    return None


def _address_problem(value: Any) -> str | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("country"), str):
        return INVALID
    kind = value.get("addressType")
    if kind == "DOMESTIC":
        area = value.get("administrativeArea")
        # isValidAdministrativeLeafLevel: a domestic address names a leaf administrative area.
        return None if isinstance(area, str) and locations.is_leaf_admin_area(area) else INVALID
    if kind == "INTERNATIONAL":
        return None
    return INVALID


def _file_value(value: Any) -> bool:
    if isinstance(value, list):  # FILE_WITH_OPTIONS
        return all(_file_value(v) for v in value)
    return isinstance(value, Mapping) and isinstance(value.get("path"), str) and bool(value["path"]) and \
        isinstance(value.get("originalFilename"), str) and isinstance(value.get("type"), str)


def file_paths(value: Any) -> list[str]:
    """Uploaded-file paths inside a FILE / SIGNATURE value."""
    if isinstance(value, list):
        return [p for v in value for p in file_paths(v)]
    if isinstance(value, Mapping) and isinstance(value.get("path"), str):
        return [value["path"]]
    return []


# ---------------------------------------------------------------------------------------------- people


def _person(prefix: str, shown: Condition, *, dob_checks: tuple[Check, ...], age_range: tuple[int, int],
            secured_dob: bool, nid_unique_with: tuple[str, ...]) -> list[FormField]:
    """The name / dob / age / nationality / id block shared by mother, father, informant, deceased, spouse."""
    p = prefix
    dob_unknown = _is(f"{p}.dobUnknown", True)
    return [
        FormField(f"{p}.verified", ANY, shown=shown), FormField(f"{p}.query-params", ANY, shown=shown),
        FormField(f"{p}.verify-nid-http-fetch", ANY, shown=shown), FormField(f"{p}.fetch-loader", ANY, shown=shown),
        FormField(f"{p}.id-reader", ANY, shown=shown),
        FormField(f"{p}.name", NAME, required=True, shown=shown),
        FormField(f"{p}.dob", DATE, required=True, secured=secured_dob, shown=_and(_not(dob_unknown), shown),
                  checks=dob_checks),
        FormField(f"{p}.dobUnknown", CHECKBOX, shown=shown),
        FormField(f"{p}.age", AGE, required=True, shown=_and(dob_unknown, shown), checks=(_age_between(*age_range),)),
        FormField(f"{p}.nationality", COUNTRY, required=True, shown=shown),
        FormField(f"{p}.idType", SELECT, required=True, options=ID_TYPES, shown=shown),
        FormField(f"{p}.nid", ID, required=True, shown=_and(_is(f"{p}.idType", "NATIONAL_ID"), shown),
                  checks=(_nid_check, _unique_nid(*nid_unique_with))),
        FormField(f"{p}.passport", TEXT, required=True, shown=_and(_is(f"{p}.idType", "PASSPORT"), shown)),
        FormField(f"{p}.brn", TEXT, required=True,
                  shown=_and(_is(f"{p}.idType", "BIRTH_REGISTRATION_NUMBER"), shown)),
    ]


ID_TYPES = ("NATIONAL_ID", "PASSPORT", "BIRTH_REGISTRATION_NUMBER", "NONE")  # src/events/utils/person.ts
YES_NO = ("YES", "NO")
GENDERS = ("male", "female", "unknown")
_MUST_BE_BIRTHDATE = "Must be a valid Birthdate"


def _fields(*groups: list[FormField] | FormField) -> dict[str, FormField]:
    out: dict[str, FormField] = {}
    for group in groups:
        for item in group if isinstance(group, list) else [group]:
            out[item.id] = item
    return out


def _review() -> dict[str, FormField]:
    """The DECLARE review page: a comment and a signature (declaration.ts `..._DECLARATION_REVIEW`)."""
    return _fields(FormField("review.comment", TEXTAREA, required=True),
                   FormField("review.signature", SIGNATURE, required=True))


# ---------------------------------------------------------------------------------------------- birth

BIRTH_INFORMANTS = ("MOTHER", "FATHER", "OTHER", "GRANDFATHER", "GRANDMOTHER", "BROTHER", "SISTER", "LEGAL_GUARDIAN")
PLACES_OF_BIRTH = ("HEALTH_FACILITY", "PRIVATE_HOME", "OTHER")
BIRTH_LATE_REGISTRATION_TARGET_DAYS = 365  # src/events/utils/constants.ts


def _informant_other_than_parent(form: Form, _ctx: Context) -> bool:
    relation = form.get("informant.relation")
    return not _falsy(relation) and relation not in ("MOTHER", "FATHER")


def _require_parent(parent: str, relation: str) -> Condition:
    """requireMotherDetails / requireFatherDetails (pages/mother.ts, father.ts)."""
    return _or(lambda form, _ctx: _falsy(form.get(f"{parent}.detailsNotAvailable")), _is("informant.relation", relation))


def _birth_form() -> EventForm:
    mother_shown = _require_parent("mother", "MOTHER")
    father_shown = _require_parent("father", "FATHER")
    informant_shown: Condition = _informant_other_than_parent
    not_mother_informant = _not(_is("informant.relation", "MOTHER"))
    not_father_informant = _not(_is("informant.relation", "FATHER"))
    child = [
        FormField("child.nid", TEXT, shown=lambda _f, _c: False),
        FormField("child.name", NAME, required=True),
        FormField("child.gender", SELECT, required=True, options=GENDERS),
        FormField("child.dob", DATE, required=True, secured=True, checks=(_before_now(_MUST_BE_BIRTHDATE),)),
        FormField("child.reason", TEXT, required=True, shown=_late("child.dob", BIRTH_LATE_REGISTRATION_TARGET_DAYS)),
        FormField("child.divider1", ANY),
        FormField("child.placeOfBirth", SELECT, required=True, secured=True, options=PLACES_OF_BIRTH),
        FormField("child.birthLocation", LOCATION, required=True, secured=True,
                  location_type=locations.HEALTH_FACILITY, shown=_is("child.placeOfBirth", "HEALTH_FACILITY")),
        FormField("child.birthLocation.privateHome", ADDRESS, required=True, secured=True,
                  shown=_is("child.placeOfBirth", "PRIVATE_HOME")),
        FormField("child.birthLocation.other", ADDRESS, required=True, secured=True,
                  shown=_is("child.placeOfBirth", "OTHER")),
        FormField("child.birthLocationId", HIDDEN_VALUE),
        FormField("child.divider2", ANY),
        FormField("child.attendantAtBirth", SELECT, options=(
            "PHYSICIAN", "NURSE", "MIDWIFE", "OTHER_PARAMEDICAL_PERSONNEL", "LAYPERSON",
            "TRADITIONAL_BIRTH_ATTENDANT", "NONE")),
        FormField("child.birthType", SELECT, options=("SINGLE", "TWIN", "TRIPLET", "QUADRUPLET",
                                                        "HIGHER_MULTIPLE_DELIVERY")),
        FormField("child.weightAtBirth", NUMBER, checks=(_weight_check,)),
    ]
    informant = [
        FormField("informant.relation", SELECT, required=True, options=BIRTH_INFORMANTS),
        FormField("informant.other.relation", TEXT, required=True, shown=_is("informant.relation", "OTHER")),
        *_person("informant", informant_shown, secured_dob=False, age_range=(12, 120),
                 dob_checks=(_before_now(_MUST_BE_BIRTHDATE),
                             _before_field("child.dob", "Birth date must be before child's birth date")),
                 nid_unique_with=("mother.nid", "father.nid")),
        FormField("informant.addressDivider1", ANY, shown=informant_shown),
        FormField("informant.addressHelper", ANY, shown=informant_shown),
        FormField("informant.address", ADDRESS, required=True, shown=informant_shown),
        FormField("informant.address.divider.end", ANY, shown=informant_shown),
        FormField("informant.phoneNo", PHONE, secured=True, checks=(_phone_check,)),
        FormField("informant.email", EMAIL, required=True, secured=True),
    ]
    mother = [
        FormField("mother.detailsNotAvailable", CHECKBOX, shown=not_mother_informant),
        FormField("mother.details.divider", ANY, shown=not_mother_informant),
        FormField("mother.reason", TEXT, required=True,
                  shown=_and(_is("mother.detailsNotAvailable", True), not_mother_informant)),
        *_person("mother", mother_shown, secured_dob=True, age_range=(12, 120),
                 dob_checks=(_before_now("Must be a valid birth date"),
                             _before_field("child.dob", "Birth date must be 18 years before child's birth date",
                                           min_days=6570)),
                 nid_unique_with=("father.nid", "informant.nid")),
        FormField("mother.addressDivider1", ANY, shown=mother_shown),
        FormField("mother.addressHelper", ANY, shown=mother_shown),
        FormField("mother.address", ADDRESS, required=True, secured=True, shown=mother_shown),
        FormField("mother.addressDivider2", ANY, shown=mother_shown),
        FormField("mother.maritalStatus", SELECT, shown=mother_shown),
        FormField("mother.educationalAttainment", SELECT, shown=mother_shown),
        FormField("mother.occupation", TEXT, shown=mother_shown),
        FormField("mother.previousBirths", NUMBER, shown=mother_shown),
    ]
    both_parents = _and(lambda f, _c: _falsy(f.get("mother.detailsNotAvailable")),
                        lambda f, _c: _falsy(f.get("father.detailsNotAvailable")))
    father = [
        FormField("father.detailsNotAvailable", CHECKBOX, shown=not_father_informant),
        FormField("father.details.divider", ANY, shown=not_father_informant),
        FormField("father.reason", TEXT, required=True,
                  shown=_and(_is("father.detailsNotAvailable", True), not_father_informant)),
        *_person("father", father_shown, secured_dob=True, age_range=(12, 120),
                 dob_checks=(_before_now(_MUST_BE_BIRTHDATE),
                             _before_field("child.dob", "Birth date must be before child's birth date")),
                 nid_unique_with=("mother.nid", "informant.nid")),
        FormField("father.addressDivider1", ANY, shown=father_shown),
        FormField("father.addressHelper", ANY, shown=father_shown),
        FormField("father.addressSameAs", RADIO, required=True, options=YES_NO, shown=both_parents),
        FormField("father.address", ADDRESS, required=True, secured=True,
                  shown=_and(father_shown, _not(_is("father.addressSameAs", "YES")))),
        FormField("father.addressDivider2", ANY, shown=father_shown),
        FormField("father.maritalStatus", SELECT, shown=father_shown),
        FormField("father.educationalAttainment", SELECT, shown=father_shown),
        FormField("father.occupation", TEXT, shown=father_shown),
    ]
    documents = [
        FormField("documents.helper", ANY),
        FormField("documents.proofOfBirth", FILE),
        FormField("documents.proofOfMother", FILE, shown=mother_shown),
        FormField("documents.proofOfFather", FILE, shown=father_shown),
        FormField("documents.proofOfInformant", FILE, shown=informant_shown),
        FormField("documents.proofOther", FILE, shown=informant_shown),
    ]
    return EventForm("birth", _fields(child, informant, mother, father, documents), _review())


# ---------------------------------------------------------------------------------------------- death

DEATH_INFORMANTS = ("SPOUSE", "SON", "DAUGHTER", "SON_IN_LAW", "DAUGHTER_IN_LAW", "MOTHER", "FATHER", "GRANDSON",
                    "GRANDDAUGHTER", "OTHER")
PLACES_OF_DEATH = ("HEALTH_FACILITY", "DECEASED_USUAL_RESIDENCE", "OTHER")
MANNERS_OF_DEATH = ("MANNER_NATURAL", "MANNER_ACCIDENT", "MANNER_SUICIDE", "MANNER_HOMICIDE", "MANNER_UNDETERMINED")
SOURCES_OF_CAUSE = ("PHYSICIAN", "LAY_REPORTED", "VERBAL_AUTOPSY", "MEDICALLY_CERTIFIED")
DEATH_REGISTRATION_TARGET_DAYS = 45  # src/events/utils/constants.ts


def _death_form() -> EventForm:
    established = _is("eventDetails.causeOfDeathEstablished", True)
    informant_shown: Condition = lambda f, _c: not _falsy(f.get("informant.relation")) and \
        f.get("informant.relation") != "SPOUSE"  # noqa: E731
    spouse_shown = _or(lambda f, _c: _falsy(f.get("spouse.detailsNotAvailable")), _is("informant.relation", "SPOUSE"))
    not_spouse_informant = _not(_is("informant.relation", "SPOUSE"))
    informant_own_address = _and(informant_shown, _is("informant.addressSameAs", "NO"))
    deceased = [
        *_person("deceased", lambda _f, _c: True, secured_dob=False, age_range=(0, 120),
                 dob_checks=(_before_now(_MUST_BE_BIRTHDATE),
                             _before_field("eventDetails.date", "Date of birth must be before the date of death")),
                 nid_unique_with=("informant.nid",)),
        FormField("deceased.gender", SELECT, required=True, options=GENDERS),
        FormField("deceased.maritalStatus", SELECT),
        FormField("deceased.numberOfDependants", NUMBER),
        FormField("deceased.addressDivider", ANY),
        FormField("deceased.addressHelper", ANY),
        FormField("deceased.address", ADDRESS, required=True, secured=True),
    ]
    event_details = [
        FormField("eventDetails.date", DATE, required=True, secured=True,
                  checks=(_before_now("Must be a valid date"),
                          _after_field("deceased.dob", "Date of death must be after the deceased's birth date",
                                       unless="deceased.dobUnknown"))),
        FormField("eventDetails.reasonForLateRegistration", TEXT, required=True,
                  shown=_late("eventDetails.date", DEATH_REGISTRATION_TARGET_DAYS)),
        FormField("eventDetails.divider1", ANY), FormField("eventDetails.addressHelper", ANY),
        FormField("eventDetails.divider2", ANY),
        FormField("eventDetails.placeOfDeath", SELECT, required=True, secured=True, options=PLACES_OF_DEATH),
        FormField("eventDetails.deathLocation", LOCATION, required=True, secured=True,
                  location_type=locations.HEALTH_FACILITY, shown=_is("eventDetails.placeOfDeath", "HEALTH_FACILITY")),
        FormField("eventDetails.deathLocationOther", ADDRESS, required=True, secured=True,
                  shown=_is("eventDetails.placeOfDeath", "OTHER")),
        FormField("eventDetails.deathLocationId", HIDDEN_VALUE),
        FormField("eventDetails.mannerOfDeath", SELECT, options=MANNERS_OF_DEATH),
        FormField("eventDetails.causeOfDeathEstablished", CHECKBOX),
        FormField("eventDetails.sourceCauseDeath", SELECT, required=True, options=SOURCES_OF_CAUSE, shown=established),
        FormField("eventDetails.description", TEXTAREA, required=True,
                  shown=_and(established, _or(_is("eventDetails.sourceCauseDeath", "LAY_REPORTED"),
                                              _is("eventDetails.sourceCauseDeath", "VERBAL_AUTOPSY")))),
    ]
    cause_page = _and(established, _or(_is("eventDetails.sourceCauseDeath", "PHYSICIAN"),
                                       _is("eventDetails.sourceCauseDeath", "MEDICALLY_CERTIFIED")))
    informant = [
        FormField("informant.relation", SELECT, required=True, options=DEATH_INFORMANTS),
        FormField("informant.other.relation", TEXT, required=True, shown=_is("informant.relation", "OTHER")),
        *_person("informant", informant_shown, secured_dob=False, age_range=(12, 120),
                 dob_checks=(_before_now(_MUST_BE_BIRTHDATE),), nid_unique_with=("deceased.nid", "spouse.nid")),
        FormField("informant.addressSameAs", RADIO, required=True, options=YES_NO, shown=informant_shown),
        FormField("informant.addressDivider1", ANY, shown=informant_own_address),
        FormField("informant.addressHelper", ANY, shown=informant_own_address),
        FormField("informant.address", ADDRESS, required=True, shown=informant_own_address),
        FormField("informant.addressDivider2", ANY, shown=informant_own_address),
        FormField("informant.phoneNo", PHONE, secured=True, checks=(_phone_check,)),
        FormField("informant.email", EMAIL, required=True, secured=True),
    ]
    spouse = [
        FormField("spouse.detailsNotAvailable", CHECKBOX, shown=not_spouse_informant),
        FormField("spouse.details.divider", ANY, shown=not_spouse_informant),
        FormField("spouse.reason", TEXT, required=True,
                  shown=_and(_is("spouse.detailsNotAvailable", True), not_spouse_informant)),
        *_person("spouse", spouse_shown, secured_dob=False, age_range=(12, 120),
                 dob_checks=(_before_now(_MUST_BE_BIRTHDATE),), nid_unique_with=("deceased.nid", "informant.nid")),
        FormField("spouse.addressDivider1", ANY, shown=spouse_shown),
        FormField("spouse.addressHelper", ANY, shown=spouse_shown),
        FormField("spouse.addressSameAs", RADIO, required=True, options=YES_NO, shown=spouse_shown),
        FormField("spouse.address", ADDRESS, required=True,
                  shown=_and(spouse_shown, _is("spouse.addressSameAs", "NO"))),
        FormField("spouse.addressDivider2", ANY, shown=spouse_shown),
    ]
    documents = [
        FormField("documents.helper", ANY), FormField("documents.proofOfDeceased", FILE),
        FormField("documents.proofOfInformant", FILE), FormField("documents.proofOfDeath", FILE),
        FormField("documents.proofOfCauseOfDeath", FILE),
    ]
    return EventForm("death", _fields(deceased, event_details, informant, spouse, documents), _review(),
                     dynamic_prefixes=(("causeOfDeathDetails.", cause_page),))


FORMS: dict[str, EventForm] = {"birth": _birth_form(), "death": _death_form()}

# Field ids that carry the event's date and place (birth/index.ts, death/index.ts `dateOfEvent`, `placeOfEvent`).
DATE_OF_EVENT = {"birth": "child.dob", "death": "eventDetails.date"}
PLACE_OF_EVENT = {"birth": "child.birthLocationId", "death": "eventDetails.deathLocationId"}


# ---------------------------------------------------------------------------------------------- validation


def _issue(message: str, field_id: str, value: Any) -> dict[str, Any]:
    return {"message": message, "id": field_id, "value": value}


def unknown_fields(form: EventForm, values: Mapping[str, Any]) -> list[str]:
    """Keys of `values` that are not fields of the form."""
    return [key for key in values if form.field(key) is None]


def notify_issues(form: EventForm, declaration: Mapping[str, Any], annotation: Mapping[str, Any],
                  ctx: Context) -> list[dict[str, Any]]:
    """NOTIFY: unknown keys are 'Unexpected field'; values are checked for type only, nothing is required."""
    issues = [_issue(UNEXPECTED, key, value) for key, value in annotation.items() if key not in form.review]
    for key, value in annotation.items():
        spec = form.review.get(key)
        if spec is not None and value is not None:
            problem = _structural(spec, value, ctx)
            if problem and problem != REQUIRED:
                issues.append(_issue(problem, key, value))
    for key, value in declaration.items():
        spec = form.field(key)
        if spec is None:
            issues.append(_issue(UNEXPECTED, key, value))
            continue
        if value is None:
            continue
        problem = _structural(FormField(spec.id, spec.kind, options=spec.options, location_type=spec.location_type),
                              value, ctx)
        if problem:
            issues.append(_issue(problem, key, value))
    return issues


def declaration_issues(form: EventForm, merged: Mapping[str, Any], update: Mapping[str, Any],
                       ctx: Context) -> list[dict[str, Any]]:
    """DECLARE / REGISTER: hidden keys in the update, then every visible field of the merged declaration.

    The caller has already refused unknown keys (`unknown_fields`).
    """
    hidden = [_issue(HIDDEN, key, value) for key, value in update.items()
              if value is not None and not _falsy_hidden_ok(form, key, merged, ctx)]
    if hidden:
        return hidden
    issues: list[dict[str, Any]] = []
    for spec in form.fields.values():
        if not spec.visible(merged, ctx):
            continue
        value = merged.get(spec.id)
        if value is None or (isinstance(value, str) and not value.strip() and spec.kind != HIDDEN_VALUE):
            if spec.required:
                issues.append(_issue(REQUIRED, spec.id, value))
            continue
        problem = _structural(spec, value, ctx)
        if problem is None:
            problem = next((m for m in (check(value, merged, ctx) for check in spec.checks) if m), None)
        if problem:
            issues.append(_issue(problem, spec.id, value))
    return issues


def _falsy_hidden_ok(form: EventForm, key: str, merged: Mapping[str, Any], ctx: Context) -> bool:
    spec = form.field(key)
    return spec is not None and spec.visible(merged, ctx)


def review_issues(form: EventForm, annotation: Mapping[str, Any], ctx: Context) -> list[dict[str, Any]]:
    """The DECLARE review fields (review.comment, review.signature); other annotation keys are not checked."""
    issues: list[dict[str, Any]] = []
    for spec in form.review.values():
        value = annotation.get(spec.id)
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.required:
                issues.append(_issue(REQUIRED, spec.id, value))
            continue
        problem = _structural(spec, value, ctx)
        if problem:
            issues.append(_issue(problem, spec.id, value))
    return issues

