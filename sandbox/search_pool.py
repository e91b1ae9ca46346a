"""Searches in worker processes: each has its own interpreter (so its own GIL), database connection and fuzzy cache.

In one process, a search's Python work (parsing, building SQL, shaping results) and every write transaction take
turns on one GIL; under 20 clients the one SQLite writer then waits for the GIL between its statements and every
writer queues behind it. With `--search-processes N`, searches run in N spawned workers and the server process
keeps the GIL for HTTP, writes and reads of single records. The WAL lets the workers read while the server writes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sandbox.search import FuzzyCache, SearchQuery, run_search
from sandbox.storage import Store

# One worker's state, set by _start in that worker.
_store: Store | None = None
_cache: FuzzyCache | None = None
_generation: Any = None
_seen = -1


def _start(db_url: str, generation: Any) -> None:
    global _store, _cache, _generation, _seen
    _store = Store(db_url, read_pool_size=1)
    _cache = FuzzyCache()
    _generation, _seen = generation, generation.value


def _search(query: SearchQuery, created_before: str | None) -> dict[str, Any]:
    global _seen
    assert _store is not None and _cache is not None, "the worker was not started"
    now = _generation.value
    if now != _seen:  # the server's vocabulary grew since this worker's last search: its expansions may be stale
        _cache.vocabulary_grew()
        _seen = now
    with _store.read() as conn:
        return run_search(conn, query, created_before, _cache.expand)


class SearchPool:
    """N spawned search workers and the vocabulary generation they watch."""

    def __init__(self, db_url: str, processes: int) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that already runs threads
        self.generation = context.Value("q", 0)
        self.executor = ProcessPoolExecutor(processes, mp_context=context, initializer=_start,
                                            initargs=(db_url, self.generation))

    def vocabulary_grew(self) -> None:
        """Tell every worker to forget its fuzzy expansions (called once a write that added tokens committed)."""
        with self.generation.get_lock():
            self.generation.value += 1

    async def search(self, query: SearchQuery, created_before: str | None) -> dict[str, Any]:
        """Run one parsed search in a worker: {results, total}."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, _search, query, created_before)

    def close(self) -> None:
        """Stop the workers (queued searches are cancelled)."""
        self.executor.shutdown(wait=True, cancel_futures=True)
