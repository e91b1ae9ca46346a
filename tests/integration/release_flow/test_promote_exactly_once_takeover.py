"""Exactly one promotion: SIGTERM kills the hook's group, --kill-orphaned-deploy, the fence, and takeover rules.

Real `release promote` processes against the logging deploy hook of test_promote_exactly_once.py.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from release.errors import PromotionSuperseded
from release.ledger import StepStatus
from release.workflow.deploy import run_command
from tests.integration.release_flow.conftest import ReleaseRepo
from tests.integration.release_flow.test_promote_exactly_once import (
    VERSION,
    WAIT_S,
    Trial,
    alive,
    assert_one_deploy_at_a_time,
    chain_verifies,
    fresh_trial,
    make_promotable,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: A claim held by a promote on another machine: its boot and pid namespace are not this one's.
FOREIGN = "ops@example.org (pid 4242 on build-7 [0000deadbeef.4026531836/777])"


@pytest.fixture(scope="module")
def promotable(prepared_repo: ReleaseRepo, tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    return make_promotable(prepared_repo, tmp_path_factory.mktemp("promotable") / "repo")


@pytest.fixture
def trial(promotable: ReleaseRepo, tmp_path: Path) -> Iterator[Trial]:
    with fresh_trial(promotable, tmp_path) as t:
        yield t


def wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + WAIT_S
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def deploy_record(trial: Trial):
    book = trial.ledger()
    try:
        return {s.step: s for s in book.steps(VERSION)}.get("deploy"), book.get_release(VERSION), [
            e for e in book.audit_events() if e.action == "release.promoted"]
    finally:
        book.close()


def test_sigterm_kills_the_hooks_process_group_and_the_next_promote_deploys_again(trial: Trial) -> None:
    first = trial.start()
    hook = int(trial.wait_for_line("start")[1])
    child = int(trial.wait_for_line("child")[1])
    os.kill(first.pid, signal.SIGTERM)
    _, err = first.communicate(timeout=WAIT_S)
    assert first.returncode == 128 + signal.SIGTERM, err
    assert "stopped by signal 15 at step deploy" in err and "process group was stopped" in err, err
    # promote stopped the whole group before it exited: the hook and the hook's own child are gone already.
    assert not alive(hook) and not alive(child)
    deploy, release, promoted = deploy_record(trial)
    assert deploy is not None and deploy.status is StepStatus.STARTED and release.state.value == "PROMOTING"
    assert not promoted

    trial.open_gate()
    res = trial.repo.cli("promote", VERSION, "--json")  # the owner died on this host: no --resume needed
    assert res.exit_code == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["outcome"] == "PROMOTED"
    starts = assert_one_deploy_at_a_time(trial, all_end=False)
    assert [s[1] for s in starts] == [str(hook), starts[1][1]] and len(starts) == 2
    deploy, release, promoted = deploy_record(trial)
    assert deploy.detail["previous_deploy"]["outcome"] == "had exited"
    assert release.state.value == "PROMOTED" and len(promoted) == 1
    chain_verifies(trial)


def test_kill_orphaned_deploy_kills_the_dead_promotes_hook_before_deploying(trial: Trial) -> None:
    first = trial.start()
    orphan = int(trial.wait_for_line("start")[1])
    orphan_child = int(trial.wait_for_line("child")[1])
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=WAIT_S)
    assert alive(orphan)

    second = trial.start("--resume", "--kill-orphaned-deploy", "--json")
    trial.wait_for_line("start", 2)  # its own deploy; the hook checked that the orphan no longer ran
    trial.open_gate()
    out, err = second.communicate(timeout=WAIT_S)
    assert second.returncode == 0, out + err
    assert json.loads(out)["outcome"] == "PROMOTED"
    assert not alive(orphan) and not alive(orphan_child)  # the whole group, the hook's child too
    starts = assert_one_deploy_at_a_time(trial, all_end=False)
    assert len(starts) == 2 and ["end", str(orphan)] not in [line[:2] for line in trial.lines()]
    deploy, _, promoted = deploy_record(trial)
    assert deploy.detail["previous_deploy"] == {**deploy.detail["previous_deploy"], "pid": orphan,
                                                "outcome": "killed (--kill-orphaned-deploy)"}
    assert len(promoted) == 1
    chain_verifies(trial)


def test_a_superseded_promote_stops_and_leaves_the_steps_to_the_new_owner(trial: Trial) -> None:
    first = trial.start("--json")
    trial.wait_for_line("start")
    book = trial.ledger()
    try:  # another process takes the claim over while the first one deploys
        assert book.claim_promotion(VERSION, FOREIGN, resume=True)
    finally:
        book.close()
    trial.open_gate()
    out, err = first.communicate(timeout=WAIT_S)
    assert first.returncode == 1, out + err
    assert "no longer held by" in err and FOREIGN in err and "left to the new owner" in err, err
    deploy, release, promoted = deploy_record(trial)
    assert deploy.status is StepStatus.STARTED  # the superseded process wrote nothing after the takeover
    assert release.state.value == "PROMOTING" and release.promotion_owner == FOREIGN and not promoted
    book = trial.ledger()
    try:
        assert "smoke" not in {s.step for s in book.steps(VERSION)}
    finally:
        book.close()

    res = trial.repo.cli("promote", VERSION, "--force-takeover", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert_one_deploy_at_a_time(trial)
    deploy, release, promoted = deploy_record(trial)
    assert release.state.value == "PROMOTED" and len(promoted) == 1
    assert deploy.detail["previous_deploy"]["outcome"] == "had exited"
    chain_verifies(trial)


def test_a_claim_from_another_host_is_taken_over_only_after_its_lease_or_by_force(trial: Trial) -> None:
    r = trial.repo
    book = trial.ledger()
    try:  # a promote on build-7 claimed the release and started its deploy there, then went silent
        assert book.claim_promotion(VERSION, FOREIGN)
        book.record_step(VERSION, "deploy", StepStatus.STARTED,
                         {"process": {"pid": 4300, "pgid": 4300, "host": "build-7", "host_id": "0000deadbeef.4026531836",
                                      "start": "778", "started_at": datetime.now(UTC).isoformat(),
                                      "owner": FOREIGN}}, owner=FOREIGN)
    finally:
        book.close()
    refs, rows = r.refs(), r.ledger_dump()
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    for args, env, needles in (
            ((), {}, ("already in progress by", "cannot be checked from here", "--resume")),
            (("--resume",), {}, ("on another host: its lease runs until", "--force-takeover")),
            (("--resume",), {"RELEASE_TEST_NOW": later}, ("pid 4300 on build-7", "never recorded as finished",
                                                         "--force-takeover"))):
        res = r.cli("promote", VERSION, *args, env=env)
        assert res.exit_code == 1, res.stdout + res.stderr
        for needle in needles:
            assert needle in res.stderr, res.stderr
        assert "nothing was changed" in res.stderr or not args
    back = r.cli("rollback")
    assert back.exit_code == 1 and "rollback refused" in back.stderr and "PROMOTING" in back.stderr, back.stderr
    assert r.refs() == refs and r.ledger_dump() == rows  # every refusal changed nothing

    trial.open_gate()
    res = r.cli("promote", VERSION, "--force-takeover", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["outcome"] == "PROMOTED"
    assert len(assert_one_deploy_at_a_time(trial)) == 1
    deploy, release, promoted = deploy_record(trial)
    assert deploy.detail["previous_deploy"]["outcome"] == "on another host, not checked (--force-takeover)"
    assert release.state.value == "PROMOTED" and len(promoted) == 1
    book = trial.ledger()
    try:
        resumed = [e.payload for e in book.audit_events() if e.action == "promotion.resumed"]
    finally:
        book.close()
    assert len(resumed) == 1 and resumed[0]["previous_owner"] == FOREIGN
    chain_verifies(trial)


def test_a_command_whose_start_cannot_be_recorded_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    seen: list[tuple[int, int]] = []

    def superseded(pid: int, pgid: int) -> None:
        seen.append((pid, pgid))
        raise PromotionSuperseded("release 1.1.0: promotion is no longer held by this process")

    with pytest.raises(PromotionSuperseded):
        run_command(("sh", "-c", f"echo ran > {marker}"), tmp_path, on_start=superseded)
    assert seen and seen[0][0] == seen[0][1]  # its own process group, led by the launcher
    assert not marker.exists() and not alive(seen[0][0])
    # Recorded: then it runs, and what it leaves behind in its group is stopped when it exits.
    done = run_command(("sh", "-c", f"sleep 300 & echo $! > {marker}; echo ok"), tmp_path,
                       on_start=lambda pid, pgid: None)
    assert done.ok and "ok" in done.output_tail
    assert wait_gone(int(marker.read_text().strip()))
