from __future__ import annotations

import httpx
import pytest

from bot.zoho.sandbox import Sandbox

ACCOUNT_FIELDS = "Account_Name,Owner,Website,Billing_City,Modified_Time"


async def test_fields_is_mandatory(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/crm/v8/Accounts", headers=auth)
    assert r.status_code == 400
    assert r.json()["code"] == "REQUIRED_PARAM_MISSING"
    assert r.json()["details"] == {"param_name": "fields"}


async def test_list_returns_only_requested_fields_and_info(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/crm/v8/Accounts", params={"fields": ACCOUNT_FIELDS, "per_page": 10}, headers=auth)
    body = r.json()
    assert r.status_code == 200
    assert len(body["data"]) == 10
    assert set(body["data"][0]) == {"id", *ACCOUNT_FIELDS.split(",")}
    assert set(body["data"][0]["Owner"]) == {"id", "name", "email"}
    info = body["info"]
    assert info["per_page"] == 10 and info["count"] == 10 and info["page"] == 1 and info["more_records"] is True
    assert info["next_page_token"] and info["page_token_expiry"]
    for key in ("sort_by", "sort_order", "previous_page_token"):
        assert key in info
    assert len(body["data"][0]["id"]) == 19 and body["data"][0]["id"].isdigit()


async def test_pages_then_204_and_page_token(client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox) -> None:
    seen: list[str] = []
    page = 1
    while True:
        r = await client.get(
            "/crm/v8/Deals", params={"fields": "Deal_Name", "per_page": 20, "page": page}, headers=auth
        )
        if r.status_code == 204:
            assert r.content == b""
            break
        body = r.json()
        seen += [d["id"] for d in body["data"]]
        if not body["info"]["more_records"]:
            break
        page += 1
    assert sorted(seen) == sorted(sb.state.crm["Deals"])
    r = await client.get("/crm/v8/Deals", params={"fields": "Deal_Name", "per_page": 200, "page": 99}, headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    first = (await client.get("/crm/v8/Deals", params={"fields": "Deal_Name", "per_page": 30}, headers=auth)).json()
    token = first["info"]["next_page_token"]
    second = (
        await client.get(
            "/crm/v8/Deals", params={"fields": "Deal_Name", "per_page": 30, "page_token": token}, headers=auth
        )
    ).json()
    assert {d["id"] for d in first["data"]}.isdisjoint(d["id"] for d in second["data"])


async def test_ids_sort_and_per_page_limit(client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox) -> None:
    ids = list(sb.state.crm["Accounts"])[:3]
    r = await client.get(
        "/crm/v8/Accounts", params={"fields": "Account_Name", "ids": ",".join(ids + ["1"])}, headers=auth
    )
    assert sorted(d["id"] for d in r.json()["data"]) == sorted(ids)
    r = await client.get(
        "/crm/v8/Accounts",
        params={"fields": "Modified_Time", "sort_by": "Modified_Time", "sort_order": "asc"},
        headers=auth,
    )
    times = [d["Modified_Time"] for d in r.json()["data"]]
    assert times == sorted(times)
    r = await client.get("/crm/v8/Accounts", params={"fields": "Account_Name", "per_page": 201}, headers=auth)
    assert r.status_code == 400
    r = await client.get("/crm/v8/Accounts", params={"fields": "Account_Name", "sort_by": "Account_Name"}, headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"


async def test_if_modified_since(client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox) -> None:
    stamps = sorted(a["Modified_Time"] for a in sb.state.crm["Accounts"].values())
    cutoff = stamps[-4]
    r = await client.get(
        "/crm/v8/Accounts", params={"fields": "Modified_Time"}, headers={**auth, "If-Modified-Since": cutoff}
    )
    assert r.status_code == 200
    assert len(r.json()["data"]) == 3 and all(d["Modified_Time"] > cutoff for d in r.json()["data"])
    r = await client.get(
        "/crm/v8/Accounts", params={"fields": "Modified_Time"}, headers={**auth, "If-Modified-Since": stamps[-1]}
    )
    assert r.status_code == 304
    r = await client.get(
        "/crm/v8/Accounts",
        params={"fields": "Modified_Time"},
        headers={**auth, "If-Modified-Since": "2000-01-01T00:00:00+05:30"},
    )
    assert len(r.json()["data"]) == 25


async def test_get_one_record_and_unknowns(client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox) -> None:
    acc = sb.state.demo_account_id
    r = await client.get(f"/crm/v8/Accounts/{acc}", headers=auth)
    record = r.json()["data"][0]
    assert record["Account_Name"] == "Northwind Logistics Inc." and record["Billing_Street"]
    r = await client.get("/crm/v8/Accounts/5725767000999999999", headers=auth)
    assert r.status_code == 204
    r = await client.get("/crm/v8/Widgets", params={"fields": "Name"}, headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_MODULE"
    r = await client.get("/crm/v1/Accounts", params={"fields": "Account_Name"}, headers=auth)
    assert r.status_code == 404 and r.json()["code"] == "INVALID_URL_PATTERN"


async def test_related_lists(client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox) -> None:
    acc = sb.state.demo_account_id
    r = await client.get(f"/crm/v8/Accounts/{acc}/Deals", params={"fields": "Deal_Name,Stage,Amount"}, headers=auth)
    deals = r.json()["data"]
    assert {d["Stage"] for d in deals} >= {"Closed Won", "Negotiation/Review"}
    assert r.json()["info"]["more_records"] is False
    r = await client.get(f"/crm/v8/Accounts/{acc}/Contacts", params={"fields": "Full_Name,Email"}, headers=auth)
    assert all(c["Email"].endswith("@northwindlogistics.com") for c in r.json()["data"])
    deal_id = deals[0]["id"]
    r = await client.get(
        f"/crm/v8/Deals/{deal_id}/Products", params={"fields": "Product_Name,Unit_Price"}, headers=auth
    )
    lines = r.json()["data"]
    # A plain association: no quantity and no deal price (those live on quote line items).
    assert lines and all(set(p) == {"Product_Name", "Unit_Price", "id"} for p in lines)
    r = await client.get(f"/crm/v8/Accounts/{acc}/Deals", headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "REQUIRED_PARAM_MISSING"
    product = next(iter(sb.state.crm["Products"]))
    r = await client.get(f"/crm/v8/Products/{product}/Deals", params={"fields": "Deal_Name"}, headers=auth)
    assert r.status_code == 400


async def test_search(client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox) -> None:
    r = await client.get(
        "/crm/v8/Deals/search",
        params={"criteria": "((Account_Name:equals:Northwind)and(Stage:equals:Closed Won))"},
        headers=auth,
    )
    data = r.json()["data"]
    assert [d["Deal_Name"] for d in data] == ["Northwind Logistics - Fleet Tracking 2025"]
    r = await client.get(
        "/crm/v8/Accounts/search", params={"criteria": "(Account_Name:starts_with:Zylker)"}, headers=auth
    )
    assert [a["Account_Name"] for a in r.json()["data"]] == ["Zylker Corporation"]
    r = await client.get(
        "/crm/v8/Deals/search",
        params={"criteria": "((Stage:equals:Closed Won)or(Stage:equals:Closed Lost))", "fields": "Stage"},
        headers=auth,
    )
    assert {d["Stage"] for d in r.json()["data"]} <= {"Closed Won", "Closed Lost", "Closed Lost to Competition"}
    assert set(r.json()["data"][0]) == {"id", "Stage"}
    email = next(iter(sb.state.crm["Contacts"].values()))["Email"]
    r = await client.get("/crm/v8/Contacts/search", params={"email": email}, headers=auth)
    assert r.json()["data"][0]["Email"] == email
    r = await client.get("/crm/v8/Accounts/search", params={"word": "northwind"}, headers=auth)
    assert r.json()["data"][0]["id"] == sb.state.demo_account_id
    r = await client.get(
        "/crm/v8/Accounts/search", params={"criteria": "(Account_Name:equals:No Such Co)"}, headers=auth
    )
    assert r.status_code == 204
    r = await client.get("/crm/v8/Accounts/search", params={"criteria": "Account_Name:equals:x"}, headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_QUERY"
    r = await client.get("/crm/v8/Accounts/search", headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "REQUIRED_PARAM_MISSING"


async def test_search_escapes(client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox) -> None:
    acc = sb.state.crm["Accounts"][sb.state.demo_account_id]
    acc["Account_Name"] = "Northwind (Oakland), Inc."
    r = await client.get(
        "/crm/v8/Accounts/search",
        params={"criteria": r"(Account_Name:equals:Northwind \(Oakland\)\, Inc.)"},
        headers=auth,
    )
    assert [a["id"] for a in r.json()["data"]] == [acc["id"]]


@pytest.mark.parametrize(
    ("query", "check"),
    [
        (
            "select Deal_Name, Stage from Deals where Stage = 'Closed Won' limit 5",
            lambda rows: all(r["Stage"] == "Closed Won" for r in rows) and len(rows) <= 5,
        ),
        (
            "select Deal_Name, Amount from Deals where (Amount >= 50000 and Stage != 'Closed Lost') "
            "order by Amount desc",
            lambda rows: [r["Amount"] for r in rows] == sorted((r["Amount"] for r in rows), reverse=True),
        ),
        (
            "select Deal_Name, Stage from Deals where Stage in ('Qualification', 'Needs Analysis')",
            lambda rows: {r["Stage"] for r in rows} == {"Qualification", "Needs Analysis"},
        ),
        (
            "select Account_Name from Accounts where Account_Name like 'Zylker%'",
            lambda rows: [r["Account_Name"] for r in rows] == ["Zylker Corporation"],
        ),
        (
            "select Account_Name, Billing_City from Accounts where Billing_City is null",
            lambda rows: [r["Account_Name"] for r in rows] == ["Pinecrest Outfitters Ltd"],
        ),
        (
            "select Deal_Name, Account_Name, Account_Name.Account_Name from Deals "
            "where Account_Name.Account_Name = 'Northwind Logistics Inc.'",
            lambda rows: (
                len(rows) == 4
                and set(rows[0]["Account_Name"]) == {"id"}
                and rows[0]["Account_Name.Account_Name"] == "Northwind Logistics Inc."
            ),
        ),
        (
            "select Deal_Name from Deals where Modified_Time >= '2000-01-01T00:00:00+00:00' limit 2, 3",
            lambda rows: len(rows) == 3,
        ),
    ],
)
async def test_coql(client: httpx.AsyncClient, auth: dict[str, str], query: str, check: object) -> None:
    r = await client.post("/crm/v8/coql", json={"select_query": query}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["info"]) == {"count", "more_records"}
    assert body["info"]["count"] == len(body["data"])
    assert callable(check) and check(body["data"])


async def test_coql_paging_and_errors(client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox) -> None:
    q = "select Deal_Name from Deals where Deal_Name is not null order by id limit {}"
    a = (await client.post("/crm/v8/coql", json={"select_query": q.format("0, 10")}, headers=auth)).json()
    b = (await client.post("/crm/v8/coql", json={"select_query": q.format("10 offset 10")}, headers=auth)).json()
    assert a["info"]["more_records"] is True
    assert {r["id"] for r in a["data"]}.isdisjoint(r["id"] for r in b["data"])
    r = await client.post("/crm/v8/coql", json={"select_query": "select from Deals"}, headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "SYNTAX_ERROR"
    r = await client.post(
        "/crm/v8/coql", json={"select_query": "select Nope from Deals where id is not null"}, headers=auth
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_QUERY"
    r = await client.post(
        "/crm/v8/coql", json={"select_query": "select Deal_Name from Deals where Stage = 'X'"}, headers=auth
    )
    assert r.status_code == 204
    r = await client.post("/crm/v8/coql", json={}, headers=auth)
    assert r.status_code == 400


async def test_put_updates_and_reports_per_record(client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox) -> None:
    deal_id = sb.state.crm_deals_by_account[sb.state.demo_account_id][0]
    before = sb.state.crm["Deals"][deal_id]["Modified_Time"]
    r = await client.put(
        "/crm/v8/Deals", json={"data": [{"id": deal_id, "Stage": "Closed Won", "Amount": 190000}]}, headers=auth
    )
    assert r.status_code == 200
    result = r.json()["data"][0]
    assert result["code"] == "SUCCESS" and result["status"] == "success" and result["message"] == "record updated"
    assert set(result["details"]) == {"Modified_Time", "Modified_By", "Created_Time", "id", "Created_By"}
    deal = sb.state.crm["Deals"][deal_id]
    assert deal["Stage"] == "Closed Won" and deal["Amount"] == 190000
    assert deal["Modified_Time"] > before and deal["Modified_By"]["name"] == "Throughline Integration"
    r = await client.put(
        "/crm/v8/Deals",
        json={"data": [{"id": deal_id, "Amount": "lots"}, {"id": "1"}, {"id": deal_id, "Description": "ok"}]},
        headers=auth,
    )
    assert r.status_code == 207
    codes = [d["code"] for d in r.json()["data"]]
    assert codes == ["INVALID_DATA", "INVALID_DATA", "SUCCESS"]
    assert r.json()["data"][0]["details"]["api_name"] == "Amount"


async def test_post_creates_and_checks_mandatory(client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox) -> None:
    acc = sb.state.demo_account_id
    r = await client.post(
        "/crm/v8/Deals",
        json={
            "data": [{"Deal_Name": "New one", "Stage": "Qualification", "Account_Name": {"id": acc}, "Amount": 1000}]
        },
        headers=auth,
    )
    assert r.status_code == 201
    new_id = r.json()["data"][0]["details"]["id"]
    assert r.json()["data"][0]["message"] == "record added"
    assert sb.state.crm["Deals"][new_id]["Account_Name"] == {"id": acc, "name": "Northwind Logistics Inc."}
    r = await client.get(f"/crm/v8/Accounts/{acc}/Deals", params={"fields": "Deal_Name"}, headers=auth)
    assert new_id in {d["id"] for d in r.json()["data"]}
    r = await client.post("/crm/v8/Deals", json={"data": [{"Stage": "Qualification"}]}, headers=auth)
    assert r.status_code == 400
    assert r.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    assert r.json()["data"][0]["details"]["api_name"] == "Deal_Name"


async def test_watch_subscribe_list_notify_unsubscribe(
    client: httpx.AsyncClient, auth: dict[str, str], sb: Sandbox
) -> None:
    body = {
        "watch": [
            {
                "channel_id": 1000000068001,
                "events": ["Deals.edit", "Deals.create"],
                "notify_url": "https://bot.example/zoho/crm",
                "token": "s3cret",
                "return_affected_field_values": True,
            }
        ]
    }
    r = await client.post("/crm/v8/actions/watch", json=body, headers=auth)
    answer = r.json()["watch"][0]
    assert answer["code"] == "SUCCESS"
    assert answer["message"] == "Successfully subscribed for actions-watch of the given module"
    event = answer["details"]["events"][0]
    assert set(event) == {"channel_expiry", "resource_uri", "resource_id", "resource_name", "channel_id"}
    assert event["resource_name"] == "Deals" and event["channel_id"] == "1000000068001"
    listed = (await client.get("/crm/v8/actions/watch", headers=auth)).json()["watch"]
    assert listed[0]["channel_id"] == "1000000068001"
    deal_id = next(iter(sb.state.crm["Deals"]))
    await client.put("/crm/v8/Deals", json={"data": [{"id": deal_id, "Stage": "Closed Lost"}]}, headers=auth)
    url, payload = sb.state.notifications[-1]
    assert url == "https://bot.example/zoho/crm"
    assert payload["ids"] == [deal_id] and payload["operation"] == "update" and payload["token"] == "s3cret"
    assert payload["module"] == "Deals" and payload["affected_fields"] == [{deal_id: ["Stage"]}]
    r = await client.delete("/crm/v8/actions/watch", params={"channel_ids": "1000000068001"}, headers=auth)
    assert r.json()["watch"][0]["code"] == "SUCCESS"
    assert (await client.get("/crm/v8/actions/watch", headers=auth)).status_code == 204
