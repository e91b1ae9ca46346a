"""The sandbox's background WAL checkpointer: writes reach the database file without a commit checkpointing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from sandbox.settings import database_url
from sandbox.storage import BACKSTOP_AUTOCHECKPOINT_PAGES, Store, store_upload

pytestmark = pytest.mark.integration


def _write_uploads(store: Store, count: int) -> None:
    for i in range(count):
        with store.write() as conn:
            store_upload(conn, {"path": f"t-{i}.png", "transaction_id": f"t-{i}", "created_by": "u", "filename": "a.png",
                                "content_type": "image/png", "size": 4096, "created_at": "2026-01-01T00:00:00Z",
                                "data": bytes(4096)})


def _database_pages(db: Path) -> int:
    """Pages in the main database file itself (the WAL's frames not yet copied back are not counted)."""
    return db.stat().st_size // 4096


def _wait_for_growth(db: Path, want: int, deadline_s: float = 20.0) -> int:
    """The database file's pages once it has `want` of them, or at the deadline (the checkpointer ticks)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        now = _database_pages(db)
        if now >= want:
            return now
        time.sleep(0.05)
    return _database_pages(db)


@pytest.mark.parametrize("background", [True, False])
def test_the_wal_reaches_the_database_only_with_the_background_checkpointer(tmp_path: Path,
                                                                            background: bool) -> None:
    db = tmp_path / "sandbox.db"
    store = Store(database_url(db), background_checkpoint=background)
    try:
        store.create_schema()
        with sqlite3.connect(db) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = _database_pages(db)
        _write_uploads(store, 40)  # ~40 pages of blobs: far below SQLite's 1000-page automatic checkpoint
        after = _wait_for_growth(db, before + 40, deadline_s=20.0 if background else 1.0)
        with store.write() as conn:
            autocheckpoint = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    finally:
        store.dispose()
    if background:
        assert after >= before + 40, "the checkpointer did not copy the WAL back into the database file"
        assert autocheckpoint == BACKSTOP_AUTOCHECKPOINT_PAGES
    else:
        assert after == before, "without the checkpointer, 40 pages stay in the WAL until a commit checkpoints"
        assert autocheckpoint == 1000


def test_dispose_stops_the_checkpointer(tmp_path: Path) -> None:
    store = Store(database_url(tmp_path / "sandbox.db"), background_checkpoint=True)
    thread = store._checkpointer
    assert thread is not None and thread.is_alive()
    store.dispose()
    assert not thread.is_alive()
