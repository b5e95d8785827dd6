"""/account benchmark: warm (fresh mirror) and cold (Zoho asked, with 150 ms added per call) lookups; and the
mirror sync it starts from: the first full sync, then an incremental one after 100 Desk ticket changes."""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.harness import Clock, SlackCaller, environment, make_deps, percentile, summary
from bot.account.lookup import normalise_name
from bot.sync import MirrorSync
from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox.timefmt import desk_ts

LATENCY = 0.150


async def run(accounts: int = 10_000, warm_lookups: int = 300, cold_lookups: int = 20, seed: int = 7) -> dict[str, Any]:
    results: dict[str, Any] = {"accounts": accounts}
    started = time.perf_counter()
    sandbox = Sandbox.seeded(accounts=accounts, seed=seed)
    results["seed_seconds"] = round(time.perf_counter() - started, 2)
    print(f"sandbox: {accounts} accounts generated in {results['seed_seconds']} s")
    rng = random.Random(seed)
    # Names that resolve to exactly one account (a generated org repeats some; those give a pick list).
    seen = Counter(normalise_name(a["Account_Name"]) for a in sandbox.state.crm["Accounts"].values())
    names = [
        a["Account_Name"]
        for a in sandbox.state.crm["Accounts"].values()
        if seen[normalise_name(a["Account_Name"])] == 1
    ]

    async with environment(sandbox) as env:
        with tempfile.TemporaryDirectory() as tmp:
            # ---- warm: a synced mirror answers inside the acknowledgement -----------------------------------
            clock = Clock()
            deps = make_deps(env, Path(tmp) / "warm.db", clock)
            started = time.perf_counter()
            sandbox.calls.clear()
            report = await MirrorSync(deps.store, deps.zoho, clock).run()
            results["sync_seconds"] = round(time.perf_counter() - started, 1)
            results["sync_calls"] = len(sandbox.calls)
            results["sync_calls_by_app"] = dict(Counter(app for app, _, _ in sandbox.calls))
            results["mirror"] = report.counts
            assert report.counts["desk_tickets"] == len(sandbox.state.desk_tickets), "the Desk sync missed tickets"
            print(
                f"initial sync: {results['sync_seconds']} s, {results['sync_calls']} Zoho calls "
                f"{results['sync_calls_by_app']}, {report.counts}"
            )
            results["incremental"] = await _incremental_after_ticket_changes(sandbox, deps, clock, rng)
            caller = SlackCaller(deps, env)
            sample = rng.sample(names, min(warm_lookups, len(names)))
            for name in sample[:50]:  # first sight of each owner asks Slack once; it is cached afterwards
                await caller.command(name)
            sandbox.calls.clear()
            warm: list[float] = []
            answered_in_ack = 0
            for name in sample:
                message, ack_ms, answer_ms = await caller.command(name)
                warm.append(ack_ms if answer_ms is None else answer_ms)
                answered_in_ack += answer_ms is None
            results["warm"] = {
                "p50_ms": percentile(warm, 50),
                "p95_ms": percentile(warm, 95),
                "n": len(warm),
                "answered_in_ack": answered_in_ack,
                "zoho_calls_per_lookup": len(sandbox.calls) / len(warm),
            }
            print(
                f"warm /account (fresh mirror):    {summary(warm)}   answered in the ack: {answered_in_ack}/"
                f"{len(warm)}   Zoho calls per lookup: {results['warm']['zoho_calls_per_lookup']:.2f}"
            )

            # ---- cold detail: links mirrored, account data stale → one round trip per app, in parallel ------
            sandbox.faults.latency = LATENCY
            clock.offset += timedelta(minutes=deps.structure.lookup.freshness_minutes * 2)
            stale: list[float] = []
            calls: list[int] = []
            for name in rng.sample(names, cold_lookups):
                before = len(sandbox.calls)
                _, _, answer_ms = await caller.command(name)
                assert answer_ms is not None, "a stale account must be read from Zoho"
                stale.append(answer_ms)
                calls.append(len(sandbox.calls) - before)
            results["stale"] = {
                "p50_ms": percentile(stale, 50),
                "p95_ms": percentile(stale, 95),
                "n": len(stale),
                "zoho_calls_per_lookup": sum(calls) / len(calls),
            }
            print(
                f"stale account, links mirrored:   {summary(stale)}   Zoho calls per lookup: "
                f"{results['stale']['zoho_calls_per_lookup']:.1f}   (Zoho adds {LATENCY * 1000:.0f} ms a call)"
            )
            await caller.aclose()
            await deps.aclose()

            # ---- cold: nothing mirrored at all -------------------------------------------------------------
            cold_deps = make_deps(env, Path(tmp) / "cold.db", Clock())
            cold_caller = SlackCaller(cold_deps, env)
            cold: list[float] = []
            calls = []
            desk_calls: list[int] = []
            acks: list[float] = []
            for name in rng.sample(names, cold_lookups):
                before = len(sandbox.calls)
                message, ack_ms, answer_ms = await cold_caller.command(name)
                assert answer_ms is not None, (name, message)
                cold.append(answer_ms)
                acks.append(ack_ms)
                calls.append(len(sandbox.calls) - before)
                desk_calls.append(sum(app == "desk" for app, _, _ in sandbox.calls[before:]))
            results["cold"] = {
                "p50_ms": percentile(cold, 50),
                "p95_ms": percentile(cold, 95),
                "n": len(cold),
                "ack_p95_ms": percentile(acks, 95),
                "zoho_calls_per_lookup": sum(calls) / len(calls),
                "desk_calls_per_lookup": sum(desk_calls) / len(desk_calls),
                "desk_calls_max": max(desk_calls),
            }
            c = results["cold"]
            print(
                f"cold account, empty mirror:      {summary(cold)}   Zoho calls per lookup: "
                f"{c['zoho_calls_per_lookup']:.1f} (Desk {c['desk_calls_per_lookup']:.1f}, at most {max(desk_calls)})"
                f"   ack p95 {c['ack_p95_ms']:.1f} ms"
            )
            await cold_caller.aclose()
            await cold_deps.aclose()
            sandbox.faults.latency = 0
    return results


async def _incremental_after_ticket_changes(
    sandbox: Sandbox, deps: Any, clock: Clock, rng: random.Random, changes: int = 100
) -> dict[str, Any]:
    """100 tickets change in Desk (status and escalation, as agents do), then the scheduled sync runs."""
    st = sandbox.state
    for tid in rng.sample(sorted(st.desk_tickets), changes):
        ticket = st.desk_tickets[tid]
        ticket.update(isEscalated=not ticket.get("isEscalated"), modifiedTime=desk_ts(st.now()))
    st.touch()
    clock.offset += timedelta(minutes=5)
    sandbox.calls.clear()
    started = time.perf_counter()
    report = await MirrorSync(deps.store, deps.zoho, clock).run()
    out = {
        "seconds": round(time.perf_counter() - started, 2),
        "calls": len(sandbox.calls),
        "calls_by_app": dict(Counter(app for app, _, _ in sandbox.calls)),
        "desk_tickets_read": report.counts.get("desk_tickets", 0),
    }
    assert out["desk_tickets_read"] >= changes, out
    print(
        f"incremental sync after {changes} ticket changes: {out['seconds']} s, {out['calls']} Zoho calls "
        f"{out['calls_by_app']}, {out['desk_tickets_read']} tickets read"
    )
    return out
