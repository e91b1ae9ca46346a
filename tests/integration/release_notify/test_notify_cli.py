"""`release approve` with [[notify.webhook]]: delivered inline and signed; a dead receiver never undoes a decision."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from release.notify import verify_signature
from tests.changeboard import BOARD, BoardProject, build_board_project, cli_env, release_cli
from tests.conftest import free_port
from tests.integration.release_notify.receiver import Receiver

pytestmark = pytest.mark.integration

KEY = "cli-hook-key"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BoardProject, dict[str, str], Receiver]]:
    root = tmp_path_factory.mktemp("notify-cli")
    (root / "home").mkdir()
    project = build_board_project(root)
    receiver = Receiver()
    dead = f"http://127.0.0.1:{free_port()}/hook"
    toml = project.path / "release.toml"
    toml.write_text(toml.read_text() + f'''
[notify]
max_attempts = 2
backoff_s = 0.05
max_backoff_s = 0.1

[[notify.webhook]]
name = "board-channel"
url = "{receiver.url}"
secret_env = "HOOK_KEY"
events = ["decision.recorded"]

[[notify.webhook]]
name = "dead"
url = "{dead}"
secret_env = "HOOK_KEY"
events = ["decision.recorded"]
''')
    yield project, {**cli_env(root / "home"), "HOOK_KEY": KEY}, receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_a_decision_is_delivered_once_signed_and_a_dead_receiver_fails_without_undoing_it(setup) -> None:
    project, env, receiver = setup
    done = release_cli(project, env, "approve", "1.1.0", "--as", BOARD[0], "--comment", "read it")
    assert done.returncode == 0, done.stderr
    [(headers, body)] = receiver.posts  # delivered inline, right after the decision committed
    assert verify_signature(KEY, body, headers["x-release-signature-256"])
    sent = json.loads(body)
    assert (sent["event"], sent["kind"], sent["actor"], sent["gate"]) == ("decision.recorded", "approval", BOARD[0],
                                                                        "change-board")
    assert KEY not in body.decode()
    with project.ledger() as ledger:
        listed = ledger.outbox()
    assert sorted((d.webhook, d.status.value) for d in listed) == [("board-channel", "delivered"), ("dead", "pending")]

    again = release_cli(project, env, "notify", "deliver", "--wait")
    assert again.returncode == 1 and "failed 1" in again.stdout and "ConnectError" in again.stdout
    assert len(receiver.posts) == 1  # the delivered one is never sent again
    listed = json.loads(release_cli(project, env, "notify", "list", "--json").stdout)
    dead = next(d for d in listed if d["webhook"] == "dead")
    assert (dead["status"], dead["attempts"]) == ("failed", 2)
    with project.ledger() as ledger:  # the decision stands, and the chain is intact
        assert [(d.kind.value, d.actor) for d in ledger.decisions_for("1.1.0")] == [("approval", BOARD[0])]
        assert ledger.verify_audit().ok
