"""Deterministic seed data: the same (accounts, seed, today) always builds the same state.

The first accounts are fixed and known (see ``SPECIALS``): the demo account, then one per untidy case,
recorded in ``state.untidy``; the rest are generated. Generic deals cycle through every stage first,
invoices through every status, so small sandboxes still show each one.
"""

from __future__ import annotations

import gc
import re
from datetime import date
from typing import Any

from bot.zoho.sandbox import seed_data as D
from bot.zoho.sandbox.books_shapes import new_contact
from bot.zoho.sandbox.seed_books import seed_books_customer
from bot.zoho.sandbox.seed_desk import seed_desk_account
from bot.zoho.sandbox.seed_gen import DAY, Gen
from bot.zoho.sandbox.state import Credentials, Record, SandboxState

# name, currency, spec: which untidy case (if any) and fixed content
SPECIALS: list[tuple[str, str, str]] = [
    ("Northwind Logistics Inc.", "USD", "demo"),
    ("Zylker Corporation", "USD", "name_mismatch"),
    ("Blue Harbor Analytics LLC", "USD", "missing_from_books"),
    ("Pinecrest Outfitters Ltd", "GBP", "no_billing_address"),
    ("Riverside Dental Group", "USD", "books_not_linked"),
    ("Harborview Medical Center", "EUR", "desk_not_linked"),
]


def build_state(accounts: int = 25, seed: int = 7, today: date | None = None) -> SandboxState:
    """Build the seeded state. The collector is paused while ~20 records per account are made: it would
    otherwise rescan the growing heap again and again (records are plain dicts, freed by reference counting)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(accounts, seed, today or date.today())
    finally:
        if enabled:
            gc.enable()


def _build(accounts: int, seed: int, today: date) -> SandboxState:
    state = SandboxState(today=today)
    gen = Gen(state, seed, today, Credentials().books_org_id)
    _users(gen)
    _products(gen)
    names = _account_names(gen, accounts)
    for name, currency, spec in names:
        account, domain = _account(gen, name, currency, spec)
        contacts = _contacts(gen, account, domain, spec)
        deals = _deals(gen, account, contacts, spec)
        _note_untidy(gen, account, deals, spec)
        if spec != "missing_from_books":
            seed_books_customer(gen, account, contacts, deals, spec)
        seed_desk_account(gen, account, contacts, spec)
    _extra_drift(gen)
    _quotes(gen)
    return state


def _users(gen: Gen) -> None:
    st = gen.state
    for first, last in D.REPS:
        st.crm_users.append(
            {"id": gen.crm_id(), "name": f"{first} {last}", "email": f"{first.lower()}.{last.lower()}@example.com"}
        )
    st.api_user = {"id": gen.crm_id(), "name": "Throughline Integration", "email": "integration@example.com"}


def _products(gen: Gen) -> None:
    st = gen.state
    created = gen.crm(-1000 * DAY)
    for name, code, price, category in D.PRODUCTS:
        owner = st.crm_users[0]
        product = st.add_crm(
            "Products",
            {
                "id": gen.crm_id(),
                "Product_Name": name,
                "Product_Code": code,
                "Unit_Price": price,
                "Product_Active": True,
                "Product_Category": category,
                "Description": None,
                "Owner": owner,
                "Created_Time": created,
                "Modified_Time": created,
                "Created_By": owner,
                "Modified_By": owner,
            },
        )
        item_id = gen.books_id()
        st.books_items[item_id] = {
            "item_id": item_id,
            "name": name,
            "sku": code,
            "rate": price,
            "status": "active",
            "description": "",
            "zcrm_product_id": product["id"],
        }


def _account_names(gen: Gen, count: int) -> list[tuple[str, str, str]]:
    out = list(SPECIALS[: max(count, 0)])
    seen = {n for n, _, _ in out}
    while len(out) < count:
        roll = gen.r()
        currency = "USD" if roll < 0.8 else "EUR" if roll < 0.92 else "GBP"
        suffixes = D.REGIONS[currency][0]
        base = f"{gen.pick(D.FIRST)} {gen.pick(D.SECOND)}"
        name = f"{base} {gen.pick(suffixes)}"
        if name in seen:
            name = f"{base} {gen.pick(D.QUALIFIERS)} {gen.pick(suffixes)}"
        n = 2
        while name in seen:
            name = f"{base} {n} {gen.pick(suffixes)}"
            n += 1
        seen.add(name)
        out.append((name, currency, ""))
    return out


_SUFFIXES = re.compile(r"\s(Inc\.|LLC|Corp\.|Co\.|GmbH|B\.V\.|S\.A\.|AG|Ltd|PLC|Corporation)$")


def slug_for(gen: Gen, name: str) -> str:
    seen = gen.slugs
    base = re.sub(r"[^a-z0-9]", "", _SUFFIXES.sub("", name).lower()) or "company"
    slug, n = base, 2
    while slug in seen:
        slug, n = f"{base}{n}", n + 1
    seen.add(slug)
    return slug


def _account(gen: Gen, name: str, currency: str, spec: str) -> tuple[Record, str]:
    st = gen.state
    owner = st.crm_users[0] if spec == "demo" else gen.pick(st.crm_users)
    slug = slug_for(gen, name)
    if spec == "demo":
        city, region, code, country = "Oakland", "CA", "94607", "United States"
        street = "500 Harbor Blvd"
    else:
        city, region, code, country = gen.pick(D.REGIONS[currency][1])
        street = f"{gen.ri(1, 980)} {gen.pick(D.STREETS)}"
    words = name.split()
    industry = "Transportation" if spec == "demo" else D.INDUSTRY.get(words[1] if len(words) > 1 else "", "Services")
    created = gen.ago(200, 900)
    modified = gen.ago(1, 180)
    account = st.add_crm(
        "Accounts",
        {
            "id": gen.crm_id(),
            "Account_Name": name,
            "Owner": owner,
            "Phone": f"+1 555 {gen.ri(100, 999)} {gen.ri(1000, 9999)}",
            "Website": f"www.{slug}.com",
            "Industry": industry,
            "Account_Type": "Customer" if spec else gen.pick(D.ACCOUNT_TYPES),
            "Billing_Street": street,
            "Billing_City": city,
            "Billing_State": region,
            "Billing_Code": code,
            "Billing_Country": country,
            "Currency": currency,
            "Description": None,
            "Created_Time": gen.crm(min(created, modified)),
            "Modified_Time": gen.crm(modified),
            "Created_By": owner,
            "Modified_By": owner,
        },
    )
    return account, f"{slug}.com"


_DEMO_CONTACTS = [
    ("Dana", "Whitfield", "COO"),
    ("Marcus", "Reyes", "Head of Procurement"),
    ("Lena", "Novak", "IT Director"),
]


def _contacts(gen: Gen, account: Record, domain: str, spec: str) -> list[Record]:
    st = gen.state
    people = (
        _DEMO_CONTACTS
        if spec == "demo"
        else [(gen.pick(D.FIRST_NAMES), gen.pick(D.LAST_NAMES), gen.pick(D.TITLES)) for _ in range(gen.ri(1, 4))]
    )
    out = []
    used: set[str] = set()
    owner = account["Owner"]
    account_ref = {"id": account["id"], "name": account["Account_Name"]}
    for first, last, title in people:
        local = f"{first.lower()}.{last.lower()}"
        while local in used:
            local += str(gen.ri(2, 9))
        used.add(local)
        modified = gen.ago(1, 200)
        out.append(
            st.add_crm(
                "Contacts",
                {
                    "id": gen.crm_id(),
                    "First_Name": first,
                    "Last_Name": last,
                    "Full_Name": f"{first} {last}",
                    "Email": f"{local}@{domain}",
                    "Phone": f"+1 555 {gen.ri(100, 999)} {gen.ri(1000, 9999)}",
                    "Mobile": None,
                    "Title": title,
                    "Account_Name": dict(account_ref),
                    "Owner": owner,
                    "Mailing_Street": account["Billing_Street"],
                    "Mailing_City": account["Billing_City"],
                    "Mailing_State": account["Billing_State"],
                    "Mailing_Zip": account["Billing_Code"],
                    "Mailing_Country": account["Billing_Country"],
                    "Description": None,
                    "Created_Time": account["Created_Time"],
                    "Modified_Time": gen.crm(modified),
                    "Created_By": owner,
                    "Modified_By": owner,
                },
            )
        )
    return out


# demo deals: (initiative, stage, amount, closing offset days, product lines [(product index, qty)])
_DEMO_DEALS = [
    ("Fleet Tracking Expansion", "Negotiation/Review", 185000.0, 14, [(0, 100), (7, 1)]),
    ("Cold Chain Pilot", "Proposal/Price Quote", 42000.0, 30, [(5, 20), (6, 1)]),
    ("Fleet Tracking 2025", "Closed Won", 120000.0, -120, [(0, 80), (6, 1), (8, 2)]),
    ("Route Optimizer", "Closed Lost to Competition", 60000.0, -200, [(2, 20)]),
]


def _deals(gen: Gen, account: Record, contacts: list[Record], spec: str) -> list[Record]:
    short = " ".join(account["Account_Name"].split()[:2])
    plans: list[tuple[str, str, float, int, list[tuple[int, int]]]] = []
    if spec == "demo":
        plans = list(_DEMO_DEALS)
    else:
        for _ in range(gen.ri(1, 6)):
            stage = gen.stage_cycle.pop(0) if gen.stage_cycle else gen.wpick(D.STAGES, D.STAGE_WEIGHTS)
            closing = -gen.ri(5, 365) if stage in D.CLOSED else gen.ri(5, 120)
            lines = [(gen.ri(0, len(D.PRODUCTS) - 1), gen.ri(1, 20)) for _ in range(gen.ri(1, 3))]
            plans.append((gen.pick(D.INITIATIVES), stage, 0.0, closing, lines))
        if spec in ("missing_from_books", "no_billing_address", "name_mismatch") and not any(
            p[1] == "Closed Won" for p in plans
        ):
            plans.append(("Platform Expansion", "Closed Won", 0.0, -gen.ri(10, 90), [(6, 1), (0, 10)]))
    out = []
    st = gen.state
    products = st.crm["Products"]
    product_ids = list(products)
    owner = account["Owner"]
    for initiative, stage, amount, closing, lines in plans:
        line_rows = [
            {"product_id": product_ids[p], "Quantity": q, "List_Price": products[product_ids[p]]["Unit_Price"]}
            for p, q in lines
        ]
        total = amount or round(sum(r["Quantity"] * r["List_Price"] for r in line_rows), 2)
        created = gen.ago(max(30, -closing + 10) if closing < 0 else 10, 400 if closing < 0 else 200)
        modified = gen.ago(1, 60) if stage not in D.CLOSED else gen.ago(max(1, -closing), max(2, -closing + 5))
        contact = contacts[0] if spec == "demo" else gen.pick(contacts)
        deal = st.add_crm(
            "Deals",
            {
                "id": gen.crm_id(),
                "Deal_Name": f"{short} - {initiative}",
                "Stage": stage,
                "Amount": total,
                "Closing_Date": gen.date(closing),
                "Account_Name": {"id": account["id"], "name": account["Account_Name"]},
                "Contact_Name": {"id": contact["id"], "name": contact["Full_Name"]},
                "Owner": owner,
                "Pipeline": "Standard (Standard)",
                "Probability": D.PROBABILITY[stage],
                "Expected_Revenue": round(total * D.PROBABILITY[stage] / 100, 2),
                "Type": "Existing Business" if spec == "demo" else gen.pick(D.DEAL_TYPES),
                "Lead_Source": "Partner" if spec == "demo" else gen.pick(D.LEAD_SOURCES),
                "Description": None,
                "Currency": account["Currency"],
                "Created_Time": gen.crm(min(created, modified)),
                "Modified_Time": gen.crm(modified),
                "Created_By": owner,
                "Modified_By": owner,
            },
        )
        st.deal_products[deal["id"]] = line_rows
        out.append(deal)
    return out


def _note_untidy(gen: Gen, account: Record, deals: list[Record], spec: str) -> None:
    st = gen.state
    won = next((d["id"] for d in deals if d["Stage"] == "Closed Won"), "")
    if spec == "demo":
        st.demo_account_id = account["id"]
    elif spec == "no_billing_address":
        for key in ("Billing_Street", "Billing_City", "Billing_State", "Billing_Code", "Billing_Country"):
            account[key] = None
        for contact_id in st.crm_contacts_by_account[account["id"]]:
            contact = st.crm["Contacts"][contact_id]
            for key in ("Mailing_Street", "Mailing_City", "Mailing_State", "Mailing_Zip", "Mailing_Country"):
                contact[key] = None
        record_untidy(st, "won_deal_no_billing_address", account["id"])
        record_untidy(st, "won_deal_no_billing_address_deal", won)
    elif spec == "missing_from_books":
        record_untidy(st, "missing_from_books", account["id"])
        record_untidy(st, "missing_from_books_won_deal", won)
    elif spec == "name_mismatch":
        record_untidy(st, "name_mismatch", account["id"])
    elif spec == "books_not_linked":
        record_untidy(st, "books_customer_not_linked_crm", account["id"])
    elif spec == "desk_not_linked":
        record_untidy(st, "desk_account_not_linked_crm", account["id"])


def _extra_drift(gen: Gen) -> None:
    """Drift that no single account's spec makes: a second Books customer linked to one CRM account, and a CRM
    account type ("Client") that Zoho's default vocabulary does not know. No random draws: the rest of the data
    is exactly what it was without these."""
    st = gen.state
    if crm_ids := st.untidy.get("desk_account_not_linked_crm"):
        crm_id = crm_ids[0]
        first = st.books_contacts[st.books_contact_by_crm_account[crm_id]]
        data = {
            k: first[k]
            for k in (
                "company_name",
                "website",
                "contact_type",
                "currency_code",
                "payment_terms",
                "zcrm_account_id",
                "billing_address",
            )
        }
        data["contact_name"] = f"{first['contact_name']} (Billing)"  # Books keeps display names unique
        second = st.add_books_contact(new_contact(st, data, created=first["created_time"]))
        st.books_contact_by_crm_account[crm_id] = first["contact_id"]  # the index keeps one: the first
        record_untidy(st, "duplicate_books_customer_crm", crm_id)
        record_untidy(st, "duplicate_books_customer", first["contact_id"], second["contact_id"])
    if crm_ids := st.untidy.get("books_customer_not_linked_crm"):
        st.crm["Accounts"][crm_ids[0]]["Account_Type"] = "Client"
        record_untidy(st, "unmapped_account_type", crm_ids[0])


QUOTE_STAGE = {"Proposal/Price Quote": "Draft", "Negotiation/Review": "Negotiation", "Closed Won": "Confirmed"}


def _quotes(gen: Gen) -> None:
    """A quote, with the line items, for deals that reached the quote stage: every fourth one has none (their
    lines are known only as CRM's product association, without quantities), except on the demo account.
    Made last and without random draws, so every other record is exactly what it was without quotes."""
    st = gen.state
    products = st.crm["Products"]
    for deal in list(st.crm["Deals"].values()):
        lines = st.deal_products.get(deal["id"]) or []
        stage = QUOTE_STAGE.get(deal["Stage"])
        account_id = (deal.get("Account_Name") or {}).get("id")
        if not lines or stage is None or (int(deal["id"]) % 4 == 0 and account_id != st.demo_account_id):
            continue
        items = []
        for line in lines:
            product = products[line["product_id"]]
            total = round(line["Quantity"] * line["List_Price"], 2)
            items.append(
                {
                    "id": gen.crm_id(),
                    "Product_Name": {
                        "id": product["id"],
                        "name": product["Product_Name"],
                        "Product_Code": product.get("Product_Code"),
                    },
                    "Quantity": line["Quantity"],
                    "List_Price": line["List_Price"],
                    "Discount": 0,
                    "Total": total,
                    "Total_After_Discount": total,
                    "Tax": 0,
                    "Net_Total": total,
                    "Description": None,
                }
            )
        grand = round(sum(i["Net_Total"] for i in items), 2)
        st.add_crm(
            "Quotes",
            {
                "id": gen.crm_id(),
                "Subject": f"Quote - {deal['Deal_Name']}"[:120],
                "Quote_Stage": stage,
                "Deal_Name": {"id": deal["id"], "name": deal["Deal_Name"]},
                "Account_Name": deal.get("Account_Name"),
                "Contact_Name": deal.get("Contact_Name"),
                "Valid_Till": None,
                "Currency": deal.get("Currency"),
                "Quoted_Items": items,
                "Sub_Total": grand,
                "Discount": 0,
                "Tax": 0,
                "Adjustment": 0,
                "Grand_Total": grand,
                "Owner": deal["Owner"],
                "Created_Time": deal["Created_Time"],
                "Modified_Time": deal["Modified_Time"],
                "Created_By": deal["Owner"],
                "Modified_By": deal["Owner"],
                "Description": None,
            },
        )


def record_untidy(state: SandboxState, key: str, *ids: Any) -> None:
    state.untidy.setdefault(key, []).extend(str(i) for i in ids if i)
