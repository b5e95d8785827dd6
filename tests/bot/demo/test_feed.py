"""`throughline demo` ends with a ticket and an overdue invoice reaching the right people."""

from __future__ import annotations


def test_demo_shows_the_event_feed(demo_text: str):
    feed = demo_text.split("--- Zoho → Slack: the event feed ---", 1)[1]
    ticket, invoice, replay = feed.split("$ POST /zoho/")[1:]
    assert ticket.startswith("desk") and "→ DM to Maria Lopez (owner)" in ticket and "New ticket for" in ticket
    assert "→ #finance" in invoice and "→ DM to Maria Lopez (owner)" in invoice and "Invoice overdue" in invoice
    assert "duplicates 1" in replay and "nothing posted" in replay
