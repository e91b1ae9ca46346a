"""Which emergency promotions await their follow-up review, read from the audit chain alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from release.ledger import AuditEvent
from release.workflow.freeze import pending_reviews

pytestmark = pytest.mark.unit


def chain(*links: tuple[str, str]) -> list[AuditEvent]:
    at = datetime(2027, 8, 1, tzinfo=UTC)
    return [AuditEvent(i + 1, at, "x@example.org", action, subject, {}, "0" * 64, "0" * 64)
            for i, (action, subject) in enumerate(links)]


@pytest.mark.parametrize(("links", "pending"), [
    ((), []),
    ((("promotion.claimed", "1.1.0"),), []),  # a normal promotion
    ((("promotion.emergency", "1.1.0"), ("promotion.claimed", "1.1.0")), ["1.1.0"]),
    # the emergency record is written before the claim: a record no claim followed is no promotion
    ((("promotion.emergency", "1.1.0"),), []),
    ((("promotion.claimed", "1.1.0"), ("promotion.emergency", "1.1.0")), []),
    ((("promotion.emergency", "1.1.0"), ("promotion.claimed", "1.1.0"), ("release.reviewed", "1.1.0")), []),
    ((("promotion.emergency", "1.1.0"), ("promotion.claimed", "1.1.0"), ("release.reviewed", "1.2.0")),
     ["1.1.0"]),
    ((("promotion.emergency", "1.1.0"), ("promotion.claimed", "1.1.0"),
      ("promotion.emergency", "1.2.0"), ("promotion.resumed", "1.2.0")), ["1.1.0", "1.2.0"]),
])
def test_pending_reviews(links: tuple[tuple[str, str], ...], pending: list[str]) -> None:
    assert pending_reviews(chain(*links)) == pending
