"""SearchInput validation (pure)."""

from __future__ import annotations

import pytest

from sandbox.errors import BadRequest
from sandbox.search import parse_search

pytestmark = pytest.mark.unit


def test_defaults():
    query = parse_search({})
    assert query.limit == 100 and query.offset == 0 and query.sort == (("createdAt", "desc"),)


def test_clauses_parse_into_typed_parts():
    query = parse_search({"query": {"type": "and", "clauses": [{
        "eventType": "birth", "status": {"type": "anyOf", "terms": ["DECLARED", "REGISTERED"]},
        "flags": {"anyOf": ["rejected"], "noneOf": ["test-data"]},
        "data": {"child.name": {"type": "fuzzy", "term": "Banda Chipo"},
                 "child.dob": {"type": "range", "gte": "2024-01-01", "lte": "2024-12-31"}}}]},
        "limit": 5, "offset": 10, "sort": [{"field": "child.dob", "direction": "asc"}]})
    clause = query.clauses[0]
    assert clause.event_type == "birth" and clause.statuses == ("DECLARED", "REGISTERED")
    assert clause.names[0].tokens == ("banda", "chipo") and clause.names[0].fuzzy
    assert clause.dates[0].gte == "2024-01-01" and clause.flags_none == ("test-data",)
    assert (query.limit, query.offset, query.sort) == (5, 10, (("child.dob", "asc"),))


@pytest.mark.parametrize("raw,field", [
    ([], "input"),
    ({"query": {"clauses": {}}}, "query.clauses"),
    ({"query": {"clauses": [{"eventType": "marriage"}]}}, "query.clauses[0].eventType"),
    ({"query": {"clauses": [{"data": {"child.name": {"type": "fuzzy", "term": "  "}}}]}},
     "query.clauses[0].data.child.name.term"),
    ({"query": {"clauses": [{"data": {"child.weightAtBirth": {"type": "exact", "term": "3"}}}]}},
     "query.clauses[0].data.child.weightAtBirth"),
    ({"query": {"clauses": [{"flags": {"allOf": []}}]}}, "query.clauses[0].flags"),
    ({"limit": 0}, "limit"),
    ({"limit": True}, "limit"),
    ({"sort": [{"field": "createdAt", "direction": "up"}]}, "sort[0].direction"),
    ({"page": 2}, "page"),
])
def test_invalid_search_names_the_path(raw, field):
    with pytest.raises(BadRequest) as caught:
        parse_search(raw)
    assert caught.value.fields == [field]
