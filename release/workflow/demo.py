"""`release demo`: one whole release cycle against two local sandboxes, in a throwaway repository.

1. Build a CRVS repository with a Conventional-Commit history, a ``release.toml`` (production and staging
   targets; regression, load (A/B against production), QA sign-off, change board (quorum 2) and acceptance
   gates) and ``scripts/deploy``; v1.0.0 is tagged on the production branch and deployed to production.
2. ``prepare`` 1.1.0-rc.1 -> its gates pass -> QA signs off, two board members approve, a criterion is
   accepted -> ``promote``: tag v1.1.0, production branch moved, production redeployed, smoke-checked.
3. A new ``feat:`` commit ships 150 ms of extra search latency (``deploy/latency.json``) -> ``prepare``
   1.2.0-rc.1 -> the load gate's A/B comparison FAILS on ``event.search`` -> ``promote`` is BLOCKED.
4. On the release branch the slowdown is fixed, and a data migration ships that drops the date of death
   (``deploy/migration.json`` names the sandbox's defect revision, as opencrvs-core #11115 did in 1.9.1) ->
   ``prepare`` 1.2.0-rc.2 -> the migration rehearsal, on a copy of production's backup, FAILS naming
   ``eventDetails.date`` and how many records would have lost it -> ``promote`` is BLOCKED again.

The demo succeeds (exit 0) when the first release is promoted, the second candidate is blocked by the load gate
and the third by the migration rehearsal.
Every sandbox is stopped at the end, also on Ctrl-C. The repository, ledger, evidence and reports stay in the
work folder; the sandboxes' databases and logs are removed unless ``--keep``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release.workflow.sandbox_deploy import (
    SANDBOX_DEV_SECRETS,
    SandboxPorts,
    deploy_script_text,
    sandbox_target_toml,
    stop_all,
    write_environment,
)

PREPARER = "release-manager@example.org"
DEVELOPER = "dev@example.org"
QA = "qa@example.org"
BOARD = ("chair@example.org", "ops@example.org")
ACCEPTOR = "registrar-general@example.org"
SEARCH_LATENCY_MS = 150
#: Records in the stand-in for production's nightly backup that the migration rehearsal restores.
BACKUP_RECORDS = 1000
BACKUP_NAME = "production-backup.db"
DEFECT_REVISION = "9001_drop_date_of_death"
Progress = Callable[[str], None]


def _silent(_: str) -> None:
    return None


def demo_config(production: SandboxPorts, staging: SandboxPorts, *, load_duration_s: int = 20,
                users: int = 10, backup: Path | None = None) -> str:
    """The demo repository's release.toml: two farajaland-shaped sandbox deployments and six gates."""
    targets = "\n".join(sandbox_target_toml(name, ports, deploy=f"scripts/deploy {name} {{version}} {{commit}}")
                        for name, ports in (("production", production), ("staging", staging)))
    return f'''# crvs-release demo configuration
[release]
production_branch = "production"
branch = "release/v{{version}}"
tag = "v{{version}}"

# Each target is a deployment: gateway, register and country-config hosts, a system client (a UUID) and users
# by farajaland role. Secrets are named by env var: the demo sets the sandbox's dev values.
{targets}
[gates.regression]
kind = "pytest"
markers = "smoke and not browser"

[gates.load]
kind = "locust"
users = {users}
spawn_rate = {users}
duration = "{load_duration_s}s"
# Generous SLOs catch gross failures; the A/B comparison with production catches the slowdown. A 20-second
# run on a shared laptop gives wide confidence intervals (the write path stores Requested and Accepted
# actions and event.get writes a READ action, so medians of 10-20 ms swing by half), so the budget is a coarse
# 100 % on the median and 200 % on the tail (p95s of 10-30 ms swing most), deciding on the two procedures a
# registrar's office waits on; a real staging run uses a longer duration, max_slowdown = 0.10 and the default
# `decide` (the whole registration path and search). +150 ms on a ~15 ms search is about ten times slower either way.
slo = {{ "event.search" = {{ p95_ms = 5000 }}, "event.create" = {{ p95_ms = 5000 }}, errors = 0.02 }}
baseline = {{ against = "production", mode = "ab", max_slowdown = 1.0, max_tail_slowdown = 2.0, confidence = 0.95, min_samples = 20, decide = ["event.search", "event.actions.register.request"] }}

# The candidate's schema migrations on a copy of production's last backup; the dates of death, dates of birth and
# mothers' names must come through every record unchanged (docs/operations.md).
[gates.rehearsal]
kind = "migration"
source = "{backup or 'run/' + BACKUP_NAME}"
migrate = "scripts/deploy --migrate {{db}} {{commit}}"
fields = ["eventDetails.date", "child.dob", "mother.name"]
labels = {{ "eventDetails.date" = "date of death", "child.dob" = "date of birth" }}

[gates.qa]
kind = "signoff"
role = "qa-lead"

[gates.change-board]
kind = "approval"
role = "change-board"
quorum = 2

[gates.acceptance]
kind = "criteria"
items = [
  {{ id = "AC-1", text = "A registrar can find a record by registration number", verify = "regression/test_search.py::test_by_registration_number" }},
  {{ id = "AC-2", text = "The registrar-general accepts the release notes" }},
]

[roles]
qa-lead = ["{QA}"]
change-board = ["{BOARD[0]}", "{BOARD[1]}", "{ACCEPTOR}"]
release-manager = ["{PREPARER}", "{ACCEPTOR}"]
'''


@dataclass
class DemoResult:
    """What the demo showed."""

    workdir: Path
    repo: Path
    ok: bool = False
    steps: list[dict[str, Any]] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        """The `release demo --json` shape."""
        return {"ok": self.ok, "workdir": str(self.workdir), "repo": str(self.repo), "steps": self.steps,
                "reports": self.reports, "duration_s": round(self.duration_s, 1), "message": self.message}


def _free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (all held open while choosing, so none repeats)."""
    import contextlib
    import socket

    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


class _Repo:
    """git in the demo repository with fixed identities (never the user's config)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        self.env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)

    def git(self, *args: str, author: str = DEVELOPER) -> str:
        name = author.split("@")[0].replace("-", " ").title()
        env = dict(self.env, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=author, GIT_COMMITTER_NAME=name,
                   GIT_COMMITTER_EMAIL=author)
        return subprocess.run(["git", *args], cwd=self.path, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    def commit(self, message: str, files: dict[str, str], author: str = DEVELOPER) -> str:
        for rel, text in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        self.git("add", "--all", author=author)
        self.git("commit", "--quiet", "-m", message, author=author)
        return self.git("rev-parse", "HEAD")


def build_demo_repo(path: Path, run_dir: Path, production: SandboxPorts, staging: SandboxPorts,
                    *, load_duration_s: int = 20) -> _Repo:
    """A CRVS repository: v1.0.0 in production, then a search feature and a registration fix on main."""
    path.mkdir(parents=True)
    repo = _Repo(path)
    repo.git("init", "--quiet", "--initial-branch", "main")
    repo.git("config", "user.name", "Release Manager")
    repo.git("config", "user.email", PREPARER)
    repo.commit("feat: birth and death registration core", {
        "release.toml": demo_config(production, staging, load_duration_s=load_duration_s,
                                    backup=run_dir / BACKUP_NAME),
        "scripts/deploy": deploy_script_text(run_dir),
        "README.md": "# Demo CRVS core\n\nA throwaway repository made by `release demo`.\n",
        "app/registration.py": "STATUSES = ('CREATED', 'DECLARED', 'REGISTERED')\n"})
    os.chmod(path / "scripts" / "deploy", 0o755)
    repo.git("add", "--chmod=+x", "scripts/deploy")
    repo.commit("chore: make the deploy script executable", {})
    repo.git("tag", "--annotate", "-m", "release 1.0.0", "v1.0.0", author=PREPARER)
    repo.git("branch", "production", "v1.0.0")
    repo.commit("feat(search): search records by registration number", {"app/search.py": "FIELDS = ('trackingId',"
                                                                         " 'registrationNumber')\n"})
    repo.commit("fix(registration): keep the informant's relationship on correction",
                {"app/registration.py": "STATUSES = ('CREATED', 'DECLARED', 'REGISTERED')\nKEEP_INFORMANT = True\n"})
    return repo


def seed_backup(path: Path, records: int = BACKUP_RECORDS) -> None:
    """Stand in for production's nightly backup: a seeded sandbox database of synthetic people, production's schema."""
    import sys

    argv = [sys.executable, "-m", "sandbox", "seed", "--db", str(path), "--records", str(records), "--seed", "1",
            "--json"]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"could not make the production backup: sandbox seed: "
                           f"{(proc.stderr or proc.stdout).strip()[-300:]}")


def final_records(ctx: Any, versions: dict[str, str]) -> dict[str, str]:
    """Render each release's change record (HTML and Markdown) where `release report` writes it; name -> HTML path.

    A settled release renders from its recorded evidence, so these files match what `release report` gives
    later, after the sandboxes are stopped.
    """
    from release.report.record import change_record_data, render_record

    paths: dict[str, str] = {}
    try:
        for name, version in versions.items():
            data = change_record_data(ctx, version)
            tag = (data.get("candidate") or {}).get("tag") or data["tag"]
            folder = ctx.reports_dir / tag
            folder.mkdir(parents=True, exist_ok=True)
            for fmt in ("md", "html"):
                (folder / f"change-record.{fmt}").write_bytes(render_record(data, fmt))
            paths[name] = str(folder / "change-record.html")
    finally:
        ctx.ledger.close()
    return paths


def run_demo(workdir: Path | None = None, *, keep: bool = False, load_duration_s: int = 20,
             progress: Progress = _silent) -> DemoResult:
    """Run the whole cycle; stops every sandbox before returning (or raising)."""
    from release.workflow import decisions
    from release.workflow.context import open_context
    from release.workflow.deploy import run_command
    from release.workflow.prepare import prepare
    from release.workflow.promote import promote

    started = time.monotonic()
    base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="crvs-release-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    repo_path, run_dir = base / "crvs-core", base / "run"
    if repo_path.exists():
        from release.errors import UsageError

        raise UsageError(f"{repo_path} already exists; give an empty --workdir")
    result = DemoResult(workdir=base, repo=repo_path)

    def step(name: str, **detail: Any) -> None:
        result.steps.append({"step": name, **detail})

    try:
        ports = _free_ports(6)
        prod, staging = SandboxPorts(*ports[:3]), SandboxPorts(*ports[3:])
        prod_port = prod.gateway
        write_environment(run_dir, "production", prod.gateway, prod.register, prod.config)
        write_environment(run_dir, "staging", staging.gateway, staging.register, staging.config)
        progress(f"building a throwaway CRVS repository in {repo_path}")
        repo = build_demo_repo(repo_path, run_dir, prod, staging, load_duration_s=load_duration_s)
        v100 = repo.git("rev-parse", "v1.0.0^{commit}")
        progress(f"deploying v1.0.0 to production (port {prod_port})")
        deployed = run_command(("scripts/deploy", "production", "1.0.0", v100), repo_path)
        if not deployed.ok:
            raise RuntimeError(f"could not start the production sandbox: {deployed.describe()}")
        step("production v1.0.0 deployed", url=f"http://127.0.0.1:{prod_port}")
        progress(f"taking production's backup ({BACKUP_RECORDS} synthetic records) for the migration rehearsal")
        seed_backup(run_dir / BACKUP_NAME)

        environ = {**os.environ, **SANDBOX_DEV_SECRETS}

        def ctx(actor: str):  # a fresh context per action, like one CLI invocation each
            return open_context(repo_path, actor=actor, environ=environ)

        # ---- first candidate: passes and is promoted
        progress("release prepare: cutting 1.1.0-rc.1, deploying it to staging, running regression and load")
        first = prepare(ctx(PREPARER), progress=progress)
        step("prepare", version=first.version, tag=first.tag,
             gates={g.gate: g.state.value for g in first.gates})
        if not first.gates_ok:
            result.message = "the first candidate's automated gates did not pass: " + "; ".join(
                f"{g.gate}: {g.state.value}: {g.reason}" for g in first.gates if not g.passed)
            return result
        progress(f"sign-off by {QA}; approvals by {BOARD[0]} and {BOARD[1]}; {ACCEPTOR} accepts AC-2")
        decisions.sign_off(ctx(QA), "qa", first.version, comment="regression evidence reviewed")
        for member in BOARD:
            decisions.approve(ctx(member), first.version, comment="change record read")
        decisions.accept(ctx(ACCEPTOR), first.version, "AC-2", comment="release notes accepted")
        progress(f"release promote {first.version}")
        promoted = promote(ctx(PREPARER), first.version, progress=progress)
        step("promote", version=first.version, outcome=promoted.outcome, message=promoted.message)
        if promoted.outcome != "PROMOTED":
            result.message = f"the first release was not promoted: {promoted.message}"
            return result
        production_sha = repo.git("rev-parse", "production")
        progress(f"promoted: v{first.version} at {production_sha[:12]}; production branch moved")

        # ---- second candidate: ships a search slowdown and is blocked
        progress(f"a new feat: commit ships +{SEARCH_LATENCY_MS} ms on event.search")
        repo.commit("feat(search): phonetic matching for child names",
                    {"deploy/latency.json": f'{{"event.search": {SEARCH_LATENCY_MS}}}\n',
                     "app/search.py": "FIELDS = ('trackingId', 'registrationNumber', 'child.name')\nPHONETIC = True\n"})
        progress("release prepare: cutting 1.2.0-rc.1 and running its gates (A/B load against production)")
        second = prepare(ctx(PREPARER), progress=progress)
        load = next((g for g in second.gates if g.gate == "load"), None)
        step("prepare", version=second.version, tag=second.tag,
             gates={g.gate: g.state.value for g in second.gates}, load_reason=load.reason if load else None)
        decisions.sign_off(ctx(QA), "qa", second.version)
        for member in BOARD:
            decisions.approve(ctx(member), second.version)
        decisions.accept(ctx(ACCEPTOR), second.version, "AC-2")
        progress(f"release promote {second.version} (expected: blocked)")
        blocked = promote(ctx(PREPARER), second.version, progress=progress)
        step("promote", version=second.version, outcome=blocked.outcome, message=blocked.message)
        unchanged = repo.git("rev-parse", "production") == production_sha
        second_ok = (blocked.outcome == "BLOCKED" and unchanged and load is not None
                     and load.state.value == "FAILED" and "event.search" in load.reason)
        if not second_ok:
            result.message = f"unexpected outcome for {second.version}: {blocked.message}"
            return result

        # ---- third candidate: the slowdown is fixed on the release branch, but a migration drops dates of death
        progress("on release/v1.2.0: the slowdown is fixed, and a migration ships that drops the date of death")
        repo.git("checkout", "--quiet", f"release/v{second.version}")
        repo.git("rm", "--quiet", "deploy/latency.json")
        repo.commit("fix(search): drop phonetic matching, it slowed every search", {})
        repo.commit("feat(deaths): store declarations in the new death form layout",
                    {"deploy/migration.json": f'{{"to": "{DEFECT_REVISION}"}}\n'})
        progress("release prepare: cutting 1.2.0-rc.2 and running its gates (the rehearsal restores production's "
                 "backup)")
        third = prepare(ctx(PREPARER), progress=progress)
        rehearsal = next((g for g in third.gates if g.gate == "rehearsal"), None)
        step("prepare", version=third.version, tag=third.tag,
             gates={g.gate: g.state.value for g in third.gates},
             rehearsal_reason=rehearsal.reason if rehearsal else None)
        decisions.sign_off(ctx(QA), "qa", third.version)
        for member in BOARD:
            decisions.approve(ctx(member), third.version)
        decisions.accept(ctx(ACCEPTOR), third.version, "AC-2")
        progress(f"release promote {third.version} ({third.tag}; expected: blocked by the rehearsal)")
        refused = promote(ctx(PREPARER), third.version, progress=progress)
        step("promote", version=third.version, tag=third.tag, outcome=refused.outcome, message=refused.message)
        unchanged = repo.git("rev-parse", "production") == production_sha
        result.ok = (refused.outcome == "BLOCKED" and unchanged and rehearsal is not None
                     and rehearsal.state.value == "FAILED" and "eventDetails.date" in rehearsal.reason)
        # The records as they now stand (1.1.0 PROMOTED, 1.2.0 BLOCKED with every decision in), not the
        # reports prepare wrote before anyone had signed off: the paths the demo prints are the final records.
        result.reports = final_records(ctx(PREPARER), {"first": first.version, "second": second.version})
        result.message = (f"v{first.version} promoted; {second.tag} blocked by the load gate: "
                          f"{load.reason if load else 'no load gate'}; {third.tag} blocked by the migration "
                          f"rehearsal: {rehearsal.reason if rehearsal else 'no rehearsal gate'}") if result.ok else \
            f"unexpected outcome for {third.tag}: {refused.message}"
        return result
    finally:
        stopped = stop_all(run_dir)
        progress(f"stopped {len(stopped)} sandbox process(es)")
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        result.duration_s = time.monotonic() - started
