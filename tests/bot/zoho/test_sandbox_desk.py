"""DeskClient against the sandbox over HTTP."""

from datetime import UTC, datetime, timedelta

from bot.models import Ticket
from bot.zoho.sandbox.timefmt import desk_ts


def demo_desk_id(sb) -> str:
    return sb.state.desk_account_by_crm[sb.state.demo_account_id]


async def test_iter_accounts_pages(sb, zoho):
    zoho.desk.page_size = 5
    pages = [p async for p in zoho.desk.iter_accounts()]
    assert sum(len(p) for p in pages) == len(sb.state.desk_accounts)
    assert all(len(p) <= 5 for p in pages)


async def test_get_and_search_accounts(sb, zoho):
    desk_id = demo_desk_id(sb)
    account = await zoho.desk.get_account(desk_id)
    assert account is not None and account.crm_account_id == sb.state.demo_account_id
    assert await zoho.desk.get_account("1892000999999999") is None
    found = await zoho.desk.search_accounts(account.name[2:9])
    assert desk_id in {a.id for a in found}
    assert await zoho.desk.search_accounts("zzqq-nothing") == []


async def test_find_account_for_crm(sb, zoho):
    crm_id = sb.state.demo_account_id
    name = sb.state.crm["Accounts"][crm_id]["Account_Name"]
    account = await zoho.desk.find_account_for_crm(crm_id, name)
    assert account is not None and account.id == demo_desk_id(sb)
    assert await zoho.desk.find_account_for_crm("5725767999999999999", "zzqq-nothing") is None
    # An unlinked Desk account with exactly the CRM account's name is taken; a linked one to another CRM id is not.
    unlinked_id = sb.state.untidy["desk_account_not_linked"][0]
    unlinked = sb.state.desk_accounts[unlinked_id]
    crm_for_unlinked = sb.state.untidy["desk_account_not_linked_crm"][0]
    match = await zoho.desk.find_account_for_crm(crm_for_unlinked, unlinked["accountName"])
    assert match is not None and match.id == unlinked_id
    assert await zoho.desk.find_account_for_crm("5725767999999999999", name) is None


async def test_search_rows_carry_no_crm_link_so_the_detail_decides(sb, zoho):
    crm_id = sb.state.demo_account_id
    name = sb.state.crm["Accounts"][crm_id]["Account_Name"]
    assert all(a.crm_account_id == "" for a in await zoho.desk.search_accounts(name))  # Search.json: no link
    sb.calls.clear()
    account, tickets = await zoho.desk.find_account_with_tickets(crm_id, name, account_id=crm_id)
    assert account is not None and account.id == demo_desk_id(sb) and account.crm_account_id == crm_id
    assert tickets and any(t.is_escalated for t in tickets) and all(t.account_id == crm_id for t in tickets)
    assert sorted(p for _, _, p in sb.calls) == sorted(
        ["/api/v1/accounts/search", f"/api/v1/accounts/{account.id}", "/api/v1/tickets/search"]
    )
    # a namesake Zoho links to another CRM account is not taken, and its tickets are dropped
    assert await zoho.desk.find_account_with_tickets("5725767999999999999", name) == (None, [])


async def test_account_tickets_paging_and_limit(sb, zoho):
    desk_id = demo_desk_id(sb)
    expected = len(sb.state.desk_tickets_by_account[desk_id])
    zoho.desk.page_size = 2
    tickets = await zoho.desk.account_tickets(desk_id, account_id=sb.state.demo_account_id)
    assert len(tickets) == expected
    assert all(t.account_id == sb.state.demo_account_id and t.desk_account_id == desk_id for t in tickets)
    assert len(await zoho.desk.account_tickets(desk_id, limit=1)) == 1


async def test_iter_tickets_reads_changes_from_search(sb, zoho):
    zoho.desk.page_size = 10
    everything = [t async for page in zoho.desk.iter_tickets() for t in page]
    assert len(everything) == len(sb.state.desk_tickets) == len({t.id for t in everything})
    times = [t.modified_time for t in everything]
    assert times == sorted(times, reverse=True)
    assert {t.id for t in everything if t.is_escalated} == {
        i for i, t in sb.state.desk_tickets.items() if t["isEscalated"]
    }
    cutoff = times[15] + timedelta(seconds=1)
    sb.calls.clear()
    links = {v: k for k, v in sb.state.desk_account_by_crm.items()}
    recent = [t async for page in zoho.desk.iter_tickets(cutoff, crm_account_ids=links) for t in page]
    assert recent and all(t.modified_time >= cutoff for t in recent)
    assert len(sb.calls) <= 2 and {p for _, _, p in sb.calls} == {"/api/v1/tickets/search"}
    assert any(t.account_id for t in recent)


async def test_a_window_over_1000_results_is_split_until_everything_is_read(sb, zoho):
    """Search reaches 1,000 results per query (from ≤ 999): 2,500 tickets changed in one day still all arrive."""
    st = sb.state
    desk_id = st.desk_account_by_crm[st.demo_account_id]
    base = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for i in range(2500):
        st.add_ticket(
            {
                "ticketNumber": str(900000 + i),
                "subject": f"Bulk {i}",
                "status": "Open",
                "statusType": "Open",
                "accountId": desk_id,
                "createdTime": desk_ts(base),
                "modifiedTime": desk_ts(base + timedelta(seconds=17 * i)),
                "isEscalated": i % 7 == 0,
                "isOverDue": False,
            }
        )
    since = base - timedelta(minutes=1)
    got = [t async for page in zoho.desk.iter_tickets(since) for t in page]
    ids = [t.id for t in got]
    expected = {i for i, t in st.desk_tickets.items() if t["modifiedTime"] >= desk_ts(since)}
    assert len(ids) == len(set(ids)) and set(ids) == expected and len(expected) >= 2500
    assert sum(t.is_escalated for t in got if t.number.startswith("9")) == len(range(0, 2500, 7))


async def test_get_ticket(sb, zoho):
    ticket_id = next(iter(sb.state.desk_tickets))
    ticket = await zoho.desk.get_ticket(ticket_id, account_id="x")
    assert isinstance(ticket, Ticket) and ticket.id == ticket_id and ticket.account_id == "x"
    assert await zoho.desk.get_ticket("1892000999999999") is None


async def test_create_account_and_contact(sb, zoho):
    account = await zoho.desk.create_account({"accountName": "New Desk Co", "website": "newdesk.example"})
    assert account.id in sb.state.desk_accounts and account.name == "New Desk Co"
    contact = await zoho.desk.create_contact({"lastName": "Ng", "email": "ng@newdesk.example", "accountId": account.id})
    assert contact["id"] in sb.state.desk_contacts


async def test_changed_accounts_come_from_search_and_their_detail(sb, zoho):
    """Account list rows have no modifiedTime and search rows no CRM link: changes are searched, then read."""
    st = sb.state
    now = datetime.now(UTC)
    changed = sorted(st.desk_accounts)[:3]
    for aid in changed:
        st.desk_accounts[aid]["modifiedTime"] = desk_ts(now)
    st.touch()
    sb.calls.clear()
    got = [a for page in [p async for p in zoho.desk.iter_accounts(now - timedelta(minutes=1))] for a in page]
    assert sorted(a.id for a in got) == changed
    assert all(a.modified_time is not None for a in got)
    assert {a.id: a.crm_account_id for a in got} == {
        aid: (st.desk_accounts[aid]["zohoCRMAccount"] or {}).get("id", "") for aid in changed
    }
    assert sorted(p for _, _, p in sb.calls) == sorted(
        ["/api/v1/accounts/search", *(f"/api/v1/accounts/{a}" for a in changed)]
    )
    for i in range(110):  # many changed: one walk of the list costs less than a detail read each
        st.add_desk_account(
            {
                "accountName": f"Bulk Account {i}",
                "createdTime": desk_ts(now),
                "modifiedTime": desk_ts(now),
                "zohoCRMAccount": None,
            }
        )
    sb.calls.clear()
    every = [a async for page in zoho.desk.iter_accounts(now - timedelta(minutes=1)) for a in page]
    assert len(every) == len(st.desk_accounts) > 110
    details = [p for _, _, p in sb.calls if p.rpartition("/")[2].isdigit()]
    assert details == [] and ("GET", "/api/v1/accounts") in {(m, p) for _, m, p in sb.calls}
