"""Desk contract: the sandbox answers and refuses as Zoho Desk's specs say, and the client asks only for that.

The facts live in `desk_spec.py` (each with its source file in zoho/zohodesk-oas); this module only asks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from bot.zoho.clients import ZohoClients
from bot.zoho.sandbox import Sandbox
from tests.bot.zoho.conftest import sandbox_clients
from tests.contracts._framework import PROBE_PARAM, Endpoint, answer_problems, fill, matches, request_problems
from tests.contracts.desk_spec import (
    ACCOUNT_WRITE,
    CONTACT_WRITE,
    ENDPOINTS,
    TICKET_INCLUDES,
    UNPINNED,
    endpoint,
)

READS = [e for e in ENDPOINTS if e.method == "GET"]


@pytest.fixture
async def client(sb: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.asgi_app()), base_url="http://sandbox") as c:
        yield c


@pytest.fixture
async def headers(client: httpx.AsyncClient, sb: Sandbox) -> dict[str, str]:
    c = sb.credentials
    r = await client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "refresh_token": c.refresh_token,
        },
    )
    return {"Authorization": f"Zoho-oauthtoken {r.json()['access_token']}", "orgId": c.desk_org_id}


def _ids(sb: Sandbox) -> dict[str, str]:
    desk_id = sb.state.desk_account_by_crm[sb.state.demo_account_id]
    ticket = next(t for t in sb.state.desk_tickets.values() if t["accountId"] == desk_id)
    return {"account_id": desk_id, "ticket_id": ticket["id"]}


async def _get(
    client: httpx.AsyncClient, headers: dict[str, str], e: Endpoint, ids: dict[str, str], **params: str
) -> httpx.Response:
    return await client.get(fill(e.path, ids), params={**e.used_params, **params}, headers=headers)


@pytest.mark.parametrize("e", READS, ids=lambda e: e.id)
async def test_answers_carry_only_documented_keys(client, headers, sb, e):
    reply = await _get(client, headers, e, _ids(sb))
    assert reply.status_code == 200, reply.text
    assert answer_problems(e, reply.json()) == []


@pytest.mark.parametrize("e", READS, ids=lambda e: e.id)
async def test_an_undocumented_parameter_is_refused_as_desk_does(client, headers, sb, e):
    reply = await _get(client, headers, e, _ids(sb), **{PROBE_PARAM: "1"})
    assert reply.status_code == 422
    body = reply.json()
    assert set(body) <= {"errorCode", "message", "errors"} and body["errorCode"] == "UNPROCESSABLE_ENTITY"
    assert PROBE_PARAM in body["message"]


@pytest.mark.parametrize("e", [e for e in READS if "sortBy" in e.enums], ids=lambda e: e.id)
async def test_sort_values_outside_the_spec_are_refused(client, headers, sb, e):
    undocumented = next(v for v in ("modifiedTime", "ticketNumber", "subject") if v not in e.enums["sortBy"])
    reply = await _get(client, headers, e, _ids(sb), sortBy=f"-{undocumented}")
    assert reply.status_code == 422 and reply.json()["errors"][0]["fieldName"] == "/sortBy"
    for value in e.enums["sortBy"]:
        assert (await _get(client, headers, e, _ids(sb), sortBy=f"-{value}")).status_code in (200, 204), value


async def test_include_nests_only_documented_objects(client, headers, sb):
    e = endpoint("accounts/{id}/tickets")
    reply = await _get(client, headers, e, _ids(sb), include="contacts,assignee,departments")
    assert answer_problems(e, reply.json(), extra_keys=TICKET_INCLUDES) == []
    bad = await _get(client, headers, e, _ids(sb), include="everything")
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("tickets/search", 0),
        ("accounts/search", 0),
        ("accounts", 1),
        ("accounts/{id}/tickets", 1),
        ("accounts/{id}/contacts", 1),
    ],
)
async def test_from_starts_where_the_spec_says_and_search_stops_at_999(client, headers, sb, name, first):
    e = endpoint(name)
    params = {k: v for k, v in e.used_params.items() if k not in ("from", "accountName")}
    ok = await client.get(fill(e.path, _ids(sb)), params={**params, "from": first}, headers=headers)
    assert ok.status_code in (200, 204)
    if first:
        below = await client.get(fill(e.path, _ids(sb)), params={**params, "from": first - 1}, headers=headers)
        assert below.status_code == 422
    else:
        beyond = await client.get(fill(e.path, _ids(sb)), params={**params, "from": 1000}, headers=headers)
        assert beyond.status_code == 422 and beyond.json()["errors"][0]["fieldName"] == "/from"
    assert (
        await client.get(fill(e.path, _ids(sb)), params={**params, "limit": 101}, headers=headers)
    ).status_code == 422


async def test_account_create_takes_the_documented_keys_and_nothing_else(client, headers, sb):
    e = endpoint("accounts (create)", "POST")
    body = {k: "" for k in ACCOUNT_WRITE - {"cf", "customFields", "associatedSLAIds", "ownerId", "layoutId"}}
    body.update(accountName="Contract Co", website="https://contract.example", email="a@contract.example")
    made = await client.post(e.path, json=body, headers=headers)
    assert made.status_code == 200, made.text
    assert answer_problems(e, made.json()) == []
    for extra in ({"zohoCRMAccount": {"id": sb.state.demo_account_id}}, {"crmAccountId": "1"}):
        refused = await client.post(e.path, json={"accountName": "Linked Co", **extra}, headers=headers)
        assert refused.status_code == 422 and next(iter(extra)) in refused.json()["message"]
    patch = endpoint("accounts/{id} (update)", "PATCH")
    path = fill(patch.path, {"account_id": made.json()["id"]})
    assert (await client.patch(path, json={"zohoCRMAccount": {"id": "1"}}, headers=headers)).status_code == 422
    changed = await client.patch(path, json={"phone": "555"}, headers=headers)
    assert changed.status_code == 200 and answer_problems(patch, changed.json()) == []


async def test_contact_create_takes_the_documented_keys_and_nothing_else(client, headers, sb):
    e = endpoint("contacts (create)", "POST")
    body = {k: "x" for k in CONTACT_WRITE - {"cf", "customFields", "accountId", "ownerId", "email", "zip"}}
    made = await client.post(e.path, json={**body, "accountId": _ids(sb)["account_id"]}, headers=headers)
    assert made.status_code == 200, made.text
    refused = await client.post(e.path, json={"lastName": "Ng", "zohoCRMContact": {"id": "1"}}, headers=headers)
    assert refused.status_code == 422 and "zohoCRMContact" in refused.json()["message"]


async def test_search_answers_count_and_204_when_nothing_matches(client, headers, sb):
    e = endpoint("tickets/search")
    reply = await _get(client, headers, e, _ids(sb))
    assert set(reply.json()) == {"data", "count"}
    none = await client.get(
        e.path, params={"modifiedTimeRange": "2001-01-01T00:00:00.000Z,2001-01-02T00:00:00.000Z"}, headers=headers
    )
    assert none.status_code == 204 and none.content == b""


async def test_the_client_sends_only_documented_parameters(sb):
    """Every Desk request the client makes, across sync, lookup and handoff calls, is a documented endpoint with
    documented parameters and enum values."""
    sent: list[tuple[str, str, dict[str, str]]] = []

    async def record(request: httpx.Request) -> None:
        url = urlsplit(str(request.url))
        if url.path.startswith("/api/v1/"):
            sent.append((request.method, url.path, dict(parse_qsl(url.query))))

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.asgi_app()), event_hooks={"request": [record]})
    zoho: ZohoClients = sandbox_clients(sb, http=http)
    desk, ids = zoho.desk, _ids(sb)
    try:
        since = datetime.now(UTC) - timedelta(days=30)
        [a async for a in desk.iter_accounts()]
        [a async for a in desk.iter_accounts(since)]
        [t async for t in desk.iter_tickets()]
        [t async for t in desk.iter_tickets(since)]
        crm = sb.state.crm["Accounts"][sb.state.demo_account_id]
        await desk.find_account_for_crm(crm["id"], crm["Account_Name"])
        await desk.get_account(ids["account_id"])
        await desk.account_tickets(ids["account_id"])
        await desk.get_ticket(ids["ticket_id"])
        made = await desk.create_account({"accountName": "Contract Client Co", "city": "Austin"})
        await desk.account_contacts(ids["account_id"])
        await desk.create_contact(
            {"lastName": "Ng", "firstName": "Ada", "email": "ada@example.com", "phone": "1", "accountId": made.id}
        )
        with pytest.raises(ValueError, match="zohoCRMAccount"):
            await desk.create_account({"accountName": "x", "zohoCRMAccount": {"id": "1"}})
    finally:
        await zoho.aclose()
    assert sent
    unpinned = [
        (m, p) for m, p, _ in sent if any(matches(Endpoint("desk", "", um, up, ""), m, p) for um, up in UNPINNED)
    ]
    problems = [p for m, path, q in sent if (m, path) not in unpinned for p in request_problems(ENDPOINTS, m, path, q)]
    assert problems == []
    assert not any(path == "/api/v1/tickets" for _, path, _ in sent)  # list rows never feed flags or changes
