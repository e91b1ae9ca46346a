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

from sandbox import locations, storage
from sandbox.auth import DEV_USERS
from sandbox.domain import (
    VALIDATE_DECLARATION,
    EventStatus,
    EventType,
    derive_state,
    format_registration_number,
    tracking_id_from,
)
from sandbox.service import index_values, name_index

REFERENCE_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.UTC)  # fixed so dates are deterministic
HISTORY_DAYS = 3 * 365
LOCALES = ("en_KE", "sw", "fr_FR", "en_NG", "zu_ZA", "en_US")
OFFICE_ID = locations.OFFICE_ID
# Leaf administrative areas and health facilities the synthetic declarations point at.
VILLAGES = (locations.KLOW, locations.MBONDO, locations.ISAMBA, locations.ILANGA)
FACILITIES = locations.HEALTH_FACILITY_IDS
STATUS_WEIGHTS = ((EventStatus.REGISTERED, 70), (EventStatus.DECLARED, 12), (EventStatus.NOTIFIED, 8),
                  (EventStatus.CREATED, 5), (EventStatus.ARCHIVED, 5))
BIRTH_SHARE = 0.6
CLERK, REG_AGENT, REGISTRAR = DEV_USERS[:3]


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
    # farajaland's invalidNameValidator accepts English letters, digits, hyphens and apostrophes only.
    clean = lambda names: tuple(sorted(n for n in names  # noqa: E731
                                       if n.replace("-", "").replace("'", "").isascii()
                                       and n.replace("-", "").replace("'", "").isalpha() and len(n) <= 32))
    return NamePool(clean(female), clean(male), clean(surnames))


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _person(rng: random.Random, pool: NamePool, gender: str, surname: str | None = None) -> dict[str, str]:
    first = rng.choice(pool.female if gender == "female" else pool.male)
    return {"firstname": first, "surname": surname or rng.choice(pool.surnames)}


def _address(rng: random.Random) -> dict[str, str]:
    return {"country": "FAR", "addressType": "DOMESTIC", "administrativeArea": rng.choice(VILLAGES)}


def _nid(rng: random.Random) -> str:
    return f"{rng.randrange(10**9, 10**10)}"


def _declaration(rng: random.Random, pool: NamePool, event_type: EventType, created: dt.datetime) -> dict[str, Any]:
    """A declaration farajaland v2.0.0's form accepts (sandbox/forms.py), as of `created`."""
    if event_type is EventType.BIRTH:
        gender = rng.choice(("female", "male"))
        surname = rng.choice(pool.surnames)
        dob = (created - dt.timedelta(days=rng.randrange(1, 360))).date()
        decl: dict[str, Any] = {
            "child.name": _person(rng, pool, gender, surname), "child.gender": gender, "child.dob": dob.isoformat(),
            "child.weightAtBirth": round(rng.uniform(1.8, 4.8), 1),
            "informant.relation": "MOTHER", "informant.email": f"informant{rng.randrange(10**6)}@example.org",
            "mother.name": _person(rng, pool, "female", surname if rng.random() < 0.7 else None),
            "mother.dob": (dob - dt.timedelta(days=rng.randrange(19 * 365, 45 * 365))).isoformat(),
            "mother.nationality": "FAR", "mother.idType": "NATIONAL_ID", "mother.nid": _nid(rng),
            "mother.address": _address(rng),
        }
        if rng.random() < 0.7:
            facility = rng.choice(FACILITIES)
            decl.update({"child.placeOfBirth": "HEALTH_FACILITY", "child.birthLocation": facility,
                         "child.birthLocationId": facility})
        else:
            home = _address(rng)
            decl.update({"child.placeOfBirth": "PRIVATE_HOME", "child.birthLocation.privateHome": home,
                         "child.birthLocationId": home["administrativeArea"]})
        if rng.random() < 0.5:
            decl.update({"father.name": _person(rng, pool, "male", surname),
                         "father.dob": (dob - dt.timedelta(days=rng.randrange(19 * 365, 55 * 365))).isoformat(),
                         "father.nationality": "FAR", "father.idType": "NATIONAL_ID", "father.nid": _nid(rng),
                         "father.addressSameAs": "YES"})
        else:
            decl.update({"father.detailsNotAvailable": True, "father.reason": "Father's details are not known"})
        return decl
    gender = rng.choice(("female", "male"))
    died = (created - dt.timedelta(days=rng.randrange(0, 40))).date()
    born = died - dt.timedelta(days=rng.randrange(365, 95 * 365))
    home = _address(rng)
    decl = {
        "deceased.name": _person(rng, pool, gender), "deceased.gender": gender, "deceased.dob": born.isoformat(),
        "deceased.nationality": "FAR", "deceased.idType": "NATIONAL_ID", "deceased.nid": _nid(rng),
        "deceased.address": home, "eventDetails.date": died.isoformat(),
        "eventDetails.mannerOfDeath": rng.choice(("MANNER_NATURAL", "MANNER_ACCIDENT", "MANNER_UNDETERMINED")),
        "informant.email": f"informant{rng.randrange(10**6)}@example.org",
        "spouse.detailsNotAvailable": True, "spouse.reason": "No spouse",
    }
    if rng.random() < 0.5:
        facility = rng.choice(FACILITIES)
        decl.update({"eventDetails.placeOfDeath": "HEALTH_FACILITY", "eventDetails.deathLocation": facility,
                     "eventDetails.deathLocationId": facility})
    else:
        decl.update({"eventDetails.placeOfDeath": "DECEASED_USUAL_RESIDENCE",
                     "eventDetails.deathLocationId": home["administrativeArea"]})
    decl.update({"informant.relation": rng.choice(("SON", "DAUGHTER")),
                 "informant.name": _person(rng, pool, rng.choice(("female", "male"))),
                 "informant.dob": (died - dt.timedelta(days=rng.randrange(18 * 365, 40 * 365))).isoformat(),
                 "informant.nationality": "FAR", "informant.idType": "NATIONAL_ID", "informant.nid": _nid(rng),
                 "informant.addressSameAs": "YES"})
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
    """One record with the history OpenCRVS would have written for it (Requested + Accepted, UNASSIGNs)."""
    event_type = EventType.BIRTH if rng.random() < BIRTH_SHARE else EventType.DEATH
    status = status_table[rng.randrange(len(status_table))]
    created = REFERENCE_NOW - dt.timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
    # Ids grow with the record number so bulk inserts append to the primary-key B-trees instead of splitting them.
    event_id = _ordered_uuid(i, 0, rng)
    while True:
        tracking = tracking_id_from([rng.randrange(36) for _ in range(6)])
        if tracking not in tracking_ids:
            tracking_ids.add(tracking)
            break
    declaration = _declaration(rng, pool, event_type, created)
    # Most registered records follow farajaland's e2e: a registrar creates, declares (keepAssignment) and registers.
    by_registrar = status is EventStatus.REGISTERED and rng.random() < 0.6
    creator = REGISTRAR if by_registrar else CLERK
    moment = created
    history: list[dict[str, Any]] = []
    txn = 0

    def act(kind: str, user: Any, status: str = "Accepted", step: bool = True, **extra: Any) -> dict[str, Any]:
        nonlocal moment
        moment += dt.timedelta(minutes=rng.randrange(1, 600)) if step else dt.timedelta(milliseconds=40)
        action = {"id": _ordered_uuid(i, len(history), rng), "type": kind, "status": status,
                  "createdAt": _iso(moment), "createdBy": user.id, "createdByUserType": "user",
                  "createdByRole": user.role, "createdAtLocation": OFFICE_ID,
                  "transactionId": f"seed-{seed}-{i}-{txn}", "declaration": {}, **extra}
        history.append(action)
        return action

    def confirmable(kind: str, user: Any, keep: bool = False, accepted: dict[str, Any] | None = None,
                    **extra: Any) -> None:
        nonlocal txn
        txn += 1
        request = act(kind, user, "Requested", **extra)
        content = {k: v for k, v in extra.items() if k in ("content", "customActionType")}
        act(kind, user, "Accepted", step=False, originalActionId=request["id"], **content, **(accepted or {}))
        if not keep:
            act("UNASSIGN", user, step=False)

    def assign(user: Any) -> None:
        nonlocal txn
        txn += 1
        act("ASSIGN", user, assignedTo=user.id)

    history.append({"id": _ordered_uuid(i, 0, rng), "type": "CREATE", "status": "Accepted",
                    "createdAt": _iso(created), "createdBy": creator.id, "createdByUserType": "user",
                    "createdByRole": creator.role, "createdAtLocation": OFFICE_ID,
                    "transactionId": f"seed-{seed}-{i}-0", "declaration": {}})
    act("ASSIGN", creator, step=False, assignedTo=creator.id)
    annotation = {"review.comment": "Checked against the notification",
                  "review.signature": {"path": f"seed-{seed}-{i}.png", "originalFilename": "signature.png",
                                       "type": "image/png"}}
    if status is EventStatus.NOTIFIED:
        partial = {k: v for k, v in declaration.items() if not k.startswith("mother.") or rng.random() < 0.5}
        confirmable("NOTIFY", creator, declaration=partial)
    elif status is not EventStatus.CREATED:
        confirmable("DECLARE", creator, keep=by_registrar, declaration=declaration, annotation=annotation)
        if status is EventStatus.DECLARED and rng.random() < 0.15:
            assign(REG_AGENT)
            confirmable("REJECT", REG_AGENT, content={"reason": "Mother's name does not match the ID"})
        elif status is EventStatus.REGISTERED:
            if not by_registrar:
                assign(REG_AGENT)
                confirmable("CUSTOM", REG_AGENT, customActionType=VALIDATE_DECLARATION, annotation={})
                assign(REGISTRAR)
            number = format_registration_number(next_number())
            confirmable("REGISTER", REGISTRAR, accepted={"registrationNumber": number})
            batch.numbers.append({"number": number, "event_id": event_id})
            if rng.random() < 0.4:
                assign(REGISTRAR)
                confirmable("PRINT_CERTIFICATE", REGISTRAR, content={"templateId": f"v2.{event_type.value}-certificate"})
        elif status is EventStatus.ARCHIVED:
            assign(REG_AGENT)
            confirmable("ARCHIVE", REG_AGENT, content={"reason": "Duplicate of another record"})
    state = derive_state(event_type, history)
    batch.events.append({
        "id": event_id, "type": event_type.value, "tracking_id": tracking, "created_at": _iso(created),
        "created_by": creator.id, "created_by_role": creator.role, "created_at_location": OFFICE_ID,
        "create_transaction_id": f"seed-{seed}-{i}-0", "replay": 0, **index_values(event_type, state)})
    batch.actions.extend(storage.action_row(event_id, position, action, 0) for position, action in enumerate(history))
    batch.flags.extend({"event_id": event_id, "flag": f} for f in sorted(state.flags))
    if state.status is not EventStatus.CREATED:  # the name index holds only searchable records (storage.name_parts)
        batch.names.extend({"event_id": event_id, "field_id": f, "token": t, "created_at": _iso(created)}
                           for f, t in name_index(state.declaration))


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
