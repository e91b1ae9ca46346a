"""The promotion fence: a step write with owner= lands only while that owner still holds the claim."""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger_data import seed

from release.errors import PromotionSuperseded, ReleaseError
from release.ledger import Ledger, ReleaseState, StepStatus

pytestmark = pytest.mark.integration


def test_owner_may_write_steps_while_it_holds_the_claim(ledger: Ledger, tmp_path: Path) -> None:
    seed(ledger, tmp_path)
    assert ledger.claim_promotion("1.2.0", "proc-a")
    ledger.assert_promotion_owner("1.2.0", "proc-a")
    ledger.record_step("1.2.0", "tag", StepStatus.DONE, {"tag": "v1.2.0"}, owner="proc-a")
    assert ledger.completed_steps("1.2.0") == ["tag"]


def test_superseded_owner_writes_nothing_and_names_the_new_owner(ledger: Ledger, tmp_path: Path) -> None:
    seed(ledger, tmp_path)
    assert ledger.claim_promotion("1.2.0", "proc-a")
    assert ledger.claim_promotion("1.2.0", "proc-b", resume=True)
    head, count = ledger.audit_head(), len(ledger.audit_events())
    with pytest.raises(PromotionSuperseded, match="proc-b") as caught:
        ledger.record_step("1.2.0", "deploy", StepStatus.STARTED, owner="proc-a")
    assert caught.value.exit_code == 1 and isinstance(caught.value, ReleaseError)
    with pytest.raises(PromotionSuperseded, match="proc-b"):
        ledger.assert_promotion_owner("1.2.0", "proc-a")
    assert ledger.steps("1.2.0") == []
    assert (ledger.audit_head(), len(ledger.audit_events())) == (head, count)
    ledger.record_step("1.2.0", "deploy", StepStatus.STARTED, owner="proc-b")


def test_fence_refuses_when_the_release_is_not_promoting(ledger: Ledger, tmp_path: Path) -> None:
    seed(ledger, tmp_path)
    with pytest.raises(PromotionSuperseded, match="nobody"):
        ledger.record_step("1.2.0", "tag", StepStatus.STARTED, owner="proc-a")
    assert ledger.claim_promotion("1.2.0", "proc-a")
    ledger.set_release_state("1.2.0", ReleaseState.PROMOTED, actor="proc-a")
    with pytest.raises(PromotionSuperseded, match="PROMOTED"):
        ledger.assert_promotion_owner("1.2.0", "proc-a")
    assert ledger.steps("1.2.0") == []


def test_callers_without_owner_keep_working(ledger: Ledger, tmp_path: Path) -> None:
    seed(ledger, tmp_path)
    ledger.record_step("1.2.0", "tag", StepStatus.DONE)
    assert ledger.completed_steps("1.2.0") == ["tag"]
