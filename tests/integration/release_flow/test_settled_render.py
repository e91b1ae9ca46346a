"""A settled release is a record: its report and status render from recorded evidence and never probe a target.

Issue #11: re-rendering a report, or running `status`, after staging had stopped turned a recorded PASSED into
INCONCLUSIVE ("target identity unknown"). Here 1.1.0 is prepared on a real sandbox, decided and promoted (deploy
and smoke check on a real production sandbox), rendered while the sandboxes run, then every sandbox is stopped
and plain HTTP listeners that count requests take their ports. The second render must be byte for byte the
first (the clock is pinned with RELEASE_TEST_NOW, so generated_at matches too), and no listener may be asked
anything. A failing re-run of a gate after the promotion is recorded, and left out of the record.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from release.config import load_config
from release.workflow.context import open_context
from release.workflow.demo import final_records
from release.workflow.sandbox_deploy import stop_all
from tests.integration.release_flow.conftest import ReleaseRepo, give_all_decisions

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Far after the promotion: a settled record must not depend on when it is rendered.
PINNED_NOW = "2999-01-01T00:00:00+00:00"


def render_all(r: ReleaseRepo, out_dir) -> dict[str, object]:
    """`release report` as md and html, `release status --json` and text, all for 1.1.0 at the pinned clock."""
    env = {"RELEASE_TEST_NOW": PINNED_NOW}
    out_dir.mkdir(parents=True, exist_ok=True)
    rendered: dict[str, object] = {}
    for fmt in ("md", "html"):
        res = r.cli("report", "1.1.0", "--format", fmt, "--out", str(out_dir / f"record.{fmt}"), "--json", env=env)
        assert res.exit_code == 0, res.stdout + res.stderr
        rendered[f"{fmt}-json"] = json.loads(res.stdout) | {"path": None}
        rendered[fmt] = (out_dir / f"record.{fmt}").read_text(encoding="utf-8")
    status = r.cli("status", "1.1.0", "--json", env=env)
    rendered["status-exit"] = status.exit_code
    rendered["status"] = json.loads(status.stdout)
    text = r.cli("status", "1.1.0", env=env)
    rendered["status-text"] = text.stdout
    return rendered


class _Counting(BaseHTTPRequestHandler):
    """Answers every request 404 and remembers that it was asked."""

    asked: list[str] = []

    def _any(self) -> None:
        type(self).asked.append(f"{self.command} {self.headers.get('Host')}{self.path}")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = _any

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return None


@contextmanager
def listening_on(ports: list[int]) -> Iterator[list[str]]:
    """Plain HTTP servers on the given loopback ports; yields the shared list of requests they received."""
    _Counting.asked = []
    servers = [ThreadingHTTPServer(("127.0.0.1", port), _Counting) for port in ports]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        yield _Counting.asked
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


def target_ports(r: ReleaseRepo) -> list[int]:
    """Every loopback port of every configured target (gateway, register and country-config hosts)."""
    ports: set[int] = set()
    for target in load_config(r.path / "release.toml").targets.values():
        for url in (target.gateway, target.register, target.config):
            if url:
                port = urlsplit(url).port
                assert port is not None
                ports.add(port)
    return sorted(ports)


def test_a_promoted_release_renders_the_same_after_its_sandboxes_stop(make_release_repo, tmp_path):
    r = make_release_repo(production=True)
    prepared = r.cli("prepare")
    assert prepared.exit_code == 0, prepared.stdout + prepared.stderr
    give_all_decisions(r)
    promoted = r.cli("promote", "1.1.0", "--json")
    assert promoted.exit_code == 0, promoted.stdout + promoted.stderr
    assert json.loads(promoted.stdout)["outcome"] == "PROMOTED"

    # A gate re-run after the promotion is recorded, but it is not part of the record the promotion was made on.
    rerun = r.cli("gate", "run", "checks", "--json", env={"CHECK_VERDICT": "fail"})
    assert rerun.exit_code == 1 and json.loads(rerun.stdout)["state"] == "FAILED", rerun.stdout + rerun.stderr

    running = render_all(r, tmp_path / "running")
    status = running["status"]
    assert isinstance(status, dict)
    assert status["state"] == "PROMOTED" and running["status-exit"] == 0
    assert status["evaluated"]["from"] == "recorded" and status["evaluated"]["as_of"]
    gates = {g["gate"]: g["state"] for g in status["gates"]}
    assert gates == {"checks": "PASSED", "qa": "PASSED", "change-board": "PASSED", "acceptance": "PASSED"}
    checks = next(g for g in status["gates"] if g["gate"] == "checks")
    assert checks["evidence"]["run_id"] < json.loads(rerun.stdout)["run_id"]  # the run promote relied on
    assert status["targets"]["staging"]["version"] == "1.1.0-rc.1"  # what the gate run recorded, not a probe
    assert running["md-json"]["verdict"] == "PROMOTED"  # type: ignore[index]
    assert "settled: from the recorded evidence" in str(running["status-text"])

    stop_all(r.run_dir)
    folder = r.path / ".release" / "reports" / "v1.1.0-rc.1"
    with listening_on(target_ports(r)) as asked:
        stopped = render_all(r, tmp_path / "stopped")
        # The paths `release demo` prints come from final_records: the final record, not prepare's report.
        ctx = open_context(r.path, environ={**r.env, "RELEASE_TEST_NOW": PINNED_NOW})
        printed = final_records(ctx, {"first": "1.1.0"})
    assert asked == [], f"a settled release must not probe any target: {asked}"
    assert stopped["status"] == running["status"]
    assert stopped["status-exit"] == running["status-exit"] == 0
    assert stopped["status-text"] == running["status-text"]
    assert stopped["md-json"] == running["md-json"]
    assert stopped["md"] == running["md"]
    assert stopped["html"] == running["html"]
    assert "INCONCLUSIVE" not in str(stopped["md"]) and "identity is unknown" not in str(stopped["md"])
    assert printed == {"first": str(folder / "change-record.html")}
    assert (folder / "change-record.html").read_text(encoding="utf-8") == running["html"]
    assert (folder / "change-record.md").read_text(encoding="utf-8") == running["md"]
    assert "BLOCKED" in (folder / "report.md").read_text(encoding="utf-8")  # prepare's, before any decision
