"""AccountService against the sandbox over HTTP and a real SQLite mirror."""

from __future__ import annotations

from bot.sync import MirrorSync


def _account_named(sandbox, name):
    return next(a for a in sandbox.state.crm["Accounts"].values() if a["Account_Name"] == name)


async def test_partial_mirror_does_not_answer_with_the_wrong_accounts(deps, sandbox):
    _add_account(sandbox, "Northwind Lighting GmbH")
    # Only Northwind Logistics is mirrored (as after one lookup); Northwind Lighting exists only in CRM.
    first = await deps.accounts.answer("Northwind Logistics Inc.")
    assert first.kind == "card"
    assert deps.accounts.answer_from_mirror("northwind") is None  # not trusted: the mirror is partial
    answer = await deps.accounts.answer("northwind")
    assert answer.kind == "pick"
    assert "Northwind Lighting" in answer.message.text and "Northwind Logistics" in answer.message.text


def _add_account(sandbox, name):
    return sandbox.state.add_crm(
        "Accounts",
        {
            "Account_Name": name,
            "Owner": None,
            "Created_Time": "2026-01-05T10:00:00+00:00",
            "Modified_Time": "2026-01-05T10:00:00+00:00",
        },
    )


async def test_complete_mirror_answers_locally(deps, sandbox):
    _add_account(sandbox, "Acme Widgets Ltd")
    _add_account(sandbox, "Acme Gadgets Ltd")
    await MirrorSync(deps.store, deps.zoho, deps.clock).run()
    sandbox.calls.clear()
    pick = deps.accounts.answer_from_mirror("acme")
    assert pick is not None and pick.kind == "pick"
    zylker = _account_named(sandbox, "Zylker Corporation")
    await deps.directory.user_id_for(zylker["Owner"]["email"])  # owner seen once before
    card = deps.accounts.answer_from_mirror(zylker["id"])
    assert card is not None and card.kind == "card"
    assert sandbox.calls == []  # everything above came from the mirror


async def test_new_account_since_the_sync_is_found_in_crm(deps, sandbox):
    await MirrorSync(deps.store, deps.zoho, deps.clock).run()
    _add_account(sandbox, "Quillfeather Books")
    assert deps.accounts.answer_from_mirror("Quillfeather") is None
    answer = await deps.accounts.answer("Quillfeather")
    assert answer.kind == "card"
    assert "Quillfeather Books" in answer.message.text


async def test_cold_read_uses_one_round_trip_per_app_when_links_are_mirrored(deps, sandbox, clock):
    await MirrorSync(deps.store, deps.zoho, deps.clock).run()
    clock.advance(hours=1)
    sandbox.calls.clear()
    await deps.accounts.card(sandbox.state.demo_account_id)
    apps = [app for app, _, _ in sandbox.calls]
    # CRM: account, deals; Books: invoices (the card needs no payments or contacts); Desk: tickets — no look-ups
    # of the links.
    assert apps.count("crm") == 2 and apps.count("books") == 1 and apps.count("desk") == 1


async def test_cold_lookup_by_name_with_an_empty_mirror_takes_at_most_seven_calls(deps, sandbox):
    demo = sandbox.state.demo_account_id
    sandbox.calls.clear()
    answer = await deps.accounts.answer("Northwind Logistics Inc.")
    assert answer.kind == "card" and answer.account_id == demo
    paths = [path for _, _, path in sandbox.calls]
    assert len(paths) <= 7, paths
    assert not any(p.endswith(f"/Accounts/{demo}") for p in paths)  # the search's answer is not read again
    assert not any("customerpayments" in p for p in paths)
    assert "*Collected*" in str(answer.message.blocks)


async def test_a_cold_read_keeps_the_mirrored_payments(deps, sandbox, clock):
    demo = sandbox.state.demo_account_id
    await MirrorSync(deps.store, deps.zoho, deps.clock).run()
    before = deps.store.snapshot(demo, clock.now)
    clock.advance(hours=1)
    await deps.accounts.card(demo)
    after = deps.store.snapshot(demo, clock.now)
    assert before is not None and after is not None and before.payments
    assert [p.id for p in after.payments] == [p.id for p in before.payments]


async def test_deleted_records_leave_the_mirror_on_a_full_read(deps, sandbox, clock):
    demo = sandbox.state.demo_account_id
    first = await deps.accounts.card(demo)
    ticket_id = next(
        t["id"] for t in sandbox.state.desk_tickets.values() if t.get("subject", "").startswith("Onboarding")
    )
    del sandbox.state.desk_tickets[ticket_id]
    sandbox.state.touch()
    clock.advance(hours=1)
    second = await deps.accounts.card(demo)
    assert "Onboarding" in str(first.message.blocks)
    assert "Onboarding" not in str(second.message.blocks)


async def test_cold_card_counts_escalations_from_ticket_search(deps, sandbox):
    """Ticket list rows have no isEscalated (Ticket.json listviewCommonJson): a never-seen account's tickets come
    from /tickets/search, so its escalated ticket shows and counts in health."""
    demo = sandbox.state.demo_account_id
    desk_id = sandbox.state.desk_account_by_crm[demo]
    escalated = [
        t
        for t in sandbox.state.desk_tickets.values()
        if t["accountId"] == desk_id and t["isEscalated"] and t["statusType"] != "Closed"
    ]
    assert escalated
    sandbox.calls.clear()
    card = await deps.accounts.card(demo)
    desk = [(m, p) for app, m, p in sandbox.calls if app == "desk"]
    assert ("GET", "/api/v1/accounts/search") in desk and ("GET", "/api/v1/tickets/search") in desk
    assert all(p != "/api/v1/tickets" and not p.endswith("/tickets") for _, p in desk)
    assert len(desk) <= 4  # search, the detail of at most two hits, ticket search
    snapshot = deps.store.snapshot(demo, deps.clock())
    assert sum(t.is_escalated for t in snapshot.tickets) == len(escalated)
    assert "escalated" in str(card.message.blocks).lower()


async def test_a_desk_account_throughline_created_is_read_without_a_name_search(deps, sandbox):
    demo = sandbox.state.demo_account_id
    desk_id = sandbox.state.desk_account_by_crm[demo]
    sandbox.state.desk_accounts[desk_id]["zohoCRMAccount"] = None  # Zoho holds no link; Throughline's record does
    del sandbox.state.desk_account_by_crm[demo]
    deps.store.record_desk_link(demo, desk_id, deps.clock())
    sandbox.calls.clear()
    await deps.accounts.card(demo)
    desk = sorted(p for app, _, p in sandbox.calls if app == "desk")
    assert desk == [f"/api/v1/accounts/{desk_id}", "/api/v1/tickets/search"]
    assert deps.store.snapshot(demo, deps.clock()).tickets
