"""CRVS clients for tests: they remember every record they create, so --cleanup archives this run's records.

OpenCRVS v2.0.0 has no test-data flag (the create annotation is not indexed), so the suite keeps its own
registry of what it made, per pytest process, and tags surnames per test (regression/data.py).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from crvs_client import Conflict, CRVSClient, CRVSError


class RecordRegistry:
    """The ids of the records this run created (thread-safe; one per pytest process)."""

    def __init__(self) -> None:
        self._ids: dict[str, None] = {}
        self._lock = threading.Lock()

    def add(self, event_id: str) -> None:
        """Remember a record for --cleanup."""
        with self._lock:
            self._ids[event_id] = None

    def ids(self) -> list[str]:
        """Records in creation order."""
        with self._lock:
            return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class TrackedClient(CRVSClient):
    """A CRVSClient that records the id of every record it creates."""

    registry: RecordRegistry
    label: str = ""

    def __repr__(self) -> str:
        return f"TrackedClient({self.label or self.transport.base_url!r})"

    def create_event(self, event_type: str, *, transaction_id: str | None = None,
                     location_id: str | None = None) -> dict[str, Any]:
        document = super().create_event(event_type, transaction_id=transaction_id, location_id=location_id)
        self.registry.add(str(document["id"]))
        return document

    def rest_create_event(self, event_type: str, *, transaction_id: str | None = None,
                          location_id: str | None = None) -> dict[str, Any]:
        document = super().rest_create_event(event_type, transaction_id=transaction_id, location_id=location_id)
        self.registry.add(str(document["id"]))
        return document


def tracked(client: CRVSClient, registry: RecordRegistry, label: str) -> TrackedClient:
    """Give a TrackedClient (made by Target with cls=TrackedClient) its registry and label."""
    assert isinstance(client, TrackedClient)
    client.registry = registry
    client.label = label
    return client


def archive_records(client: CRVSClient, event_ids: list[str]) -> dict[str, int]:
    """Archive each record as a user who may (assigning it first); counts what happened.

    Registered records cannot be archived in OpenCRVS and are counted as kept.
    """
    counts = {"archived": 0, "kept": 0}
    for event_id in event_ids:
        try:
            # Already assigned to us, or to someone else (then archive answers 409 and the record is kept).
            with contextlib.suppress(Conflict):
                client.assign(event_id)
            client.archive(event_id, "Created by the crvs-release regression suite")
            counts["archived"] += 1
        except CRVSError:
            counts["kept"] += 1
    return counts
