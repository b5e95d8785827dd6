"""CrmClient against the sandbox over HTTP."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import ZohoRequestError
from bot.zoho.crm import ACCOUNT_FIELDS, escape_criteria


def add_accounts(sb, n: int, *, name: str = "Bulk", modified: datetime | None = None) -> list[str]:
    stamp = (modified or datetime(2020, 1, 1, tzinfo=UTC)).isoformat(timespec="seconds")
    ids = []
    for i in range(n):
        record = sb.state.add_crm(
            "Accounts",
            {"Account_Name": f"{name} {i:05d}", "Owner": None, "Created_Time": stamp, "Modified_Time": stamp},
        )
        ids.append(record["id"])
    return ids


async def test_get_account_and_unknown_id(sb, zoho):
    account = await zoho.crm.get_account(sb.state.demo_account_id)
    assert account is not None and account.id == sb.state.demo_account_id
    assert account.name and account.owner.email and account.modified_time is not None
    assert await zoho.crm.get_account("5725767999999999999") is None


async def test_get_accounts_chunks_ids_by_100(sb, zoho):
    extra = add_accounts(sb, 130)
    wanted = extra + [sb.state.demo_account_id, "5725767999999999999"]
    sb.calls.clear()
    accounts = await zoho.crm.get_accounts(wanted)
    assert {a.id for a in accounts} == set(extra) | {sb.state.demo_account_id}
    assert [c[2] for c in sb.calls] == ["/crm/v8/Accounts", "/crm/v8/Accounts"]


async def test_iter_accounts_pages_and_switches_to_page_token_after_2000(sb, zoho):
    add_accounts(sb, 2200)
    total = len(sb.state.crm["Accounts"])
    seen: list[str] = []
    async for page in zoho.crm.iter_accounts():
        assert len(page) <= 200
        seen.extend(a.id for a in page)
    assert len(seen) == total and len(set(seen)) == total
    assert zoho.call_counts["crm"] == -(-total // 200)


async def test_iter_accounts_modified_since_uses_if_modified_since(sb, zoho):
    recent = datetime.now(UTC) + timedelta(days=365)
    fresh = add_accounts(sb, 3, name="Fresh", modified=recent + timedelta(hours=1))
    pages = [page async for page in zoho.crm.iter_accounts(modified_since=recent)]
    assert [a.id for page in pages for a in page] and {a.id for p in pages for a in p} == set(fresh)
    # nothing newer: CRM answers 304/204 and the iterator is simply empty
    assert [p async for p in zoho.crm.iter_accounts(modified_since=recent + timedelta(days=1))] == []


async def test_iter_contacts_and_deals(sb, zoho):
    contacts = [c async for page in zoho.crm.iter_contacts() for c in page]
    deals = [d async for page in zoho.crm.iter_deals() for d in page]
    assert len(contacts) == len(sb.state.crm["Contacts"])
    assert len(deals) == len(sb.state.crm["Deals"])
    assert any(d.amount is not None and d.account_id for d in deals)


async def test_related_lists_and_get_deal(sb, zoho):
    account_id = sb.state.demo_account_id
    deals = await zoho.crm.account_deals(account_id)
    contacts = await zoho.crm.account_contacts(account_id)
    assert deals and all(d.account_id == account_id for d in deals)
    assert contacts and all(c.account_id == account_id for c in contacts)
    deal = await zoho.crm.get_deal(deals[0].id)
    assert deal is not None and deal.name == deals[0].name
    with_products = next(d for d in deals if sb.state.deal_products.get(d.id))
    products = await zoho.crm.deal_products(with_products.id)
    assert len(products) == len(sb.state.deal_products[with_products.id])
    assert all(p.name and p.unit_price > 0 for p in products)
    assert await zoho.crm.account_deals("5725767999999999999") == []


async def test_search_accounts_word_and_starts_with(sb, zoho):
    demo = sb.state.crm["Accounts"][sb.state.demo_account_id]["Account_Name"]
    first_word = demo.split()[0]
    by_word = await zoho.crm.search_accounts(first_word)
    assert sb.state.demo_account_id in {a.id for a in by_word}
    by_prefix = await zoho.crm.search_accounts(demo[:6], mode="starts_with")
    assert sb.state.demo_account_id in {a.id for a in by_prefix}
    assert await zoho.crm.search_accounts("zzqqxx-no-such-name") == []  # 204
    assert await zoho.crm.search_accounts("   ") == []


async def test_search_escapes_parentheses_and_commas(sb, zoho):
    [odd] = add_accounts(sb, 1, name="Acme (EU), Ltd")
    found = await zoho.crm.search_accounts("Acme (EU), Ltd", mode="starts_with")
    assert [a.id for a in found] == [odd]
    assert escape_criteria("a(b),c\\") == "a\\(b\\)\\,c\\\\"


async def test_search_contacts_by_email(sb, zoho):
    contact = next(c for c in sb.state.crm["Contacts"].values() if c.get("Email"))
    found = await zoho.crm.search_contacts_by_email(contact["Email"].upper())
    assert contact["id"] in {c.id for c in found}
    assert await zoho.crm.search_contacts_by_email("nobody@nowhere.invalid") == []


async def test_coql(sb, zoho):
    account_id = sb.state.demo_account_id
    rows = await zoho.crm.coql(
        f"select Deal_Name, Stage, Amount from Deals where Account_Name = '{account_id}' limit 200"
    )
    assert {r["id"] for r in rows} == set(sb.state.crm_deals_by_account[account_id])
    assert await zoho.crm.coql("select Deal_Name from Deals where Deal_Name = 'no such deal' limit 10") == []


async def test_update_and_create(sb, zoho):
    deal_id = sb.state.crm_deals_by_account[sb.state.demo_account_id][0]
    results = await zoho.crm.update("Deals", [{"id": deal_id, "Stage": "Closed Won"}])
    assert results[0]["status"] == "success"
    assert sb.state.crm["Deals"][deal_id]["Stage"] == "Closed Won"
    created = await zoho.crm.create("Accounts", [{"Account_Name": "Brand New Co"}])
    new_id = created[0]["details"]["id"]
    assert sb.state.crm["Accounts"][new_id]["Account_Name"] == "Brand New Co"


async def test_update_error_rows_raise_with_the_field(sb, zoho):
    deal_id = sb.state.crm_deals_by_account[sb.state.demo_account_id][0]
    with pytest.raises(ZohoRequestError) as info:
        await zoho.crm.update("Deals", [{"id": deal_id, "Amount": "lots"}])
    assert info.value.code == "INVALID_DATA" and "Amount" in str(info.value)
    with pytest.raises(ZohoRequestError) as missing:
        await zoho.crm.create("Deals", [{"Stage": "Qualification"}])
    assert missing.value.code == "MANDATORY_NOT_FOUND"


async def test_watch_and_unwatch(sb, zoho):
    rows = await zoho.crm.watch(
        channel_id=1000000068001,
        events=["Deals.edit"],
        notify_url="https://bot.example.com/zoho/crm",
        token="s3cret-token",
        expiry=datetime.now(UTC) + timedelta(hours=2),
    )
    assert rows and rows[0]["status"] == "success"
    assert await zoho.crm.unwatch([1000000068001])


def test_fields_lists_stay_within_50():
    assert len(ACCOUNT_FIELDS.split(",")) <= 50
