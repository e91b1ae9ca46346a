"""Tagged synthetic declarations: unique surnames per test, overrides by field id."""

from __future__ import annotations

import pytest

from crvs_client import Locations, Place, SyntheticFactory
from regression.data import Declarations, unique_tag

pytestmark = pytest.mark.unit

PLACES = Locations(Place("o", "Office"), Place("hf", "Hospital"), Place("a", "Area"))


def test_tags_differ_between_tests_and_runs_and_are_letters():
    tags = {unique_tag(run, node) for run in ("r1", "r2") for node in ("a::x", "a::y")}
    assert len(tags) == 4 and all(t.isalpha() and t.islower() and len(t) == 8 for t in tags)


def test_every_surname_carries_the_tag_and_repeats_differ():
    decl = Declarations(SyntheticFactory(1, locations=PLACES), "qzkvmrta")
    first, second = decl.birth(), decl.birth()
    assert first["child.name"]["surname"].endswith("qzkvmrta")
    assert first["mother.name"]["surname"].endswith("qzkvmrta")
    assert first["child.name"]["surname"] != second["child.name"]["surname"] or \
        first["child.name"]["firstname"] != second["child.name"]["firstname"]
    assert second["child.name"]["surname"].endswith("qzkvmrtab")


def test_overrides_use_double_underscore_and_are_not_tagged():
    decl = Declarations(SyntheticFactory(1, locations=PLACES), "tag")
    death = decl.death(eventDetails__date="2024-01-02", deceased__name={"firstname": "A", "surname": "B"})
    assert death["eventDetails.date"] == "2024-01-02"
    assert death["deceased.name"] == {"firstname": "A", "surname": "B"}
