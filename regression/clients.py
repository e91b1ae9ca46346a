"""CRVS clients for tests: they tag every record with the test-data annotation and remember it for cleanup."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from crvs_client import TEST_DATA_ANNOTATION, Conflict, CRVSClient, CRVSError, Unauthorized


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


def _tagged(annotation: Mapping[str, Any] | None) -> dict[str, Any]:
    return {**TEST_DATA_ANNOTATION, **(annotation or {})}


class TrackedClient(CRVSClient):
    """A CRVSClient that annotates CREATE/NOTIFY/DECLARE as test data and records created ids.

    `relogin` renews an expired token once (a long browser run can outlive a 10-minute token).
    """

    def __init__(self, url: str, token: str | None, *, registry: RecordRegistry,
                 relogin: Callable[[CRVSClient], str] | None = None, location_id: str | None = None,
                 label: str = "") -> None:
        super().__init__(url, token, location_id=location_id)
        self.registry = registry
        self._relogin = relogin
        self.label = label

    def __repr__(self) -> str:
        return f"TrackedClient({self.label or self.transport.base_url!r})"

    def _retrying(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Unauthorized:
            if self._relogin is None:
                raise
            self._relogin(self)
            return call()

    def mutation(self, procedure: str, payload: Any) -> Any:
        return self._retrying(lambda: CRVSClient.mutation(self, procedure, payload))

    def query(self, procedure: str, payload: Any) -> Any:
        return self._retrying(lambda: CRVSClient.query(self, procedure, payload))

    def rest(self, method: str, path: str, *, name: str, json_body: Any = None) -> Any:
        return self._retrying(lambda: CRVSClient.rest(self, method, path, name=name, json_body=json_body))

    def create_event(self, event_type: str, *, transaction_id: str | None = None, location_id: str | None = None,
                     annotation: Mapping[str, Any] | None = None) -> dict[str, Any]:
        document = super().create_event(event_type, transaction_id=transaction_id, location_id=location_id,
                                        annotation=_tagged(annotation))
        self.registry.add(str(document["id"]))
        return document

    def rest_create_event(self, event_type: str, *, transaction_id: str | None = None,
                          location_id: str | None = None) -> dict[str, Any]:
        document = super().rest_create_event(event_type, transaction_id=transaction_id, location_id=location_id)
        self.registry.add(str(document["id"]))
        return document

    def declare(self, event_id: str, declaration: Mapping[str, Any], *, transaction_id: str | None = None,
                annotation: Mapping[str, Any] | None = None, keep_assignment: bool | None = None) -> dict[str, Any]:
        return super().declare(event_id, declaration, transaction_id=transaction_id,
                               annotation=_tagged(annotation), keep_assignment=keep_assignment)

    def rest_notify(self, event_id: str, declaration: Mapping[str, Any], *, transaction_id: str | None = None,
                    annotation: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return super().rest_notify(event_id, declaration, transaction_id=transaction_id,
                                   annotation=_tagged(annotation))


def archive_records(client: CRVSClient, event_ids: list[str]) -> dict[str, int]:
    """Archive each record (releasing another user's assignment first); counts what happened."""
    counts = {"archived": 0, "kept": 0}
    for event_id in event_ids:
        try:
            try:
                client.archive(event_id)
            except Conflict:
                client.unassign(event_id)
                client.archive(event_id)
            counts["archived"] += 1
        except CRVSError:
            counts["kept"] += 1  # already archived, or the target forbids archiving it
    return counts
