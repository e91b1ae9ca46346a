"""Benchmark: the migration rehearsal and the backup-restore drill on a large sandbox database (SQLite).

Usage: python benchmarks/ops_drills.py [--records 100000] [--db PATH] [--workdir DIR] [--json]

With --db the source is an existing sandbox database (e.g. artifacts/sandbox-bench-1m.db): it is only ever
opened read-only, and copied with SQLite's backup API into the scratch folder (the empty -wal and -shm files a
read-only open of a WAL database leaves are removed again). Without --db, --records synthetic
records are seeded into the scratch folder first (seeding is timed apart). Each phase runs the same functions
the gates run (release/workflow/drills.py): copy, snapshot, the clean migration (sandbox migrate to its clean
head, which rewrites every declaration), snapshot, compare; then the drill's snapshot-and-backup in one read
transaction, the timed restore, the snapshot of the restored copy, compare. Scratch copies are deleted as soon
as a phase no longer needs them, and the scratch folder at the end (peak disk: about twice the database).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from release.gates.ops import drill_verdict, rehearsal_verdict
from release.workflow.drills import compare_snapshots, snapshot_sqlite, snapshot_sqlite_file, sqlite_copy

FIELDS = ("eventDetails.date", "child.dob", "mother.name")
LABELS = {"eventDetails.date": "date of death"}
RTO_S = 3600.0


class Clock:
    """Named phase timings, in order."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, float]] = []

    def time(self, name: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        value = fn(*args, **kwargs)
        self.phases.append((name, time.perf_counter() - started))
        return value

    def total(self) -> float:
        return sum(seconds for _, seconds in self.phases)


def seed(path: Path, records: int) -> float:
    from sandbox.seed import seed_database

    started = time.perf_counter()
    seed_database(f"sqlite:///{path}", records=records, seed=1)
    return time.perf_counter() - started


def migrate(db: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sandbox", "migrate", "--db", str(db)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"sandbox migrate failed: {proc.stderr.strip()[-500:]}")


def rehearsal(source: Path, scratch: Path) -> tuple[Clock, str, str]:
    clock = Clock()
    db = scratch / "rehearsal.db"
    clock.time("restore a copy (backup API)", sqlite_copy, source, db)
    before = clock.time("snapshot before", snapshot_sqlite_file, db, FIELDS, scratch, "before")
    clock.time("migrate to the clean head", migrate, db)
    after = clock.time("snapshot after", snapshot_sqlite_file, db, FIELDS, scratch, "after")
    comparison = clock.time("compare", compare_snapshots, before, after, FIELDS, LABELS)
    state, reason = rehearsal_verdict(comparison)
    for path in scratch.iterdir():
        path.unlink()
    return clock, state.value, reason


def _snapshot_and_backup(source: Path, backup: Path, scratch: Path):  # type: ignore[no-untyped-def]
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)) as src:
        src.execute("BEGIN")
        snap = snapshot_sqlite(src, FIELDS, scratch, "source")
        with closing(sqlite3.connect(backup)) as dst:
            src.backup(dst)
        src.execute("COMMIT")
    return snap


def drill(source: Path, scratch: Path) -> tuple[Clock, str, str, float]:
    clock = Clock()
    backup, restored = scratch / "backup.db", scratch / "restored.db"
    snap = clock.time("snapshot + backup (one read transaction)", _snapshot_and_backup, source, backup, scratch)
    clock.time("restore (timed against the RTO)", sqlite_copy, backup, restored)
    restore_s = clock.phases[-1][1]
    backup.unlink()
    copy = clock.time("snapshot restored", snapshot_sqlite_file, restored, FIELDS, scratch, "restored")
    comparison = clock.time("compare", compare_snapshots, snap, copy, FIELDS, LABELS)
    state, reason = drill_verdict(comparison, restore_s, RTO_S)
    return clock, state.value, reason, restore_s


def sidecars(db: Path) -> list[Path]:
    """The -wal and -shm files SQLite keeps next to a WAL database."""
    return [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm")]


def remove_new_empty_sidecars(db: Path, existed: set[Path]) -> None:
    """A read-only open of a WAL database leaves an empty -wal and a -shm behind: remove them if we made them."""
    wal, shm = sidecars(db)
    if wal not in existed and shm not in existed and wal.is_file() and wal.stat().st_size == 0:
        wal.unlink()
        shm.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="an existing sandbox database to drill (read-only)")
    parser.add_argument("--workdir", type=Path, help="the scratch folder (default: a temp folder, removed)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ops-drills-", dir=args.workdir))
    seconds_seed = None
    try:
        if args.db:
            source = args.db.resolve()
            existed = {p for p in sidecars(source) if p.exists()}
        else:
            source = work / "source.db"
            seconds_seed = seed(source, args.records)
        scratch = work / "scratch"
        scratch.mkdir()
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as conn:
            records = conn.execute("SELECT count(*) FROM event").fetchone()[0]
        size = source.stat().st_size
        r_clock, r_state, r_reason = rehearsal(source, scratch)
        d_clock, d_state, d_reason, restore_s = drill(source, scratch)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = {"records": records, "db_bytes": size, "seed_s": seconds_seed,
                  "rehearsal": {"state": r_state, "reason": r_reason, "total_s": round(r_clock.total(), 2),
                                "phases": {n: round(s, 2) for n, s in r_clock.phases}},
                  "drill": {"state": d_state, "reason": d_reason, "total_s": round(d_clock.total(), 2),
                            "restore_s": round(restore_s, 2), "phases": {n: round(s, 2) for n, s in d_clock.phases}},
                  "peak_rss_mb": round(rss_mb)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.db:
            remove_new_empty_sidecars(args.db.resolve(), existed)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{records} records, {size / 1e9:.2f} GB" + (f" (seeded in {seconds_seed:.1f} s)" if seconds_seed else ""))
    rows = [(n, s, "") for n, s in r_clock.phases] + [("rehearsal total", r_clock.total(), r_state)]
    rows += [(n, s, "") for n, s in d_clock.phases] + [("drill total", d_clock.total(), d_state)]
    for name, seconds, note in rows:
        print(f"  {name:<44} {seconds:9.2f} s  {note}")
    print(f"rehearsal: {r_reason}\ndrill: {d_reason}\npeak RSS {rss_mb:.0f} MB")
    return 0 if r_state == d_state == "PASSED" else 1


if __name__ == "__main__":
    raise SystemExit(main())
