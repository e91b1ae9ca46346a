"""Benchmark: sandbox search and register latency with concurrent clients on a large seeded database.

Usage: python benchmarks/sandbox_search.py [--records 1000000] [--clients 20] [--duration 30] [--db PATH] [--reuse-db]
Targets: event.search p95 <= 150 ms, event.actions.register.request p95 <= 300 ms.
Under OpenCRVS v2.0.0's rules: registrations are made by local registrar users (the sandbox's pool) on records
they declared with keepAssignment; searches and event.get (which writes a READ action) use the system client.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sqlite3
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crvs_client import Deployment, SyntheticFactory, Target, review_annotation, signature_png
from sandbox.process import SandboxProcess
from sandbox.seed import seed_database
from sandbox.settings import database_url

SEARCH_P95_MS, REGISTER_P95_MS = 150.0, 300.0


def process_cpu_seconds(root: int) -> float:
    """User+system CPU seconds of process `root` and its live descendants (Linux /proc; search workers included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    family, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, parent in parents.items() if parent == pid and c not in family]
        family.update(children)
        frontier.extend(children)
    return sum(cpu.get(pid, 0.0) for pid in family)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def sample_terms(db: Path, count: int, seed: int) -> dict[str, list]:
    """Names, registration numbers and DOB+name pairs taken from the seeded data (read directly)."""
    conn = sqlite3.connect(db)
    rng = random.Random(seed)
    rows = conn.execute("SELECT declaration, registration_number, dob, type FROM event WHERE rowid IN "
                        f"(SELECT abs(random()) % (SELECT max(rowid) FROM event) + 1 FROM event LIMIT {count * 3})"
                        ).fetchall()
    conn.close()
    names, numbers, dob_names = [], [], []
    for declaration, number, dob, kind in rows:
        decl = json.loads(declaration)
        key = "child.name" if kind == "birth" else "deceased.name"
        name = decl.get(key)
        if name:
            first, last = name["firstname"], name["surname"]
            typo = first[:1] + first[2:1] + first[1:] if len(first) < 4 else first[0] + first[2] + first[1] + first[3:]
            names.append((key, f"{last} {typo}" if rng.random() < 0.5 else f"{typo} {last}"))
            if dob:
                dob_names.append((key, key.split(".")[0] + ".dob", dob, first))
        if number:
            numbers.append(number)
    return {"names": names, "numbers": numbers, "dob_names": dob_names}


class Recorder:
    """Latencies per request name, thread-safe."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()

    def add(self, name: str, ms: float, ok: bool) -> None:
        with self.lock:
            self.samples.setdefault(name, []).append(ms)
            if not ok:
                self.errors[name] = self.errors.get(name, 0) + 1


class Caller:
    """One client's keep-alive connection: a tRPC call for the cost of a request line and a JSON body.

    The load generator shares the machine's two cores with the sandbox, so its own CPU per request is taken from
    the server under test. httpx cost about 1.5 ms a request here; a bare http.client connection costs a fraction
    of that (the figure is printed with each run), so the latencies are the server's, not the generator's.
    """

    def __init__(self, url: str, token: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.token = token
        self.conn: http.client.HTTPConnection | None = None

    def call(self, procedure: str, data: dict, method: str = "POST", token: str | None = None) -> int:
        """The HTTP status of one tRPC call (the body is read in full, so the connection can be reused)."""
        headers = {"Authorization": f"Bearer {token or self.token}"}
        envelope = json.dumps({"0": {"json": data}})
        if method == "GET":
            path, body = f"/events/{procedure}?batch=1&input={urllib.parse.quote(envelope)}", None
        else:
            path, body = f"/events/{procedure}?batch=1", envelope.encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def prepare_declared(target: Target, count: int, threads: int = 6) -> list[tuple[str, str]]:
    """Create, upload a signature and declare `count` births as local registrars (not timed).

    Each record stays assigned to the registrar who declared it (keepAssignment), as farajaland's e2e does, so the
    timed phase registers it with that registrar's token: (event id, token) pairs.
    """
    out: list[tuple[str, str]] = []
    lock = threading.Lock()
    accounts = target.deployment.accounts("local_registrar")
    places = target.locations()

    def work(index: int, n: int) -> None:
        account = accounts[index % len(accounts)]
        client = target.user_client(account)
        factory = SyntheticFactory(seed=index, locations=places)
        for _ in range(n):
            event = client.create_event("birth")
            signature = client.upload(signature_png(), "signature.png", "image/png")
            client.declare(event["id"], factory.birth_declaration(), annotation=review_annotation(signature),
                           keep_assignment=True)
            with lock:
                out.append((event["id"], target.user_token(account)))

    per = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    workers = [threading.Thread(target=work, args=(i, n)) for i, n in enumerate(per)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return out


def drive(url: str, token: str, clients: int, duration: float, terms: dict[str, list],
          to_register: list[tuple[str, str]], recorder: Recorder) -> None:
    """Clients mix registrations, the three searches and event.get (which writes a READ action) until time is up."""
    deadline = time.monotonic() + duration
    queue_lock = threading.Lock()
    registered: list[str] = []

    def client(index: int) -> None:
        rng = random.Random(index)
        caller = Caller(url, token)
        try:
            while time.monotonic() < deadline:
                roll = rng.random()
                as_user, method = None, "POST"
                if roll < 0.2:
                    with queue_lock:
                        item = to_register.pop() if to_register else None
                    if item is None:
                        continue
                    event_id, as_user = item[0], item[1]
                    name, data = "event.actions.register.request", {"eventId": event_id, "type": "REGISTER",
                                                                     "transactionId": str(uuid.uuid4()),
                                                                     "declaration": {}}
                elif roll < 0.4:
                    field, term = rng.choice(terms["names"])
                    name, data = "event.search", {"query": {"type": "and", "clauses": [
                        {"data": {field: {"type": "fuzzy", "term": term}}}]}, "limit": 10}
                elif roll < 0.6:
                    name, data = "event.search", {"query": {"type": "and", "clauses": [
                        {"legalStatuses.REGISTERED.registrationNumber": {"type": "exact",
                                                                          "term": rng.choice(terms["numbers"])}}]}}
                elif roll < 0.8:
                    field, dob_field, dob, first = rng.choice(terms["dob_names"])
                    name, data = "event.search", {"query": {"type": "and", "clauses": [
                        {"data": {dob_field: {"type": "exact", "term": dob},
                                  field: {"type": "fuzzy", "term": first}}}]}, "limit": 10}
                else:
                    with queue_lock:
                        event_id = rng.choice(registered) if registered else None
                    if event_id is None:
                        continue
                    name, data, method = "event.get", {"eventId": event_id}, "GET"
                started = time.perf_counter()
                try:
                    ok = caller.call(name, data, method, token=as_user) == 200
                except (http.client.HTTPException, OSError):
                    ok = False
                recorder.add(name, (time.perf_counter() - started) * 1000, ok)
                if ok and name == "event.actions.register.request":
                    with queue_lock:
                        registered.append(data["eventId"])
        finally:
            caller.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--db", type=Path, default=Path("artifacts/sandbox-bench.db"))
    parser.add_argument("--reuse-db", action="store_true", help="Skip seeding if the database exists.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wal-checkpoint", choices=("background", "commit"), default="background",
                        help="The sandbox's --wal-checkpoint (compare the two on one database).")
    parser.add_argument("--search-threads", type=int, default=4,
                        help="The sandbox's --search-threads (0: no limit; compare on one database).")
    parser.add_argument("--search-processes", type=int, default=2,
                        help="The sandbox's --search-processes (0: searches in the server's threads).")
    parser.add_argument("--read-connections", type=int, default=24, help="The sandbox's --read-connections.")
    parser.add_argument("--gil-switch-ms", type=float, default=1.0,
                        help="The sandbox's --gil-switch-ms (Python's own default is 5; compare on one database).")
    args = parser.parse_args()

    args.db.parent.mkdir(parents=True, exist_ok=True)
    if not (args.reuse_db and args.db.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
        report = seed_database(database_url(args.db), records=args.records, seed=args.seed, batch=20000,
                               progress=lambda m: print(m, flush=True))
        print(f"seeding: {report['records']} records in {report['seconds']:.1f}s ({report['rate']:.0f} records/s)")
    else:
        print(f"seeding: reused {args.db}")
    terms = sample_terms(args.db, 2000, args.seed)
    server_args = ["--wal-checkpoint", args.wal_checkpoint, "--search-threads", str(args.search_threads),
                   "--search-processes", str(args.search_processes), "--gil-switch-ms", str(args.gil_switch_ms),
                   "--read-connections", str(args.read_connections)]
    with SandboxProcess(args.db, startup_timeout=120, extra_args=server_args) as proc:
        target = Target(Deployment.from_profile(proc.profile("bench"), proc.profile_env()))
        token = target.system_token()
        budget = int(args.duration * args.clients * 5) + 200
        started = time.perf_counter()
        to_register = prepare_declared(target, budget)
        print(f"prepared {len(to_register)} declared records in {time.perf_counter() - started:.1f}s (not timed)")
        recorder = Recorder()
        server_before, client_before = process_cpu_seconds(proc.pid), time.process_time()
        drive(proc.url, token, args.clients, args.duration, terms, to_register, recorder)
        server_cpu = process_cpu_seconds(proc.pid) - server_before
        client_cpu = time.process_time() - client_before
    print(f"\n{args.clients} clients, {args.duration:.0f}s, {args.records} seeded records")
    print(f"{'request':40} {'count':>7} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    results = {}
    for name, values in sorted(recorder.samples.items()):
        p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
        results[name] = p95
        print(f"{name:40} {len(values):7d} {recorder.errors.get(name, 0):6d} {p50:8.1f} {p95:8.1f} {p99:8.1f}")
    requests = sum(len(v) for v in recorder.samples.values())
    print(f"CPU during the run: server {server_cpu:.1f} s ({server_cpu / max(requests, 1) * 1000:.2f} ms a request), "
          f"load generator {client_cpu:.1f} s ({client_cpu / max(requests, 1) * 1000:.2f} ms a request), "
          f"of {args.duration * (os.cpu_count() or 1):.0f} core-seconds")
    search_ok = results.get("event.search", float("inf")) <= SEARCH_P95_MS
    register_ok = results.get("event.actions.register.request", float("inf")) <= REGISTER_P95_MS
    no_errors = not recorder.errors
    verdict = "PASS" if search_ok and register_ok and no_errors else "FAIL"
    print(f"{verdict}: search p95 {results.get('event.search', float('nan')):.1f} ms (<= {SEARCH_P95_MS:.0f}), "
          f"register p95 {results.get('event.actions.register.request', float('nan')):.1f} ms "
          f"(<= {REGISTER_P95_MS:.0f}), errors {sum(recorder.errors.values())}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
