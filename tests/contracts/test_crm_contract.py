"""The CRM contract: the client sends only documented parameters and keys, and the sandbox answers only documented
keys and refuses the rest in CRM's own error shape. Facts and their sources are in crm_spec.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.zoho.sandbox import Sandbox

from . import crm_spec as spec
from .conftest import URL


@pytest.fixture
async def api(sb: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    c = sb.credentials
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.asgi_app()), base_url=URL) as client:
        token = (
            await client.post(
                "/oauth/v2/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "refresh_token": c.refresh_token,
                },
            )
        ).json()["access_token"]
        client.headers["Authorization"] = f"Zoho-oauthtoken {token}"
        yield client


def endpoint_for(request: httpx.Request) -> spec.Endpoint:
    parts = [p for p in request.url.path.removeprefix("/crm/v8/").split("/") if p]
    method = request.method
    if parts == ["coql"]:
        return spec.COQL
    if parts == ["actions", "watch"]:
        return {"POST": spec.WATCH, "PATCH": spec.WATCH_UPDATE, "DELETE": spec.UNWATCH, "GET": spec.WATCHED}[method]
    if len(parts) == 1:
        return spec.LIST if method == "GET" else spec.UPDATE
    if parts[1] == "search":
        return spec.SEARCH
    return spec.RECORD if len(parts) == 2 else spec.RELATED


def quoted_deal(sb: Sandbox) -> str:
    return next(q["Deal_Name"]["id"] for q in sb.state.crm["Quotes"].values())


def unquoted_deal(sb: Sandbox) -> str:
    quoted = {q["Deal_Name"]["id"] for q in sb.state.crm["Quotes"].values()}
    return next(d for d, lines in sb.state.deal_products.items() if lines and d not in quoted)


async def test_the_client_sends_only_documented_parameters_and_keys(sb, recorded):
    clients, recording = recorded
    crm = clients.crm
    account_id = sb.state.demo_account_id
    await crm.get_account(account_id)
    await crm.get_accounts([account_id])
    async for _ in crm.iter_deals(modified_since=datetime.now(UTC) - timedelta(days=30)):
        break
    await crm.account_deals(account_id)
    await crm.account_contacts(account_id)
    assert (await crm.deal_lines(quoted_deal(sb))).source == "quote"
    assert (await crm.deal_lines(unquoted_deal(sb))).source == "products"
    await crm.search_accounts("North")
    await crm.search_accounts("North", mode="starts_with")
    await crm.search_contacts_by_email("nobody@example.com")
    await crm.coql(f"select Deal_Name from Deals where Account_Name = '{account_id}' limit 5")
    deal_id = sb.state.crm_deals_by_account[account_id][0]
    await crm.update("Deals", [{"id": deal_id, "Description": "checked"}])
    expiry = datetime.now(UTC) + timedelta(days=2)
    await crm.watch(
        channel_id=1000000068001,
        events=["Deals.edit"],
        notify_url="https://x.example/zoho/crm",
        token="t0ken",
        expiry=expiry,
    )
    await crm.update_watch(
        channel_id=1000000068001,
        events=["Deals.edit"],
        notify_url="https://x.example/zoho/crm",
        token="t0ken",
        expiry=expiry + timedelta(days=1),
    )
    assert (await crm.watch_channel(1000000068001)) is not None
    await crm.unwatch([1000000068001])

    sent = [r for r in recording.requests if r.url.path.startswith("/crm/")]
    assert {endpoint_for(r) for r in sent} == set(spec.ENDPOINTS)  # every endpoint in the spec is exercised
    for request in sent:
        endpoint = endpoint_for(request)
        undocumented = set(request.url.params) - endpoint.params
        assert not undocumented, f"{request.method} {request.url.path} sends {undocumented} ({endpoint.source})"
        if endpoint in (spec.LIST, spec.RECORD, spec.RELATED, spec.SEARCH) and "fields" in request.url.params:
            module = request.url.path.split("/")[-1] if endpoint is spec.RELATED else request.url.path.split("/")[3]
            asked = set(request.url.params["fields"].split(","))
            assert asked <= spec.MODULE_FIELDS[module], f"{module}: {asked - spec.MODULE_FIELDS[module]}"
        if request.content and endpoint.body_keys:
            body = json.loads(request.content)
            items = body.get("watch", [body]) if endpoint in (spec.WATCH, spec.WATCH_UPDATE) else [body]
            for item in items:
                assert set(item) <= endpoint.body_keys, f"{endpoint.source}: {set(item) - endpoint.body_keys}"


@pytest.mark.parametrize(
    "path, fields",
    [
        ("/crm/v8/Accounts", "Account_Name,Billing_Code"),
        ("/crm/v8/Accounts/{account}", "Account_Name,Owner"),
        ("/crm/v8/Accounts/{account}/Deals", "Deal_Name,Stage,Amount"),
        ("/crm/v8/Accounts/{account}/Contacts", "Full_Name,Email"),
        ("/crm/v8/Deals/{quoted}/Products", "Product_Name,Product_Code,Unit_Price"),
        ("/crm/v8/Deals/{quoted}/Quotes", "Subject,Quote_Stage,Grand_Total,Modified_Time"),
        ("/crm/v8/Accounts/search", "Account_Name"),
    ],
)
async def test_answers_carry_exactly_the_requested_fields(sb, api, path, fields):
    url = path.format(account=sb.state.demo_account_id, quoted=quoted_deal(sb))
    params = {"fields": fields, **({"word": "North"} if url.endswith("search") else {})}
    r = await api.get(url, params=params)
    assert r.status_code == 200
    body = r.json()
    assert set(body) <= {"data", "info"}
    for row in body["data"]:
        assert set(row) == set(fields.split(",")) | {"id"}
    assert set(body.get("info", {})) <= spec.INFO_KEYS


async def test_deal_products_never_carry_a_quantity_or_deal_price(sb, api):
    for deal_id in (quoted_deal(sb), unquoted_deal(sb)):
        asked = "Product_Name,Unit_Price,Quantity,List_Price"
        r = await api.get(f"/crm/v8/Deals/{deal_id}/Products", params={"fields": asked})
        if r.status_code == 400:  # refusing the line-item names is as good as leaving them out
            continue
        for row in r.json()["data"]:
            assert set(row) <= spec.PRODUCT_FIELDS and not set(row) & spec.LINE_ONLY_KEYS


async def test_quote_line_items_are_the_documented_ones(sb, api):
    for quote in list(sb.state.crm["Quotes"].values())[:5]:
        r = await api.get(f"/crm/v8/Quotes/{quote['id']}")
        [record] = r.json()["data"]
        assert set(record) <= spec.MODULE_FIELDS["Quotes"] | {"id"}
        for item in record["Quoted_Items"]:
            assert spec.QUOTED_ITEM_REQUIRED <= set(item) <= spec.QUOTED_ITEM_KEYS


@pytest.mark.parametrize(
    "path, params",
    [
        ("/crm/v8/Deals", {"fields": "Deal_Name"}),
        ("/crm/v8/Deals/{deal}", {"fields": "Deal_Name"}),
        ("/crm/v8/Deals/{deal}/Products", {"fields": "Product_Name"}),
        ("/crm/v8/Deals/search", {"word": "North"}),
    ],
)
async def test_undocumented_parameters_are_refused_in_crm_shape(sb, api, path, params):
    url = path.format(deal=quoted_deal(sb))
    r = await api.get(url, params={**params, "modified_since": "2026-01-01T00:00:00+00:00"})
    assert r.status_code == 400
    assert set(r.json()) == spec.ERROR_KEYS and r.json()["code"] == "INVALID_DATA"
    assert r.json()["details"]["param_name"] == "modified_since"


async def test_unknown_keys_in_writes_are_refused(sb, api):
    deal_id = quoted_deal(sb)
    r = await api.put("/crm/v8/Deals", json={"data": [{"id": deal_id, "Invoice_Total_Guess": 1}]})
    [result] = r.json()["data"]
    assert set(result) == spec.RESULT_KEYS and result["code"] == "INVALID_DATA"
    assert result["details"]["api_name"] == "Invoice_Total_Guess"
    assert "Invoice_Total_Guess" not in sb.state.crm["Deals"][deal_id]
    channel = {"channel_id": 5, "events": ["Deals.edit"], "notify_url": "https://x.example", "secret_sauce": 1}
    r = await api.post("/crm/v8/actions/watch", json={"watch": [channel]})
    assert r.status_code == 400 and r.json()["watch"][0]["code"] == "INVALID_DATA"


async def test_watch_answers_are_documented(api):
    expiry = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    channel = {"channel_id": 7, "events": ["Deals.edit"], "notify_url": "https://x.example", "channel_expiry": expiry}
    for method in ("POST", "PATCH"):
        r = await api.request(method, "/crm/v8/actions/watch", json={"watch": [channel]})
        [result] = r.json()["watch"]
        assert set(result) == spec.RESULT_KEYS and result["status"] == "success"
        assert all(set(e) == spec.WATCH_EVENT_KEYS for e in result["details"]["events"])
    r = await api.request("PATCH", "/crm/v8/actions/watch", json={"watch": [{**channel, "channel_id": 8}]})
    assert r.status_code == 400 and set(r.json()["watch"][0]) == spec.ERROR_KEYS  # no such channel to update
    r = await api.get("/crm/v8/actions/watch", params={"channel_id": "7"})
    [row] = r.json()["watch"]
    assert set(row) <= spec.WATCHED_KEYS and all(isinstance(e, str) for e in row["events"])
    assert set(r.json()["info"]) <= spec.WATCHED_INFO_KEYS
