from __future__ import annotations

from datetime import date

from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox.seed_data import STAGES

from .conftest import TODAY


def test_same_seed_same_data_and_other_seed_differs() -> None:
    a = Sandbox.seeded(accounts=40, seed=11, today=TODAY).state
    b = Sandbox.seeded(accounts=40, seed=11, today=TODAY).state
    c = Sandbox.seeded(accounts=40, seed=12, today=TODAY).state
    assert a.crm == b.crm and a.books_invoices == b.books_invoices and a.desk_tickets == b.desk_tickets
    assert a.untidy == b.untidy and a.demo_account_id == b.demo_account_id
    assert a.crm["Deals"] != c.crm["Deals"]
    assert a.demo_account_id == c.demo_account_id  # the fixed accounts come first, whatever the seed


def test_credentials_are_fixed() -> None:
    creds = Sandbox.seeded(accounts=1).credentials
    assert creds == Sandbox.seeded(accounts=2, seed=3).credentials
    assert creds.client_id and creds.client_secret and creds.refresh_token
    assert creds.books_org_id.isdigit() and creds.desk_org_id.isdigit()


def test_coverage_of_stages_statuses_and_currencies(sb: Sandbox) -> None:
    st = sb.state
    assert len(st.crm["Accounts"]) == 25 and len(st.crm["Products"]) == 10
    assert {d["Stage"] for d in st.crm["Deals"].values()} == set(STAGES)
    assert {i["status"] for i in st.books_invoices.values()} >= {
        "draft",
        "sent",
        "viewed",
        "overdue",
        "partially_paid",
        "paid",
        "void",
    }
    assert {t["statusType"] for t in st.desk_tickets.values()} == {"Open", "On Hold", "Closed"}
    assert any(t["isEscalated"] for t in st.desk_tickets.values())
    assert any(t["isOverDue"] for t in st.desk_tickets.values())
    currencies = [a["Currency"] for a in st.crm["Accounts"].values()]
    assert currencies.count("USD") > len(currencies) / 2 and {"EUR", "GBP"} <= set(currencies)
    for invoice in st.books_invoices.values():
        if invoice["status"] in ("paid", "partially_paid"):
            assert st.books_payments_by_invoice[invoice["invoice_id"]]
        if invoice["status"] == "overdue":
            assert invoice["due_date"] < TODAY.isoformat() and invoice["balance"] > 0
    for account in st.crm["Accounts"].values():
        assert 1 <= len(st.crm_contacts_by_account[account["id"]]) <= 4
        domain = account["Website"].removeprefix("www.")
        assert all(
            st.crm["Contacts"][c]["Email"].endswith("@" + domain) for c in st.crm_contacts_by_account[account["id"]]
        )
    owners = {a["Owner"]["email"] for a in st.crm["Accounts"].values()}
    assert "maria.lopez@example.com" in owners and len(owners) <= 5


def test_demo_account(sb: Sandbox) -> None:
    st = sb.state
    account = st.crm["Accounts"][st.demo_account_id]
    assert account["Account_Name"] == "Northwind Logistics Inc." and account["Billing_Street"]
    customer_id = st.books_contact_by_crm_account[st.demo_account_id]
    statuses = [st.books_invoices[i]["status"] for i in st.books_invoices_by_customer[customer_id]]
    assert "overdue" in statuses
    tickets = [st.desk_tickets[t] for t in st.desk_tickets_by_account[st.desk_account_by_crm[st.demo_account_id]]]
    assert any(t["statusType"] == "Open" for t in tickets) and any(t["isEscalated"] for t in tickets)


def test_untidy_cases(sb: Sandbox) -> None:
    st = sb.state
    u = st.untidy
    missing = u["missing_from_books"][0]
    assert missing not in st.books_contact_by_crm_account
    assert st.crm["Deals"][u["missing_from_books_won_deal"][0]]["Stage"] == "Closed Won"

    crm_name = st.crm["Accounts"][u["name_mismatch"][0]]["Account_Name"]
    books = st.books_contacts[u["name_mismatch_books"][0]]
    desk = st.desk_accounts[u["name_mismatch_desk"][0]]
    assert (crm_name, books["contact_name"], desk["accountName"]) == (
        "Zylker Corporation",
        "Zylker Corp.",
        "Zylker Corp",
    )
    assert books["zcrm_account_id"] == u["name_mismatch"][0] and desk["zohoCRMAccount"]["id"] == u["name_mismatch"][0]

    no_address = st.crm["Accounts"][u["won_deal_no_billing_address"][0]]
    assert not no_address["Billing_Street"] and not no_address["Billing_City"]
    won = st.crm["Deals"][u["won_deal_no_billing_address_deal"][0]]
    assert won["Stage"] == "Closed Won" and won["Account_Name"]["id"] == no_address["id"]

    unlinked = st.books_contacts[u["books_customer_not_linked"][0]]
    assert not unlinked["zcrm_account_id"] and unlinked["is_linked_with_zohocrm"] is False
    assert unlinked["contact_name"] == st.crm["Accounts"][u["books_customer_not_linked_crm"][0]]["Account_Name"]

    desk_unlinked = st.desk_accounts[u["desk_account_not_linked"][0]]
    assert desk_unlinked["zohoCRMAccount"] is None
    assert desk_unlinked["accountName"] == st.crm["Accounts"][u["desk_account_not_linked_crm"][0]]["Account_Name"]
    assert u["desk_account_not_linked_crm"][0] not in st.desk_account_by_crm


def test_small_sandboxes_still_build() -> None:
    assert Sandbox.seeded(accounts=1, today=date(2026, 1, 1)).state.demo_account_id
    assert len(Sandbox.seeded(accounts=0).state.crm["Accounts"]) == 0


def test_ten_thousand_accounts() -> None:
    st = Sandbox.seeded(accounts=10_000, seed=7, today=TODAY).state
    counts = st.counts()
    assert counts["crm.Accounts"] == 10_000
    assert len({a["Account_Name"] for a in st.crm["Accounts"].values()}) == 10_000
    assert 80_000 <= counts["books.invoices"] + counts["desk.tickets"] <= 130_000
    assert all(len(i) == 19 for i in list(st.crm["Deals"])[:100])
