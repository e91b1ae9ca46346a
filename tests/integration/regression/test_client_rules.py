"""crvs_client against real sandboxes: OpenCRVS v2.0.0's rules as the client meets them."""

from __future__ import annotations

import time

import pytest

from crvs_client import (
    ActionNotAccepted,
    Deployment,
    Forbidden,
    Locations,
    RateLimited,
    SyntheticFactory,
    Target,
    TokenCache,
    current_state,
    review_annotation,
    signature_png,
)

pytestmark = pytest.mark.integration


def _target(sandbox, tokens=None, **kw) -> Target:
    return Target(Deployment.from_profile(sandbox.profile(), sandbox.profile_env()), tokens=tokens or TokenCache(),
                  **kw)


def _declare(client, locations: Locations, keep_assignment=None) -> tuple[dict, dict]:
    created = client.create_event("birth")
    signature = client.upload(signature_png(), "signature.png", "image/png")
    declaration = SyntheticFactory(5, locations=locations).birth_declaration()
    return created, client.declare(created["id"], declaration, annotation=review_annotation(signature),
                                   keep_assignment=keep_assignment)


def test_tokens_are_reused_per_account(clean_sandbox):
    target = _target(clean_sandbox)
    clients = [target.user("local_registrar", 0) for _ in range(20)]
    assert target.tokens.logins == 1 and len({c.token for c in clients}) == 1
    pool = {target.user("local_registrar").subject for _ in range(6)}
    assert len(pool) == len(target.deployment.accounts("local_registrar")) >= 2, "round-robin must use the pool"


def test_402_is_a_clear_rate_limit_after_a_bounded_back_off(sandbox_with):
    sandbox = sandbox_with(auth_rate_limit=2)
    target = _target(sandbox)
    account = target.deployment.account("hospital_clerk")
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        for _ in range(4):
            target.anonymous().login(account.username, account.password, target.deployment.login_code,
                                     backoff=(0.1, 0.1))
    assert caught.value.status == 402
    assert str(caught.value).endswith(f"login rate limit (402) for {account.username}; reuse tokens or wait a minute")
    assert time.monotonic() - started < 10


def test_rest_goes_to_the_register_host_and_files_upload_to_the_gateway(clean_sandbox):
    target = _target(clean_sandbox)
    clerk = target.user("hospital_clerk", 0)
    assert clerk.rest_base == clean_sandbox.register_url + "/api"
    created, declared = _declare(clerk, target.locations())
    assert current_state(declared).status == "DECLARED"
    assert clerk.rest_get_event(created["id"])["id"] == created["id"]
    via_gateway = Target(Deployment.from_profile({**clean_sandbox.profile(), "register": None},
                                                 clean_sandbox.profile_env()), tokens=TokenCache())
    assert via_gateway.user("hospital_clerk", 0).rest_get_event(created["id"])["id"] == created["id"]


def test_identity_is_the_x_version_header(clean_sandbox):
    assert _target(clean_sandbox).identity() == "2.0.0-sandbox"


def test_system_client_may_create_but_not_declare(clean_sandbox):
    target = _target(clean_sandbox)
    locations = target.locations()
    system = target.system()
    created = system.create_event("birth")
    assert created["actions"][0].get("createdAtLocation") == locations.office.id
    with pytest.raises(Forbidden):
        system.declare(created["id"], SyntheticFactory(1, locations=locations).birth_declaration())


def test_asynchronous_confirmation_is_waited_for(sandbox_with):
    target = _target(sandbox_with(async_confirm=0.5))
    registrar = target.user("local_registrar", 0)
    _, declared = _declare(registrar, target.locations(), keep_assignment=True)
    state = current_state(declared)
    assert state.status == "DECLARED" and "validated" in state.flags


def test_a_record_stuck_in_requested_raises_action_not_accepted(sandbox_with):
    target = _target(sandbox_with(defects=["stuck-requested"]), accept_timeout=1.0)
    clerk = target.user("hospital_clerk", 0)
    with pytest.raises(ActionNotAccepted) as caught:
        _declare(clerk, target.locations())
    assert "DECLARE on event" in caught.value.message and "still Requested after 1s" in caught.value.message


def test_two_fa_code_comes_from_the_profile_env(sandbox_with):
    sandbox = sandbox_with(login_code="246810")
    profile = sandbox.profile()
    assert profile["two_fa"] is True and profile["login_code_env"]
    target = _target(sandbox)
    assert target.deployment.login_code == "246810"
    assert target.user("hospital_clerk", 0).subject
