from __future__ import annotations

import json

import httpx

from bot.zoho.sandbox import Sandbox

from .conftest import TODAY


async def test_organization_id_is_required(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.get("/books/v3/contacts", headers=auth)
    assert r.status_code == 400 and r.json() == {"code": 2, "message": "Invalid value passed for organization_id"}
    r = await client.get("/books/v3/contacts", params={"organization_id": "123"}, headers=auth)
    assert r.json()["code"] == 6041


async def test_contacts_page_context_and_filters(
    client: httpx.AsyncClient, auth: dict[str, str], books_params: dict[str, str], sb: Sandbox
) -> None:
    r = await client.get("/books/v3/contacts", params={**books_params, "per_page": 10}, headers=auth)
    body = r.json()
    assert body["code"] == 0 and body["message"] == "success"
    assert len(body["contacts"]) == 10
    ctx = body["page_context"]
    assert ctx["page"] == 1 and ctx["per_page"] == 10 and ctx["has_more_page"] is True
    for key in ("report_name", "applied_filter", "sort_column", "sort_order"):
        assert key in ctx
    row = body["contacts"][0]
    assert "billing_address" not in row and "contact_persons" not in row
    assert {"contact_id", "outstanding_receivable_amount", "zcrm_account_id", "is_linked_with_zohocrm"} <= set(row)
    acc = sb.state.demo_account_id
    r = await client.get("/books/v3/contacts", params={**books_params, "zcrm_account_id": acc}, headers=auth)
    (customer,) = r.json()["contacts"]
    assert customer["contact_name"] == "Northwind Logistics Inc." and customer["zcrm_account_id"] == acc
    assert customer["outstanding_receivable_amount"] > 0
    r = await client.get(f"/books/v3/contacts/{customer['contact_id']}", params=books_params, headers=auth)
    detail = r.json()["contact"]
    assert detail["billing_address"]["city"] == "Oakland" and detail["contact_persons"]
    r = await client.get("/books/v3/contacts", params={**books_params, "search_text": "zylker"}, headers=auth)
    assert [c["contact_name"] for c in r.json()["contacts"]] == ["Zylker Corp."]
    r = await client.get("/books/v3/contacts", params={**books_params, "per_page": 500}, headers=auth)
    assert r.status_code == 400
    r = await client.get("/books/v3/contacts/1", params=books_params, headers=auth)
    assert r.status_code == 404 and r.json()["code"] == 1002


async def test_undocumented_filters_and_sorts_are_refused(
    client: httpx.AsyncClient, auth: dict[str, str], books_params: dict[str, str], sb: Sandbox
) -> None:
    """`last_modified_time` is no documented filter of these lists, and invoices cannot be sorted by it
    (InvoicesApi); contacts can (ContactsApi)."""
    cutoff = max(i["last_modified_time"] for i in sb.state.books_invoices.values())
    for resource in ("invoices", "customerpayments", "contacts"):
        r = await client.get(
            f"/books/v3/{resource}", params={**books_params, "last_modified_time": cutoff}, headers=auth
        )
        assert r.status_code == 400
        assert r.json() == {"code": 2, "message": "Invalid value passed for last_modified_time"}
    r = await client.get(
        "/books/v3/invoices", params={**books_params, "sort_column": "last_modified_time"}, headers=auth
    )
    assert r.status_code == 400 and r.json()["code"] == 2
    r = await client.get(
        "/books/v3/contacts",
        headers=auth,
        params={**books_params, "sort_column": "last_modified_time", "sort_order": "D"},
    )
    stamps = [c["last_modified_time"] for c in r.json()["contacts"]]
    assert r.status_code == 200 and stamps == sorted(stamps, reverse=True)
    r = await client.get(
        "/books/v3/customerpayments", headers=auth, params={**books_params, "sort_column": "date", "sort_order": "D"}
    )
    payments = r.json()["customerpayments"]
    assert [p["date"] for p in payments] == sorted((p["date"] for p in payments), reverse=True)
    assert all("invoices" not in p and "last_modified_time" not in p for p in payments)  # detail only


async def test_create_contact_and_duplicate(
    client: httpx.AsyncClient, auth: dict[str, str], books_params: dict[str, str]
) -> None:
    body = {
        "contact_name": "Brand New Co",
        "company_name": "Brand New Co",
        "contact_type": "customer",
        "billing_address": {"address": "1 Main St", "city": "Austin", "country": "United States"},
        "contact_persons": [{"first_name": "A", "last_name": "B", "email": "a@brandnew.com"}],
        "payment_terms": 15,
    }
    r = await client.post("/books/v3/contacts", params=books_params, json=body, headers=auth)
    assert r.status_code == 201
    assert r.json()["message"] == "The contact has been added."
    contact = r.json()["contact"]
    assert contact["payment_terms_label"] == "Net 15" and contact["email"] == "a@brandnew.com"
    r = await client.post("/books/v3/contacts", params=books_params, json=body, headers=auth)
    assert r.status_code == 400
    assert r.json() == {
        "code": 3062,
        "message": 'The customer "Brand New Co" already exists. Please specify a different name.',
    }
    r = await client.post("/books/v3/contacts", params=books_params, json={"company_name": "x"}, headers=auth)
    assert r.status_code == 400


async def test_invoice_filters(
    client: httpx.AsyncClient, auth: dict[str, str], books_params: dict[str, str], sb: Sandbox
) -> None:
    statuses = {i["status"] for i in sb.state.books_invoices.values()}
    assert statuses >= {"draft", "sent", "viewed", "overdue", "partially_paid", "paid", "void"}
    r = await client.get("/books/v3/invoices", params={**books_params, "status": "unpaid"}, headers=auth)
    assert {i["status"] for i in r.json()["invoices"]} <= {"sent", "viewed", "overdue", "partially_paid"}
    r = await client.get("/books/v3/invoices", params={**books_params, "status": "overdue"}, headers=auth)
    assert r.json()["invoices"] and all(i["due_date"] < TODAY.isoformat() for i in r.json()["invoices"])
    customer_id = sb.state.books_contact_by_crm_account[sb.state.demo_account_id]
    r = await client.get(
        "/books/v3/invoices",
        params={**books_params, "customer_id": customer_id, "sort_column": "date", "sort_order": "A"},
        headers=auth,
    )
    rows = r.json()["invoices"]
    assert [i["date"] for i in rows] == sorted(i["date"] for i in rows)
    assert {i["status"] for i in rows} == {"paid", "partially_paid", "overdue", "sent", "draft"}
    assert "line_items" not in rows[0]
    won = sb.state.crm_deals_by_account[sb.state.demo_account_id][2]
    r = await client.get("/books/v3/invoices", params={**books_params, "zcrm_potential_id": won}, headers=auth)
    assert len(r.json()["invoices"]) == 3
    r = await client.get(
        "/books/v3/invoices",
        params={**books_params, "date_start": "2026-01-01", "date_end": "2026-01-31"},
        headers=auth,
    )
    assert all("2026-01-01" <= i["date"] <= "2026-01-31" for i in r.json()["invoices"])


async def test_invoice_detail_payments_and_404(
    client: httpx.AsyncClient, auth: dict[str, str], books_params: dict[str, str], sb: Sandbox
) -> None:
    paid = next(i for i in sb.state.books_invoices.values() if i["status"] == "partially_paid")
    r = await client.get(f"/books/v3/invoices/{paid['invoice_id']}", params=books_params, headers=auth)
    invoice = r.json()["invoice"]
    assert invoice["line_items"] and invoice["balance"] < invoice["total"]
    r = await client.get(f"/books/v3/invoices/{paid['invoice_id']}/payments", params=books_params, headers=auth)
    (payment,) = r.json()["payments"]
    assert payment["amount"] == round(invoice["total"] - invoice["balance"], 2)
    r = await client.get("/books/v3/invoices/460000000999999", params=books_params, headers=auth)
    assert r.status_code == 404 and r.json() == {"code": 1002, "message": "Invoice does not exist."}
    r = await client.get(
        "/books/v3/customerpayments", params={**books_params, "customer_id": paid["customer_id"]}, headers=auth
    )
    row = r.json()["customerpayments"][0]
    assert {"payment_id", "payment_number", "amount", "date", "invoice_numbers"} <= set(row)
    assert "invoices" not in row  # list rows name invoices by number; the applied invoices are on the detail
    r = await client.get(f"/books/v3/customerpayments/{row['payment_id']}", params=books_params, headers=auth)
    assert {"invoice_id", "amount_applied"} <= set(r.json()["payment"]["invoices"][0])


async def test_create_invoice(
    client: httpx.AsyncClient, auth: dict[str, str], books_params: dict[str, str], sb: Sandbox
) -> None:
    customer_id = sb.state.books_contact_by_crm_account[sb.state.demo_account_id]
    item = next(iter(sb.state.books_items.values()))
    deal = sb.state.crm_deals_by_account[sb.state.demo_account_id][0]
    body = {
        "customer_id": customer_id,
        "reference_number": deal,
        "line_items": [
            {"item_id": item["item_id"], "quantity": 2},
            {"name": "Custom work", "rate": 150.5, "quantity": 3},
        ],
    }
    # The create docs list no CRM-deal key: the deal id travels in reference_number.
    refused = await client.post(
        "/books/v3/invoices", params=books_params, json={**body, "zcrm_potential_id": deal}, headers=auth
    )
    assert refused.status_code == 400 and refused.json()["message"].endswith("zcrm_potential_id")
    r = await client.post("/books/v3/invoices", params=books_params, json=body, headers=auth)
    assert r.status_code == 201
    assert r.json()["code"] == 0 and r.json()["message"] == "The invoice has been created."
    invoice = r.json()["invoice"]
    assert invoice["status"] == "draft" and invoice["invoice_number"].startswith("INV-")
    assert invoice["total"] == item["rate"] * 2 + 451.5 and invoice["balance"] == invoice["total"]
    assert invoice["date"] == TODAY.isoformat() and invoice["reference_number"] == deal
    seeded = next(iter(sb.state.books_invoices.values()))
    assert set(invoice) == set(seeded)  # API-made and seeded invoices share one shape
    r = await client.get("/books/v3/invoices", params={**books_params, "reference_number": deal}, headers=auth)
    assert invoice["invoice_id"] in {i["invoice_id"] for i in r.json()["invoices"]}
    r = await client.post(
        "/books/v3/invoices", params=books_params, json={"customer_id": "1", "line_items": []}, headers=auth
    )
    assert r.status_code == 400
    as_form = json.dumps({"customer_id": customer_id, "line_items": [{"name": "x", "rate": 1}]})
    r = await client.post("/books/v3/invoices", params=books_params, data={"JSONString": as_form}, headers=auth)
    assert r.status_code == 201


async def test_estimates(
    client: httpx.AsyncClient, auth: dict[str, str], books_params: dict[str, str], sb: Sandbox
) -> None:
    r = await client.get("/books/v3/estimates", params=books_params, headers=auth)
    rows = r.json()["estimates"]
    assert rows and {"estimate_id", "estimate_number", "expiry_date", "status"} <= set(rows[0])
    assert {e["status"] for e in sb.state.books_estimates.values()} >= {
        "draft",
        "sent",
        "accepted",
        "declined",
        "invoiced",
        "expired",
    }
    customer_id = sb.state.books_contact_by_crm_account[sb.state.demo_account_id]
    r = await client.post(
        "/books/v3/estimates",
        params=books_params,
        json={"customer_id": customer_id, "line_items": [{"name": "Pilot", "rate": 10.0}]},
        headers=auth,
    )
    assert r.status_code == 201 and r.json()["message"] == "The estimate has been created."
    assert r.json()["estimate"]["estimate_number"].startswith("EST-")


async def test_crm_import_creates_or_links(
    client: httpx.AsyncClient, auth: dict[str, str], books_params: dict[str, str], sb: Sandbox
) -> None:
    missing = sb.state.untidy["missing_from_books"][0]
    r = await client.post(f"/books/v3/crm/account/{missing}/import", params=books_params, headers=auth)
    assert r.json()["code"] == 0
    new_id = r.json()["data"]["customer_id"]
    assert sb.state.books_contacts[new_id]["zcrm_account_id"] == missing
    again = await client.post(f"/books/v3/crm/account/{missing}/import", params=books_params, headers=auth)
    assert again.json()["data"]["customer_id"] == new_id
    unlinked_crm = sb.state.untidy["books_customer_not_linked_crm"][0]
    unlinked_books = sb.state.untidy["books_customer_not_linked"][0]
    r = await client.post(f"/books/v3/crm/account/{unlinked_crm}/import", params=books_params, headers=auth)
    assert r.json()["data"]["customer_id"] == unlinked_books
    assert sb.state.books_contacts[unlinked_books]["is_linked_with_zohocrm"] is True
    r = await client.post("/books/v3/crm/account/1/import", params=books_params, headers=auth)
    assert r.status_code == 400
