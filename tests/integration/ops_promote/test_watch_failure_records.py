"""What a failed watch records when it does not roll back: [watch] rollback = false, or a verdict that is not FAIL."""

from __future__ import annotations

from pathlib import Path

import pytest

from release.config import WatchSettings
from release.ledger import Ledger
from release.workflow import watch as post_watch
from release.workflow.context import open_context
from tests.integration.ops_promote.conftest import build_ops_repo
from tests.integration.release_flow.conftest import PREPARER

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("settings", "verdict", "says"), [
    (WatchSettings(rollback=False), "FAIL", "not run"),
    (WatchSettings(rollback=True), "INCONCLUSIVE", "never rolls back by itself"),
    (WatchSettings(rollback=True), "ERROR", "never rolls back by itself"),
])
def test_a_failed_watch_is_audited_and_notified_without_a_rollback(tmp_path: Path, settings: WatchSettings,
                                                                   verdict: str, says: str) -> None:
    r = build_ops_repo(tmp_path)
    ctx = open_context(r.path, actor=PREPARER, environ=r.env)
    ctx.ensure_state_dir()
    lines: list[str] = []
    try:
        outcome = post_watch.after_failure(ctx, settings, "1.1.0", {"verdict": verdict, "reason": "event.search"},
                                           PREPARER, lines.append)
    finally:
        ctx.ledger.close()
    assert says in outcome["rollback"]
    assert any(line.startswith("NOTIFY: release 1.1.0 is FAILED_AFTER_PROMOTE") for line in lines)
    with Ledger.open(None, r.path, create=False) as ledger:
        failed = [e for e in ledger.audit_events() if e.action == post_watch.FAILED_ACTION]
        assert [(e.subject, e.payload["verdict"], e.payload["rollback"]) for e in failed] == [("1.1.0", verdict, False)]
        assert ledger.verify_audit().ok
