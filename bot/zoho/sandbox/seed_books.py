"""Seed the Books side of one CRM account: customer, invoices, estimates, payments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.zoho.sandbox import seed_data as D
from bot.zoho.sandbox.books_docs import build_document
from bot.zoho.sandbox.books_shapes import UNPAID, new_contact
from bot.zoho.sandbox.seed_gen import DAY
from bot.zoho.sandbox.state import Record

if TYPE_CHECKING:
    from bot.zoho.sandbox.seed_gen import Gen

# demo invoices: (status, product lines [(product index, qty)], date offset, due offset, balance, deal index)
_DEMO_INVOICES = [
    ("paid", [(0, 40), (6, 1)], -110, -80, 0.0, 2),
    ("partially_paid", [(0, 20), (8, 2)], -20, 10, 15000.0, 2),
    ("overdue", [(0, 12), (7, 1)], -50, -20, None, 2),
    ("sent", [(3, 10), (8, 1)], -5, 25, None, None),
    ("draft", [(5, 4)], -1, 29, None, 0),
]


def seed_books_customer(gen: Gen, account: Record, contacts: list[Record], deals: list[Record], spec: str) -> None:
    from bot.zoho.sandbox.seed import record_untidy

    st = gen.state
    name = "Zylker Corp." if spec == "name_mismatch" else account["Account_Name"]
    linked = spec != "books_not_linked"
    created = gen.ago(150, 800)
    terms = 30 if spec == "demo" else gen.pick(D.TERMS)
    customer = new_contact(
        st,
        {
            "contact_name": name,
            "company_name": name,
            "website": account["Website"],
            "contact_type": "customer",
            "currency_code": account["Currency"],
            "payment_terms": terms,
            "zcrm_account_id": account["id"] if linked else "",
            "zcrm_contact_id": contacts[0]["id"] if linked and contacts else "",
            "billing_address": {
                "attention": contacts[0]["Full_Name"] if contacts else "",
                "address": account["Billing_Street"] or "",
                "city": account["Billing_City"] or "",
                "state": account["Billing_State"] or "",
                "zip": account["Billing_Code"] or "",
                "country": account["Billing_Country"] or "",
                "phone": account["Phone"] or "",
            },
            "contact_persons": [
                {
                    "first_name": c["First_Name"],
                    "last_name": c["Last_Name"],
                    "email": c["Email"],
                    "phone": c["Phone"],
                    "is_primary_contact": i == 0,
                }
                for i, c in enumerate(contacts)
            ],
        },
        created=gen.books(created),
    )
    st.add_books_contact(customer)
    if spec == "name_mismatch":
        record_untidy(st, "name_mismatch_books", customer["contact_id"])
    if spec == "books_not_linked":
        record_untidy(st, "books_customer_not_linked", customer["contact_id"])

    won = [d for d in deals if d["Stage"] == "Closed Won"]
    if spec == "demo":
        plans = [
            (s, lines, d0, due, bal, deals[i]["id"] if i is not None else "")
            for s, lines, d0, due, bal, i in _DEMO_INVOICES
        ]
    else:
        plans = []
        for _ in range(gen.ri(0, 9)):
            status = gen.invoice_cycle.pop(0) if gen.invoice_cycle else gen.wpick(D.INVOICE_STATUSES, D.INVOICE_WEIGHTS)
            lines = [(gen.ri(0, len(D.PRODUCTS) - 1), gen.ri(1, 12)) for _ in range(gen.ri(1, 3))]
            d0, due = _dates(gen, status, terms)
            deal = gen.pick(won)["id"] if won and gen.r() < 0.6 else ""
            plans.append((status, lines, d0, due, None, deal))
    outstanding = 0.0
    for status, lines, d0, due, balance, deal_id in plans:
        invoice = _invoice(gen, customer, status, lines, d0, due, balance, deal_id)
        if status in UNPAID:
            outstanding += invoice["balance"]
    customer["outstanding_receivable_amount"] = round(outstanding, 2)
    _estimates(gen, customer, deals, spec)


def _dates(gen: Gen, status: str, terms: int) -> tuple[int, int]:
    """(invoice date offset, due date offset) in days from today, consistent with the status."""
    if status == "draft":
        d0 = -gen.ri(0, 20)
        return d0, d0 + max(terms, 15)
    if status in ("sent", "viewed", "partially_paid"):
        d0 = -gen.ri(1, 25)
        return d0, max(d0 + terms, gen.ri(1, 30))
    if status == "overdue":
        due = -gen.ri(1, 120)
        return due - terms, due
    d0 = -gen.ri(15, 365)  # paid, void
    return d0, d0 + terms


def _line_items(gen: Gen, lines: list[tuple[int, int]]) -> list[Record]:
    items = gen.items
    if not items:
        items.extend(gen.state.books_items.values())
    new_id = gen.books_id
    return [
        {
            "line_item_id": new_id(),
            "item_id": item["item_id"],
            "name": item["name"],
            "description": "",
            "rate": item["rate"],
            "quantity": float(qty),
            "unit": "",
            "item_total": item["rate"] * qty,
        }
        for item, qty in ((items[index], qty) for index, qty in lines)
    ]


def _invoice(
    gen: Gen,
    customer: Record,
    status: str,
    lines: list[tuple[int, int]],
    d0: int,
    due: int,
    balance: float | None,
    deal_id: str,
) -> Record:
    st = gen.state
    items = _line_items(gen, lines)
    total = float(sum(li["item_total"] for li in items))  # catalogue prices are whole: no rounding needed
    if balance is None:
        balance = {"paid": 0.0, "void": 0.0}.get(status, total)
        if status == "partially_paid":
            balance = round(total * gen.pick((0.25, 0.4, 0.5, 0.6, 0.75)), 2)
    created = d0 * DAY + gen.ri(8, 17) * 3600
    paid_on = ""
    modified = created
    if status in ("paid", "partially_paid"):
        pay_day = min(d0 + gen.ri(1, 40), -1) if status == "paid" else min(d0 + gen.ri(1, 15), -1)
        pay_day = max(pay_day, d0)
        paid_on = gen.date(pay_day)
        modified = pay_day * DAY + gen.ri(8, 17) * 3600
    elif status in ("sent", "viewed", "overdue", "void"):
        modified = created + gen.ri(1, 48) * 3600
    modified = min(modified, -300)
    created = min(created, modified)
    # The same keys as books_docs.build_document (a test checks), built directly: this runs ~50,000 times.
    doc_id = gen.books_id()
    terms = customer["payment_terms"]
    modified_at = gen.books(modified)
    invoice = {
        "invoice_id": doc_id,
        "invoice_number": f"INV-{next(gen.invoice_no):06d}",
        "status": status,
        "date": gen.date(d0),
        "customer_id": customer["contact_id"],
        "customer_name": customer["contact_name"],
        "company_name": customer["company_name"],
        "currency_code": customer["currency_code"],
        "total": total,
        "reference_number": deal_id or f"PO-{gen.ri(10000, 99999)}",
        "zcrm_potential_id": deal_id,
        "created_time": gen.books(created),
        "last_modified_time": modified_at,
        "invoice_url": f"https://books.zoho.com/app/{gen.org_id}#/invoices/{doc_id}",
        "line_items": items,
        "sub_total": total,
        "notes": "",
        "payment_terms": terms,
        "payment_terms_label": customer["payment_terms_label"],
        "custom_fields": [],
        "billing_address": customer["billing_address"],
        "due_date": gen.date(due),
        "balance": balance,
        "last_payment_date": paid_on,
        "is_viewed_by_client": status == "viewed",
    }
    st.add_invoice(invoice)
    if not deal_id:
        from bot.zoho.sandbox.seed import record_untidy

        record_untidy(st, "invoice_no_deal", doc_id)
    if paid_on:
        number = next(gen.payment_no)
        amount = round(total - balance, 2)
        st.add_payment(
            {
                "payment_id": gen.books_id(),
                "payment_number": str(number),
                "payment_mode": gen.pick(D.PAYMENT_MODES),
                "date": paid_on,
                "reference_number": f"TX-{gen.ri(100000, 999999)}",
                "amount": amount,
                "unused_amount": 0.0,
                "customer_id": customer["contact_id"],
                "customer_name": customer["contact_name"],
                "currency_code": customer["currency_code"],
                "invoice_numbers": invoice["invoice_number"],
                "invoices": [
                    {
                        "invoice_id": invoice["invoice_id"],
                        "invoice_number": invoice["invoice_number"],
                        "invoice_payment_id": gen.books_id(),
                        "amount_applied": amount,
                        "date": invoice["date"],
                        "total": total,
                        "balance": balance,
                    }
                ],
                "description": "",
                "created_time": modified_at,
                "last_modified_time": modified_at,
            }
        )
    return invoice


def _estimates(gen: Gen, customer: Record, deals: list[Record], spec: str) -> None:
    st = gen.state
    if spec == "demo":
        plans = [("sent", deals[0]["id"], -6, 24, [(0, 100), (7, 1)])]
    else:
        plans = []
        for _ in range(gen.ri(0, 2)):
            status = gen.estimate_cycle.pop(0) if gen.estimate_cycle else gen.pick(D.ESTIMATE_STATUSES)
            d0 = -gen.ri(1, 200)
            expiry = d0 + 30 if status != "expired" else min(d0 + 30, -1)
            if status in ("draft", "sent"):
                d0, expiry = -gen.ri(1, 20), gen.ri(5, 30)
            deal = gen.pick(deals)["id"] if deals else ""
            plans.append((status, deal, d0, expiry, [(gen.ri(0, len(D.PRODUCTS) - 1), gen.ri(1, 10))]))
    for status, deal_id, d0, expiry, lines in plans:
        stamp = gen.books(d0 * DAY + 10 * 3600)
        st.add_estimate(
            build_document(
                st,
                "estimate",
                customer,
                org_id=gen.org_id,
                line_items=_line_items(gen, lines),
                doc_date=gen.date(d0),
                due_or_expiry=gen.date(expiry),
                status=status,
                reference_number=deal_id,
                zcrm_potential_id=deal_id,
                payment_terms=int(customer["payment_terms"]),
                created=stamp,
                modified=stamp,
            )
        )
