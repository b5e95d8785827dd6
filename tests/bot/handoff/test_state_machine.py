"""Every transition of the handoff state machine (bot/handoff/service.py), driven through the service against
the sandbox over HTTP and a real SQLite file:

    (none) -> waiting | ready            consider: a won deal, missing fields or not
    waiting <-> ready                    consider / edit: the gaps close or open
    waiting | ready | failed -> rejected reject (or withdrawn when the deal leaves the won stage)
    ready -> approved -> creating -> done    approve (one click wins)
    creating -> failed -> approved -> done   a Zoho error, then retry
    approved | creating -> done          resume after a restart
    done | rejected: final               nothing moves them
"""

from __future__ import annotations

import pytest

from bot.config import OperatingStructure, parse_structure
from bot.events import DealChanged
from bot.models import Address

DEAL = "5725767000000100037"  # the demo account's open deal (nothing invoiced yet)
APPROVER = "U0APPROVER"


@pytest.fixture
def structure() -> OperatingStructure:
    return parse_structure(f"""
timezone = "Europe/Berlin"
[channels]
finance = "C0FINANCE1"
support = "C0SUPPORT1"
sales = "C0SALES001"
[approvers]
invoice = ["{APPROVER}"]
[handoff]
default_payment_terms = 30
""")


def _stage(sandbox, stage: str) -> None:
    sandbox.state.update_crm("Deals", DEAL, {"Stage": stage})


def _state(deps) -> str | None:
    h = deps.handoffs.repo.get(DEAL)
    return h.state if h else None


async def _ready(deps, sandbox) -> None:
    _stage(sandbox, "Closed Won")
    await deps.handoffs.consider(DEAL)
    assert _state(deps) == "ready"


def _billing_street(sandbox, value) -> None:
    account_id = sandbox.state.crm["Deals"][DEAL]["Account_Name"]["id"]
    sandbox.state.update_crm("Accounts", account_id, {"Billing_Street": value})


async def test_a_deal_not_won_opens_nothing(deps, sandbox):
    assert await deps.handoffs.consider(DEAL) is None and _state(deps) is None


async def test_none_to_ready(deps, sandbox):
    await _ready(deps, sandbox)


async def test_none_to_waiting_then_ready_when_crm_is_fixed(deps, sandbox):
    account_id = sandbox.state.crm["Deals"][DEAL]["Account_Name"]["id"]
    street = sandbox.state.crm["Accounts"][account_id]["Billing_Street"]
    _billing_street(sandbox, None)
    _stage(sandbox, "Closed Won")
    await deps.handoffs.consider(DEAL)
    assert _state(deps) == "waiting"
    assert (await deps.handoffs.approve(DEAL, APPROVER)).ok is False  # waiting cannot be approved
    _billing_street(sandbox, street)
    await deps.handoffs.consider(DEAL)
    assert _state(deps) == "ready"


async def test_ready_to_waiting_and_back_by_edit(deps, sandbox):
    await _ready(deps, sandbox)
    _billing_street(sandbox, None)
    assert (await deps.handoffs.edit(DEAL, APPROVER, Address(), None, "invoice", None)).ok
    assert _state(deps) == "waiting"
    street = Address(street="1 Quay", city="Leeds", code="LS1", country="UK")
    assert (await deps.handoffs.edit(DEAL, APPROVER, street, 45, "invoice", None)).ok
    h = deps.handoffs.repo.get(DEAL)
    assert h.state == "ready" and h.plan.payment_terms == 45


async def test_ready_to_rejected_is_final(deps, sandbox):
    await _ready(deps, sandbox)
    assert (await deps.handoffs.reject(DEAL, APPROVER, "wrong entity")).ok
    assert _state(deps) == "rejected"
    again = await deps.handoffs.reject(DEAL, APPROVER, "twice")
    assert not again.ok and "Already rejected" in again.note
    assert not (await deps.handoffs.approve(DEAL, APPROVER)).ok
    await deps.handoffs.consider(DEAL)  # CRM edits no longer change it
    assert _state(deps) == "rejected"


async def test_leaving_the_won_stage_withdraws(deps, sandbox):
    await _ready(deps, sandbox)
    _stage(sandbox, "Negotiation/Review")
    deal = await deps.zoho.crm.get_deal(DEAL)
    await deps.handoffs.on_deal_changed(DealChanged(deal=deal, previous_stage="Closed Won"))
    h = deps.handoffs.repo.get(DEAL)
    assert h.state == "rejected" and h.rejected_by == "" and "Negotiation/Review" in h.rejected_reason


async def test_ready_to_done_once(deps, sandbox):
    await _ready(deps, sandbox)
    assert (await deps.handoffs.approve(DEAL, APPROVER)).ok
    h = deps.handoffs.repo.get(DEAL)
    assert h.state == "done" and h.approved_by == APPROVER and h.document_id
    again = await deps.handoffs.approve(DEAL, APPROVER)
    assert not again.ok and "Already created" in again.note
    steps = [e.action for e in deps.handoffs.audit.entries(subject=f"deal:{DEAL}")]
    assert "handoff.approve" in steps and "handoff.done" in steps


async def test_creating_to_failed_then_retry_to_done(deps, sandbox):
    await _ready(deps, sandbox)
    sandbox.faults.force("books", 400, path_contains="/invoices", method="POST")
    assert (await deps.handoffs.approve(DEAL, APPROVER)).ok
    failed = deps.handoffs.repo.get(DEAL)
    assert failed.state == "failed" and "Zoho Books" in failed.error
    assert not (await deps.handoffs.edit(DEAL, APPROVER, Address(), None, "invoice", None)).ok  # not open
    assert (await deps.handoffs.retry(DEAL, APPROVER)).ok
    assert _state(deps) == "done"
    assert not (await deps.handoffs.retry(DEAL, APPROVER)).ok  # only a failed handoff is retried


async def test_approved_or_creating_resume_to_done(deps, sandbox):
    await _ready(deps, sandbox)
    deps.handoffs.repo.update(DEAL, expect=("ready",), state="approved", approved_by=APPROVER)
    assert await deps.handoffs.resume() == 1
    assert _state(deps) == "done"
    assert await deps.handoffs.resume() == 0


async def test_failed_to_rejected(deps, sandbox):
    await _ready(deps, sandbox)
    sandbox.faults.force("books", 400, path_contains="/invoices", method="POST")
    await deps.handoffs.approve(DEAL, APPROVER)
    assert _state(deps) == "failed"
    assert (await deps.handoffs.reject(DEAL, APPROVER, "billing elsewhere")).ok
    assert _state(deps) == "rejected"
