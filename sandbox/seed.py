"""Deterministic synthetic records (invented names via Faker) bulk-loaded into the sandbox database."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Index, func, select, text
from sqlalchemy.exc import IntegrityError

from sandbox import storage
from sandbox.auth import DEV_USERS, OFFICE_ID
from sandbox.domain import EventStatus, EventType, derive_state, format_registration_number, tracking_id_from
from sandbox.service import index_values, name_index

REFERENCE_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.UTC)  # fixed so dates are deterministic
HISTORY_DAYS = 3 * 365
LOCALES = ("en_KE", "sw", "fr_FR", "en_NG", "zu_ZA", "en_US")
STATUS_WEIGHTS = ((EventStatus.REGISTERED, 70), (EventStatus.DECLARED, 12), (EventStatus.NOTIFIED, 8),
                  (EventStatus.CREATED, 5), (EventStatus.ARCHIVED, 5))
BIRTH_SHARE = 0.6
FIELD_AGENT, REG_AGENT, REGISTRAR = DEV_USERS


class SeedError(RuntimeError):
    """Seeding could not complete (for example the seed was already loaded)."""


@dataclass(frozen=True)
class NamePool:
    """Invented names to sample from."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]


def name_pool(seed: int, size: int = 400) -> NamePool:
    """Build a pool of invented names once per seed (Faker, seeded, mixed locales)."""
    from faker import Faker

    fake = Faker(list(LOCALES))
    fake.seed_instance(seed)
    female: set[str] = set()
    male: set[str] = set()
    surnames: set[str] = set()
    for _ in range(size * 3):
        female.add(fake.first_name_female())
        male.add(fake.first_name_male())
        surnames.add(fake.last_name())
        surnames.add(fake.last_name())
    clean = lambda names: tuple(sorted(n for n in names if n.replace("-", "").replace("'", "").isalpha()))  # noqa: E731
    return NamePool(clean(female), clean(male), clean(surnames))


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _person(rng: random.Random, pool: NamePool, gender: str, surname: str | None = None) -> dict[str, str]:
    first = rng.choice(pool.female if gender == "female" else pool.male)
    return {"firstname": first, "surname": surname or rng.choice(pool.surnames)}


def _declaration(rng: random.Random, pool: NamePool, event_type: EventType, created: dt.datetime) -> dict[str, Any]:
    if event_type is EventType.BIRTH:
        gender = rng.choice(("female", "male"))
        surname = rng.choice(pool.surnames)
        dob = (created - dt.timedelta(days=rng.randrange(0, 365))).date()
        decl: dict[str, Any] = {
            "child.name": _person(rng, pool, gender, surname), "child.gender": gender, "child.dob": dob.isoformat(),
            "child.placeOfBirth": rng.choice(("HEALTH_FACILITY", "PRIVATE_HOME", "OTHER")),
            "child.weightAtBirth": round(rng.uniform(1.8, 4.8), 1),
            "mother.name": _person(rng, pool, "female", surname if rng.random() < 0.7 else None),
            "mother.dob": (dob - dt.timedelta(days=rng.randrange(16 * 365, 45 * 365))).isoformat(),
            "mother.nationality": "FAR", "mother.idType": "NATIONAL_ID",
            "mother.nid": f"{rng.randrange(10**9, 10**10)}",
            "informant.relation": rng.choice(("MOTHER", "MOTHER", "FATHER", "GRANDMOTHER")),
        }
        if rng.random() < 0.5:
            decl["father.name"] = _person(rng, pool, "male", surname)
        return decl
    gender = rng.choice(("female", "male"))
    died = (created - dt.timedelta(days=rng.randrange(0, 60))).date()
    born = died - dt.timedelta(days=rng.randrange(365, 95 * 365))
    decl = {
        "deceased.name": _person(rng, pool, gender), "deceased.gender": gender, "deceased.dob": born.isoformat(),
        "deceased.nationality": "FAR", "deceased.idType": "NATIONAL_ID",
        "deceased.nid": f"{rng.randrange(10**9, 10**10)}", "eventDetails.date": died.isoformat(),
        "eventDetails.causeOfDeath": rng.choice(("NATURAL", "ACCIDENT", "UNKNOWN")),
        "eventDetails.placeOfDeath": rng.choice(("HEALTH_FACILITY", "PRIVATE_HOME", "OTHER")),
        "informant.relation": rng.choice(("SPOUSE", "SON", "DAUGHTER", "OTHER")),
    }
    if rng.random() < 0.5:
        decl["informant.name"] = _person(rng, pool, rng.choice(("female", "male")))
    return decl


class _Batch:
    """Rows of one bulk insert."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.flags: list[dict[str, Any]] = []
        self.names: list[dict[str, Any]] = []
        self.numbers: list[dict[str, Any]] = []


def _ordered_uuid(record: int, part: int, rng: random.Random) -> str:
    """A version-4-shaped UUID whose leading hex digits are the record number (then the part), rest random."""
    return str(uuid.UUID(int=(record << 96) | (part << 88) | rng.getrandbits(88), version=4))


def _record(i: int, seed: int, rng: random.Random, pool: NamePool, batch: _Batch, tracking_ids: set[str],
            next_number: Callable[[], int], status_table: list[EventStatus]) -> None:
    event_type = EventType.BIRTH if rng.random() < BIRTH_SHARE else EventType.DEATH
    status = status_table[rng.randrange(len(status_table))]
    created = REFERENCE_NOW - dt.timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
    # Ids grow with the record number so bulk inserts append to the primary-key B-trees instead of splitting them.
    event_id = _ordered_uuid(i, 0, rng)
    while True:
        tracking = tracking_id_from(event_type, [rng.randrange(32) for _ in range(6)])
        if tracking not in tracking_ids:
            tracking_ids.add(tracking)
            break
    declaration = _declaration(rng, pool, event_type, created)
    test_data = rng.random() < 0.01
    moment = created
    history: list[dict[str, Any]] = []

    def act(kind: str, user: Any, **extra: Any) -> None:
        nonlocal moment
        moment += dt.timedelta(minutes=rng.randrange(1, 600))
        history.append({"id": _ordered_uuid(i, len(history), rng), "type": kind,
                        "status": "Accepted", "createdAt": _iso(moment), "createdBy": user.id,
                        "createdByRole": user.role, "createdAtLocation": OFFICE_ID,
                        "transactionId": f"seed-{seed}-{i}-{len(history)}", **extra})

    annotation = {"test-data": "crvs-release"} if test_data else {}
    history.append({"id": _ordered_uuid(i, 0, rng), "type": "CREATE",
                    "status": "Accepted", "createdAt": _iso(created), "createdBy": FIELD_AGENT.id,
                    "createdByRole": FIELD_AGENT.role, "createdAtLocation": OFFICE_ID,
                    "transactionId": f"seed-{seed}-{i}-0", "annotation": annotation})
    if status is EventStatus.NOTIFIED:
        partial = dict(declaration)
        if rng.random() < 0.4:
            partial.pop("informant.relation", None)
        act("NOTIFY", FIELD_AGENT, declaration=partial)
    elif status is not EventStatus.CREATED:
        act("DECLARE", FIELD_AGENT, declaration=declaration, annotation=annotation)
        if status is EventStatus.DECLARED and rng.random() < 0.15:
            act("REJECT", REG_AGENT, reason={"message": "Mother's name does not match the ID"})
        elif status is EventStatus.REGISTERED:
            act("ASSIGN", REGISTRAR, assignedTo=REGISTRAR.id)
            number = format_registration_number(next_number())
            act("REGISTER", REGISTRAR, registrationNumber=number)
            batch.numbers.append({"number": number, "event_id": event_id})
            if rng.random() < 0.4:
                act("PRINT_CERTIFICATE", REGISTRAR)
        elif status is EventStatus.ARCHIVED:
            act("ARCHIVE", REG_AGENT)
    state = derive_state(event_type, history)
    batch.events.append({
        "id": event_id, "type": event_type.value, "tracking_id": tracking, "created_at": _iso(created),
        "created_by": FIELD_AGENT.id, "created_by_role": FIELD_AGENT.role, "created_at_location": OFFICE_ID,
        "create_transaction_id": f"seed-{seed}-{i}-0", "replay": 0, **index_values(event_type, state)})
    core = {"id", "type", "status", "createdAt", "createdBy", "createdByRole", "createdAtLocation", "transactionId"}
    for position, action in enumerate(history):
        payload = {k: v for k, v in action.items() if k not in core}
        batch.actions.append({
            "id": action["id"], "event_id": event_id, "position": position, "type": action["type"],
            "status": "Accepted", "created_at": action["createdAt"], "created_by": action["createdBy"],
            "created_by_role": action["createdByRole"], "created_at_location": action["createdAtLocation"],
            "transaction_id": action["transactionId"], "replay": 0,
            "payload": storage.dumps({"declaration": {}, "annotation": {}, **payload})})
    batch.flags.extend({"event_id": event_id, "flag": f} for f in sorted(state.flags))
    batch.names.extend({"event_id": event_id, "field_id": f, "token": t} for f, t in name_index(state.declaration))


def _flush(conn: Connection, batch: _Batch) -> None:
    """Plain DBAPI executemany: SQLAlchemy's per-row parameter processing would dominate a bulk load."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for table, rows in ((storage.events, batch.events), (storage.actions, batch.actions),
                        (storage.event_flags, batch.flags), (storage.name_parts, batch.names),
                        (storage.registration_numbers, batch.numbers)):
        if not rows:
            continue
        names = [c.name for c in table.columns]
        sql = (f'INSERT INTO "{table.name}" ({", ".join(chr(34) + n + chr(34) for n in names)}) '
               f'VALUES ({", ".join([mark] * len(names))})')
        conn.exec_driver_sql(sql, [tuple(row.get(n) for n in names) for row in rows])


def _drop_indexes(conn: Connection) -> None:
    for index in storage.SECONDARY_INDEXES:
        conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))


def _create_indexes(conn: Connection) -> None:
    for index in storage.SECONDARY_INDEXES:
        Index.create(index, conn, checkfirst=True)


def seed_database(url: str, *, records: int, seed: int, batch: int = 10000,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Load `records` synthetic records; same seed => identical rows. Returns counts and timing."""
    started = time.perf_counter()
    storage.Store(url).create_schema()
    engine = storage.bulk_engine(url)
    rng = random.Random(seed)
    pool = name_pool(seed)
    status_table = [s for s, w in STATUS_WEIGHTS for _ in range(w)]
    tracking_ids: set[str] = set()
    tokens: set[str] = set()
    try:
        with engine.connect() as conn:
            with conn.begin():
                start_number = storage.peek_registration_counter(conn)
                first_record = int(conn.execute(select(func.count()).select_from(storage.events)).scalar_one())
                tracking_ids.update(conn.execute(select(storage.events.c.tracking_id)).scalars())
                _drop_indexes(conn)
            counter = [start_number]

            def next_number() -> int:
                counter[0] += 1
                return counter[0]

            done = 0
            while done < records:
                size = min(batch, records - done)
                rows = _Batch()
                for i in range(first_record + done, first_record + done + size):
                    _record(i, seed, rng, pool, rows, tracking_ids, next_number, status_table)
                tokens.update(r["token"] for r in rows.names)
                with conn.begin():
                    _flush(conn, rows)
                done += size
                if progress and (done % 100000 == 0 or done == records):
                    rate = done / max(time.perf_counter() - started, 1e-9)
                    progress(f"seeded {done}/{records} records ({rate:.0f}/s)")
            with conn.begin():
                from sandbox.domain import deletion_variants

                variant_rows = [{"variant": v, "token": t} for t in sorted(tokens) for v in sorted(deletion_variants(t))]
                for start in range(0, len(variant_rows), 50000):
                    storage.insert_ignore(conn, storage.name_variants, variant_rows[start:start + 50000])
                storage.set_registration_counter(conn, counter[0])
            if progress:
                progress("building indexes")
            with conn.begin():
                _create_indexes(conn)
            if conn.dialect.name == "sqlite":
                with conn.begin():
                    conn.exec_driver_sql("ANALYZE")
    except IntegrityError as exc:
        raise SeedError(f"seed {seed} collides with rows already in the database: {exc.orig}") from None
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    return {"records": records, "seed": seed, "seconds": round(seconds, 3),
            "rate": round(records / seconds, 1) if seconds else 0.0,
            "registration_counter": counter[0]}


def checksum(url: str) -> str:
    """sha256 over every event and action row in primary-key order (determinism checks)."""
    digest = hashlib.sha256()
    store = storage.Store(url)
    try:
        with store.read() as conn:
            for table in (storage.events, storage.actions, storage.event_flags, storage.name_parts,
                          storage.registration_numbers, storage.counters):
                order = list(table.primary_key.columns) or list(table.columns)
                for row in conn.execute(select(table).order_by(*order)):
                    digest.update(repr(tuple(row)).encode())
    finally:
        store.dispose()
    return digest.hexdigest()
