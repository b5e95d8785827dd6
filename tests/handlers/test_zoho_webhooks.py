"""Zoho deliveries in Zoho's shapes, through the real FastAPI app over HTTP, into the inbox and on to Slack."""

from __future__ import annotations

import json

import pytest

from bot.events import DealChanged, Event
from bot.intake.inbox import Inbox
from bot.zoho.sandbox import webhooks as zw
from tests.feed_helpers import FINANCE, SALES, SUPPORT, deliver, feed_structure, posts, settle

OWNER, OWNER_DM = "maria.lopez@example.com", "D0MARIA001"


@pytest.fixture
def structure():
    return feed_structure()


@pytest.fixture
def world(sandbox, slack):
    """The demo account (an open deal, owner Maria) and its Desk account; Maria is in Slack."""
    slack.stub.users_by_email[OWNER] = "U0MARIA001"
    st = sandbox.state
    return st, st.desk_account_by_crm[st.demo_account_id]


def _inbox(deps) -> Inbox:
    return Inbox(deps.store, deps.clock)


def _open_ticket_of(st, desk_account_id):
    return next(
        t
        for t in st.desk_tickets.values()
        if t["accountId"] == desk_account_id and t["statusType"] == "Open" and not t["isEscalated"]
    )


async def test_desk_array_with_several_events_reaches_the_right_people(app_client, deps, world, slack):
    st, desk_account = world
    new = zw.open_ticket(st, desk_account, "Trucks offline since 6am")
    escalated, prev = zw.update_ticket(
        st, _open_ticket_of(st, desk_account)["id"], isEscalated=True, status="Escalated"
    )
    body = [
        zw.desk_event(st, "Ticket_Add", new),
        zw.desk_event(st, "Ticket_Update", escalated, prev),
        zw.desk_event(st, "Ticket_Teleport", new),
    ]
    reply = await deliver(app_client, "desk", body)
    assert reply.status_code == 200
    assert reply.json() == {"ok": True, "stored": 2, "duplicates": 0, "rejected": 1}
    await settle(deps)
    to_owner = [p["text"] for p in posts(slack.stub, OWNER_DM)]
    assert "New ticket for Northwind Logistics Inc." in to_owner
    assert "Ticket escalated for Northwind Logistics Inc." in to_owner
    assert [p["text"] for p in posts(slack.stub, SUPPORT)] == ["Ticket escalated for Northwind Logistics Inc."]
    rejected = _inbox(deps).list("rejected")
    assert len(rejected) == 1 and "Ticket_Teleport" in rejected[0].error

    # Desk delivers the same array again: stored once, nothing new posted
    before = len(posts(slack.stub))
    again = await deliver(app_client, "desk", body[:2])
    assert again.json()["duplicates"] == 2
    await settle(deps)
    assert len(posts(slack.stub)) == before


async def test_books_invoice_overdue_and_paid(app_client, deps, sandbox, world, slack):
    st, _ = world
    customer = st.books_contact_by_crm_account[st.demo_account_id]
    invoice_id = next(i for i in st.books_invoices_by_customer[customer] if st.books_invoices[i]["status"] == "sent")
    invoice = zw.update_invoice(st, invoice_id, status="overdue", due_date="2020-01-01")
    reply = await deliver(app_client, "books", zw.books_invoice_body(st, invoice_id))
    assert reply.status_code == 200 and reply.json()["stored"] == 1
    await settle(deps)
    overdue = "Invoice overdue for Northwind Logistics Inc."
    assert [p["text"] for p in posts(slack.stub, FINANCE)] == [overdue]
    assert [p["text"] for p in posts(slack.stub, OWNER_DM)] == [overdue]

    # paid, with a handoff message in #finance for the invoice's deal: the notice goes in that thread
    with deps.store.transaction() as db:
        db.execute(
            "INSERT INTO handoffs (deal_id, account_id, state, finance_channel, finance_ts, created_at, "
            "updated_at) VALUES (?, ?, 'done', ?, '1700000000.000100', '', '')",
            [invoice["zcrm_potential_id"], st.demo_account_id, FINANCE],
        )
    _, payment = zw.pay_invoice(st, invoice_id)
    reply = await deliver(app_client, "books", zw.books_payment_body(payment))
    assert reply.status_code == 200
    await settle(deps)
    paid = [p for p in posts(slack.stub, FINANCE) if p["text"].startswith("Invoice paid")]
    assert len(paid) == 1 and paid[0]["thread_ts"] == "1700000000.000100"


async def test_crm_notification_raises_deal_changed_from_a_fresh_read(app_client, deps, sandbox, world, slack):
    st, _ = world
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    deps.events.subscribe(DealChanged, record)
    deal_id = next(
        d for d in st.crm_deals_by_account[st.demo_account_id] if st.crm["Deals"][d]["Stage"] == "Negotiation/Review"
    )
    zw.update_deal(st, deal_id, Stage="Closed Lost")
    # the body says nothing about the stage; the secret travels as the notification's token
    note = zw.crm_notification(st, "Deals", [deal_id], token="hook-secret-123")
    reply = await app_client.post("/zoho/crm", json=note)
    assert reply.status_code == 200, reply.text
    await settle(deps)
    assert [(e.deal.id, e.deal.stage, e.source) for e in seen] == [(deal_id, "Closed Lost", "webhook")]
    assert [p["text"] for p in posts(slack.stub, SALES)] == ["Deal lost for Northwind Logistics Inc."]

    # a CRM workflow-rule webhook for the same deal, form-encoded, secret in the header: no second post
    reply = await app_client.post(
        "/zoho/crm",
        data={"deal_id": deal_id, "stage": "Closed Lost"},
        headers={"X-Throughline-Secret": "hook-secret-123"},
    )
    assert reply.status_code == 200 and reply.json()["stored"] == 1
    await settle(deps)
    assert len(posts(slack.stub, SALES)) == 1


async def test_a_processing_failure_stays_in_the_inbox_and_succeeds_on_retry(
    app_client, deps, sandbox, world, slack, clock
):
    st, desk_account = world
    ticket = zw.open_ticket(st, desk_account, "Portal down")
    sandbox.faults.force("desk", 503, times=50)
    reply = await deliver(app_client, "desk", [zw.desk_event(st, "Ticket_Add", ticket)])
    assert reply.status_code == 200  # stored before the answer, whatever Zoho does later
    await settle(deps)
    [failed] = _inbox(deps).list("failed")
    assert failed.attempts == 1 and "503" in failed.error
    assert posts(slack.stub) == []
    sandbox.faults.clear()
    # on the retry Zoho answers, but Slack refuses the post once: the event entry is kept failed
    slack.stub.fail_next["chat.postMessage"] = "internal_error"
    clock.advance(seconds=31)
    await settle(deps)
    assert _inbox(deps).get(failed.id).state == "done"
    [event_entry] = _inbox(deps).list("failed")
    assert event_entry.source == "event" and "internal_error" in event_entry.error
    clock.advance(seconds=31)
    await settle(deps)
    # the refused call and the successful retry; nothing after that
    assert [p["text"] for p in posts(slack.stub, OWNER_DM)] == ["New ticket for Northwind Logistics Inc."] * 2
    await settle(deps)
    assert len(posts(slack.stub)) == 2
    assert _inbox(deps).counts()["failed"] == 0


@pytest.mark.parametrize(
    ("app", "content", "ctype", "status", "says"),
    [
        ("desk", "[{not json", "application/json", 400, "malformed JSON"),
        ("books", "", "application/json", 400, "empty body"),
        ("crm", "stage=Closed+Won", "application/x-www-form-urlencoded", 422, "no record id"),
        ("books", json.dumps({"estimate": {"estimate_id": "1"}}), "application/json", 422, "unknown Books event"),
        ("crm", json.dumps({"module": "Leads", "ids": ["1"]}), "application/json", 422, "unknown CRM module"),
    ],
)
async def test_bad_bodies_get_a_clear_answer_and_are_recorded(app_client, deps, app, content, ctype, status, says):
    reply = await app_client.post(
        f"/zoho/{app}?secret=hook-secret-123", content=content, headers={"Content-Type": ctype}
    )
    assert reply.status_code == status
    if status != 200:
        assert says in reply.json()["error"]
    assert len(_inbox(deps).list("rejected")) == 1


async def test_desk_webhook_validation_get_and_post(app_client, deps):
    """Webhook.json: Desk validates a new subscription with a GET (then a POST) to the URL and needs 200."""
    ok = await app_client.get("/zoho/desk?secret=hook-secret-123")
    assert ok.status_code == 200 and ok.json()["ok"] is True
    header = await app_client.get("/zoho/desk", headers={"X-Throughline-Secret": "hook-secret-123"})
    assert header.status_code == 200
    assert (await app_client.get("/zoho/desk")).status_code == 401
    assert (await app_client.get("/zoho/desk?secret=guess")).status_code == 401
    for content, ctype in (
        ("", "application/json"),
        ("{}", "application/json"),
        ('{"validate": true}', ""),
        ("a=b", "application/x-www-form-urlencoded"),
        ("ping", "text/plain"),
    ):
        reply = await app_client.post(
            "/zoho/desk?secret=hook-secret-123", content=content, headers={"Content-Type": ctype} if ctype else {}
        )
        assert reply.status_code == 200 and reply.json()["stored"] == 0, content
    assert sum(_inbox(deps).counts().values()) == 0  # a validation stores nothing
    refused = await app_client.post("/zoho/desk?secret=guess", content="{}")
    assert refused.status_code == 401
    deps.settings.webhook_secret = ""
    assert (await app_client.get("/zoho/desk?secret=anything")).status_code == 503


async def test_secret_checks(app_client, deps):
    body = json.dumps([{"eventType": "Ticket_Add", "payload": {"id": "1"}}])
    wrong = await app_client.post("/zoho/desk?secret=guess", content=body)
    assert wrong.status_code == 401 and wrong.json()["error"] == "wrong webhook secret"
    missing = await app_client.post("/zoho/books", content=body)
    assert missing.status_code == 401 and "X-Throughline-Secret" in missing.json()["error"]
    token = await app_client.post("/zoho/crm", json={"module": "Deals", "ids": ["1"], "token": "guess"})
    assert token.status_code == 401
    header = await app_client.post("/zoho/desk", content=body, headers={"X-Throughline-Secret": "hook-secret-123"})
    assert header.status_code == 200
    deps.settings.webhook_secret = ""
    off = await app_client.post("/zoho/desk?secret=anything", content=body)
    assert off.status_code == 503 and "THROUGHLINE_WEBHOOK_SECRET" in off.json()["error"]
    rejected = _inbox(deps).list("rejected")
    assert len(rejected) == 4 and all(r.body == "" for r in rejected)  # nothing of an unauthenticated request kept


async def test_a_flood_of_unauthenticated_deliveries_cannot_grow_the_database(app_client, deps):
    for _ in range(50):
        reply = await app_client.post("/zoho/books?secret=guess", content=b"{" + b"x" * 10_000 + b"}")
        assert reply.status_code == 401
    [row] = _inbox(deps).list("rejected")
    assert row.attempts == 50 and row.body == ""


async def test_oversized_bodies_are_refused(app_client, deps):
    big = "[" + ",".join(['{"eventType": "Ticket_Add", "payload": {"id": "1"}}'] * 25_000) + "]"
    assert len(big) > 1_000_000
    reply = await deliver(app_client, "desk", json.loads(big))
    assert reply.status_code == 413

    async def chunks():  # no Content-Length: the read itself stops at the limit
        for _ in range(30):
            yield b"x" * 50_000

    streamed = await app_client.post("/zoho/books?secret=hook-secret-123", content=chunks())
    assert streamed.status_code == 413
    rejected = _inbox(deps).list("rejected")
    assert len(rejected) == 2 and all(len(r.body) <= 20_000 for r in rejected)


async def test_desk_is_never_answered_410(app_client):
    for body in ("[]", "null", '[{"eventType": "Unknown"}]', "[1, 2]"):
        reply = await app_client.post("/zoho/desk?secret=hook-secret-123", content=body)
        assert reply.status_code != 410


async def test_the_secret_in_the_query_is_read_as_starlette_reads_it(app_client, deps):
    """The webhook routes read their query and headers from the ASGI scope directly: same answers as before."""
    body = json.dumps([{"eventType": "Ticket_Add", "orgId": "", "eventTime": "1", "payload": {"id": "7"}}])
    last_wins = await app_client.post("/zoho/desk?secret=guess&secret=hook-secret-123", content=body)
    assert last_wins.status_code == 200 and last_wins.json()["stored"] == 1
    encoded = await app_client.post("/zoho/desk?%73ecret=hook-secret-123", content=body)
    assert encoded.status_code == 200 and encoded.json() == {"ok": True, "stored": 0, "duplicates": 1, "rejected": 0}
    assert (await app_client.put("/zoho/desk?secret=hook-secret-123", content=body)).status_code == 405
