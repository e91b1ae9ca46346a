"""Search: parse and validate a SearchInput, then build indexed SQL for it."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from rapidfuzz.distance import OSA
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    TextClause,
    and_,
    bindparam,
    exists,
    false,
    func,
    intersect,
    or_,
    select,
    text,
    true,
)

from sandbox.domain import (
    DATE_SEARCH_FIELDS,
    FUZZY_MIN_LENGTH,
    NAME_SEARCH_FIELDS,
    EventStatus,
    EventType,
    deletion_variants,
    name_tokens,
    parse_date,
)
from sandbox.errors import BadRequest
from sandbox.forms import FORMS
from sandbox.storage import event_flags, events, name_parts

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
SORT_COLUMNS = {"createdAt": events.c.created_at, "updatedAt": events.c.updated_at, "child.dob": events.c.dob,
                "deceased.dob": events.c.dob}
REGISTRATION_NUMBER_KEY = "legalStatuses.REGISTERED.registrationNumber"


@dataclass(frozen=True)
class NameTerm:
    """A name clause on one field: a record matches if any token matches a name part of `field_id`."""

    field_id: str
    fuzzy: bool
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class DateRange:
    """Inclusive date bounds on one column ('YYYY-MM-DD'; either may be open)."""

    target: str
    gte: str | None
    lte: str | None


@dataclass(frozen=True)
class Clause:
    """One clause: all of its parts are ANDed."""

    event_type: str | None = None
    statuses: tuple[str, ...] = ()
    tracking_id: str | None = None
    registration_number: str | None = None
    timestamps: tuple[DateRange, ...] = ()
    dates: tuple[DateRange, ...] = ()
    names: tuple[NameTerm, ...] = ()
    flags_any: tuple[str, ...] = ()
    flags_none: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """A validated SearchInput."""

    combinator: str = "and"
    clauses: tuple[Clause, ...] = ()
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    sort: tuple[tuple[str, str], ...] = (("createdAt", "desc"),)
    fields: list[str] = field(default_factory=list)


def _bad(path: str, message: str) -> BadRequest:
    return BadRequest(f"{path}: {message}", fields=[path])


def _exact_term(value: Any, path: str) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping) or value.get("type", "exact") != "exact" or not isinstance(value.get("term"), str):
        raise _bad(path, 'expected {"type": "exact", "term": "..."}')
    return str(value["term"])


def _date_bound(value: Any, path: str) -> str:
    if isinstance(value, str) and parse_date(value[:10]) is not None and (len(value) == 10 or "T" in value):
        return value[:10]
    raise _bad(path, f"{value!r} is not a date (YYYY-MM-DD)")


def _range(value: Any, path: str, target: str) -> DateRange:
    if not isinstance(value, Mapping):
        raise _bad(path, 'expected {"type": "exact", "term": date} or {"type": "range", "gte", "lte"}')
    kind = value.get("type", "exact")
    if kind == "exact":
        term = _date_bound(value.get("term"), f"{path}.term")
        return DateRange(target, term, term)
    if kind == "range":
        gte = _date_bound(value["gte"], f"{path}.gte") if value.get("gte") is not None else None
        lte = _date_bound(value["lte"], f"{path}.lte") if value.get("lte") is not None else None
        if gte is None and lte is None:
            raise _bad(path, "a range needs gte or lte")
        return DateRange(target, gte, lte)
    raise _bad(f"{path}.type", f"unknown match type {kind!r}; expected exact or range")


def _parse_clause(raw: Any, path: str) -> Clause:
    if not isinstance(raw, Mapping):
        raise _bad(path, "a clause must be an object")
    parts: dict[str, Any] = {}
    timestamps: list[DateRange] = []
    dates: list[DateRange] = []
    names: list[NameTerm] = []
    for key, value in raw.items():
        where = f"{path}.{key}"
        if key == "eventType":
            term = _exact_term(value, where)
            if term not in {t.value for t in EventType}:
                raise _bad(where, f"unknown event type {term!r}")
            parts["event_type"] = term
        elif key == "status":
            if isinstance(value, Mapping) and value.get("type") == "anyOf":
                terms = value.get("terms")
                if not isinstance(terms, list) or not terms or not all(isinstance(t, str) for t in terms):
                    raise _bad(f"{where}.terms", "expected a non-empty list of statuses")
            else:
                terms = [_exact_term(value, where)]
            for term in terms:
                if term not in {s.value for s in EventStatus}:
                    raise _bad(where, f"unknown status {term!r}")
            parts["statuses"] = tuple(terms)
        elif key == "trackingId":
            parts["tracking_id"] = _exact_term(value, where)
        elif key in (REGISTRATION_NUMBER_KEY, "registrationNumber"):
            parts["registration_number"] = _exact_term(value, where)
        elif key in ("createdAt", "updatedAt"):
            timestamps.append(_range(value, where, key))
        elif key == "flags":
            if not isinstance(value, Mapping) or not set(value) <= {"anyOf", "noneOf"}:
                raise _bad(where, 'expected {"anyOf": [...], "noneOf": [...]}')
            for op in ("anyOf", "noneOf"):
                flags = value.get(op, [])
                if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
                    raise _bad(f"{where}.{op}", "expected a list of flag names")
            parts["flags_any"] = tuple(value.get("anyOf", []))
            parts["flags_none"] = tuple(value.get("noneOf", []))
        elif key == "data":
            if not isinstance(value, Mapping):
                raise _bad(where, "expected an object of field id to match")
            for field_id, match in value.items():
                fpath = f"{where}.{field_id}"
                if field_id in DATE_SEARCH_FIELDS:
                    dates.append(_range(match, fpath, field_id))
                elif field_id in NAME_SEARCH_FIELDS:
                    if not isinstance(match, Mapping) or match.get("type", "exact") not in ("exact", "fuzzy"):
                        raise _bad(fpath, 'expected {"type": "exact" | "fuzzy", "term": "first last"}')
                    tokens = name_tokens(match.get("term"))
                    if not tokens:
                        raise _bad(f"{fpath}.term", "expected a non-empty name")
                    names.append(NameTerm(field_id, match.get("type") == "fuzzy", tuple(tokens)))
                else:
                    raise _bad(fpath, "unknown or unsearchable field")
        else:
            raise _bad(where, "unknown clause key")
    return Clause(**parts, timestamps=tuple(timestamps), dates=tuple(dates), names=tuple(names))


def _int(value: Any, path: str, default: int, low: int, high: int | None) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        upper = f" and {high}" if high is not None else " or more"
        raise _bad(path, f"expected a whole number between {low}{upper}" if high else f"expected {low}{upper}")
    return value


def parse_search(raw: Any) -> SearchQuery:
    """Validate a SearchInput; BadRequest names the offending path."""
    if not isinstance(raw, Mapping):
        raise _bad("input", "expected an object with query, limit, offset")
    unknown = set(raw) - {"query", "limit", "offset", "sort"}
    if unknown:
        raise _bad(sorted(unknown)[0], "unknown search key")
    query = raw.get("query", {"type": "and", "clauses": []})
    if not isinstance(query, Mapping):
        raise _bad("query", 'expected {"type": "and" | "or", "clauses": [...]}')
    combinator = query.get("type", "and")
    if combinator not in ("and", "or"):
        raise _bad("query.type", "expected and or or")
    clauses_raw = query.get("clauses", [])
    if not isinstance(clauses_raw, list):
        raise _bad("query.clauses", "expected a list")
    clauses = tuple(_parse_clause(c, f"query.clauses[{i}]") for i, c in enumerate(clauses_raw))
    sort_raw = raw.get("sort") or [{"field": "createdAt", "direction": "desc"}]
    if not isinstance(sort_raw, list):
        raise _bad("sort", "expected a list of {field, direction}")
    sort: list[tuple[str, str]] = []
    for i, item in enumerate(sort_raw):
        if not isinstance(item, Mapping) or item.get("field") not in SORT_COLUMNS:
            raise _bad(f"sort[{i}].field", f"expected one of {', '.join(SORT_COLUMNS)}")
        direction = item.get("direction", "asc")
        if direction not in ("asc", "desc"):
            raise _bad(f"sort[{i}].direction", "expected asc or desc")
        sort.append((item["field"], direction))
    return SearchQuery(combinator=combinator, clauses=clauses,
                       limit=_int(raw.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
                       offset=_int(raw.get("offset"), "offset", 0, 0, None), sort=tuple(sort))


# ---------------------------------------------------------------------------------------------- SQL


# Hot-path statements are prebuilt text (as in sandbox/storage.py): building and cache-keying Core constructs per
# search cost more CPU than SQLite's own work on these index-only queries.
_FUZZY_CANDIDATES = text("SELECT DISTINCT token FROM name_variant WHERE variant IN :variants").bindparams(
    bindparam("variants", expanding=True))


def _name_page_text(*, desc: bool, bounded: bool) -> TextClause:
    """One name term, names only: the page's rows and the total from the name index (see _name_only_statements)."""
    way = "DESC" if desc else "ASC"
    bound = " AND created_at < :created_before" if bounded else ""
    return text(
        "SELECT event.*, page_ids.total FROM event JOIN ("
        "SELECT event_id AS id, created_at AS sort_at, count(*) OVER () AS total FROM ("
        f"SELECT DISTINCT event_id, created_at FROM name_part WHERE field_id = :field_id AND token IN :tokens{bound}"
        f") AS matched ORDER BY created_at {way}, event_id {way} LIMIT :limit OFFSET :offset"
        f") AS page_ids ON page_ids.id = event.id ORDER BY page_ids.sort_at {way}, page_ids.id {way}"
    ).bindparams(bindparam("tokens", expanding=True))


_NAME_PAGES = {(desc, bounded): _name_page_text(desc=desc, bounded=bounded)
               for desc in (True, False) for bounded in (True, False)}


def fuzzy_tokens(conn: Connection, token: str) -> list[str]:
    """Vocabulary tokens within one edit (Damerau/OSA) of `token`, via the deletion-variant index."""
    if len(token) < FUZZY_MIN_LENGTH:
        return [token]
    candidates = conn.execute(_FUZZY_CANDIDATES, {"variants": sorted(deletion_variants(token))}).scalars()
    return sorted(c for c in candidates if OSA.distance(c, token) <= 1)


class FuzzyCache:
    """Memoised fuzzy expansions; the writer bumps the generation whenever the vocabulary grows."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: dict[str, list[str]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._max = max_entries

    def expand(self, conn: Connection, token: str) -> list[str]:
        """Vocabulary tokens within one edit of `token` (cached)."""
        hit = self._entries.get(token)
        if hit is not None:
            return hit
        generation = self._generation
        found = fuzzy_tokens(conn, token)
        with self._lock:
            if generation == self._generation:
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[token] = found
        return found

    def vocabulary_grew(self) -> None:
        """Forget every expansion: a new token may now be within one edit of a cached query token."""
        with self._lock:
            self._generation += 1
            self._entries.clear()


Expander = Callable[[Connection, str], list[str]]


def _next_day(date: str) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=1)).isoformat()


def _term_tokens(conn: Connection, term: NameTerm, expand: Expander) -> list[str]:
    """The vocabulary tokens a name term matches on (its own tokens, or their fuzzy expansions)."""
    matches: list[str] = []
    for token in term.tokens:
        matches.extend(expand(conn, token) if term.fuzzy else [token])
    return sorted(set(matches))


def _name_selects(conn: Connection, terms: Sequence[NameTerm], expand: Expander,
                  *columns: Any, created_before: str | None = None) -> list[Select[Any]] | None:
    """One SELECT of name_part rows per term (a term matches on ANY of its tokens); None if some term cannot match.

    OpenCRVS searches a name with an Elasticsearch `match` on `<field>.__fullname` (default operator OR, fuzziness
    AUTO for fuzzy): packages/events/src/service/indexing/query.ts `generateQuery`. Each field is its own `must`.
    """
    selects: list[Select[Any]] = []
    for term in terms:
        matches = _term_tokens(conn, term, expand)
        if not matches:
            return None
        token_match = name_parts.c.token == matches[0] if len(matches) == 1 else name_parts.c.token.in_(matches)
        conditions = [name_parts.c.field_id == term.field_id, token_match]
        if created_before is not None:
            conditions.append(name_parts.c.created_at < created_before)
        selects.append(select(*columns).where(*conditions))
    return selects


def _name_event_ids(conn: Connection, terms: Sequence[NameTerm], expand: Expander) -> Select[Any] | None:
    """Events matching every name term (None if some term cannot match)."""
    selects = _name_selects(conn, terms, expand, name_parts.c.event_id)
    if selects is None:
        return None
    return selects[0] if len(selects) == 1 else intersect(*selects)  # type: ignore[return-value]


def _name_only_terms(query: SearchQuery) -> tuple[NameTerm, ...] | None:
    """The name terms of a query that is names alone, ordered by createdAt (the registrar's name search)."""
    if len(query.clauses) != 1 or len(query.sort) != 1 or query.sort[0][0] != "createdAt":
        return None
    clause = query.clauses[0]
    return clause.names if clause.names and clause == Clause(names=clause.names) else None


def _name_only_statements(conn: Connection, query: SearchQuery, terms: Sequence[NameTerm], expand: Expander,
                          created_before: str | None) -> tuple[Select[Any], Select[Any]] | None:
    """A name-only search answered from the name index alone: it holds only searchable records and their createdAt,
    so the matches are counted and ordered without a lookup per match; only the page's rows are read."""
    selects = _name_selects(conn, terms, expand, name_parts.c.event_id, name_parts.c.created_at,
                            created_before=created_before)
    if selects is None:
        return None
    matched = (selects[0].distinct() if len(selects) == 1 else intersect(*selects)).subquery("matched")
    desc = query.sort[0][1] == "desc"
    order = [matched.c.created_at.desc(), matched.c.event_id.desc()] if desc else \
        [matched.c.created_at.asc(), matched.c.event_id.asc()]
    page_ids = (select(matched.c.event_id.label("id"), matched.c.created_at.label("sort_at"),
                       func.count().over().label("total"))
                .order_by(*order).limit(query.limit).offset(query.offset)).subquery("page_ids")
    outer = [page_ids.c.sort_at.desc(), page_ids.c.id.desc()] if desc else [page_ids.c.sort_at.asc(),
                                                                            page_ids.c.id.asc()]
    page = select(events, page_ids.c.total).join(page_ids, page_ids.c.id == events.c.id).order_by(*outer)
    return page, select(func.count()).select_from(matched)


def _clause_condition(conn: Connection, clause: Clause, expand: Expander) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if clause.event_type:
        conditions.append(events.c.type == clause.event_type)
    if clause.statuses:
        conditions.append(events.c.status == clause.statuses[0] if len(clause.statuses) == 1
                          else events.c.status.in_(clause.statuses))
    if clause.tracking_id is not None:
        conditions.append(events.c.tracking_id == clause.tracking_id)
    if clause.registration_number is not None:
        conditions.append(events.c.registration_number == clause.registration_number)
    for stamp in clause.timestamps:
        column = events.c.created_at if stamp.target == "createdAt" else events.c.updated_at
        if stamp.gte:
            conditions.append(column >= stamp.gte)
        if stamp.lte:
            conditions.append(column < _next_day(stamp.lte))
    for date in clause.dates:
        event_type, column_name = DATE_SEARCH_FIELDS[date.target]
        column = events.c[column_name]
        conditions.append(events.c.type == event_type.value)
        if date.gte == date.lte and date.gte is not None:
            conditions.append(column == date.gte)
        else:
            if date.gte:
                conditions.append(column >= date.gte)
            if date.lte:
                conditions.append(column <= date.lte)
    if clause.names:
        ids = _name_event_ids(conn, clause.names, expand)
        conditions.append(false() if ids is None else events.c.id.in_(ids))
    if clause.flags_any:
        conditions.append(events.c.id.in_(select(event_flags.c.event_id)
                                          .where(event_flags.c.flag.in_(clause.flags_any))))
    if clause.flags_none:
        conditions.append(~exists().where(event_flags.c.event_id == events.c.id,
                                          event_flags.c.flag.in_(clause.flags_none)))
    return and_(*conditions) if conditions else true()


def where_condition(conn: Connection, query: SearchQuery, created_before: str | None = None,
                    expand: Expander = fuzzy_tokens) -> ColumnElement[bool]:
    """The WHERE condition for a query (`created_before` hides newer records: the search defect)."""
    if query.clauses:
        parts = [_clause_condition(conn, c, expand) for c in query.clauses]
        condition = and_(*parts) if query.combinator == "and" else or_(*parts)
    else:
        condition = true()
    # CREATED records are drafts: OpenCRVS indexes an event only once it is no longer CREATED
    # (service/events/events.ts `isEventIndexable`).
    condition = and_(condition, events.c.status != EventStatus.CREATED.value)
    if created_before is not None:
        condition = and_(condition, events.c.created_at < created_before)
    return condition


def build_statements(conn: Connection, query: SearchQuery, created_before: str | None = None,
                     expand: Expander = fuzzy_tokens) -> tuple[Select[Any], Select[Any]]:
    """The page SELECT and the COUNT for a query."""
    terms = _name_only_terms(query)
    if terms is not None:
        statements = _name_only_statements(conn, query, terms, expand, created_before)
        if statements is not None:
            return statements
    return general_statements(conn, query, created_before, expand)


def general_statements(conn: Connection, query: SearchQuery, created_before: str | None = None,
                       expand: Expander = fuzzy_tokens) -> tuple[Select[Any], Select[Any]]:
    """The page SELECT and the COUNT for any query: the WHERE condition over the event table."""
    condition = where_condition(conn, query, created_before, expand)
    order = []
    for name, direction in query.sort:
        column = SORT_COLUMNS[name]
        order.append(column.desc() if direction == "desc" else column.asc())
    last = query.sort[-1][1] if query.sort else "desc"
    order.append(events.c.id.desc() if last == "desc" else events.c.id.asc())
    # Two phases: choose the page's ids (narrow rows, index-only where possible), then read those rows whole.
    # The page's ids carry the total (a window COUNT over every match), so the matches are read once, not twice.
    page_ids = (select(events.c.id, func.count().over().label("total")).where(condition).order_by(*order)
                .limit(query.limit).offset(query.offset)).subquery("page_ids")
    page = (select(events, page_ids.c.total).join(page_ids, page_ids.c.id == events.c.id).order_by(*order))
    count = select(func.count()).select_from(events).where(condition)
    return page, count


def index_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """An event row as the wire's EventIndex (EventIndex.ts / EventMetadata.ts), secured fields removed.

    Secured fields are searchable but stripped from results (service/indexing/utils.ts `removeSecuredFields`);
    null-valued keys are dropped as `getCurrentEventState`'s deepDropNulls does.
    """
    meta = json.loads(row["meta"]) if row.get("meta") else {}
    secured = FORMS[row["type"]].secured_ids if row["type"] in FORMS else frozenset()
    declaration = {k: v for k, v in json.loads(row["declaration"]).items() if k not in secured}
    document = {
        "id": row["id"], "type": row["type"], "status": row["status"], "trackingId": row["tracking_id"],
        "legalStatuses": meta.get("legalStatuses", {}),
        "createdAt": row["created_at"], "createdBy": row["created_by"],
        "createdByUserType": meta.get("createdByUserType"), "createdAtLocation": row["created_at_location"],
        "updatedAt": row["updated_at"], "updatedBy": meta.get("updatedBy"),
        "updatedAtLocation": meta.get("updatedAtLocation"), "updatedByUserRole": meta.get("updatedByUserRole"),
        "assignedTo": row["assigned_to"], "dateOfEvent": meta.get("dateOfEvent"),
        "placeOfEvent": meta.get("placeOfEvent"), "potentialDuplicates": [],
        "flags": json.loads(row["flags"]), "declaration": declaration,
    }
    return {k: v for k, v in document.items() if v is not None}


def _one_name_page(conn: Connection, query: SearchQuery, expand: Expander,
                   created_before: str | None) -> list[Mapping[str, Any]] | None:
    """The page of a names-only search on one field, from the prebuilt statement; None if it does not apply."""
    terms = _name_only_terms(query)
    if terms is None or len(terms) != 1:
        return None
    tokens = _term_tokens(conn, terms[0], expand)
    if not tokens:
        return None
    params: dict[str, Any] = {"field_id": terms[0].field_id, "tokens": tokens, "limit": query.limit,
                              "offset": query.offset}
    if created_before is not None:
        params["created_before"] = created_before
    statement = _NAME_PAGES[(query.sort[0][1] == "desc", created_before is not None)]
    return cast(list[Mapping[str, Any]], conn.execute(statement, params).mappings().all())


def run_search(conn: Connection, query: SearchQuery, created_before: str | None = None,
               expand: Expander = fuzzy_tokens) -> dict[str, Any]:
    """Execute a query: {results: [EventIndex], total}."""
    named = _one_name_page(conn, query, expand, created_before)
    if named is not None and (named or query.offset == 0):
        return {"results": [index_document(r) for r in named], "total": int(named[0]["total"]) if named else 0}
    page, count = build_statements(conn, query, created_before, expand)
    rows = cast(Sequence[Mapping[str, Any]], conn.execute(page).mappings().all())
    if rows:
        total = int(rows[0]["total"])
    elif query.offset == 0:
        total = 0
    else:
        total = int(conn.execute(count).scalar_one())  # a page past the end: only the COUNT can say how many
    return {"results": [index_document(r) for r in rows], "total": total}
