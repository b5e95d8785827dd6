from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox.timefmt import desk_ts, ts_key


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


async def test_ticket_list_sorts_only_as_documented(client: httpx.AsyncClient, desk_headers: dict[str, str]) -> None:
    # Ticket.json getTickets: sortBy is dueDate, createdTime or recentThread; list rows carry no change time
    r = await client.get("/api/v1/tickets", params={"sortBy": "-modifiedTime"}, headers=desk_headers)
    assert r.status_code == 422 and r.json()["errors"][0]["fieldName"] == "/sortBy"
    r = await client.get("/api/v1/tickets", params={"sortBy": "-createdTime", "limit": 100}, headers=desk_headers)
    rows = r.json()["data"]
    times = [t["createdTime"] for t in rows]
    assert times == sorted(times, reverse=True)
    assert not {"modifiedTime", "isEscalated", "isOverDue"} & {k for t in rows for k in t}
    r = await client.get("/api/v1/tickets", params={"sortBy": "bogus"}, headers=desk_headers)
    assert r.status_code == 422


async def test_ticket_search_is_where_changes_and_flags_are(
    client: httpx.AsyncClient, desk_headers: dict[str, str], sb: Sandbox
) -> None:
    r = await client.get(
        "/api/v1/tickets/search", params={"sortBy": "-modifiedTime", "limit": 100}, headers=desk_headers
    )
    body = r.json()
    assert set(body) == {"data", "count"} and body["count"] == len(sb.state.desk_tickets)
    times = [t["modifiedTime"] for t in body["data"]]
    assert times == sorted(times, reverse=True)
    assert all({"isEscalated", "isOverDue"} <= set(t) for t in body["data"])
    some = next(iter(sb.state.desk_tickets.values()))
    for i in range(1001 - len(sb.state.desk_tickets)):
        sb.state.add_ticket({**some, "id": sb.state.new_id("desk"), "ticketNumber": str(80000 + i)})
    r = await client.get("/api/v1/tickets/search", params={"from": 999, "limit": 100}, headers=desk_headers)
    assert r.status_code == 200 and len(r.json()["data"]) == 1  # nothing past the 1,000th result
    r = await client.get("/api/v1/tickets/search", params={"from": 1000}, headers=desk_headers)
    assert r.status_code == 422 and r.json()["errors"][0]["fieldName"] == "/from"
    r = await client.get("/api/v1/tickets/search", params={"include": "contacts"}, headers=desk_headers)
    assert r.status_code == 422 and "include" in r.json()["message"]
    r = await client.get(
        "/api/v1/tickets/search", params={"modifiedTimeRange": "2026-01-01T00:00:00.000Z"}, headers=desk_headers
    )
    assert r.status_code == 422  # Search.json: both ends of the range
    r = await client.get(
        "/api/v1/tickets/search",
        params={"modifiedTimeRange": "2001-01-01T00:00:00.000Z,2001-01-02T00:00:00.000Z"},
        headers=desk_headers,
    )
    assert r.status_code == 204


async def test_account_tickets_and_detail(client: httpx.AsyncClient, desk_headers: dict[str, str], sb: Sandbox) -> None:
    desk_id = sb.state.desk_account_by_crm[sb.state.demo_account_id]
    r = await client.get(f"/api/v1/accounts/{desk_id}", headers=desk_headers)
    account = r.json()
    assert account["zohoCRMAccount"] == {"id": sb.state.demo_account_id} and account["webUrl"]
    r = await client.get(f"/api/v1/accounts/{desk_id}/tickets", params={"limit": 100}, headers=desk_headers)
    tickets = r.json()["data"]
    assert {t["statusType"] for t in tickets} == {"Open", "On Hold", "Closed"}
    assert not any("isEscalated" in t or "isOverDue" in t for t in tickets)  # list rows: Account.json
    assert all(t["accountId"] == desk_id for t in tickets)
    r = await client.get(f"/api/v1/accounts/{desk_id}/tickets", params={"from": 0}, headers=desk_headers)
    assert r.status_code == 422  # `from` starts at 1 on this route
    r = await client.get(f"/api/v1/accounts/{desk_id}/tickets", params={"status": "Closed"}, headers=desk_headers)
    assert r.status_code == 422 and "status" in r.json()["message"]  # not a parameter of this route
    r = await client.get(f"/api/v1/tickets/{tickets[0]['id']}", headers=desk_headers)
    detail = r.json()
    assert detail["id"] == tickets[0]["id"] and detail["createdTime"].endswith(".000Z")
    assert {"isEscalated", "isOverDue", "modifiedTime"} <= set(detail)
    escalated = [t for t in sb.state.desk_tickets.values() if t["accountId"] == desk_id and t["isEscalated"]]
    r = await client.get("/api/v1/tickets/search", params={"accountId": desk_id, "limit": 100}, headers=desk_headers)
    assert {t["id"] for t in r.json()["data"] if t["isEscalated"]} == {t["id"] for t in escalated} != set()
    r = await client.get("/api/v1/tickets/1", headers=desk_headers)
    assert r.status_code == 404 and r.json()["errorCode"] == "RESOURCE_NOT_FOUND"


async def test_ticket_search_modified_range(
    client: httpx.AsyncClient, desk_headers: dict[str, str], sb: Sandbox
) -> None:
    stamps = sorted(t["modifiedTime"] for t in sb.state.desk_tickets.values())
    r = await client.get(
        "/api/v1/tickets/search",
        params={"modifiedTimeRange": f"{stamps[-3]},{stamps[-1]}", "limit": 100},
        headers=desk_headers,
    )
    assert r.json()["count"] == 3


async def test_account_search_and_lists(client: httpx.AsyncClient, desk_headers: dict[str, str], sb: Sandbox) -> None:
    r = await client.get("/api/v1/accounts/search", params={"accountName": "*Zylker*"}, headers=desk_headers)
    assert [a["accountName"] for a in r.json()["data"]] == ["Zylker Corp"]
    r = await client.get("/api/v1/accounts/search", params={"accountName": "Nothing Here"}, headers=desk_headers)
    assert r.status_code == 204
    r = await client.get("/api/v1/accounts", params={"limit": 100}, headers=desk_headers)
    names = [a["accountName"] for a in r.json()["data"]]
    assert names == sorted(names, key=str.lower) and len(names) == len(sb.state.desk_accounts)
    r = await client.get("/api/v1/contacts", params={"limit": 3}, headers=desk_headers)
    assert len(r.json()["data"]) == 3


async def test_create_account_and_contact(client: httpx.AsyncClient, desk_headers: dict[str, str], sb: Sandbox) -> None:
    crm_id = sb.state.untidy["missing_from_books"][0]
    r = await client.post(
        "/api/v1/accounts",
        json={"accountName": "Fresh Account", "website": "fresh.com", "zohoCRMAccount": {"id": crm_id}},
        headers=desk_headers,
    )
    assert r.status_code == 422 and "zohoCRMAccount" in r.json()["message"]  # Account.json: no CRM link field
    r = await client.post(
        "/api/v1/accounts", json={"accountName": "Fresh Account", "website": "fresh.com"}, headers=desk_headers
    )
    assert r.status_code == 200
    account = r.json()
    before = dict(sb.state.desk_account_by_crm)
    assert account["zohoCRMAccount"] is None and sb.state.desk_account_by_crm == before
    r = await client.patch(
        f"/api/v1/accounts/{account['id']}", json={"zohoCRMAccount": {"id": crm_id}}, headers=desk_headers
    )
    assert r.status_code == 422 and sb.state.desk_accounts[account["id"]]["zohoCRMAccount"] is None
    assert sb.state.desk_account_by_crm == before
    r = await client.post("/api/v1/accounts", json={"website": "x.com"}, headers=desk_headers)
    assert r.status_code == 422 and r.json()["errors"][0]["fieldName"] == "/accountName"
    r = await client.post("/api/v1/contacts", json={"lastName": "Ng", "accountId": account["id"]}, headers=desk_headers)
    assert r.status_code == 200 and r.json()["accountId"] == account["id"]
    r = await client.post("/api/v1/contacts", json={"firstName": "No"}, headers=desk_headers)
    assert r.status_code == 422


async def test_include_nests_contact_and_assignee(
    client: httpx.AsyncClient, desk_headers: dict[str, str], sb: Sandbox
) -> None:
    desk_id = sb.state.desk_account_by_crm[sb.state.demo_account_id]
    r = await client.get(
        f"/api/v1/accounts/{desk_id}/tickets", params={"include": "contacts,assignee"}, headers=desk_headers
    )
    ticket = r.json()["data"][0]
    assert ticket["contact"]["account"]["id"] == desk_id and ticket["assignee"]["id"] == ticket["assigneeId"]
    assert "contact" not in sb.state.desk_tickets[ticket["id"]]  # the stored record is untouched


async def test_modified_range_pages_are_every_match_in_order(
    client: httpx.AsyncClient, desk_headers: dict[str, str], sb: Sandbox
) -> None:
    """Ticket search by modifiedTimeRange pages through the matches in (modifiedTime, id) order either way, the
    same rows a sort of all matches gives (the sandbox slices its time index rather than sorting per page),
    and sees a ticket whose time was edited in place without `state.touch()`."""
    tickets = sb.state.desk_tickets
    times = sorted(ts_key(t["modifiedTime"]) for t in tickets.values())
    edited = next(iter(tickets.values()))
    for edit in (False, True):
        if edit:  # in place, no touch(): still inside the range, now the newest of it
            edited["modifiedTime"] = desk_ts(datetime.fromisoformat(times[-3] + "+00:00") + timedelta(milliseconds=1))
        for lo, hi in ((times[0], times[-1]), (times[len(times) // 4], times[len(times) // 2])):
            span = f"{lo}Z,{hi}Z"
            expected = sorted(
                (t for t in tickets.values() if lo <= ts_key(t["modifiedTime"]) <= hi),
                key=lambda t: (ts_key(t["modifiedTime"]), t["id"]),
            )
            for sort, ordered in (("modifiedTime", expected), ("-modifiedTime", expected[::-1])):
                for size in (7, 100):
                    got: list[str] = []
                    start = 0
                    while start <= 999:
                        params = {"modifiedTimeRange": span, "sortBy": sort, "from": start, "limit": size}
                        r = await client.get("/api/v1/tickets/search", params=params, headers=desk_headers)
                        if r.status_code == 204:
                            break
                        assert r.json()["count"] == len(expected)
                        got += [t["id"] for t in r.json()["data"]]
                        start += size
                    assert got == [t["id"] for t in ordered][:1000]
