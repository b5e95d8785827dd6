"""Handoff benchmark: CRM delivery → #finance message, and click → updated message, with Zoho adding 150 ms a
call; Zoho calls per handoff."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import WEBHOOK_SECRET, Clock, environment, make_deps, percentile, summary
from bot.app import create_app
from bot.config import parse_structure
from bot.demo.handoff import APPROVER, FINANCE, demo_structure_toml
from bot.slack_requests import block_action_body, signed_headers
from bot.zoho.sandbox import Sandbox

LATENCY = 0.150


def _open_deals(sandbox: Sandbox, count: int) -> list[str]:
    untidy = {i for ids in sandbox.state.untidy.values() for i in ids}
    # A deal reaching Closed Won has its quote: lines with quantities (without one, finance must enter them first).
    quoted = {(q.get("Deal_Name") or {}).get("id") for q in sandbox.state.crm["Quotes"].values()}
    deals = []
    for deal in sandbox.state.crm["Deals"].values():
        account = (deal.get("Account_Name") or {}).get("id")
        if deal["Stage"].startswith("Closed") or account in untidy or not deal.get("Contact_Name"):
            continue
        if account not in sandbox.state.books_contact_by_crm_account or deal["id"] not in quoted:
            continue
        deals.append(deal["id"])
    return deals[:count]


async def _until(check: Any, limit: float = 30.0) -> None:
    deadline = time.perf_counter() + limit
    while not check():
        if time.perf_counter() > deadline:
            raise RuntimeError("timed out")
        await asyncio.sleep(0.002)


async def run(handoffs: int = 10, seed: int = 7) -> dict[str, Any]:
    sandbox = Sandbox.seeded(accounts=200, seed=seed)
    structure = parse_structure(demo_structure_toml("Europe/Berlin"))
    async with environment(sandbox) as env:
        with tempfile.TemporaryDirectory() as tmp:
            deps = make_deps(env, Path(tmp) / "handoff.db", Clock(), structure)
            app = create_app(deps)
            deps.intake.start()
            to_message: list[float] = []
            to_update: list[float] = []
            calls: list[int] = []
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
                sandbox.faults.latency = LATENCY
                for deal_id in _open_deals(sandbox, handoffs):
                    sandbox.state.update_crm("Deals", deal_id, {"Stage": "Closed Won"})
                    before_calls, posts = len(sandbox.calls), len(env.stub.calls_to("chat.postMessage"))
                    started = time.perf_counter()
                    delivery = {
                        "module": "Deals",
                        "ids": [deal_id],
                        "operation": "update",
                        "token": WEBHOOK_SECRET,
                        "channel_id": "1000000068001",
                        "server_time": int(time.time() * 1000),
                    }
                    assert (await http.post("/zoho/crm", json=delivery)).status_code == 200
                    await _until(
                        lambda n=posts: any(
                            c.get("channel") == FINANCE  # type: ignore[misc]
                            for c in env.stub.calls_to("chat.postMessage")[n:]
                        )
                    )
                    to_message.append((time.perf_counter() - started) * 1000)
                    if deps.handoffs.repo.get(deal_id).state != "ready":
                        continue
                    body = block_action_body(
                        "handoff_create",
                        deal_id,
                        user_id=APPROVER,
                        channel_id=FINANCE,
                        response_url=f"{env.slack_url}/response/h{deal_id}",
                    )
                    started = time.perf_counter()
                    await http.post("/slack/events", content=body, headers=signed_headers(body, env.secret))
                    await _until(lambda d=deal_id: deps.handoffs.repo.get(d).state in ("done", "failed"))
                    to_update.append((time.perf_counter() - started) * 1000)
                    calls.append(len(sandbox.calls) - before_calls)
                sandbox.faults.latency = 0
            await deps.intake.stop()
            await deps.aclose()
    results = {
        "delivery_to_finance_ms": {
            "p50": percentile(to_message, 50),
            "p95": percentile(to_message, 95),
            "n": len(to_message),
        },
        "click_to_update_ms": {"p50": percentile(to_update, 50), "p95": percentile(to_update, 95), "n": len(to_update)},
        "zoho_calls_per_handoff": sum(calls) / len(calls) if calls else None,
    }
    print(f"CRM delivery → #finance message: {summary(to_message)}   (Zoho adds {LATENCY * 1000:.0f} ms a call)")
    print(
        f"click → message updated (done):  {summary(to_update)}   Zoho calls per handoff: "
        f"{results['zoho_calls_per_handoff']:.1f}"
    )
    return results
