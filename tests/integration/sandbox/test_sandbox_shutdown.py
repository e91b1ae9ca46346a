"""SIGTERM during writes: the server stops cleanly and every acknowledged write is still there."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest
from sandbox_wire import OFFICE, Api, client_token

from sandbox.process import SandboxProcess

pytestmark = pytest.mark.integration


def test_sigterm_during_writes_loses_nothing_acknowledged(tmp_path):
    db = tmp_path / "shutdown.db"
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    proc = SandboxProcess(db).start()
    token = client_token(proc.url)

    def writer():
        with httpx.Client(base_url=proc.url, timeout=10) as http:
            while not stop.is_set():
                body = {"0": {"json": {"transactionId": str(uuid.uuid4()), "type": "birth",
                                       "createdAtLocation": OFFICE}}}
                try:
                    response = http.post("/events/event.create?batch=1", json=body,
                                         headers={"Authorization": f"Bearer {token}"})
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    with lock:
                        acknowledged.append(response.json()[0]["result"]["data"]["json"]["id"])

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 50 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.terminate()
    code = proc.wait(timeout=20)
    stop.set()
    for thread in threads:
        thread.join(timeout=20)
    proc.stop()
    assert code == 0
    assert len(acknowledged) >= 50, f"only {len(acknowledged)} creates were acknowledged within 60 s"
    with SandboxProcess(db) as again:
        api = Api(again.url, client_token(again.url))
        # CREATED records are not indexed for search (as in OpenCRVS), so each one is read back by id.
        for event_id in acknowledged:
            assert api.call("event.get", {"eventId": event_id})["id"] == event_id
