"""Which audit events announce a notification, and the payloads sent for them (pure functions, no I/O).

The generic payload follows GitHub's webhook shape: an event name, a delivery id, the subject (the release) and
the facts of the event. No secret reaches it: each event's fields are picked by name from the (already scrubbed)
audit payload, never copied wholesale, and row images are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCHEMA = "crvs-release/notification/1"
#: Decision kinds as the audit log names them (decision.<kind>).
_DECISION_FIELDS = ("gate", "role", "comment", "report_hash", "criterion", "decided_at")
_WAIVER_FIELDS = ("gate", "reason", "expires_at")
_RECORD_FIELDS = ("n", "record_hash", "verdict", "candidate_sha")
_PROMOTED_FIELDS = ("tag", "sha", "branch")
_ROLLBACK_FIELDS = ("to", "from", "target", "tag", "sha", "reason")
MAX_COMMENT = 500


def _pick(payload: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    picked = {k: payload[k] for k in names if payload.get(k) is not None}
    if isinstance(picked.get("comment"), str) and len(picked["comment"]) > MAX_COMMENT:
        picked["comment"] = picked["comment"][:MAX_COMMENT] + "..."
    return picked


def announce(action: str, subject: str, actor: str, payload: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (event, body) pairs an audit event announces: none for most, two for a blocked candidate."""
    release = subject.split("/", 1)[0]
    base = {"schema": SCHEMA, "release": release, "subject": subject, "actor": actor}
    if action.startswith("decision."):
        sha = payload.get("sha")
        return [("decision.recorded", {**base, "event": "decision.recorded", "kind": action.split(".", 1)[1],
                                       "candidate_sha": sha, **_pick(payload, _DECISION_FIELDS)})]
    if action == "waiver.recorded":
        return [("waiver.recorded", {**base, "event": "waiver.recorded", "candidate_sha": payload.get("sha"),
                                     **_pick(payload, _WAIVER_FIELDS)})]
    if action == "record.rendered" and payload.get("reason") == "prepare":
        facts = _pick(payload, _RECORD_FIELDS)
        found = [("candidate.ready", {**base, "event": "candidate.ready", **facts})]
        if payload.get("verdict") == "BLOCKED":
            found.append(("blocked", {**base, "event": "blocked", **facts}))
        return found
    if action == "release.promoted":
        return [("promoted", {**base, "event": "promoted", **_pick(payload, _PROMOTED_FIELDS)})]
    if action == "release.rolled_back":
        return [("rolled_back", {**base, "event": "rolled_back", **_pick(payload, _ROLLBACK_FIELDS)})]
    if action == "release.watch_failed":  # release/workflow/watch.py FAILED_ACTION: production looks worse
        return [("failed_after_promote", {**base, "event": "failed_after_promote",
                                          **_pick(payload, ("verdict", "reason", "rollback"))})]
    if action == "promotion.emergency":  # release/workflow/freeze.py EMERGENCY_ACTION
        return [("emergency", {**base, "event": "emergency", **_pick(payload, ("reason", "role", "approvers"))})]
    return []


def _slack_escape(text: str) -> str:
    """Slack's three control characters in message text (api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(body: Mapping[str, Any]) -> str:
    """One line a chat channel shows for the event."""
    release, actor, event = body.get("release", "?"), body.get("actor", "?"), body.get("event", "?")
    if event == "decision.recorded":
        line = f"{actor} recorded {body.get('kind')} on {body.get('gate')} for release {release}"
        if body.get("comment"):
            line += f": {body['comment']}"
    elif event == "waiver.recorded":
        line = f"{actor} waived {body.get('gate')} for release {release} until {body.get('expires_at')}"
    elif event in ("candidate.ready", "blocked"):
        line = f"release {release}: change record {body.get('n')} is ready, verdict {body.get('verdict')}"
    elif event == "promoted":
        line = f"release {release} was promoted ({body.get('tag')}) by {actor}"
    elif event == "rolled_back":
        line = f"release {release} was rolled back by {actor}"
    elif event == "failed_after_promote":
        line = (f"release {release} FAILED AFTER PROMOTE: the watch says {body.get('verdict')}: {body.get('reason')}"
                f" (rollback: {'automatic' if body.get('rollback') else 'not configured'})")
    elif event == "emergency":
        line = f"release {release} is being promoted on the emergency path by {actor}: {body.get('reason')}"
    else:
        line = f"{event} on release {release}"
    return _slack_escape(f"[crvs-release] {line}")


def render_payload(body: Mapping[str, Any], delivery_id: str, fmt: str) -> dict[str, Any]:
    """The JSON document POSTed: the generic body with its delivery id, or a Slack-compatible {"text": ...}."""
    if fmt == "slack":
        return {"text": slack_text(body)}
    return {**body, "delivery": delivery_id}
