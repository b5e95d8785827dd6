"""`throughline demo` runs the whole path with no credentials and prints the card."""

from __future__ import annotations

import io
import json

from bot.demo.run import run_demo


def test_demo_prints_the_card_as_text(demo_text: str):
    text = demo_text
    assert "Northwind Logistics" in text
    assert "Deals" in text and "Invoices" in text and "Tickets" in text
    assert "answered inside the acknowledgement" in text  # the second lookup comes from the mirror
    assert "0 Zoho calls" in text
    # the handoff: CRM notification → #finance review → approval → invoice in Books → #support handover
    assert "[ Create invoice ]" in text
    assert "created (draft) by <@U0FINANCE1>" in text
    assert "Zoho Books now holds 1 invoice for the deal" in text
    assert "New customer: Northwind Logistics" in text
    # the drift audit of the sandbox's seeded drift, and one suggested link applied from Slack
    assert "Drift audit: " in text and "Books customers not linked to CRM · 1" in text
    assert '✅ Linked Books customer "Riverside Dental Group"' in text


async def test_demo_json_prints_block_kit_and_only_json():
    from bot.cli_support import JsonOnly

    data, notes = io.StringIO(), io.StringIO()  # `throughline demo --json`: stdout and stderr
    assert await run_demo(json_out=True, out=JsonOnly(data, notes)) == 0
    text, decoder, at, payloads = data.getvalue(), json.JSONDecoder(), 0, []
    while text[at:].strip():  # stdout is nothing but JSON documents, one after another (jq reads it as is)
        at += len(text[at:]) - len(text[at:].lstrip())
        payload, at = decoder.raw_decode(text, at)
        payloads.append(payload)
    assert payloads[0]["text"] and payloads[0]["blocks"][0]["type"] == "header"
    assert "$ /account" in notes.getvalue() and "$ /account" not in text
