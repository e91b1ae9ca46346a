"""Exactly one promotion, even across resume: real `release promote` processes and a deploy hook that logs.

The production target's promote command is a script that appends ``start <pid> <time> <promotion id>`` and
``end <pid>`` to a log and, in between, holds (with a child process of its own) until the test opens a gate file.
The gate, not a fixed sleep, decides when a deploy ends, so each trial's interleaving is the one it names whatever
the machine's speed: the second process always runs while the first one's deploy is in flight. Each hook also
checks, as it starts, that no hook logged before it still runs, and logs ``overlap <pid>`` if one does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from release.ledger import StepStatus
from tests.conftest import free_port
from tests.integration.release_flow.conftest import ReleaseRepo, clone_release_repo, give_all_decisions
from tests.integration.release_flow.test_promote_manual import set_production

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VERSION = "1.1.0"
WAIT_S = 120.0  # the longest any step of these tests may take on a loaded machine before the test gives up

HOOK = f'''#!{sys.executable}
"""Synthetic production deploy: log start, hold until the gate opens (bounded), record the version, log end."""
import os, subprocess, sys, time
from pathlib import Path


def say(line):
    with open(os.environ["HOOK_LOG"], "a", encoding="utf-8") as fh:
        fh.write(line + "\\n")


def running(pid):
    try:
        with open(f"/proc/{{pid}}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


log = Path(os.environ["HOOK_LOG"])
lines = [line.split() for line in (log.read_text(encoding="utf-8").splitlines() if log.exists() else [])]
ended = {{line[1] for line in lines if line and line[0] == "end"}}
for line in lines:
    if line and line[0] == "start" and line[1] not in ended and running(int(line[1])):
        say(f"overlap {{line[1]}}")
say(f"start {{os.getpid()}} {{time.time():.6f}} {{os.environ.get('RELEASE_PROMOTION_ID', '-')}}")
# A child of the hook: a process group kill must take it too.
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
say(f"child {{child.pid}}")
gate, limit = Path(os.environ["HOOK_GATE"]), time.monotonic() + float(os.environ.get("HOOK_MAX_S", "120"))
while not gate.exists() and time.monotonic() < limit:
    time.sleep(0.05)
time.sleep(float(os.environ.get("HOOK_SLEEP_S", "0.2")))
Path(os.environ["HOOK_STATE"]).write_text(sys.argv[1], encoding="utf-8")
child.kill()
child.wait()
say(f"end {{os.getpid()}}")
'''

# What production reports: the version the hook wrote when it finished (nothing before the first deploy).
IDENTITY = '''import os, sys
from pathlib import Path
state = Path(os.environ["HOOK_STATE"])
if not state.exists():
    sys.exit("production was never deployed")
print(state.read_text(encoding="utf-8"))
'''


def make_promotable(prepared: ReleaseRepo, dest: Path) -> ReleaseRepo:
    """A copy of the prepared repository with every decision given and the logging hook as production's promote."""
    r = clone_release_repo(prepared, dest)
    give_all_decisions(r)
    hook = r.path / "scripts" / "production-deploy"
    hook.write_text(HOOK, encoding="utf-8")
    hook.chmod(0o755)
    (r.path / "scripts" / "production_version.py").write_text(IDENTITY, encoding="utf-8")
    r.repo.git("add", "--chmod=+x", "scripts/production-deploy")
    r.repo.git("add", "scripts/production_version.py")
    set_production(r, f'[targets.production]\ngateway = "http://127.0.0.1:{free_port()}"\n'
                      'promote = "scripts/production-deploy {version}"\n'
                      f'identity = {{ command = {json.dumps(sys.executable + " scripts/production_version.py")} }}\n'
                      'deploy_timeout_s = 120\nversion_timeout_s = 30\n'
                      'smoke_waiver = "synthetic production: the hook only logs (exactly-once tests)"\n')
    return r


@dataclass
class Trial:
    """One fresh copy of the promotable repository, its hook's files, and the processes the test started."""

    repo: ReleaseRepo
    log: Path
    gate: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.repo.path

    def start(self, *args: str) -> subprocess.Popen[str]:
        """`release promote VERSION ARGS...` as a background process."""
        proc = subprocess.Popen([sys.executable, "-m", "release.cli.main", "promote", VERSION, *args],
                                cwd=self.path, env=self.repo.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        self.procs.append(proc)
        return proc

    def lines(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [line.split() for line in self.log.read_text(encoding="utf-8").splitlines() if line.strip()]

    def wait_for_line(self, kind: str, count: int = 1) -> list[str]:
        """The count-th `kind` line of the hook's log, once it is there."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = [line for line in self.lines() if line[0] == kind]
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.05)
        raise AssertionError(f"the hook never logged {count} {kind!r} line(s): {self.lines()}")

    def open_gate(self) -> None:
        self.gate.write_text("go\n", encoding="utf-8")

    def ledger(self):
        from release.workflow.context import open_context

        return open_context(self.path, environ=self.repo.env).ledger


def assert_one_deploy_at_a_time(trial: Trial, *, all_end: bool = True) -> list[list[str]]:
    """No hook started while an earlier one still ran; the start lines, in order.

    all_end: every deploy ran to its end, so the log must alternate start, end, start, end. Otherwise (a deploy
    was killed) the hooks' own `overlap` check is the proof.
    """
    lines = trial.lines()
    assert not [line for line in lines if line[0] == "overlap"], lines
    starts = [line for line in lines if line[0] == "start"]
    if all_end:
        assert [(line[0], line[1]) for line in lines if line[0] in ("start", "end")] == [
            pair for start in starts for pair in (("start", start[1]), ("end", start[1]))], lines
    return starts


def promotion_sequence(trial: Trial) -> list[tuple[str, str | None, str | None]]:
    """The promotion's audit events, in chain order: (action, step, status)."""
    book = trial.ledger()
    try:
        return [(e.action, e.payload.get("step"), e.payload.get("status")) for e in book.audit_events()
                if e.subject == VERSION and (e.action.startswith("promotion.") or e.action == "release.promoted")]
    finally:
        book.close()


#: How every promotion's audit sequence begins: one claim, then the tag and the production branch, once each.
BEGINS = [("promotion.claimed", None, None),
          ("promotion.step", "tag", StepStatus.STARTED.value), ("promotion.step", "tag", StepStatus.DONE.value),
          ("promotion.step", "production-branch", StepStatus.STARTED.value),
          ("promotion.step", "production-branch", StepStatus.DONE.value)]


def chain_verifies(trial: Trial) -> None:
    book = trial.ledger()
    try:
        report = book.verify_audit()
    finally:
        book.close()
    assert report.ok, report.problems


def stderr_lines(proc: subprocess.Popen[str]) -> tuple[list[str], threading.Event, threading.Thread]:
    """Collect a process's stderr lines as they come; the event is set when one says it waits for the old deploy."""
    seen: list[str] = []
    waiting = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if "waiting for the deploy command left running" in line:
                waiting.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return seen, waiting, reader


def alive(pid: int) -> bool:
    """True while pid runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


@pytest.fixture(scope="module")
def promotable(prepared_repo: ReleaseRepo, tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    return make_promotable(prepared_repo, tmp_path_factory.mktemp("promotable") / "repo")


@contextmanager
def fresh_trial(promotable: ReleaseRepo, tmp_path: Path) -> Iterator[Trial]:
    """A fresh copy (git, ledger, evidence) for one trial; afterwards nothing it started is left running."""
    r = clone_release_repo(promotable, tmp_path / "repo")
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    t = Trial(r, hook_dir / "deploys.log", hook_dir / "gate")
    r.env.update(HOOK_LOG=str(t.log), HOOK_GATE=str(t.gate), HOOK_STATE=str(hook_dir / "production-version"))
    try:
        yield t
    finally:
        t.open_gate()
        for proc in t.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=WAIT_S)
        for line in t.lines():  # hooks and their children: ours, logged by pid
            if line[0] in ("start", "child") and alive(int(line[1])):
                os.kill(int(line[1]), signal.SIGKILL)


@pytest.fixture
def trial(promotable: ReleaseRepo, tmp_path: Path) -> Iterator[Trial]:
    with fresh_trial(promotable, tmp_path) as t:
        yield t


@pytest.mark.parametrize("n", range(10))
def test_resume_while_the_first_promote_is_alive_deploys_once(trial: Trial, n: int) -> None:
    first = trial.start("--json")
    trial.wait_for_line("start")  # the first promote is deploying now, and stays so until the gate opens
    second = trial.start("--resume", "--json")
    out2, err2 = second.communicate(timeout=WAIT_S)
    assert second.returncode == 1, out2 + err2
    assert "still running on this host" in err2 and "not even with --resume" in err2, err2
    trial.open_gate()
    out1, err1 = first.communicate(timeout=WAIT_S)
    assert first.returncode == 0, out1 + err1
    outcomes = [json.loads(out)["outcome"] for out in (out1, out2) if out.strip()]
    assert outcomes.count("PROMOTED") == 1, outcomes

    starts = assert_one_deploy_at_a_time(trial)
    assert len(starts) == 1, trial.lines()
    assert starts[0][3] == json.loads(out1)["promotion_id"]  # the hook got RELEASE_PROMOTION_ID

    s, d = StepStatus.STARTED.value, StepStatus.DONE.value
    assert promotion_sequence(trial) == [
        *BEGINS, ("promotion.step", "deploy", s), ("promotion.step", "deploy", s), ("promotion.step", "deploy", d),
        ("promotion.step", "smoke", s), ("promotion.step", "smoke", d),
        ("promotion.step", "audit", s), ("release.promoted", None, None), ("promotion.step", "audit", d)]
    chain_verifies(trial)
    book = trial.ledger()
    try:
        assert book.get_release(VERSION).state.value == "PROMOTED"
        started = [e.payload["detail"]["process"] for e in book.audit_events()
                   if e.action == "promotion.step" and e.payload["step"] == "deploy" and "process" in e.payload["detail"]]
    finally:
        book.close()
    assert [p["pid"] for p in started] == [int(starts[0][1])]  # "deploy started" names the hook that ran
    assert started[0]["pgid"] == started[0]["pid"] and started[0]["host"]


def test_kill_9_during_deploy_then_resume_waits_for_the_orphaned_hook(trial: Trial) -> None:
    first = trial.start()
    orphan = trial.wait_for_line("start")
    os.kill(first.pid, signal.SIGKILL)  # the promote process only: its hook, in its own session, goes on
    first.communicate(timeout=WAIT_S)
    assert first.returncode == -signal.SIGKILL
    assert alive(int(orphan[1])), "the hook should outlive a kill -9 of promote (that is the case under test)"

    second = trial.start("--resume")
    _, waiting, reader = stderr_lines(second)
    deadline = time.monotonic() + WAIT_S
    while not waiting.is_set() and second.poll() is None and time.monotonic() < deadline:
        if [line[0] for line in trial.lines()].count("start") > 1:
            break  # a second deploy beside the orphan: the assertion below names it
        time.sleep(0.05)
    assert [line[0] for line in trial.lines()].count("start") == 1, trial.lines()  # no second deploy yet
    assert waiting.is_set(), "the resume never said it waits for the orphaned deploy"
    trial.open_gate()  # the orphan may finish now; only then may the resume deploy
    out = second.stdout.read() if second.stdout else ""
    second.wait(timeout=WAIT_S)
    reader.join(WAIT_S)
    assert second.returncode == 0, out
    assert "deploy: done" in out

    starts = assert_one_deploy_at_a_time(trial)
    assert len(starts) == 2, trial.lines()
    assert starts[0][3] == starts[1][3] != "-"  # the same idempotency key across the resume
    book = trial.ledger()
    try:
        assert book.get_release(VERSION).state.value == "PROMOTED"
        deploy = {st.step: st for st in book.steps(VERSION)}["deploy"]
        promoted = [e for e in book.audit_events() if e.action == "release.promoted"]
    finally:
        book.close()
    assert deploy.status is StepStatus.DONE
    assert deploy.detail["previous_deploy"]["pid"] == int(orphan[1])
    assert deploy.detail["previous_deploy"]["outcome"] == "waited until it exited"
    assert len(promoted) == 1 and promoted[0].payload["promotion_id"] == starts[0][3]
    sequence = promotion_sequence(trial)
    assert sequence[:6] == [*BEGINS, ("promotion.step", "deploy", StepStatus.STARTED.value)]
    assert sequence.count(("promotion.resumed", None, None)) == 1
    assert sequence.count(("release.promoted", None, None)) == 1
    chain_verifies(trial)
