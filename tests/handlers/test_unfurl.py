"""Signed `link_shared` events through the real app: Zoho links unfurl into cards the channel may see, and
Slack's retries of one event are handled once."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.blocks import validate_message
from bot.feed.unfurls import parse_link
from bot.slack_requests import signed_headers
from tests.conftest import app_settled
from tests.feed_helpers import FINANCE, feed_structure

OTHER = "C0RANDOM01"


@pytest.fixture
def structure():
    return feed_structure()


def _event(event_id: str, channel: str, urls: list[str]) -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T0DEMO0001",
            "api_app_id": "A0THROUGHL",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1717000000,
            "event": {
                "type": "link_shared",
                "channel": channel,
                "is_bot_user_member": True,
                "user": "U0DEMOUSER",
                "message_ts": "1717000000.000100",
                "unfurl_id": "C123456.1717000000.000100",
                "source": "conversations_history",
                "links": [{"domain": "zoho.com", "url": u} for u in urls],
            },
        }
    )


async def _post(app_client, body: str, secret: str, **headers: str):
    return await app_client.post(
        "/slack/events",
        content=body,
        headers={**signed_headers(body, secret, content_type="application/json"), **headers},
    )


async def _unfurls(slack, count: int) -> list[dict]:
    for _ in range(500):
        calls = slack.stub.calls_to("chat.unfurl")
        if len(calls) >= count:
            return calls
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {count} chat.unfurl call(s), got {len(slack.stub.calls_to('chat.unfurl'))}")


def _links(sandbox) -> dict[str, str]:
    st = sandbox.state
    account = st.demo_account_id
    customer = st.books_contact_by_crm_account[account]
    invoice = st.books_invoices[st.books_invoices_by_customer[customer][0]]
    ticket = next(t for t in st.desk_tickets.values() if t["accountId"] == st.desk_account_by_crm[account])
    deal = st.crm_deals_by_account[account][0]
    return {
        "account": f"https://crm.zoho.com/crm/org7000/tab/Accounts/{account}",
        "deal": f"https://crm.zoho.com/crm/tab/Potentials/{deal}",
        "invoice": invoice["invoice_url"],
        "ticket": ticket["webUrl"],
    }


async def test_links_unfurl_with_what_the_finance_channel_may_see(app_client, slack, sandbox, signing_secret):
    links = _links(sandbox)
    reply = await _post(app_client, _event("Ev001", FINANCE, list(links.values())), signing_secret)
    assert reply.status_code == 200
    [call] = await _unfurls(slack, 1)
    assert call["channel"] == FINANCE and call["ts"] == "1717000000.000100"
    assert set(call["unfurls"]) == set(links.values())
    for unfurl in call["unfurls"].values():
        validate_message({"text": "unfurl", **unfurl})
    assert "Northwind Logistics Inc." in json.dumps(call["unfurls"][links["account"]])
    assert "Balance" in json.dumps(call["unfurls"][links["invoice"]])


async def test_other_channels_get_no_invoices_and_no_amounts(app_client, slack, sandbox, signing_secret):
    links = _links(sandbox)
    await _post(app_client, _event("Ev002", OTHER, list(links.values())), signing_secret)
    [call] = await _unfurls(slack, 1)
    assert links["invoice"] not in call["unfurls"]
    assert set(call["unfurls"]) == {links["account"], links["deal"], links["ticket"]}
    assert "$" not in json.dumps(call["unfurls"]) and "Outstanding" not in json.dumps(call["unfurls"])


async def test_a_slack_retry_of_one_event_is_handled_once(app_client, slack, sandbox, signing_secret):
    links = _links(sandbox)
    body = _event("Ev003", FINANCE, [links["ticket"]])
    # the first delivery may itself carry a retry header (Slack timed out waiting for us the first time)
    first = await _post(
        app_client, body, signing_secret, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert first.status_code == 200
    await _unfurls(slack, 1)
    retry = await _post(
        app_client, body, signing_secret, **{"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert retry.status_code == 200
    await _post(app_client, _event("Ev004", FINANCE, [links["ticket"]]), signing_secret)
    await _unfurls(slack, 2)
    await app_settled()
    assert len(slack.stub.calls_to("chat.unfurl")) == 2  # Ev003 once, Ev004 once


async def test_unsigned_events_are_refused(app_client, slack, sandbox):
    body = _event("Ev005", FINANCE, [_links(sandbox)["ticket"]])
    reply = await _post(app_client, body, "not-the-secret")
    assert reply.status_code == 401


def test_link_patterns():
    assert parse_link("https://crm.zoho.eu/crm/org123/tab/Potentials/55").kind == "deal"
    assert parse_link("https://crm.zohocloud.ca/crm/tab/Accounts/1").kind == "account"
    assert parse_link("https://books.zoho.in/app/9#/contacts/4").kind == "books_customer"
    assert parse_link("https://desk.zoho.com/agent/acme/support/tickets/details/77").kind == "ticket"
    assert parse_link("https://desk.zoho.com/agent/acme/accounts/details/78").kind == "desk_account"
    assert parse_link("https://example.com/crm/tab/Accounts/1") is None
    assert parse_link("https://crm.zoho.com/crm/tab/Leads/1") is None
