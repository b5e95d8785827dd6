from __future__ import annotations

import httpx

from bot.zoho.sandbox import Sandbox


async def test_org_id_header(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/v1/tickets", headers=auth)
    assert r.status_code == 422 and "errorCode" in r.json()
    r = await client.get("/api/v1/tickets", headers={**auth, "orgId": "1"})
    assert r.status_code == 403 and r.json()["errorCode"] == "OAUTH_ORG_MISMATCH"


async def test_from_limit_paging(client: httpx.AsyncClient, desk_headers: dict[str, str], sb: Sandbox) -> None:
    seen: list[str] = []
    start = 0
    while True:
        r = await client.get("/api/v1/tickets", params={"from": start, "limit": 50}, headers=desk_headers)
        if r.status_code == 204:
            break
        page = r.json()["data"]
        assert set(r.json()) == {"data"}
        seen += [t["id"] for t in page]
        if len(page) < 50:
            break
        start += 50
    assert sorted(seen) == sorted(sb.state.desk_tickets)
    r = await client.get("/api/v1/tickets", params={"limit": 101}, headers=desk_headers)
    assert r.status_code == 422 and r.json()["errorCode"] == "INVALID_DATA"
    r = await client.get("/api/v1/tickets", params={"sortOrder": "desc"}, headers=desk_headers)
    assert r.status_code == 422 and "sortOrder" in r.json()["message"]
    r = await client.get("/api/v1/tickets", params={"limit": 5}, headers=desk_headers)
    assert len(r.json()["data"]) == 5
    r = await client.get("/api/v1/tickets", params={"from": 100000}, headers=desk_headers)
    assert r.status_code == 204


async def test_sort_by_modified_time_desc(client: httpx.AsyncClient, desk_headers: dict[str, str]) -> None:
    r = await client.get("/api/v1/tickets", params={"sortBy": "-modifiedTime", "limit": 100}, headers=desk_headers)
    times = [t["modifiedTime"] for t in r.json()["data"]]
    assert times == sorted(times, reverse=True)
    r = await client.get("/api/v1/tickets", params={"sortBy": "bogus"}, headers=desk_headers)
    assert r.status_code == 422


async def test_account_tickets_and_detail(client: httpx.AsyncClient, desk_headers: dict[str, str],
                                          sb: Sandbox) -> None:
    desk_id = sb.state.desk_account_by_crm[sb.state.demo_account_id]
    r = await client.get(f"/api/v1/accounts/{desk_id}", headers=desk_headers)
    account = r.json()
    assert account["zohoCRMAccount"] == {"id": sb.state.demo_account_id} and account["webUrl"]
    r = await client.get(f"/api/v1/accounts/{desk_id}/tickets", params={"limit": 100}, headers=desk_headers)
    tickets = r.json()["data"]
    assert {t["statusType"] for t in tickets} == {"Open", "On Hold", "Closed"}
    assert any(t["isEscalated"] for t in tickets) and any(t["isOverDue"] for t in tickets)
    assert all(t["accountId"] == desk_id for t in tickets)
    r = await client.get(f"/api/v1/accounts/{desk_id}/tickets", params={"status": "Closed"}, headers=desk_headers)
    assert [t["status"] for t in r.json()["data"]] == ["Closed"]
    r = await client.get(f"/api/v1/tickets/{tickets[0]['id']}", headers=desk_headers)
    assert r.json()["id"] == tickets[0]["id"] and r.json()["createdTime"].endswith(".000Z")
    r = await client.get("/api/v1/tickets/1", headers=desk_headers)
    assert r.status_code == 404 and r.json()["errorCode"] == "RESOURCE_NOT_FOUND"


async def test_ticket_search_modified_range(client: httpx.AsyncClient, desk_headers: dict[str, str],
                                            sb: Sandbox) -> None:
    stamps = sorted(t["modifiedTime"] for t in sb.state.desk_tickets.values())
    r = await client.get("/api/v1/tickets/search", params={"modifiedTimeRange": f"{stamps[-3]},{stamps[-1]}",
                                                           "limit": 100}, headers=desk_headers)
    assert r.json()["count"] == 3


async def test_account_search_and_lists(client: httpx.AsyncClient, desk_headers: dict[str, str],
                                        sb: Sandbox) -> None:
    r = await client.get("/api/v1/accounts/search", params={"accountName": "*Zylker*"}, headers=desk_headers)
    assert [a["accountName"] for a in r.json()["data"]] == ["Zylker Corp"]
    r = await client.get("/api/v1/accounts/search", params={"accountName": "Nothing Here"}, headers=desk_headers)
    assert r.status_code == 204
    r = await client.get("/api/v1/accounts", params={"limit": 100}, headers=desk_headers)
    names = [a["accountName"] for a in r.json()["data"]]
    assert names == sorted(names, key=str.lower) and len(names) == len(sb.state.desk_accounts)
    r = await client.get("/api/v1/contacts", params={"limit": 3}, headers=desk_headers)
    assert len(r.json()["data"]) == 3


async def test_create_account_and_contact(client: httpx.AsyncClient, desk_headers: dict[str, str],
                                          sb: Sandbox) -> None:
    crm_id = sb.state.untidy["missing_from_books"][0]
    r = await client.post("/api/v1/accounts", json={"accountName": "Fresh Account", "website": "fresh.com",
                                                    "zohoCRMAccount": {"id": crm_id}}, headers=desk_headers)
    assert r.status_code == 200
    account = r.json()
    assert account["zohoCRMAccount"] == {"id": crm_id}
    assert sb.state.desk_account_by_crm[crm_id] == account["id"]
    r = await client.post("/api/v1/accounts", json={"website": "x.com"}, headers=desk_headers)
    assert r.status_code == 422 and r.json()["errors"][0]["fieldName"] == "/accountName"
    r = await client.post("/api/v1/contacts", json={"lastName": "Ng", "accountId": account["id"]},
                          headers=desk_headers)
    assert r.status_code == 200 and r.json()["accountId"] == account["id"]
    r = await client.post("/api/v1/contacts", json={"firstName": "No"}, headers=desk_headers)
    assert r.status_code == 422


async def test_include_nests_contact_and_assignee(client: httpx.AsyncClient, desk_headers: dict[str, str],
                                                  sb: Sandbox) -> None:
    desk_id = sb.state.desk_account_by_crm[sb.state.demo_account_id]
    r = await client.get(f"/api/v1/accounts/{desk_id}/tickets", params={"include": "contacts,assignee"},
                         headers=desk_headers)
    ticket = r.json()["data"][0]
    assert ticket["contact"]["account"]["id"] == desk_id and ticket["assignee"]["id"] == ticket["assigneeId"]
    assert "contact" not in sb.state.desk_tickets[ticket["id"]]  # the stored record is untouched
