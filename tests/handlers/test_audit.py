"""/audit and its buttons through the real app: signed requests, the sandbox over HTTP, the Slack stand-in."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.audit_log import AuditLog
from bot.blocks import validate_message
from bot.config import OperatingStructure
from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox.state import SandboxState
from tests.bot.audit.test_drift import expected_ids

OPS = "U0OPS00001"
GROUP = "S0OPSGROUP"
MEMBER = "U0GROUPMEM"
OUTSIDER = "U0SALES001"
STATE_PARTS = (
    "crm",
    "crm_contacts_by_account",
    "crm_deals_by_account",
    "deal_products",
    "books_contacts",
    "books_contact_by_crm_account",
    "books_invoices",
    "books_estimates",
    "books_payments",
    "desk_accounts",
    "desk_account_by_crm",
    "desk_contacts",
    "desk_tickets",
)


@pytest.fixture
def structure() -> OperatingStructure:
    return OperatingStructure(timezone="Europe/Berlin", approvers={"audit": [OPS, GROUP]})


def _snapshot(st: SandboxState) -> dict[str, Any]:
    return {part: copy.deepcopy(dict(getattr(st, part))) for part in STATE_PARTS}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{part: {key: changed field names, or "added" / "removed"}} for every difference."""
    out: dict[str, Any] = {}
    for part in STATE_PARTS:
        a, b = before[part], after[part]
        changed: dict[str, Any] = {}
        for key in set(a) | set(b):
            if key not in a:
                changed[key] = "added"
            elif key not in b:
                changed[key] = "removed"
            elif a[key] != b[key]:
                if isinstance(a[key], dict) and isinstance(b[key], dict):
                    changed[key] = {f for f in set(a[key]) | set(b[key]) if a[key].get(f) != b[key].get(f)}
                else:
                    changed[key] = "changed"
        if changed:
            out[part] = changed
    return out


def _buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in message.get("blocks") or []:
        if isinstance(block.get("accessory"), dict):
            found[block["accessory"]["action_id"]] = block["accessory"]
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                found[element["action_id"]] = element
    return found


def _writes(sandbox: Sandbox) -> list[tuple[str, str, str]]:
    return [c for c in sandbox.calls if c[1] in ("POST", "PUT", "PATCH", "DELETE") and "/oauth/" not in c[2]]


async def _audit(driver: Any, slack: Any, user: str = OPS, text: str = "") -> dict[str, Any]:
    reply, url = await driver.command(text, command="/audit", user_id=user)
    assert reply.status_code == 200
    assert reply.json()["blocks"][0]["block_id"] == "working"  # acknowledged at once
    message = (await slack.wait_response(url))[-1]
    validate_message(message)
    return message


async def _click(driver: Any, slack: Any, button: dict[str, Any], user: str = OPS) -> dict[str, Any]:
    reply, url = await driver.click(button["action_id"], button["value"], user_id=user)
    assert reply.status_code == 200
    message = (await slack.wait_response(url))[-1]
    validate_message(message)
    return message


async def test_summary_counts_every_kind_and_details_page_through(driver, slack, sandbox, deps):
    summary = await _audit(driver, slack)
    assert summary["replace_original"] is True and summary["response_type"] == "ephemeral"
    expected = expected_ids(sandbox.state)
    assert summary["text"].startswith(f"Drift audit: {len(expected)} findings.")
    buttons = _buttons(summary)
    assert len(buttons) == 9  # one Show per kind, every kind present in the seeded drift
    invoices = sum(i.startswith("invoice_no_deal:") for i in expected)
    assert f"*Invoices with no deal* · {invoices}" in str(summary["blocks"])

    page = await _click(driver, slack, buttons["audit_details_invoice_no_deal"])
    assert page["replace_original"] is False  # details come as a new message under the summary
    seen = [b for b in page["blocks"] if b["type"] == "section" and "Fix:" in b["text"]["text"]]
    assert len(seen) == 8 and f"of {invoices}" in str(page["blocks"])
    nxt = await _click(driver, slack, _buttons(page)["audit_page_next"])
    assert nxt["replace_original"] is True and "Showing 9–16" in str(nxt["blocks"])
    assert set(_buttons(nxt)) == {"audit_page_prev", "audit_page_next"}
    entries = AuditLog(deps.store, deps.clock).entries(action="drift.audit")
    assert [(e.actor, e.outcome) for e in entries] == [(OPS, "ok")]
    assert entries[0].detail["counts"]["invoice_no_deal"] == invoices


async def test_user_group_members_may_audit_others_are_refused_and_audited(driver, slack, sandbox, deps):
    slack.stub.usergroups[GROUP] = [MEMBER]
    assert (await _audit(driver, slack, MEMBER))["text"].startswith("Drift audit:")
    sandbox.calls.clear()
    refused = await _audit(driver, slack, OUTSIDER)
    assert "[approvers] audit" in refused["text"] and sandbox.calls == []
    entries = AuditLog(deps.store, deps.clock).entries(action="drift.audit")
    assert (OUTSIDER, "refused") in [(e.actor, e.outcome) for e in entries]


async def test_unknown_text_answers_usage(driver, sandbox):
    reply, _ = await driver.command("everything please", command="/audit", user_id=OPS)
    assert "/audit sync" in reply.json()["text"] and sandbox.calls == []


async def _books_link_button(driver, slack) -> dict[str, Any]:
    summary = await _audit(driver, slack)
    page = await _click(driver, slack, _buttons(summary)["audit_details_books_not_linked"])
    link = _buttons(page)["audit_apply_0"]
    confirm = link["confirm"]
    assert confirm["confirm"]["text"] == "Link" and "Riverside Dental Group" in confirm["text"]["text"]
    return link


async def test_applying_a_books_link_changes_only_that_link(driver, slack, sandbox, deps):
    link = await _books_link_button(driver, slack)
    customer_id = sandbox.state.untidy["books_customer_not_linked"][0]
    crm_id = sandbox.state.untidy["books_customer_not_linked_crm"][0]
    before, writes = _snapshot(sandbox.state), len(_writes(sandbox))

    done = await _click(driver, slack, link)
    assert "✅ Linked Books customer" in str(done["blocks"]) and done["replace_original"] is True
    assert "audit_apply_0" not in _buttons(done)  # the button is gone; the finding says who linked it
    assert f"<@{OPS}>" in str(done["blocks"])
    assert _changes(before, _snapshot(sandbox.state)) == {
        "books_contacts": {customer_id: {"zcrm_account_id", "is_linked_with_zohocrm", "last_modified_time"}},
        "books_contact_by_crm_account": {crm_id: "added"},
    }
    assert sandbox.state.books_contacts[customer_id]["zcrm_account_id"] == crm_id
    assert [(m, p) for _, m, p in _writes(sandbox)[writes:]] == [("PUT", f"/books/v3/contacts/{customer_id}")]
    mirrored = deps.store.snapshot(crm_id, deps.clock())
    assert mirrored is not None and mirrored.books_customer is not None
    assert mirrored.books_customer.id == customer_id
    entry = AuditLog(deps.store, deps.clock).entries(subject=f"books_customer:{customer_id}")[0]
    assert (entry.actor, entry.action, entry.outcome) == (OPS, "drift.link", "applied")
    assert entry.detail["crm_account_id"] == crm_id

    again = await _click(driver, slack, link)  # a double click or a stale message: nothing is written twice
    assert "Already done" in str(again["blocks"]) and len(_writes(sandbox)) == writes + 1

    rerun = await _audit(driver, slack)  # the next audit no longer finds it
    assert "Books customers not linked to CRM" in str(rerun["blocks"][-1])  # listed under "None"


async def test_a_non_approver_cannot_apply_and_is_audited(driver, slack, sandbox, deps):
    link = await _books_link_button(driver, slack)
    before, writes = _snapshot(sandbox.state), len(_writes(sandbox))
    refused = await _click(driver, slack, link, user=OUTSIDER)
    assert "[approvers] audit" in refused["text"]
    assert _changes(before, _snapshot(sandbox.state)) == {} and len(_writes(sandbox)) == writes
    customer_id = sandbox.state.untidy["books_customer_not_linked"][0]
    entry = AuditLog(deps.store, deps.clock).entries(subject=f"books_customer:{customer_id}")[0]
    assert (entry.actor, entry.action, entry.outcome) == (OUTSIDER, "drift.link", "refused")


async def test_a_suggestion_that_no_longer_holds_is_not_applied(driver, slack, sandbox, deps):
    link = await _books_link_button(driver, slack)
    st = sandbox.state
    customer_id = st.untidy["books_customer_not_linked"][0]
    other = st.demo_account_id  # someone linked the customer elsewhere in Books meanwhile
    st.books_contacts[customer_id]["zcrm_account_id"] = other
    before, writes = _snapshot(st), len(_writes(sandbox))
    answer = await _click(driver, slack, link)
    assert "linked to another CRM account since the audit" in str(answer["blocks"])
    assert _changes(before, _snapshot(st)) == {} and len(_writes(sandbox)) == writes
    entry = AuditLog(deps.store, deps.clock).entries(subject=f"books_customer:{customer_id}")[0]
    assert entry.outcome == "stale"


async def test_a_desk_link_is_never_written_through_the_api(driver, slack, sandbox):
    """Account.json: PATCH /accounts/{id} takes no zohoCRMAccount, so the audit offers no Desk link button and
    says where to link instead."""
    summary = await _audit(driver, slack)
    page = await _click(driver, slack, _buttons(summary)["audit_details_desk_not_linked"])
    crm_id = sandbox.state.untidy["desk_account_not_linked_crm"][0]
    assert not [b for b in _buttons(page) if b.startswith("audit_apply")]
    text = str(page["blocks"])
    assert sandbox.state.crm["Accounts"][crm_id]["Account_Name"] in text and "CRM–Desk integration" in text
    assert [w for w in _writes(sandbox) if "/api/v1/" in w[2]] == []


@pytest.mark.parametrize("value", ["", "x:books_not_linked:0", "999:books_not_linked:0", "1:no_such_kind:0", "1:a:b"])
async def test_out_of_date_or_forged_buttons_are_refused_clearly(driver, slack, sandbox, value):
    await _audit(driver, slack)
    for action in ("audit_details_books_not_linked", "audit_apply_0"):
        answer = await _click(driver, slack, {"action_id": action, "value": value})
        assert "out of date" in answer["text"]
    assert _writes(sandbox) == []
