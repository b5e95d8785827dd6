"""The closed-won handoff end to end: sandbox over HTTP, signed Slack clicks into the real app, real SQLite."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.blocks import validate_message
from bot.config import OperatingStructure, parse_structure
from bot.deps import build_deps
from bot.events import DealChanged
from bot.handoff.blocks import CREATE, EDIT, REJECT, RETRY
from tests.conftest import FAST_RETRY, app_settled

EXPANSION = "5725767000000100037"  # the demo account's open deal "Cold Chain Pilot" (nothing invoiced yet)
APPROVER, OTHER_APPROVER, STRANGER = "U0APPROVER", "U0APPROVE2", "U0STRANGER"
FINANCE, SUPPORT, SALES = "C0FINANCE1", "C0SUPPORT1", "C0SALES001"


@pytest.fixture
def structure() -> OperatingStructure:
    return parse_structure(f"""
timezone = "Europe/Berlin"
[channels]
finance = "{FINANCE}"
support = "{SUPPORT}"
sales = "{SALES}"
[approvers]
invoice = ["{APPROVER}", "S0FINANCE1"]
[handoff]
default_payment_terms = 30
""")


@pytest.fixture(autouse=True)
def finance_group(slack):
    slack.stub.usergroups["S0FINANCE1"] = [OTHER_APPROVER]


async def close_deal(deps, sandbox, deal_id: str = EXPANSION) -> None:
    """The deal reaches Closed Won in CRM and Throughline hears of it."""
    sandbox.state.update_crm("Deals", deal_id, {"Stage": "Closed Won"})
    deal = await deps.zoho.crm.get_deal(deal_id)
    await deps.events.publish(DealChanged(deal=deal, previous_stage="Proposal/Price Quote"))


def finance_posts(slack) -> list[dict]:
    return [c for c in slack.stub.calls_to("chat.postMessage") if c["channel"] == FINANCE]


def latest_finance_view(slack) -> dict:
    calls = [
        c
        for c in slack.stub.calls
        if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == FINANCE
    ]
    return calls[-1].args


def buttons(message: dict) -> dict[str, dict]:
    return {e["action_id"]: e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def invoices_for(sandbox, deal_id: str) -> list[dict]:
    return [i for i in sandbox.state.books_invoices.values() if i.get("reference_number") == deal_id]


async def click(driver, action_id: str, deal_id: str, user: str):
    reply, url = await driver.click(
        action_id,
        deal_id,
        user_id=user,
        channel_id=FINANCE,
        container={"type": "message", "channel_id": FINANCE, "is_ephemeral": False},
    )
    assert reply.status_code == 200
    return url


async def test_ready_deal_is_posted_then_created_once_on_approval(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    [post] = finance_posts(slack)
    validate_message(post)
    create = buttons(post)[CREATE]
    assert create["style"] == "primary"
    assert "confirm" in create and "Northwind" in create["confirm"]["text"]["text"]
    assert "$" in create["confirm"]["text"]["text"]
    assert {EDIT, REJECT} <= set(buttons(post))

    await click(driver, CREATE, EXPANSION, APPROVER)
    await app_settled()
    done = latest_finance_view(slack)
    validate_message(done)
    assert not buttons(done), deps.handoffs.repo.get(EXPANSION).error  # buttons gone
    text = json.dumps(done)
    assert "created (draft) by <@U0APPROVER>" in text and "INV-" in text
    [invoice] = invoices_for(sandbox, EXPANSION)
    assert invoice["status"] == "draft"
    handoff = deps.handoffs.repo.get(EXPANSION)
    assert handoff.state == "done" and handoff.document_number == invoice["invoice_number"]
    support = [c for c in slack.stub.calls_to("chat.postMessage") if c["channel"] == SUPPORT]
    assert len(support) == 1 and "Northwind" in support[0]["text"]
    validate_message(support[0])
    assert handoff.desk_account_id  # found by zohoCRMAccount.id
    actions = [e.action for e in deps.handoffs.audit.entries(subject=f"deal:{EXPANSION}")]
    assert "handoff.approve" in actions and "handoff.done" in actions


async def test_replayed_delivery_posts_nothing_new(deps, sandbox, slack):
    await close_deal(deps, sandbox)
    calls = len(slack.stub.calls)
    await close_deal(deps, sandbox)
    await close_deal(deps, sandbox)
    assert len(finance_posts(slack)) == 1
    assert [c.method for c in slack.stub.calls[calls:]] == []


async def test_missing_fields_wait_then_recover_in_the_same_message(deps, sandbox, slack):
    account = sandbox.state.crm["Accounts"][sandbox.state.demo_account_id]
    street = account["Billing_Street"]
    sandbox.state.update_crm("Accounts", account["id"], {"Billing_Street": None})
    await close_deal(deps, sandbox)
    [post] = finance_posts(slack)
    assert CREATE not in buttons(post)
    assert "billing address" in json.dumps(post).lower()
    dms = slack.stub.calls_to("chat.postMessage")
    owner_note = [d for d in dms if d["channel"] != FINANCE and "before invoicing" in d["text"]]
    assert len(owner_note) == 1 and "billing address" in json.dumps(owner_note[0]).lower()
    assert "tab/Potentials/" + EXPANSION in json.dumps(owner_note[0])  # links the CRM record
    assert deps.handoffs.repo.get(EXPANSION).state == "waiting"

    sandbox.state.update_crm("Accounts", account["id"], {"Billing_Street": street})
    await close_deal(deps, sandbox)  # the fix in CRM fires the notification again
    assert len(finance_posts(slack)) == 1  # same message…
    updated = latest_finance_view(slack)
    assert slack.stub.calls_to("chat.update")[-1]["ts"] == deps.handoffs.repo.get(EXPANSION).finance_ts
    assert CREATE in buttons(updated)  # …now ready
    assert deps.handoffs.repo.get(EXPANSION).state == "ready"


async def test_non_approver_is_refused_privately_and_audited(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    url = await click(driver, CREATE, EXPANSION, STRANGER)
    [answer] = await slack.wait_response(url)
    assert "Only configured approvers" in answer["text"] and answer["response_type"] == "ephemeral"
    assert invoices_for(sandbox, EXPANSION) == []
    assert deps.handoffs.repo.get(EXPANSION).state == "ready"
    [entry] = deps.handoffs.audit.entries(action="handoff.approve")
    assert entry.actor == STRANGER and entry.outcome == "refused"


async def test_group_member_may_approve(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    await click(driver, CREATE, EXPANSION, OTHER_APPROVER)
    await app_settled()
    assert len(invoices_for(sandbox, EXPANSION)) == 1


async def test_five_concurrent_clicks_and_a_replay_make_one_invoice(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    customers_before = len(sandbox.state.books_contacts)
    sandbox.faults.latency = 0.02
    users = [APPROVER, OTHER_APPROVER, APPROVER, OTHER_APPROVER, APPROVER]
    await asyncio.gather(*(click(driver, CREATE, EXPANSION, u) for u in users))
    await click(driver, CREATE, EXPANSION, APPROVER)  # Slack retry or a late double click
    for _ in range(200):
        if deps.handoffs.repo.get(EXPANSION).state == "done":
            break
        await asyncio.sleep(0.02)
    assert len(invoices_for(sandbox, EXPANSION)) == 1
    assert len(sandbox.state.books_contacts) == customers_before  # existing customer reused
    approvals = [e for e in deps.handoffs.audit.entries(action="handoff.approve") if e.outcome == "ok"]
    assert len(approvals) == 1


async def test_reject_tells_the_owner(deps, sandbox, slack, driver):
    owner = sandbox.state.crm["Deals"][EXPANSION]["Owner"]["email"]
    slack.stub.users_by_email[owner.lower()] = "U0OWNER001"
    await close_deal(deps, sandbox)
    await click(driver, REJECT, EXPANSION, APPROVER)
    await app_settled()
    [opened] = slack.stub.calls_to("views.open")
    view = opened["view"]
    body = _view_submission(
        view, APPROVER, {"reason": {"value": {"type": "plain_text_input", "value": "Wrong entity, bill the parent"}}}
    )
    reply = await driver.post(body)
    assert reply.status_code == 200
    await app_settled()
    handoff = deps.handoffs.repo.get(EXPANSION)
    assert handoff.state == "rejected" and handoff.rejected_by == APPROVER
    assert "Rejected by <@U0APPROVER>" in json.dumps(latest_finance_view(slack))
    owner_dms = [c for c in slack.stub.calls_to("chat.postMessage") if c["channel"] == "D0OWNER001"]
    assert any("bill the parent" in json.dumps(d) for d in owner_dms)
    assert invoices_for(sandbox, EXPANSION) == []


async def test_reject_without_reason_is_refused_by_the_dialog(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    body = _view_submission(
        {"callback_id": "handoff_reject_view", "private_metadata": EXPANSION},
        APPROVER,
        {"reason": {"value": {"type": "plain_text_input", "value": "  "}}},
    )
    reply = await driver.post(body)
    assert reply.json()["response_action"] == "errors"
    assert deps.handoffs.repo.get(EXPANSION).state == "ready"


async def test_edit_changes_terms_lines_and_kind_before_creating(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    await click(driver, EDIT, EXPANSION, APPROVER)
    await app_settled()
    [opened] = slack.stub.calls_to("views.open")
    values = {
        "terms": {"value": {"type": "static_select", "selected_option": {"value": "45"}}},
        "kind": {"value": {"type": "radio_buttons", "selected_option": {"value": "estimate"}}},
        "lines": {"value": {"type": "plain_text_input", "value": "2 x Onboarding @ 1500\nSupport plan @ 900.50"}},
    }
    reply = await driver.post(_view_submission(opened["view"], APPROVER, values))
    assert reply.status_code == 200
    await app_settled()
    handoff = deps.handoffs.repo.get(EXPANSION)
    assert handoff.kind == "estimate" and handoff.plan.payment_terms == 45
    assert str(handoff.plan.total) == "3900.50"
    await click(driver, CREATE, EXPANSION, APPROVER)
    await app_settled()
    estimates = [e for e in sandbox.state.books_estimates.values() if e.get("reference_number") == EXPANSION]
    assert len(estimates) == 1 and invoices_for(sandbox, EXPANSION) == []


async def test_bad_lines_in_edit_are_named(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    values = {
        "kind": {"value": {"type": "radio_buttons", "selected_option": {"value": "invoice"}}},
        "lines": {"value": {"type": "plain_text_input", "value": "two x Widget @ cheap"}},
    }
    reply = await driver.post(
        _view_submission({"callback_id": "handoff_edit_view", "private_metadata": EXPANSION}, APPROVER, values)
    )
    assert reply.json()["response_action"] == "errors"
    assert "line 1" in reply.json()["errors"]["lines"]


async def test_crash_between_customer_and_invoice_then_restart_creates_one_invoice(
    deps, sandbox, slack, settings, structure, clock
):
    deal_id = sandbox.state.untidy["missing_from_books_won_deal"][0]  # no Books customer yet: one is created
    account_id = sandbox.state.crm["Deals"][deal_id]["Account_Name"]["id"]
    await deps.handoffs.consider(deal_id)
    assert deps.handoffs.repo.get(deal_id).state == "ready"
    # The invoice POST reaches Books, then the process dies before it hears the answer.
    sandbox.faults.latency = 0.3
    approving = asyncio.ensure_future(deps.handoffs.approve(deal_id, APPROVER))
    for _ in range(500):
        if any(m == "POST" and "/invoices" in p for _, m, p in sandbox.calls):
            break
        await asyncio.sleep(0.01)
    approving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await approving
    await app_settled()  # the sandbox finishes handling the POST it already received
    sandbox.faults.latency = 0
    assert deps.handoffs.repo.get(deal_id).state == "creating"
    customers = [c for c in sandbox.state.books_contacts.values() if c.get("zcrm_account_id") == account_id]
    assert len(customers) == 1

    restarted = build_deps(settings, structure, http=deps.http, clock=clock, retry=FAST_RETRY)
    assert await restarted.handoffs.resume() == 1
    assert restarted.handoffs.repo.get(deal_id).state == "done"
    assert len(invoices_for(sandbox, deal_id)) == 1
    assert len([c for c in sandbox.state.books_contacts.values() if c.get("zcrm_account_id") == account_id]) == 1


async def test_books_answer_lost_after_creating_is_retried_without_a_duplicate(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    sandbox.faults.force("books", 500, path_contains="/invoices", method="POST", after=True)
    await click(driver, CREATE, EXPANSION, APPROVER)
    await app_settled()
    failed = deps.handoffs.repo.get(EXPANSION)
    assert failed.state == "failed" and "Zoho Books" in failed.error
    view = latest_finance_view(slack)
    assert RETRY in buttons(view) and CREATE not in buttons(view)
    validate_message(view)
    await click(driver, RETRY, EXPANSION, APPROVER)
    await app_settled()
    assert deps.handoffs.repo.get(EXPANSION).state == "done"
    assert len(invoices_for(sandbox, EXPANSION)) == 1  # found by reference number, not created again


async def test_books_rate_limit_during_creation_is_waited_out(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    sandbox.faults.force("books", 429, times=2, retry_after=0.01, path_contains="/invoices", method="POST")
    await click(driver, CREATE, EXPANSION, APPROVER)
    await app_settled()
    assert deps.handoffs.repo.get(EXPANSION).state == "done"
    assert len(invoices_for(sandbox, EXPANSION)) == 1


async def test_deal_not_at_the_won_stage_is_ignored(deps, sandbox, slack):
    deal = await deps.zoho.crm.get_deal(EXPANSION)
    await deps.events.publish(DealChanged(deal=deal, previous_stage=None))
    assert deps.handoffs.repo.get(EXPANSION) is None
    assert finance_posts(slack) == []


async def test_stale_button_values_are_harmless(deps, driver, slack):
    url = await click(driver, CREATE, "not-a-deal", APPROVER)
    [answer] = await slack.wait_response(url)
    assert "out of date" in answer["text"]


def _view_submission(view: dict, user: str, values: dict) -> str:
    from urllib.parse import urlencode

    payload = {
        "type": "view_submission",
        "team": {"id": "T0DEMO0001"},
        "user": {"id": user},
        "api_app_id": "A0THROUGHL",
        "trigger_id": "1.2.x",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view.get("private_metadata", ""),
            "state": {"values": values},
        },
    }
    return urlencode({"payload": json.dumps(payload)})


def crm_notification(deps, module: str, record_id: str, server_time: int) -> dict:
    """A CRM notification as Zoho posts it to the watch channel's URL."""
    return {
        "server_time": server_time,
        "module": module,
        "ids": [record_id],
        "operation": "update",
        "channel_id": "1000000068001",
        "token": deps.settings.webhook_secret,
        "resource_uri": f"https://www.zohoapis.com/crm/v8/{module}",
    }


async def test_crm_notification_through_the_webhook_reaches_finance_once(deps, sandbox, slack, app_client):

    sandbox.state.update_crm("Deals", EXPANSION, {"Stage": "Closed Won"})
    delivery = crm_notification(deps, "Deals", EXPANSION, 1764200000000)
    for _ in range(2):  # Zoho delivers it twice
        reply = await app_client.post("/zoho/crm", json=delivery)
        assert reply.status_code == 200
    await deps.intake.drain()
    assert len(finance_posts(slack)) == 1
    assert deps.handoffs.repo.get(EXPANSION).state == "ready"


async def test_billing_address_filled_in_crm_readies_the_waiting_handoff(deps, sandbox, slack, app_client):
    """The fix is made on the account, not the deal: CRM's notification for the account re-plans the handoff."""
    account = sandbox.state.crm["Accounts"][sandbox.state.demo_account_id]
    street = account["Billing_Street"]
    sandbox.state.update_crm("Accounts", account["id"], {"Billing_Street": None})
    await close_deal(deps, sandbox)
    assert deps.handoffs.repo.get(EXPANSION).state == "waiting"

    sandbox.state.update_crm("Accounts", account["id"], {"Billing_Street": street})
    delivery = crm_notification(deps, "Accounts", account["id"], 1764200100000)
    reply = await app_client.post("/zoho/crm", json=delivery)
    assert reply.status_code == 200
    await deps.intake.drain()
    handoff = deps.handoffs.repo.get(EXPANSION)
    assert handoff.state == "ready"
    assert len(finance_posts(slack)) == 1  # the same message, updated
    assert slack.stub.calls_to("chat.update")[-1]["ts"] == handoff.finance_ts
    assert CREATE in buttons(latest_finance_view(slack))


async def test_account_change_leaves_settled_handoffs_alone(deps, sandbox, slack, app_client, driver):
    await close_deal(deps, sandbox)
    await click(driver, CREATE, EXPANSION, APPROVER)
    await app_settled()
    assert deps.handoffs.repo.get(EXPANSION).state == "done"
    calls = len(slack.stub.calls)
    account_id = sandbox.state.demo_account_id
    sandbox.state.update_crm("Accounts", account_id, {"Billing_Street": "2 Other St"})
    delivery = crm_notification(deps, "Accounts", account_id, 1764200200000)
    assert (await app_client.post("/zoho/crm", json=delivery)).status_code == 200
    await deps.intake.drain()
    assert deps.handoffs.repo.get(EXPANSION).state == "done"
    assert not [c for c in slack.stub.calls[calls:] if c.args.get("channel") == FINANCE]


async def test_workflow_webhook_with_a_deal_id_and_wrong_secret(deps, sandbox, app_client, slack):

    sandbox.state.update_crm("Deals", EXPANSION, {"Stage": "Closed Won"})
    refused = await app_client.post("/zoho/crm?secret=wrong", data={"deal_id": EXPANSION})
    assert refused.status_code == 401
    reply = await app_client.post(f"/zoho/crm?secret={deps.settings.webhook_secret}", data={"deal_id": EXPANSION})
    assert reply.status_code == 200
    await deps.intake.drain()
    assert len(finance_posts(slack)) == 1


async def test_won_deal_found_only_by_sync_is_handed_off_once(deps, sandbox, slack):
    from bot.sync import MirrorSync

    await MirrorSync(deps.store, deps.zoho, deps.clock).run()
    # Someone closes the deal in CRM (an API edit, so Modified_Time moves); no webhook arrives.
    await deps.zoho.crm.update("Deals", [{"id": EXPANSION, "Stage": "Closed Won"}])
    await MirrorSync(deps.store, deps.zoho, deps.clock).run()
    await deps.intake.drain()
    await MirrorSync(deps.store, deps.zoho, deps.clock).run()  # the overlap window sees it again
    await deps.intake.drain()
    assert len(finance_posts(slack)) == 1
    assert deps.handoffs.repo.get(EXPANSION).state == "ready"


async def test_invoice_id_written_back_to_crm_and_owner_told(deps, sandbox, slack, driver):
    deps.structure.handoff.crm_invoice_field = "Books_Invoice_ID"
    owner = sandbox.state.crm["Deals"][EXPANSION]["Owner"]["email"]
    slack.stub.users_by_email[owner.lower()] = "U0OWNER001"
    await close_deal(deps, sandbox)
    await click(driver, CREATE, EXPANSION, APPROVER)
    await app_settled()
    handoff = deps.handoffs.repo.get(EXPANSION)
    assert handoff.state == "done"
    assert sandbox.state.crm["Deals"][EXPANSION]["Books_Invoice_ID"] == handoff.document_id
    told = [c for c in slack.stub.calls_to("chat.postMessage") if c["channel"] == "D0OWNER001"]
    assert any(handoff.document_number in c["text"] for c in told)
    await close_deal(deps, sandbox)  # our own CRM write fires the notification again: nothing changes
    assert len(invoices_for(sandbox, EXPANSION)) == 1 and len(finance_posts(slack)) == 1


async def test_customer_created_but_answer_lost_is_found_on_retry(deps, sandbox, slack):
    deal_id = sandbox.state.untidy["missing_from_books_won_deal"][0]  # no Books customer yet
    account = sandbox.state.crm["Accounts"][sandbox.state.crm["Deals"][deal_id]["Account_Name"]["id"]]
    await deps.handoffs.consider(deal_id)
    sandbox.faults.force("books", 400, path_contains="/crm/account/")  # Books' CRM integration is off
    sandbox.faults.force("books", 500, path_contains="/contacts", method="POST", after=True)  # answer lost
    await deps.handoffs.approve(deal_id, APPROVER)
    assert deps.handoffs.repo.get(deal_id).state == "failed"
    sandbox.faults.force("books", 400, path_contains="/crm/account/")
    await deps.handoffs.retry(deal_id, APPROVER)
    assert deps.handoffs.repo.get(deal_id).state == "done"
    named = [c for c in sandbox.state.books_contacts.values() if c["contact_name"] == account["Account_Name"]]
    assert len(named) == 1
    assert len(invoices_for(sandbox, deal_id)) == 1


async def test_deal_leaving_closed_won_withdraws_the_handoff(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    sandbox.state.update_crm("Deals", EXPANSION, {"Stage": "Negotiation/Review"})  # a mistaken close, undone
    deal = await deps.zoho.crm.get_deal(EXPANSION)
    await deps.events.publish(DealChanged(deal=deal, previous_stage="Closed Won"))
    view = latest_finance_view(slack)
    validate_message(view)
    assert not buttons(view) and "Withdrawn" in json.dumps(view) and "Negotiation/Review" in json.dumps(view)
    url = await click(driver, CREATE, EXPANSION, APPROVER)  # a click on an old copy of the message
    [answer] = await slack.wait_response(url)
    assert "rejected" in answer["text"].lower() or "withdrawn" in answer["text"].lower()
    assert invoices_for(sandbox, EXPANSION) == []


@pytest.mark.parametrize(("button", "dialog"), [(EDIT, "edit"), (REJECT, "reject")])
async def test_non_approver_cannot_even_open_the_edit_or_reject_dialog(deps, sandbox, slack, driver, button, dialog):
    await close_deal(deps, sandbox)
    url = await click(driver, button, EXPANSION, STRANGER)
    [answer] = await slack.wait_response(url)
    assert "Only configured approvers" in answer["text"] and answer["response_type"] == "ephemeral"
    await app_settled()
    assert slack.stub.calls_to("views.open") == []
    [entry] = deps.handoffs.audit.entries(action=f"handoff.{dialog}.open")
    assert entry.actor == STRANGER and entry.outcome == "refused"
    await click(driver, button, EXPANSION, OTHER_APPROVER)  # a member of the approvers' group may
    await app_settled()
    assert len(slack.stub.calls_to("views.open")) == 1


async def test_a_books_rate_limit_that_outlasts_the_retries_leaves_no_stale_advice(deps, sandbox, slack, driver):
    """The #finance message is read later: "try again in 1 s" must not be frozen into it."""
    await close_deal(deps, sandbox)
    sandbox.faults.force("books", 429, times=50, retry_after=1, path_contains="/invoices", method="POST")
    await click(driver, CREATE, EXPANSION, APPROVER)
    for _ in range(300):
        if deps.handoffs.repo.get(EXPANSION).state == "failed" and "429" in json.dumps(latest_finance_view(slack)):
            break
        await asyncio.sleep(0.02)
    handoff = deps.handoffs.repo.get(EXPANSION)
    assert handoff.state == "failed" and "429" in handoff.error
    shown = json.dumps(latest_finance_view(slack))
    assert "429" in shown and "try again in" not in shown.lower()
    assert RETRY in buttons(latest_finance_view(slack))


async def test_a_new_desk_account_is_created_without_a_crm_link_and_remembered(deps, sandbox, slack, driver):
    """Account.json's POST /accounts has no CRM link field: the account is created with the documented keys and
    Throughline records which CRM account it belongs to; the next handoff finds it through that record."""
    st = sandbox.state
    crm_id = st.demo_account_id
    old = st.desk_account_by_crm.pop(crm_id)  # this customer never had a support account
    del st.desk_accounts[old]
    st.touch()
    await close_deal(deps, sandbox)
    await click(driver, CREATE, EXPANSION, APPROVER)
    await app_settled()
    handoff = deps.handoffs.repo.get(EXPANSION)
    assert handoff.state == "done", handoff.error
    created = st.desk_accounts[handoff.desk_account_id]
    assert created["zohoCRMAccount"] is None and created["accountName"] == st.crm["Accounts"][crm_id]["Account_Name"]
    assert deps.store.desk_link(crm_id) == handoff.desk_account_id
    posts = [c for c in sandbox.calls if c[1] == "POST" and c[2] == "/api/v1/accounts"]
    assert len(posts) == 1
    sandbox.calls.clear()
    found = await deps.handoffs.writes._ensure_desk_account(handoff)  # a retry or a second deal: no search, no create
    assert found == handoff.desk_account_id
    assert [(m, p) for _, m, p in sandbox.calls if "/api/v1/" in p] == [("GET", f"/api/v1/accounts/{found}")]


async def test_lines_come_from_the_deals_quote(deps, sandbox, slack):
    [quote] = [q for q in sandbox.state.crm["Quotes"].values() if q["Deal_Name"]["id"] == EXPANSION]
    await close_deal(deps, sandbox)
    plan = deps.handoffs.repo.get(EXPANSION).plan
    assert plan.lines_source == "quote" and quote["Subject"] in plan.lines_note
    assert [(line.name, line.quantity) for line in plan.lines] == [
        (i["Product_Name"]["name"], i["Quantity"]) for i in quote["Quoted_Items"]
    ]
    assert CREATE in buttons(finance_posts(slack)[-1])


async def test_deal_without_quote_waits_for_finance_to_enter_quantities(deps, sandbox, slack, driver):
    for quote_id in [q for q, rec in sandbox.state.crm["Quotes"].items() if rec["Deal_Name"]["id"] == EXPANSION]:
        del sandbox.state.crm["Quotes"][quote_id]
    await close_deal(deps, sandbox)
    handoff = deps.handoffs.repo.get(EXPANSION)
    assert handoff.state == "waiting" and handoff.plan.lines == [] and handoff.plan.unpriced
    [post] = finance_posts(slack)
    validate_message(post)
    text = json.dumps(post)
    assert "Quantities and prices unknown" in text and "quantity ?" in text
    assert CREATE not in buttons(post) and EDIT in buttons(post)
    asks = [c for c in slack.stub.calls_to("chat.postMessage") if "cannot invoice it yet" in json.dumps(c)]
    assert asks == []  # only finance can fix this: the deal owner is not asked

    await click(driver, EDIT, EXPANSION, APPROVER)
    await app_settled()
    [opened] = slack.stub.calls_to("views.open")
    prefilled = next(b for b in opened["view"]["blocks"] if b.get("block_id") == "lines")
    initial = prefilled["element"]["initial_value"]
    assert initial.startswith("QTY x ")
    kind = {"kind": {"value": {"type": "radio_buttons", "selected_option": {"value": "invoice"}}}}
    untouched = {**kind, "lines": {"value": {"type": "plain_text_input", "value": initial}}}
    reply = await driver.post(_view_submission(opened["view"], APPROVER, untouched))
    assert reply.json()["response_action"] == "errors" and "QTY" in reply.json()["errors"]["lines"]
    assert invoices_for(sandbox, EXPANSION) == []

    entered = initial.replace("QTY", "3", 1).replace("QTY", "1")
    reply = await driver.post(
        _view_submission(
            opened["view"], APPROVER, {**kind, "lines": {"value": {"type": "plain_text_input", "value": entered}}}
        )
    )
    assert reply.status_code == 200
    await app_settled()
    handoff = deps.handoffs.repo.get(EXPANSION)
    assert handoff.state == "ready" and handoff.plan.lines_source == "edited"
    await click(driver, CREATE, EXPANSION, APPROVER)
    await app_settled()
    [invoice] = invoices_for(sandbox, EXPANSION)
    quantities = [li["quantity"] for li in invoice["line_items"]]
    assert quantities[0] == 3 and len(quantities) == len(initial.splitlines())


async def test_non_approver_submitting_a_dialog_is_refused_by_direct_message_and_audited(deps, sandbox, slack, driver):
    await close_deal(deps, sandbox)
    values = {"reason": {"value": {"type": "plain_text_input", "value": "not mine to reject"}}}
    reply = await driver.post(
        _view_submission({"callback_id": "handoff_reject_view", "private_metadata": EXPANSION}, STRANGER, values)
    )
    assert reply.status_code == 200
    refusal = await slack.wait_for(
        lambda: [c for c in slack.stub.calls_to("chat.postMessage") if "Only configured approvers" in c.get("text", "")]
    )
    assert len(refusal) == 1
    assert deps.handoffs.repo.get(EXPANSION).state == "ready"
    [entry] = deps.handoffs.audit.entries(action="handoff.reject")
    assert (entry.actor, entry.outcome, entry.subject) == (STRANGER, "refused", f"deal:{EXPANSION}")
