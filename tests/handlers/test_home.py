"""App Home through the real app: a signed `app_home_opened` event in, `views.publish` out."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot.reports.home import validate_view
from bot.slack_requests import signed_headers
from tests.bot.reports import fixtures as fx
from tests.conftest import app_settled


@pytest.fixture
def structure():  # type: ignore[no-untyped-def]
    from bot.config import parse_structure

    return parse_structure('timezone = "Europe/Berlin"\n[approvers]\ninvoice = ["S0FINANCE1"]\n')


@pytest.fixture
def mirror(deps, clock, slack):  # type: ignore[no-untyped-def]
    fx.fill(deps.store)
    clock.now = fx.NOW
    slack.stub.users_by_email["ann@example.com"] = "U0ANN0001"
    slack.stub.users_by_email["ben@example.com"] = "U0BEN0001"
    slack.stub.usergroups["S0FINANCE1"] = ["U0BEN0001"]
    return deps


def _event(user: str, tab: str = "home", event_id: str = "Ev0HOME0001") -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T0DEMO0001",
            "api_app_id": "A0THROUGHL",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0HOME0001",
                "tab": tab,
                "event_ts": f"{time.time():.6f}",
            },
        }
    )


async def _open(app_client, secret: str, body: str):  # type: ignore[no-untyped-def]
    return await app_client.post(
        "/slack/events", content=body, headers=signed_headers(body, secret, content_type="application/json")
    )


async def _published(slack, count: int = 1) -> list[dict]:  # type: ignore[type-arg]
    for _ in range(500):
        found = slack.stub.calls_to("views.publish")
        if len(found) >= count:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError("views.publish was not called")


async def test_an_owner_sees_their_accounts_with_health(app_client, signing_secret, slack, mirror):
    reply = await _open(app_client, signing_secret, _event("U0ANN0001"))
    assert reply.status_code == 200
    [call] = await _published(slack)
    assert call["user_id"] == "U0ANN0001"
    view = call["view"]
    validate_view(view)
    text = json.dumps(view, ensure_ascii=False)
    assert "Your accounts (4)" in text and "Acme GmbH" in text and "Bolt Ltd" not in text
    assert "Waiting for your approval" not in text  # Ann is not in the approvers' group
    assert "A1 deal D11" in text and "missing billing address" in text  # her recent handoff
    assert [c["user"] for c in slack.stub.calls_to("users.info")] == ["U0ANN0001"]

    # The email is remembered: the next opening does not ask Slack again.
    await _open(app_client, signing_secret, _event("U0ANN0001", event_id="Ev0HOME0002"))
    await _published(slack, 2)
    assert len(slack.stub.calls_to("users.info")) == 1


async def test_an_approver_sees_what_waits_for_approval(app_client, signing_secret, slack, mirror):
    await _open(app_client, signing_secret, _event("U0BEN0001"))
    [call] = await _published(slack)
    validate_view(call["view"])
    text = json.dumps(call["view"], ensure_ascii=False)
    assert "Waiting for your approval (1)" in text and "A2 deal D10" in text and "€6,000.00" in text
    assert "Your accounts (2)" in text and "Bolt Ltd" in text and "Dormant AG" in text


async def test_the_messages_tab_is_left_alone(app_client, signing_secret, slack, mirror):
    reply = await _open(app_client, signing_secret, _event("U0ANN0001", tab="messages"))
    assert reply.status_code == 200
    await app_settled()
    assert slack.stub.calls_to("views.publish") == []


async def test_an_unknown_user_gets_a_home_that_says_why(app_client, signing_secret, slack, mirror):
    await _open(app_client, signing_secret, _event("U0NOBODY01"))
    [call] = await _published(slack)
    validate_view(call["view"])
    assert "did not tell us your email" in json.dumps(call["view"])
