"""The console's routes over HTTP (no browser): bad input gets a clear error, and each Zoho panel action changes
the sandbox and sends Zoho's webhook to the app, whose answer reaches the emulated Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.console.cast import SALES, SUPPORT
from bot.console.run import Console

WAIT = 60.0


@pytest.fixture(scope="module")
def http(console: tuple[str, Console]) -> httpx.Client:
    with httpx.Client(base_url=console[0], timeout=30) as client:
        yield client


def wait_for(what: str, found: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"waited {WAIT:.0f} s for {what}")


def texts(console: Console, channel: str) -> list[str]:
    return [m.text + json.dumps(m.blocks) for m in console.emulator.messages.get(channel, [])]


def test_the_page_and_its_files_are_served(http: httpx.Client) -> None:
    page = http.get("/")
    assert page.status_code == 200 and "/console/static/console.js" in page.text
    for name in ("console.js", "blockkit.js", "mrkdwn.js", "zoho.js", "console.css"):
        assert http.get(f"/console/static/{name}").status_code == 200
    assert http.get("/console/files/F0NOPE").status_code == 404
    state = http.get("/console/api/state").json()
    assert {c["command"] for c in state["commands"]} == {"/account", "/audit", "/report"}
    assert state["channels"]["finance"] and state["starter"] in state["picker"]


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/console/api/compose", b"{not json", "must be JSON"),
        ("/console/api/compose", b"[1]", "JSON object"),
        ("/console/api/compose", b'{"user": "U0NOBODY01", "channel": "C0SALES001", "text": "hi"}', "no such user"),
        (
            "/console/api/compose",
            b'{"user": "U0FINANCE1", "channel": "C0NOWHERE1", "text": "hi"}',
            "no such conversation",
        ),
        ("/console/api/compose", b'{"user": "U0FINANCE1", "channel": "C0SALES001", "text": "  "}', "nothing to send"),
        (
            "/console/api/act",
            b'{"user": "U0FINANCE1", "source": {"kind": "message", "channel": "C0SALES001", '
            b'"ts": "1.1"}, "path": {"block": 0, "action_id": "x"}}',
            "gone",
        ),
        ("/console/api/submit", b'{"user": "U0FINANCE1", "view_id": "V0NOPE"}', "closed"),
        ("/console/api/zoho/deal_stage", b'{"deal_id": "1", "stage": "Closed Won"}', "no CRM deal"),
        ("/console/api/zoho/invoice", b'{"invoice_id": "1", "status": "paid"}', "no Books invoice"),
        ("/console/api/zoho/explode", b"{}", "unknown Zoho action"),
        ("/console/api/digest", b'{"team": "nobody"}', "no digest"),
    ],
)
def test_bad_input_gets_a_clear_error(http: httpx.Client, path: str, body: bytes, error: str) -> None:
    answer = http.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert error in answer.json()["error"]


def test_an_unknown_slash_command_is_answered_as_slack_does(http: httpx.Client, console: tuple[str, Console]) -> None:
    answer = http.post("/console/api/compose", json={"user": "U0FINANCE1", "channel": SALES, "text": "/nope x"})
    assert answer.json()["ok"] is False
    last = console[1].emulator.messages[SALES][-1]
    assert "`/nope` is not a valid command" in last.text and last.ephemeral_for == "U0FINANCE1"


def test_the_apps_messages_tab_is_read_only_as_the_manifest_says(
    http: httpx.Client, console: tuple[str, Console]
) -> None:
    dm = "D" + "U0FINANCE1"[1:]
    console[1].emulator.dm_with("U0FINANCE1")
    answer = http.post("/console/api/compose", json={"user": "U0FINANCE1", "channel": dm, "text": "hello?"}).json()
    assert answer["ok"] is False
    assert "turned off" in console[1].emulator.messages[dm][-1].text
    assert (
        http.post(
            "/console/api/compose", json={"user": "U0FINANCE1", "channel": dm, "text": "/account northwind"}
        ).json()["ok"]
        is True
    )


def zoho_account(http: httpx.Client, console: Console, name: str) -> dict[str, Any]:
    accounts = http.get("/console/api/zoho/accounts", params={"q": name}).json()["accounts"]
    assert accounts, name
    return accounts[0]


def test_a_new_ticket_reaches_the_owner_and_an_escalation_reaches_support(
    http: httpx.Client, console: tuple[str, Console]
) -> None:
    _, running = console
    account = zoho_account(http, running, "Northwind")
    owner = running.emulator.users_by_email["maria.lopez@example.com"]
    dm = "D" + owner[1:]
    opened = http.post(
        "/console/api/zoho/ticket_open", json={"account_id": account["id"], "subject": "Trucks invisible since 6am"}
    ).json()
    assert opened["ok"] and opened["status"] == 200 and opened["stored"] == 1
    wait_for("the owner's DM about the new ticket", lambda: any("Trucks invisible" in t for t in texts(running, dm)))
    ticket = next(t for t in opened["account"]["tickets"] if t["subject"] == "Trucks invisible since 6am")
    assert running.sandbox.state.desk_tickets[ticket["id"]]["status"] == "Open"
    escalated = http.post(
        "/console/api/zoho/ticket_escalate", json={"ticket_id": ticket["id"], "account_id": account["id"]}
    ).json()
    assert escalated["ok"] and "Ticket_Update" in escalated["webhook"]
    assert next(t for t in escalated["account"]["tickets"] if t["id"] == ticket["id"])["escalated"] is True
    wait_for(
        "#support hearing of the escalation", lambda: any("Trucks invisible" in t for t in texts(running, SUPPORT))
    )


def test_billing_address_and_payment_webhooks_are_accepted(http: httpx.Client, console: tuple[str, Console]) -> None:
    _, running = console
    st = running.sandbox.state
    account_id = st.untidy["won_deal_no_billing_address"][0]
    filled = http.post(
        "/console/api/zoho/billing",
        json={"account_id": account_id, "address": {"Billing_Street": "1 Main St", "Billing_City": "Springfield"}},
    ).json()
    assert filled["ok"] and filled["status"] == 200 and "Accounts" in filled["webhook"]
    assert st.crm["Accounts"][account_id]["Billing_Street"] == "1 Main St"
    assert filled["account"]["billing"]["Billing_City"] == "Springfield"
    assert http.post("/console/api/zoho/billing", json={"account_id": account_id, "address": {}}).status_code == 400
    invoice = next(i for i in st.books_invoices.values() if i["status"] in ("sent", "viewed", "overdue"))
    paid = http.post("/console/api/zoho/invoice", json={"invoice_id": invoice["invoice_id"], "status": "paid"}).json()
    assert paid["ok"] and paid["status"] == 200 and "payment" in paid["webhook"]
    assert st.books_invoices[invoice["invoice_id"]]["status"] == "paid"
