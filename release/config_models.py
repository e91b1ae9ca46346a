"""release.toml as pydantic models: the one validator of the file, and the source of its JSON Schema.

The models mirror the TOML document table for table (docs/configuration.md is the reference, and
docs/release.schema.json is generated from these classes by ``python -m release.config_schema``). Validation is
strict: TOML already has types, so ``"40"`` is not an integer and ``1`` is not ``true``.

Errors keep the form ``release.toml: <key path>: expected ...``. Every field type carries its own friendly
"expected" text (``_expect``); rules that pydantic cannot state as a type raise ``fail()``, which may point at a key
below the value being checked (``at``). ``config_error`` turns the first pydantic error into the ConfigError the
CLI prints, with the key path quoted the way TOML would (``gates.load.slo."event.search".p95_ms``).

release/config.py turns a validated document into the frozen classes the rest of the tool uses.
"""

from __future__ import annotations

import difflib
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from release.errors import ConfigError

CONFIG_NAME = "release.toml"
GATE_KINDS = ("pytest", "browser", "locust", "command", "migration", "restore-drill", "signoff", "approval",
              "criteria")
AUTOMATED_KINDS = frozenset({"pytest", "browser", "locust", "command", "migration", "restore-drill"})
# Keys that would hold a literal secret; the config names an env var instead.
SECRET_KEYS = frozenset({"client_secret", "secret", "password", "passwd", "token", "api_key", "apikey",
                         "access_token", "private_key", "login_code", "code"})
SLO_LIMITS = ("p50_ms", "p95_ms", "p99_ms", "error_rate", "min_rps")
REPORT_PLACEHOLDERS = frozenset({"version", "previous_version", "tag", "commit"})
#: The placeholders every deploy and promote command may use; [variables] declares more.
DEPLOY_PLACEHOLDERS = frozenset({"version", "commit", "tag", "target"})
#: A target's deploy = "manual": the operator deploys by hand; the tool records that and still smoke-checks.
MANUAL_DEPLOY = "manual"
#: farajaland v2.0.0's role ids in lower case, the keys of a target's `users`: the ten roles that
#: opencrvs-farajaland release/v2.0.0 src/data-seeding/roles/roles.ts defines (crvs_client.deployment.ROLES
#: holds the same list; release/ does not import crvs_client).
ROLE_KEYS = ("hospital_clerk", "community_leader", "registration_agent", "local_registrar", "provincial_registrar",
             "national_registrar", "local_system_admin", "national_system_admin", "performance_manager",
             "embassy_official")
#: The roles the standing suite and the load personas log in as (docs/wire-contract.md section 2).
SUITE_ROLES = ("hospital_clerk", "registration_agent", "local_registrar")
LOCATION_KEYS = ("office", "health_facility", "administrative_area")

DEFAULT_REPORT = {
    "risk": "Release {version} changes a system of record for births and deaths. Automated regression, "
            "load and acceptance gates ran against candidate {tag} (commit {commit}).",
    "impact": "Registration, search and certificate issuance are in scope; users may see a short "
              "interruption while {version} is deployed.",
    "implementation_plan": "Deploy {tag} (commit {commit}) to production, run the smoke check, and move the "
                           "production branch to {commit}.",
    "backout_plan": "Redeploy {previous_version}, move the production branch back, and re-run the smoke check; "
                    "no data migration needs reversing unless stated in the changelog.",
}

# Each pattern is written once and used both by the loader (re.fullmatch) and, where it is the whole rule, by the
# JSON Schema (ECMA-262 regex): the anchors make the two read them the same way.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ENV_VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
VARIABLE_PATTERN = ENV_VAR_PATTERN
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
URL_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"
DURATION_PATTERN = r"^\s*(\d+(\.\d+)?)\s*(ms|s|m|h)?\s*$"
TEXT_PATTERN = r"^\s*\S"  # a string with something in it (the loader says "a non-empty string")
_BAD_REF = re.compile(r"[\s~^:?*\[\\]|\.\.|@\{")  # what git check-ref-format refuses, roughly
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def is_uuid(text: str) -> bool:
    """True for a UUID in its 8-4-4-4-12 hex form (how OpenCRVS ids look)."""
    return re.fullmatch(UUID_PATTERN, text) is not None


def hint(key: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or ''."""
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def key_path(*parts: str | int) -> str:
    """A key path as TOML would write it: dotted, odd parts quoted, list indexes as [i] (slo."event.search")."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + (part if _BARE_KEY.match(part) else json.dumps(part))
    return out


def command_placeholders(template: str) -> tuple[str, ...]:
    """The {name} placeholders a command template uses, in order; ValueError for a malformed one.

    ``{{`` and ``}}`` are literal braces; a conversion or a format spec (``{version!r}``, ``{tag:>9}``) is refused.
    """
    names: list[str] = []
    for _literal, field_name, spec, conversion in string.Formatter().parse(template):
        if field_name is None:
            continue
        if conversion or spec:
            raise ValueError(f"{{{field_name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}: "
                             "a placeholder is a bare {name}")
        if re.fullmatch(VARIABLE_PATTERN, field_name) is None:
            raise ValueError(f"{{{field_name}}} is not a placeholder name")
        names.append(field_name)
    return tuple(names)


# ------------------------------------------------------------------------------------------------ errors

#: The pydantic error type of every rule this module states itself; its ctx holds the text and the sub-key.
CONFIG_ERROR = "release_config"


def fail(expected: str, *at: str | int) -> PydanticCustomError:
    """An error for the value being validated, or for the key `at` below it, saying what was expected."""
    return PydanticCustomError(CONFIG_ERROR, "{expected}", {"expected": expected, "at": at})


def _expect(expected: str | Callable[[Any], str]) -> WrapValidator:
    """Replace any pydantic error of the wrapped type by one plain "expected ..." text (the CLI's wording)."""
    def wrap(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if any(e["type"] == CONFIG_ERROR for e in exc.errors()):
                raise
            raise fail(expected(value) if callable(expected) else expected) from None
    return WrapValidator(wrap)


def _check(rule: Callable[[Any], bool], expected: str | None = None) -> AfterValidator:
    """An after-validator that refuses a value for which `rule` is false: with `expected`, saying so; without,
    as a plain pydantic error that an enclosing _expect words."""
    def check(value: Any) -> Any:
        if not rule(value):
            raise fail(expected) if expected is not None else ValueError("refused")
        return value
    return AfterValidator(check)


#: Loc entries pydantic adds for the member of a tagged union; they are not keys of the file.
_UNION_TAGS: set[str] = set()


def _tag(name: str) -> Tag:
    _UNION_TAGS.add(name)
    return Tag(name)


def loc_key(loc: Sequence[str | int]) -> str:
    """The TOML key path of a pydantic error location (union tags and dict-key markers left out)."""
    return key_path(*(part for part in loc if part != "[key]" and part not in _UNION_TAGS))


def config_error(exc: ValidationError, source: str) -> ConfigError:
    """The ConfigError for the first problem pydantic found, naming the file and the key path."""
    error = exc.errors(include_url=False)[0]
    loc: list[str | int] = list(error["loc"])
    ctx = error.get("ctx") or {}
    if error["type"] == CONFIG_ERROR:
        loc += list(ctx.get("at", ()))
        expected = str(ctx["expected"])
    elif error["type"] in ("dict_type", "model_type", "model_attributes_type"):
        expected = "expected a table"
    elif error["type"] == "missing":
        expected = "expected a value (required)"
    else:  # every field type maps its errors to a text; this is a safety net, not a path tests rely on
        expected = f"expected a valid value ({error['msg']})"
    return ConfigError(source, loc_key(loc) or "(document)", expected)


# ------------------------------------------------------------------------------------------------ schema hints


@dataclass(frozen=True, eq=False)  # hashed by identity: typing hashes Annotated metadata, and keywords is a dict
class _Schema:
    """JSON Schema keywords for editors that the loader checks in Python (a pattern, minItems, ...)."""

    keywords: Mapping[str, Any]

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(self.keywords)
        return json_schema


def _schema(**keywords: Any) -> _Schema:
    return _Schema(keywords)


# ------------------------------------------------------------------------------------------------ value types

_STRING = "expected a non-empty string"
_DURATION_TEXT = 'expected a positive duration like "60s", "2m" or "1h"'

Text = Annotated[str, _expect(_STRING), _check(lambda s: bool(s.strip()), _STRING), _schema(pattern=TEXT_PATTERN)]
Flag = Annotated[bool, _expect("expected true or false")]
PositiveInt = Annotated[int, Field(gt=0), _expect("expected a positive integer")]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), _expect("expected a fraction between 0 and 1")]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False), _expect("expected a positive number of seconds")]
_STRINGS = "expected a list of non-empty strings"
#: A list of non-empty strings; a bad item is named by its index (paths[1]).
StringList = Annotated[list[Annotated[str, _check(lambda s: bool(s.strip())), _expect(_STRINGS),
                                      _schema(pattern=TEXT_PATTERN)]], _expect(_STRINGS)]


def _matching(pattern: str, expected: str) -> AfterValidator:
    """Refuse a string that `pattern` (anchored) does not match; the schema states the same pattern."""
    return _check(lambda s: re.fullmatch(pattern, s) is not None, expected)


def _url(text: str) -> str:
    if re.fullmatch(URL_PATTERN, text) is None:
        raise fail("expected an http:// or https:// URL")
    return text.rstrip("/")


Url = Annotated[Text, AfterValidator(_url), _schema(pattern=URL_PATTERN)]
#: A URL, or a path on the gateway.
UrlOrPath = Annotated[Text, AfterValidator(lambda text: text if text.startswith("/") else _url(text)),
                      _schema(pattern=f"^/|{URL_PATTERN}")]
EnvName = Annotated[Text, _matching(ENV_VAR_PATTERN, "expected the name of an environment variable, e.g. "
                                                     "CRVS_REGISTRAR_PASSWORD"), _schema(pattern=ENV_VAR_PATTERN)]
#: A key naming a target, a gate or a role.
Name = Annotated[str, _matching(NAME_PATTERN, "expected a name of letters, digits, '.', '_' or '-'")]
_NAME_KEYS = {"propertyNames": {"pattern": NAME_PATTERN}}


def _seconds(value: float | str) -> float:
    """A duration in seconds: a positive number, or a text such as "90s", "2m", "1.5h", "500ms"."""
    if isinstance(value, str):
        match = re.fullmatch(DURATION_PATTERN, value, re.ASCII)  # ASCII digits, as the schema's ECMA \d
        if match is None or float(match.group(1)) <= 0:
            raise ValueError("not a duration")
        return float(match.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[match.group(3)]
    return float(value)


Duration = Annotated[Union[Annotated[float, Field(gt=0, allow_inf_nan=False)],  # noqa: UP007 (pydantic reads it)
                           Annotated[str, Field(pattern=DURATION_PATTERN)]],
                     AfterValidator(_seconds), _expect(_DURATION_TEXT)]


def _version_once(text: str) -> str:
    if text.count("{version}") != 1:
        raise fail('expected a format containing {version} once, e.g. "v{version}"')
    return text


def _git_ref(text: str) -> str:
    if _BAD_REF.search(text):
        raise fail("expected a valid git ref name")
    return text


#: A branch name; a RefFormat holds {version} once (a branch or tag name once the version is put in).
RefName = Annotated[Text, AfterValidator(_git_ref)]
RefFormat = Annotated[Text, AfterValidator(_version_once), AfterValidator(_git_ref), _schema(pattern=r"\{version\}")]


def _report_text(text: str) -> str:
    """A change-record text: {version} {previous_version} {tag} {commit} only, each a bare {name}.

    A conversion or a format spec ({version!x}, {version:>999999999}) would crash or balloon the render.
    """
    try:
        used = command_placeholders(text)
    except ValueError as exc:
        raise fail(f"expected a text with {{placeholders}} ({exc})") from exc
    unknown = sorted(set(used) - REPORT_PLACEHOLDERS)
    if unknown:
        raise fail(f"unknown placeholder {{{unknown[0]}}}; expected "
                   + ", ".join(f"{{{p}}}" for p in sorted(REPORT_PLACEHOLDERS)))
    return text


ReportText = Annotated[Text, AfterValidator(_report_text)]


# ------------------------------------------------------------------------------------------------ tables


class _Table(BaseModel):
    """A TOML table: known keys only (with a did-you-mean hint), no literal secrets, required keys named."""

    # defer_build: the validators are built on the first load, not by every import of release.config.
    # The attribute docstrings are the keys' descriptions in docs/release.schema.json; release.config_schema reads
    # them from this file's source (pydantic's use_attribute_docstrings would cost every command ~0.1 s at import).
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", allow_inf_nan=False, defer_build=True)

    #: The text for a value that is not a table.
    not_a_table: ClassVar[str] = "expected a table"
    #: Why a key that would hold a secret is refused.
    secret_refusal: ClassVar[str] = ("literal secrets are not allowed in release.toml; "
                                     "use client_secret_env to name an environment variable")
    #: The text after "unknown key (hint); " (None: "expected one of <the keys>").
    unknown_expected: ClassVar[str | None] = None
    #: The text for a missing required key (default: a non-empty string is required).
    required_text: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The keys this table may hold, as written in release.toml."""
        return tuple(f.alias or name for name, f in cls.model_fields.items())

    @classmethod
    def refuse(cls, data: dict[str, Any]) -> None:
        """Table-specific refusals that come before the unknown-key check (none by default)."""

    @classmethod
    def check_keys(cls, data: dict[str, Any]) -> None:
        """Table-specific rules on which keys go together, after the unknown-key check (none by default)."""

    @classmethod
    def missing_text(cls, key: str, data: dict[str, Any]) -> str:
        """What to say when the required `key` is missing."""
        return cls.required_text.get(key, f"{_STRING} (required)")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        """A table; then refusals, unknown keys (a secret's name gets its own text), key rules, required keys."""
        if not isinstance(data, dict):
            raise fail(cls.not_a_table)
        cls.refuse(data)
        allowed = cls.keys()
        for key in data:
            if key in allowed:
                continue
            if key.lower() in SECRET_KEYS:
                raise fail(cls.secret_refusal, key)
            expected = cls.unknown_expected or f"expected one of {', '.join(sorted(allowed))}"
            raise fail(f"unknown key{hint(key, allowed)}; {expected}", key)
        cls.check_keys(data)
        for name, info in cls.model_fields.items():
            key = info.alias or name
            if info.is_required() and key not in data:
                raise fail(cls.missing_text(key, data), key)
        return data


class ReleaseTable(_Table):
    """[release]: how versions become branches and tags, and where production is."""

    production_branch: RefName = "production"
    """The branch `release promote` moves (fast-forward only) to the promoted commit."""
    branch: RefFormat = "release/v{version}"
    """The release branch `release prepare` cuts; {version} once (farajaland: "release-v{version}")."""
    tag: RefFormat = "v{version}"
    """Release tags; {version} once. Candidates are tagged <tag>-rc.1, -rc.2, ..."""
    convention: Annotated[Literal["conventional"],
                          _expect('expected "conventional" (Conventional Commits)')] = "conventional"
    """The commit convention that drives `--bump auto`: Conventional Commits."""
    remote: Text | None = None
    """Push branches and tags to this git remote; unset: local only."""
    major_on_zero: Flag = True
    """A breaking change on 0.x bumps the major (0.9.0 -> 1.0.0), as python-semantic-release's major_on_zero;
    false keeps a 0.x project on 0.x (the minor is bumped)."""
    parse_squash_commits: Flag = True
    """Read Conventional Commit lines inside squash-merge bodies, as python-semantic-release 10 does."""


class IdentityTable(_Table):
    """How to learn which build a target runs: exactly one of header, json or command."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["header"]}, {"required": ["json"]},
                                                           {"required": ["command"]}]})

    header: Text | None = None
    """A response header that carries the version (OpenCRVS's gateway sets X-Version on every answer)."""
    path: Annotated[Text, _check(lambda p: p.startswith("/"), 'expected a path on the gateway starting with "/", '
                                                               'e.g. "/ping"'),
                    _schema(pattern="^/")] = "/ping"
    """With header: the gateway path to ask."""
    json_url: UrlOrPath | None = Field(default=None, alias="json")
    """A JSON endpoint (a URL, or a path on the gateway) whose `key` holds the version."""
    key: Text = "version"
    """With json: the (dotted) key of the version in the answer."""
    command: Text | None = None
    """A command whose standard output's first line is the version."""
    timeout_s: Seconds = 10.0
    """How long one probe may take, in seconds."""

    @classmethod
    def check_keys(cls, data: dict[str, Any]) -> None:
        """Exactly one way to probe, and only the keys that go with it."""
        kinds = [k for k in ("header", "json", "command") if k in data]
        if len(kinds) != 1:
            raise fail('expected exactly one of { header = "X-Version", path = "/ping" }, '
                       '{ json = URL, key = "version" } or { command = "..." }')
        allowed = {"header": ("header", "path", "timeout_s"), "json": ("json", "key", "timeout_s"),
                   "command": ("command", "timeout_s")}[kinds[0]]
        for key in data:
            if key not in allowed:
                raise fail(f"expected only {', '.join(allowed)} with {kinds[0]} = ...", key)


class UserTable(_Table):
    """One account: its username, and the env var that holds its password (never the password)."""

    secret_refusal: ClassVar[str] = ("literal passwords are not allowed in release.toml; "
                                     "use password_env to name an environment variable")
    unknown_expected: ClassVar[str | None] = "expected username and password_env"
    required_text: ClassVar[Mapping[str, str]] = {"username": f"{_STRING} (required for each user)",
                                                  "password_env": f"{_STRING} (required for each user)"}

    username: Text
    """The account's username, e.g. "k.mweene"."""
    password_env: EnvName
    """The environment variable that holds this account's password."""


def _pool_kind(value: Any) -> str:
    return "<list>" if isinstance(value, list) else "<table>"


def _pool_rules(pool: UserTable | list[UserTable]) -> UserTable | list[UserTable]:
    if isinstance(pool, list):
        if not pool:
            raise fail("expected a { username, password_env } table or a non-empty list of them")
        names = [account.username for account in pool]
        if len(set(names)) != len(names):
            raise fail("expected each username once in a pool")
    return pool


#: A role's account, or a pool of accounts (the load personas spread over a pool).
UserPool = Annotated[Union[Annotated[UserTable, _tag("<table>")],  # noqa: UP007
                           Annotated[list[UserTable], _tag("<list>"), _schema(minItems=1)]],
                     Discriminator(_pool_kind), AfterValidator(_pool_rules)]
RoleKey = Annotated[str, _check(lambda role: role in ROLE_KEYS),
                    _expect(lambda role: f"unknown role{hint(str(role), ROLE_KEYS)}; expected one of farajaland's "
                                         f"roles in lower case: {', '.join(ROLE_KEYS)}")]


class LocationsTable(_Table):
    """Where the suite and the load personas act: UUIDs or names; a key left out is discovered."""

    office: Text | None = None
    """The CRVS office (e.g. "Ibombo District Office")."""
    health_facility: Text | None = None
    """The place of birth for health-facility declarations (e.g. "Klow Village Hospital")."""
    administrative_area: Text | None = None
    """The administrative area of addresses (e.g. "Klow")."""


def _client_id(value: str) -> str:
    if not is_uuid(value):
        raise fail(f"expected the system client's id, a UUID such as \"4b3e5c7a-8d2f-4a1b-9c6e-0f5d7a2b8c91\" "
                   f"(OpenCRVS integration ids are UUIDs), not {value!r}")
    return value


ClientId = Annotated[Text, AfterValidator(_client_id), _schema(pattern=UUID_PATTERN)]


class TargetTable(_Table):
    """[targets.<name>]: a CRVS deployment the automated gates run against.

    Secrets stay in the environment variables it names; loading the file never needs them.
    """

    required_text: ClassVar[Mapping[str, str]] = {
        "gateway": "expected the gateway's URL (required), e.g. \"https://gateway.staging.example.org\""}

    gateway: Url
    """The gateway's URL (tRPC /events, /auth, /upload): what evidence is bound to."""
    register_url: Url | None = Field(default=None, alias="register")  # `register` would shadow ABCMeta.register
    """The REST register (/api/events); unset: reached via the gateway."""
    config: Url | None = None
    """The country config server (its /ping)."""
    identity: IdentityTable | None = None
    """How to learn which build runs there; unset: the X-Version header of GET /ping on the gateway."""
    client_id: ClientId | None = None
    """The system client (integration) id, a UUID; needs client_secret_env."""
    client_secret_env: EnvName | None = None
    """The environment variable that holds the system client's secret."""
    client_scopes: StringList = Field(default_factory=list)
    """The scopes the system client asks for, e.g. "type=record.search"."""
    users: Annotated[dict[RoleKey, UserPool],
                     _schema(propertyNames={"enum": list(ROLE_KEYS)})] = Field(default_factory=dict)
    """Accounts by farajaland role (lower case): one { username, password_env } table or a list of them."""
    two_fa: Annotated[bool, _expect("expected true or false (is TWO_FA_ENABLED on for this deployment?)")] = False
    """True where the deployment has TWO_FA_ENABLED; then login_code_env is required."""
    login_code_env: EnvName | None = None
    """The environment variable that holds the 2FA login code."""
    locations: LocationsTable = Field(default_factory=LocationsTable)
    """The office, health facility and administrative area the suite uses."""
    deploy: Text | None = None
    """The command that deploys a candidate here, or "manual" (the operator deploys by hand). Placeholders:
    {version} {commit} {tag} {target} and the [variables]; {{ and }} are literal braces. It may print
    RELEASE_IMAGE_<NAME>=<image:tag> lines, recorded as what it deployed."""
    promote: Text | None = None
    """The command that deploys the promoted release here (same placeholders as deploy)."""
    version_timeout_s: Seconds = 120.0
    """How long to wait, in seconds, for the identity probe to report the deployed candidate."""
    deploy_timeout_s: Seconds = 600.0
    """How long the deploy or promote command may run, in seconds, before it is stopped and counts as failed
    (a farajaland deploy workflow may take up to an hour: timeout-minutes 60, plus an approval)."""
    smoke_waiver: Text | None = None
    """Why the post-promote smoke check is skipped for this target (recorded); unset: it runs."""

    @classmethod
    def refuse(cls, data: dict[str, Any]) -> None:
        """The old single-URL target gets a message that says what a target is now."""
        if "url" in data:
            raise fail("a target is a deployment now, not one URL: use gateway = \"https://gateway...\" "
                       "(tRPC, auth, upload) and, optionally, register = \"https://register...\" (REST "
                       "/api/events) and config = \"https://countryconfig...\"", "url")

    @model_validator(mode="after")
    def _pairs(self) -> TargetTable:
        if self.client_id is not None and self.client_secret_env is None:
            raise fail("expected the name of the env var that holds the system client's secret "
                       "(required with client_id)", "client_secret_env")
        if self.client_secret_env is not None and self.client_id is None:
            raise fail("expected the system client's UUID (client_secret_env names its secret)", "client_id")
        if self.two_fa and self.login_code_env is None:
            raise fail("expected the name of the env var that holds the 2FA login code "
                       "(required when two_fa = true)", "login_code_env")
        return self


def _variable_value(text: str) -> str:
    """A variable's literal or default may use the built-ins, one level deep (release/workflow/deploy.py)."""
    try:
        used = command_placeholders(text)
    except ValueError as exc:
        raise fail(f"expected a value with {{name}} placeholders ({exc}; write {{{{ and }}}} for literal "
                   "braces)") from exc
    for name in used:
        if name not in DEPLOY_PLACEHOLDERS:
            raise fail("a variable's value may use only the built-ins "
                       + ", ".join("{" + p + "}" for p in sorted(DEPLOY_PLACEHOLDERS)) + f", not {{{name}}}")
    return text


VariableValue = Annotated[str, _expect(_STRING), AfterValidator(_variable_value)]


class VariableTable(_Table):
    """A variable read from the environment when a command runs, with an optional default."""

    required_text: ClassVar[Mapping[str, str]] = {
        "env": "expected the env var that holds the value, or give the variable a string value"}

    env: EnvName
    """The environment variable that holds the value."""
    default: Annotated[Text, AfterValidator(_variable_value)] | None = None
    """The value when the environment variable is unset or empty; it may use {version} {commit} {tag} {target}."""


def _variable_name(name: str) -> str:
    if re.fullmatch(VARIABLE_PATTERN, name) is None:
        raise fail("expected a variable name of letters, digits and '_' (used as {name} in commands)")
    if name in DEPLOY_PLACEHOLDERS:
        raise fail(f"{{{name}}} is built in; choose another name")
    return name


VariableName = Annotated[str, AfterValidator(_variable_name)]
VariableSpec = Annotated[Union[Annotated[VariableValue, _tag("<text>")],  # noqa: UP007
                               Annotated[VariableTable, _tag("<env>")]],
                         Discriminator(lambda v: "<text>" if isinstance(v, str) else "<env>")]
_VARIABLE_KEYS = {"propertyNames": {"pattern": VARIABLE_PATTERN, "not": {"enum": sorted(DEPLOY_PLACEHOLDERS)}}}


def _members(members: list[str]) -> list[str]:
    seen: set[str] = set()
    for i, member in enumerate(members):
        if member.lower() in seen:
            raise fail(f"expected each person once; {member} is listed twice", i)
        seen.add(member.lower())
    return members


def _a_list(expected: str) -> BeforeValidator:
    """Refuse a value that is not a TOML array before its items are looked at."""
    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise fail(expected)
        return value
    return BeforeValidator(check)


Email = Annotated[str, _check(lambda text: re.fullmatch(EMAIL_PATTERN, text) is not None), _expect("expected an email address like qa@example.org"),
                  _schema(pattern=EMAIL_PATTERN)]
Members = Annotated[list[Email], _a_list("expected a list of email addresses"), AfterValidator(_members)]


# ------------------------------------------------------------------------------------------------ gates


class _Gate(_Table):
    kind: str
    """The gate's kind: pytest, browser, locust, command (automated) or signoff, approval, criteria (people)."""
    description: Text | None = None
    """What the gate checks, shown with it in status and the report."""


class _AutomatedGate(_Gate):
    target: Text = "staging"
    """The [targets] table it runs against."""
    timeout: Duration | None = None
    """How long the run may take: seconds, or "90s", "10m", "1h" (default 1800 s; a load gate: 4 x duration + 300 s)."""


class _SuiteGate(_AutomatedGate):
    markers: Text | None = None
    """A pytest -m expression, e.g. "not slow"."""
    paths: StringList | None = None
    """Test paths to add to the run (`release regression run --path`)."""
    args: StringList | None = None
    """Extra pytest arguments (`release regression run --pytest-arg`)."""


class PytestGate(_SuiteGate):
    """kind = "pytest": the standing regression suite over HTTP (or any pytest paths)."""

    kind: Literal["pytest"]
    """The standing regression suite."""


class BrowserGate(_SuiteGate):
    """kind = "browser": the browser suite (Playwright) against the target."""

    kind: Literal["browser"]
    """The browser tests of the regression suite (pytest -m browser)."""
    chromium: Text | None = None
    """The Chromium to drive (a path, relative to the repository root or absolute); unset: Playwright's own
    Chromium, then Debian's /usr/bin/chromium."""


class LimitsTable(_Table):
    """The limits of one request kind (a locust name such as "event.search")."""

    not_a_table: ClassVar[str] = "expected a table of limits such as { p95_ms = 150 } (or errors = <fraction>)"
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    p50_ms: Annotated[float, Field(gt=0, allow_inf_nan=False),
                      _expect("expected a positive number of milliseconds")] | None = None
    """Median response time limit, in milliseconds."""
    p95_ms: Annotated[float, Field(gt=0, allow_inf_nan=False),
                      _expect("expected a positive number of milliseconds")] | None = None
    """95th percentile response time limit, in milliseconds."""
    p99_ms: Annotated[float, Field(gt=0, allow_inf_nan=False),
                      _expect("expected a positive number of milliseconds")] | None = None
    """99th percentile response time limit, in milliseconds."""
    error_rate: Fraction | None = None
    """The largest share of failed requests, 0 to 1."""
    min_rps: Annotated[float, Field(ge=0, allow_inf_nan=False),
                       _expect("expected a number of requests per second >= 0")] | None = None
    """The lowest acceptable throughput, requests per second."""

    @model_validator(mode="after")
    def _one_limit(self) -> LimitsTable:
        if not self.model_fields_set:
            raise fail(f"expected at least one of {', '.join(SLO_LIMITS)}")
        return self


class SloTable(_Table):
    """Service-level objectives: limits per request kind, and `errors` over all requests."""

    model_config = ConfigDict(extra="allow")
    if TYPE_CHECKING:  # init=False keeps it out of the constructor mypy sees; pydantic 2.7 refuses the Field
        __pydantic_extra__: dict[str, LimitsTable] = Field(init=False)
    else:
        __pydantic_extra__: dict[str, LimitsTable]

    errors: Fraction | None = None
    """The largest share of failed requests over the whole run, 0 to 1."""

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        """Any key is a request kind (its limits table), except `errors`."""
        if not isinstance(data, dict):
            raise fail(cls.not_a_table)
        return data


# The registration path (create -> declare -> register) and search; the same list as load/compare.py's
# DEFAULT_DECIDE (release/ does not import load/; tests/unit/load/test_load_windows.py checks they agree).
DEFAULT_DECIDE = ("event.create", "event.actions.declare.request", "event.actions.register.request", "event.search")


class BaselineTable(_Table):
    """Compare the candidate's load with a baseline: the recorded load evidence of the release in production, or
    an A/B run against another target."""

    against: Text = "production"
    """With mode = "ab": the [targets] table loaded side by side with the candidate."""
    max_slowdown: Fraction = 0.10
    """The largest accepted slowdown, as a fraction (0.10: 10 % slower)."""
    confidence: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False),
                          _expect("expected a confidence level between 0 and 1, e.g. 0.95")] = 0.95
    """The confidence level of the comparison, e.g. 0.95."""
    mode: Annotated[Literal["ab", "evidence"], _expect('expected "ab" or "evidence"')] = "evidence"
    """"evidence": compare with the last passed run of this gate on the release in production (none yet: SLO checks
    only); "ab": load `against` and the candidate in the same window and compare."""
    min_samples: PositiveInt = 30
    """With mode = "ab": the fewest requests per kind the comparison needs."""
    max_tail_slowdown: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False),
                                 _expect("expected a slowdown fraction from 0 to 10, e.g. 0.25")] | None = None
    """With mode = "ab": the largest accepted slowdown of the p95, as a fraction (default 0.25, or max_slowdown
    when that is larger)."""
    decide: StringList = Field(default_factory=lambda: list(DEFAULT_DECIDE))
    """The procedures whose verdict blocks; the others are reported only. [] : every procedure decides."""
    looks: Annotated[int, Field(ge=1, le=20), _expect("expected a whole number of looks from 1 to 20")] = 4
    """With mode = "ab": equally spaced looks at the verdict; the run stops at the first decisive one (1: never
    early). The error each look may spend is fixed in advance (docs/load-statistics.md)."""
    window: Seconds | None = None
    """With mode = "ab": seconds per paired window, the unit the two sides are compared in (default: the duration
    / 20, between 1 and 5 s)."""
    legs: Annotated[int, Field(ge=1, le=10), _expect("expected a whole number of legs from 1 to 10")] = 2
    """With mode = "ab": parts of the run, each starting the two sides in the opposite order to the one before."""

    def options(self) -> dict[str, Any]:
        """The gate options: every key, but the statistics keys added in issue #13 only when set to something
        other than their default, so a gate that does not use them keeps the config hash it had."""
        dumped = self.model_dump()
        return {k: v for k, v in dumped.items() if k not in _BASELINE_V2_DEFAULTS or v != _BASELINE_V2_DEFAULTS[k]}


_BASELINE_V2_DEFAULTS: dict[str, Any] = {"max_tail_slowdown": None, "decide": list(DEFAULT_DECIDE), "looks": 4,
                                          "window": None, "legs": 2}


#: An A/B load gate's defaults when users or duration are not set (release.config._options; docs/load-statistics.md):
#: the paired windows of 20 users over 120 s decide a 10 % median budget on identical builds.
AB_DEFAULT_USERS = 20
AB_DEFAULT_DURATION_S = 120.0


class LocustGate(_AutomatedGate):
    """kind = "locust": a load test with SLOs and an optional baseline comparison."""

    kind: Literal["locust"]
    """A Locust load test."""
    users: PositiveInt = 10
    """Concurrent simulated users (default 10; 20 with baseline mode = "ab")."""
    spawn_rate: Annotated[float, Field(gt=0, allow_inf_nan=False),
                          _expect("expected a positive number of users per second")] | None = None
    """Users started per second (default: all at once, = users)."""
    duration: Duration = Field(default="60s", validate_default=True)
    """How long the load runs: seconds, or "60s", "5m" (default 60 s; 120 s with baseline mode = "ab", which stops
    early once decided)."""
    workers: Annotated[int, Field(ge=0), _expect("expected an integer >= 0")] | None = None
    """Locust processes (`release load run --workers`; default 1, and the load runner needs at least 1)."""
    slo: SloTable = Field(default_factory=SloTable)
    """Limits per request kind, e.g. { "event.search" = { p95_ms = 150 }, errors = 0.001 }."""
    baseline: BaselineTable | None = None
    """Compare with a baseline, e.g. { against = "production", max_slowdown = 0.10 }."""
    scenario: Text | None = None
    """A label for this load mix, recorded with each run: a baseline comparison only uses production evidence
    recorded under the same label."""
    allow_non_loopback: Flag | None = None
    """The load runner refuses a host that is not loopback unless this is true: loading a real deployment (and,
    in A/B mode, its baseline, often production) must be a decision written in release.toml."""


class CommandGate(_AutomatedGate):
    """kind = "command": any command that writes JUnit XML (e.g. an existing Playwright e2e suite)."""

    required_text: ClassVar[Mapping[str, str]] = {
        "run": f'{_STRING} (required for kind = "command")', "junit": f'{_STRING} (required for kind = "command")'}

    kind: Literal["command"]
    """Any command that writes JUnit XML."""
    run: Text
    """The command line; it gets the deployment profile in CRVS_TARGET_FILE and the hosts in RELEASE_TARGET_*."""
    junit: Text
    """The JUnit XML file the command writes."""


def _age_seconds(value: float | str) -> float:
    """A drill's largest age: a positive number of seconds, or a text such as "30d", "12h", "90m"."""
    if isinstance(value, str):
        match = re.fullmatch(AGE_PATTERN, value, re.ASCII)
        if match is None or float(match.group(1)) <= 0:
            raise ValueError("not an age")
        return float(match.group(1)) * {"s": 1, None: 1, "m": 60, "h": 3600, "d": 86400}[match.group(3)]
    return float(value)


AGE_PATTERN = r"^\s*(\d+(\.\d+)?)\s*(s|m|h|d)?\s*$"
Age = Annotated[Union[Annotated[float, Field(gt=0, allow_inf_nan=False)],  # noqa: UP007 (pydantic reads it)
                      Annotated[str, Field(pattern=AGE_PATTERN)]],
                AfterValidator(_age_seconds), _expect('expected a positive age like "30d", "12h" or "90m"')]
_FIELDS = 'expected a list of declaration field ids, e.g. ["eventDetails.date", "child.dob", "mother.name"]'
FieldList = Annotated[list[Annotated[str, _check(lambda s: bool(s.strip())), _expect(_FIELDS),
                                     _schema(pattern=TEXT_PATTERN)]], _expect(_FIELDS)]


class _DataCheckGate(_AutomatedGate):
    """What a migration rehearsal and a restore drill compare (docs/operations.md)."""

    fields: FieldList = Field(default_factory=list)
    """Declaration fields checksummed over every record before and after, e.g. ["eventDetails.date",
    "child.dob", "mother.name"]; record counts per type and status and the registration numbers are always
    compared."""
    labels: Annotated[dict[str, Text], _expect("expected a table of field = \"label\"")] = Field(default_factory=dict)
    """How the record names a field, e.g. { "eventDetails.date" = "date of death" }."""
    scratch_url_env: EnvName | None = None
    """The env var holding a PostgreSQL URL where a throwaway database may be created for the restore (needed
    for PostgreSQL dumps and databases; a SQLite copy goes into the run folder)."""

    @model_validator(mode="after")
    def _labels_name_fields(self) -> _DataCheckGate:
        for i, name in enumerate(self.fields):
            if name in self.fields[:i]:
                raise fail(f"expected each field once; {name!r} is listed twice", "fields", i)
        for name in self.labels:
            if name not in self.fields:
                raise fail(f"expected a field listed in fields{hint(name, self.fields)}", "labels", name)
        return self


class MigrationGate(_DataCheckGate):
    """kind = "migration": restore a copy of production data, run the candidate's migrations, compare."""

    required_text: ClassVar[Mapping[str, str]] = {
        "source": 'expected the backup file or dump to rehearse on (required for kind = "migration")',
        "migrate": 'expected the migration command (required for kind = "migration")',
        "fields": f'{_FIELDS} (required for kind = "migration")'}

    kind: Literal["migration"]
    """A migration rehearsal on a copy of production data."""
    source: Text
    """The data to rehearse on: a SQLite database file or a PostgreSQL dump (pg_dump -Fc), relative to the
    repository root or absolute."""
    migrate: Text
    """The candidate's migration command; {db} is the scratch database (a path, or a URL without its password,
    which is in PGPASSWORD), and {version} {commit} {tag} {out} as in command gates."""
    fields: Annotated[FieldList, _check(bool, f"{_FIELDS} (at least one)"), _schema(minItems=1)]
    """Declaration fields checksummed over every record before and after the migration."""


class RestoreDrillGate(_DataCheckGate):
    """kind = "restore-drill": back up the deployment's database, restore it into scratch, verify and time it."""

    required_text: ClassVar[Mapping[str, str]] = {
        "rto": 'expected the recovery-time objective, e.g. "15m" (required for kind = "restore-drill")'}

    kind: Literal["restore-drill"]
    """A backup-restore drill."""
    target: Text = "production"
    """The [targets] table whose database is drilled (its identity is what the evidence is bound to)."""
    database: Text | None = None
    """The deployment's SQLite database file (the sandbox); or use database_env."""
    database_env: EnvName | None = None
    """The env var holding the deployment's PostgreSQL URL (backed up with pg_dump)."""
    backup: Text | None = None
    """A backup command instead of SQLite's backup API or pg_dump: {db} the database, {backup} the file to write."""
    restore: Text | None = None
    """A restore command instead of SQLite's backup API or pg_restore: {backup} the file, {db} the scratch database."""
    rto: Duration
    """The recovery-time objective: the restore must finish within it, e.g. "15m"."""
    max_age: Age | None = None
    """Accept a drill of this gate that passed within this age (e.g. "30d") instead of drilling per candidate;
    the record shows the drill's age."""

    @model_validator(mode="after")
    def _one_database(self) -> RestoreDrillGate:
        if (self.database is None) == (self.database_env is None):
            raise fail("expected exactly one of database = \"PATH\" (SQLite) or database_env = \"VAR\" "
                       "(PostgreSQL URL)", "database")
        return self


class _PeopleGate(_Gate):
    @classmethod
    def missing_text(cls, key: str, data: dict[str, Any]) -> str:
        """A missing role names the gate's kind."""
        return f'expected a role from [roles] (required for kind = "{data.get("kind")}")'


class SignoffGate(_PeopleGate):
    """kind = "signoff": one person of `role` signs the release off."""

    kind: Literal["signoff"]
    """A sign-off by one person."""
    role: Text
    """The [roles] entry whose members may sign off."""
    require_signature: Flag = False
    """A CLI sign-off or rejection needs an SSH signature that verifies against [signatures] allowed_signers
    (docs/signing.md); web decisions are authenticated by the session instead."""


class ApprovalGate(_PeopleGate):
    """kind = "approval": `quorum` distinct people of `role` approve (preparers and commit authors cannot)."""

    kind: Literal["approval"]
    """Approval by a quorum of distinct people."""
    role: Text
    """The [roles] entry whose members may approve."""
    quorum: PositiveInt = 1
    """How many distinct approvals are needed; at most the number of people in the role."""
    require_signature: Flag = False
    """A CLI approval or rejection needs an SSH signature that verifies against [signatures] allowed_signers
    (docs/signing.md); web decisions are authenticated by the session instead."""


class CriterionTable(_Table):
    """One acceptance criterion: verified by a pytest node id, or attested by hand."""

    required_text: ClassVar[Mapping[str, str]] = {"id": _STRING, "text": _STRING}

    id: Text
    """A unique id, e.g. "AC-1"."""
    text: Text
    """What must hold."""
    verify: Text | None = None
    """The pytest node id that verifies it; unset: attested by hand."""


def _criteria(items: list[CriterionTable]) -> list[CriterionTable]:
    if not items:
        raise fail("expected a non-empty list of { id, text, verify } tables")
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            raise fail(f"expected unique ids; {item.id!r} is used twice", i, "id")
        seen.add(item.id)
    return items


class CriteriaGate(_Gate):
    """kind = "criteria": acceptance criteria, each verified by a test or attested by hand."""

    required_text: ClassVar[Mapping[str, str]] = {"items": "expected a non-empty list of { id, text, verify } tables"}

    kind: Literal["criteria"]
    """Acceptance criteria."""
    items: Annotated[list[CriterionTable], _a_list("expected a non-empty list of { id, text, verify } tables"),
                     AfterValidator(_criteria), _schema(minItems=1)]
    """The criteria: [{ id = "AC-1", text = "...", verify = "path::test" }, ...]."""
    role: Text | None = None
    """The [roles] entry whose members attest criteria by hand; unset: the release-manager role."""
    require_signature: Flag = False
    """A CLI acceptance needs an SSH signature that verifies against [signatures] allowed_signers
    (docs/signing.md)."""


def _gate_kind(value: Any) -> str | None:
    return f"kind={value.get('kind')}" if isinstance(value, dict) else None


def _known_kind(value: Any) -> Any:
    if not isinstance(value, dict):
        raise fail("expected a table")
    kind = value.get("kind")
    if kind not in GATE_KINDS:
        raise fail(f"expected one of {', '.join(GATE_KINDS)}{hint(str(kind), GATE_KINDS)}", "kind")
    return value


Gate = Annotated[Union[Annotated[PytestGate, _tag("kind=pytest")],  # noqa: UP007
                       Annotated[BrowserGate, _tag("kind=browser")],
                       Annotated[LocustGate, _tag("kind=locust")],
                       Annotated[CommandGate, _tag("kind=command")],
                       Annotated[MigrationGate, _tag("kind=migration")],
                       Annotated[RestoreDrillGate, _tag("kind=restore-drill")],
                       Annotated[SignoffGate, _tag("kind=signoff")],
                       Annotated[ApprovalGate, _tag("kind=approval")],
                       Annotated[CriteriaGate, _tag("kind=criteria")]],
                 Discriminator(_gate_kind), BeforeValidator(_known_kind)]


# ------------------------------------------------------------------------------------------------ operations
# [[freeze]] windows, the [emergency] path and the post-promote [watch] (docs/freeze-and-emergency.md, docs/watch.md)

_MOMENT = ('expected a date (2027-08-01) or a date and time (2027-08-01T06:00:00), as a TOML date or an '
           'ISO 8601 text')


def _moment_text(value: Any) -> Any:
    """A TOML date or date-time, or the same as ISO 8601 text, as canonical ISO text (the zone is applied later)."""
    if isinstance(value, date):  # a datetime is a date too; both print as ISO 8601
        return value.isoformat()
    if not isinstance(value, str):
        raise fail(_MOMENT)
    text = value.strip()
    try:
        return (date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)).isoformat()
    except ValueError:
        raise fail(_MOMENT) from None


Moment = Annotated[str, BeforeValidator(_moment_text), _schema(pattern=r"^\d{4}-\d{2}-\d{2}")]


def zone(name: str) -> Any:
    """The IANA time zone called `name` (zoneinfo.ZoneInfo); ValueError when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def window_bounds(start: str, end: str, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of a freeze window as aware datetimes: a date starts at 00:00 in the zone, an end date counts
    through the end of that day (as a waiver's expiry does), and a time with its own UTC offset keeps it."""
    tz = zone(timezone)

    def at(text: str, *, is_end: bool) -> datetime:
        if len(text) == 10:
            day = date.fromisoformat(text) + (timedelta(days=1) if is_end else timedelta(0))
            return datetime(day.year, day.month, day.day, tzinfo=tz)
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)

    return at(start, is_end=False), at(end, is_end=True)


class FreezeTable(_Table):
    """One [[freeze]] window: from `start` to `end` in `timezone`, release promote refuses, naming it."""

    required_text: ClassVar[Mapping[str, str]] = {
        "start": f"{_MOMENT} (required)", "end": f"{_MOMENT} (required)",
        "reason": "expected why nothing is released then, e.g. \"general elections\" (required)"}

    name: Annotated[Text, _matching(NAME_PATTERN, "expected a name of letters, digits, '.', '_' or '-'")] | None = None
    """A short id for the window, e.g. "elections-2027" (default: its reason)."""
    reason: Text
    """Why nothing is released then, e.g. "general elections" or "national census"."""
    start: Moment
    """When the window opens: a date (00:00 in `timezone`) or a date and time."""
    end: Moment
    """When it closes: a date counts through the end of that day; a date and time is the exact moment."""
    timezone: Text = "UTC"
    """The IANA time zone the dates are in, e.g. "Africa/Lusaka"."""

    @model_validator(mode="after")
    def _window(self) -> FreezeTable:
        try:
            opens, closes = window_bounds(self.start, self.end, self.timezone)
        except ValueError as exc:
            raise fail(f"expected an IANA time zone such as \"Africa/Lusaka\" or \"UTC\" ({exc})",
                       "timezone") from None
        if closes <= opens:
            raise fail(f"expected an end after the start ({self.start}); the window would be empty", "end")
        return self


def _freeze_names(windows: list[FreezeTable]) -> list[FreezeTable]:
    seen: set[str] = set()
    for i, window in enumerate(windows):
        label = window.name or window.reason
        if label in seen:
            raise fail(f"expected each window once; {label!r} is used twice (give it a distinct name)", i, "name")
        seen.add(label)
    return windows


class EmergencyTable(_Table):
    """[emergency]: who authorises a promotion inside a freeze window, and who reviews it afterwards."""

    required_text: ClassVar[Mapping[str, str]] = {
        "role": "expected the [roles] entry whose members authorise emergency promotions (required)"}

    role: Text
    """The [roles] entry (an emergency change board) whose members approve an emergency promotion."""
    quorum: PositiveInt = 1
    """How many distinct people of `role` must approve; the promoter, the preparer and commit authors never count."""
    review_role: Text | None = None
    """The [roles] entry whose members record the follow-up review (default: `role`)."""


class WatchTable(_Table):
    """[watch]: after deploy and smoke, load production lightly and compare with the baseline (docs/watch.md)."""

    duration: Duration = Field(default="60s", validate_default=True)
    """How long the watch loads production: seconds, or "60s", "5m"."""
    users: PositiveInt = 5
    """Concurrent simulated users: keep it light, this is production."""
    max_requests: PositiveInt = 20000
    """The most requests the watch sends, whatever the duration."""
    procedures: StringList | None = None
    """The request kinds whose comparison decides (default: every kind both runs have)."""
    weights: Annotated[Text, _matching(r"^\s*[a-z]+\s*=\s*\d+\s*(,\s*[a-z]+\s*=\s*\d+\s*)*$",
                                       'expected persona weights such as "registrar=50,searcher=30,reader=20"')] \
        | None = None
    """The load's persona mix (`release load run --weights`); default: the load gate's mix."""
    baseline: Annotated[Literal["pre-deploy", "evidence"], _expect('expected "pre-deploy" or "evidence"')] = \
        "pre-deploy"
    """"pre-deploy": the same light load on production right before the deploy step; "evidence": the load gate's
    last passed run on the release in production (`gate`)."""
    gate: Text | None = None
    """The locust gate whose production evidence is the baseline (baseline = "evidence") and whose `scenario`
    label it must carry."""
    max_slowdown: Fraction = 0.10
    """The largest accepted slowdown against the baseline, as a fraction."""
    confidence: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False),
                          _expect("expected a confidence level between 0 and 1, e.g. 0.95")] = 0.95
    """The confidence level of the comparison."""
    min_samples: PositiveInt = 30
    """The fewest requests per kind the comparison needs; fewer is INCONCLUSIVE."""
    slo: SloTable | None = None
    """Limits the watch run must also meet, as a locust gate's slo."""
    rollback: Flag = True
    """On FAIL, roll production back at once (Argo Rollouts aborts on a failed analysis); false: mark the release
    FAILED_AFTER_PROMOTE and notify."""
    allow_non_loopback: Flag = False
    """The load runner refuses a host that is not loopback unless this is true (production usually is not)."""


# ------------------------------------------------------------------------------------------------ the document


class ReportTable(_Table):
    """[report]: the change record's texts; placeholders {version} {previous_version} {tag} {commit}."""

    risk: ReportText = DEFAULT_REPORT["risk"]
    """The risk statement."""
    impact: ReportText = DEFAULT_REPORT["impact"]
    """Who and what the change affects."""
    implementation_plan: ReportText = DEFAULT_REPORT["implementation_plan"]
    """How the release is put into production."""
    backout_plan: ReportText = DEFAULT_REPORT["backout_plan"]
    """How it is undone."""


def _repo_path(text: str) -> str:
    parts = text.replace("\\", "/").split("/")
    if text.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", text) or ".." in parts:
        raise fail("expected a path inside the repository, relative to release.toml (e.g. \".allowed_signers\")")
    return text


class SignaturesTable(_Table):
    """[signatures]: who may sign decisions, for gates with require_signature = true (docs/signing.md)."""

    required_text: ClassVar[Mapping[str, str]] = {
        "allowed_signers": "expected the path of an allowed-signers file (required in [signatures])"}

    allowed_signers: Annotated[Text, AfterValidator(_repo_path)]
    """An allowed-signers file in ssh-keygen's format (git's gpg.ssh.allowedSignersFile): one line per person,
    `email namespaces="crvs-release-decision" ssh-ed25519 AAAA...`. A path inside the repository, relative to
    release.toml; only the committed version counts."""


#: The events a webhook may subscribe to (docs/notifications.md).
NOTIFY_EVENTS = ("candidate.ready", "blocked", "decision.recorded", "waiver.recorded", "promoted", "rolled_back",
                 "failed_after_promote", "emergency")
_NOTIFY_EVENT_TEXT = f"expected a list of events from {', '.join(NOTIFY_EVENTS)}"


def _notify_events(events: list[str]) -> list[str]:
    if not events or any(e not in NOTIFY_EVENTS for e in events):
        raise fail(_NOTIFY_EVENT_TEXT)
    return list(dict.fromkeys(events))


class WebhookTable(_Table):
    """[[notify.webhook]]: one receiver of signed JSON (or Slack-compatible) event payloads."""

    secret_refusal: ClassVar[str] = ("literal secrets are not allowed in release.toml; use secret_env to name the "
                                     "environment variable holding the HMAC key")
    required_text: ClassVar[Mapping[str, str]] = {
        "secret_env": "expected the name of the environment variable holding the HMAC-SHA256 key (required)"}

    name: Name | None = None
    """How the outbox and `release notify` name this receiver (default: webhook-1, webhook-2, ...)."""
    url: Url | None = None
    """Where events are POSTed; use url_env instead when the URL itself is a secret (a Slack webhook URL)."""
    url_env: EnvName | None = None
    """An environment variable holding the URL."""
    secret_env: EnvName
    """The environment variable holding the key of the X-Release-Signature-256 HMAC-SHA256 header."""
    events: Annotated[list[str], AfterValidator(_notify_events)] = Field(default_factory=lambda: list(NOTIFY_EVENTS))
    """The events sent (default: all)."""
    format: Literal["json", "slack"] = "json"
    """json: the generic payload; slack: {"text": ...} for a Slack incoming webhook (and compatible chats)."""
    timeout_s: Seconds = 5.0
    """How long one attempt may take."""

    @classmethod
    def check_keys(cls, data: dict[str, Any]) -> None:
        """Exactly one of url and url_env."""
        if ("url" in data) == ("url_env" in data):
            raise fail("expected exactly one of url and url_env", "url")


class NotifyTable(_Table):
    """[notify]: webhooks and how a failing receiver is retried (docs/notifications.md)."""

    webhook: list[WebhookTable] = Field(default_factory=list)
    """The receivers, as [[notify.webhook]] tables."""
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    """Attempts per delivery before it is recorded as failed."""
    backoff_s: Seconds = 2.0
    """The wait before the second attempt; it doubles after each failure (capped at max_backoff_s)."""
    max_backoff_s: Seconds = 300.0
    """The longest wait between attempts."""


def _some_gates(gates: dict[str, Any]) -> dict[str, Any]:
    if not gates:
        raise fail("expected at least one [gates.<name>] table; a release with no gates cannot pass")
    return gates


class ReleaseToml(_Table):
    """release.toml: the configuration of crvs-release (docs/configuration.md)."""

    required_text: ClassVar[Mapping[str, str]] = {
        "gates": "expected at least one [gates.<name>] table; a release with no gates cannot pass"}

    release: ReleaseTable = Field(default_factory=ReleaseTable)
    """Versions, branches, tags and the production branch."""
    targets: Annotated[dict[Name, TargetTable], _schema(**_NAME_KEYS)] = Field(default_factory=dict)
    """The deployments the automated gates run against, by name (e.g. staging, production)."""
    variables: Annotated[dict[VariableName, VariableSpec], _schema(**_VARIABLE_KEYS)] = Field(default_factory=dict)
    """Names deploy and promote commands may use as {name}: a literal, or { env = "VAR", default = "..." }."""
    roles: Annotated[dict[Name, Members], _schema(**_NAME_KEYS)] = Field(default_factory=dict)
    """People by role (email addresses), for signoff, approval and criteria gates."""
    gates: Annotated[dict[Name, Gate], AfterValidator(_some_gates), _schema(minProperties=1, **_NAME_KEYS)]
    """The gates a release candidate must pass, by name."""
    report: ReportTable = Field(default_factory=ReportTable)
    """The change record's texts."""
    signatures: SignaturesTable | None = None
    """Where the SSH keys of the people who sign decisions are listed (docs/signing.md)."""
    notify: NotifyTable = Field(default_factory=NotifyTable)
    """Webhooks told of candidates, decisions, waivers, promotions and rollbacks (docs/notifications.md)."""
    freeze: Annotated[list[FreezeTable], _a_list("expected [[freeze]] tables"),
                      AfterValidator(_freeze_names)] = Field(default_factory=list)
    """Freeze windows ([[freeze]]): promote refuses inside one, unless it is an approved emergency."""
    emergency: EmergencyTable | None = None
    """The emergency path: who may authorise a promotion inside a freeze window."""
    watch: WatchTable | None = None
    """The post-promote watch: light load on production after deploy and smoke, compared with a baseline."""

    @model_validator(mode="after")
    def _cross_table_rules(self) -> ReleaseToml:
        """Rules across tables: commands use declared placeholders; gates name existing targets and roles."""
        self._check_commands()
        for name, gate in self.gates.items():
            self._check_gate(name, gate)
        self._check_operations()
        return self

    def _check_operations(self) -> None:
        """[emergency] names existing roles with enough people; [watch] gate names a locust gate."""
        if self.emergency is not None:
            for key in ("role", "review_role"):
                role = getattr(self.emergency, key)
                if role is not None and role not in self.roles:
                    raise fail(f"expected a role defined in [roles]{hint(role, self.roles)}", "emergency", key)
            if self.emergency.quorum > len(self.roles[self.emergency.role]):
                raise fail(f"expected at most {len(self.roles[self.emergency.role])}, the number of people in role "
                           f"{self.emergency.role!r}", "emergency", "quorum")
        if self.watch is None:
            return
        locust = [n for n, g in self.gates.items() if isinstance(g, LocustGate)]
        if self.watch.gate is not None and self.watch.gate not in locust:
            raise fail(f"expected a gate of kind = \"locust\"{hint(self.watch.gate, locust)}"
                       + (f" ({', '.join(locust)})" if locust else ""), "watch", "gate")
        if self.watch.baseline == "evidence" and self.watch.gate is None and len(locust) != 1:
            raise fail('expected the locust gate whose production evidence is the baseline (baseline = '
                       '"evidence"; gates of kind = "locust": ' + (", ".join(locust) or "none") + ")",
                       "watch", "gate")

    def _check_commands(self) -> None:
        known = DEPLOY_PLACEHOLDERS | set(self.variables)
        for name, target in self.targets.items():
            for key in ("deploy", "promote"):
                template = getattr(target, key)
                if template is None or (key == "deploy" and template == MANUAL_DEPLOY):
                    continue
                try:
                    used = command_placeholders(template)
                except ValueError as exc:
                    raise fail(f"expected a command with {{name}} placeholders ({exc}; write {{{{ and }}}} "
                               "for literal braces)", "targets", name, key) from exc
                for placeholder in used:
                    if placeholder not in known:
                        raise fail(f"unknown placeholder {{{placeholder}}}{hint(placeholder, known)}: declare it "
                                   f"under [variables] ({placeholder} = \"value\" or {placeholder} = "
                                   "{ env = \"VAR\" }); built in: "
                                   + ", ".join("{" + p + "}" for p in sorted(DEPLOY_PLACEHOLDERS)),
                                   "targets", name, key)

    def _check_gate(self, name: str, gate: _Gate) -> None:
        if getattr(gate, "require_signature", False) and self.signatures is None:
            raise fail('expected a [signatures] table with allowed_signers = "PATH" (this gate requires signed '
                       "decisions; docs/signing.md)", "gates", name, "require_signature")
        if isinstance(gate, _AutomatedGate) and gate.target not in self.targets:
            targets = self.targets
            raise fail(f"expected one of the [targets] tables{hint(gate.target, targets)}"
                       + (f" ({', '.join(targets)})" if targets else f" (add [targets.{gate.target}])"),
                       "gates", name, "target")
        role = getattr(gate, "role", None)
        if role is None:
            return
        if role not in self.roles:
            raise fail(f"expected a role defined in [roles]{hint(role, self.roles)}", "gates", name, "role")
        if not self.roles[role]:
            raise fail(f"expected at least one person (gate {name!r} needs this role)", "roles", role)
        if isinstance(gate, ApprovalGate) and gate.quorum > len(self.roles[role]):
            raise fail(f"expected at most {len(self.roles[role])}, the number of people in role {role!r}",
                       "gates", name, "quorum")


def validate_document(data: Mapping[str, Any], source: str) -> ReleaseToml:
    """The validated document; ConfigError naming `source` and the key path of the first problem."""
    try:
        return ReleaseToml.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, source) from None
    except RecursionError:
        raise ConfigError(source, "(document)", "expected tables nested a few levels deep, not hundreds") from None
