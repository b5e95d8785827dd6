"""Webhook intake benchmark: durable intake rate (Desk deliveries a second, each stored in SQLite before its 200)
and the time from a delivery to its Slack post. The app runs under uvicorn on a loopback port in its own thread
(its inbox worker processing meanwhile, as in production); deliveries come over real HTTP from this loop."""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import WEBHOOK_SECRET, Clock, environment, make_deps, percentile, summary
from bot.app import create_app
from bot.config import Channels, OperatingStructure
from bot.intake.inbox import Inbox
from bot.localserver import LocalServer
from bot.sync import MirrorSync
from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox import webhooks as zw


def _structure() -> OperatingStructure:
    return OperatingStructure(
        timezone="Europe/Berlin", channels=Channels(sales="C0SALES001", finance="C0FINANCE1", support="C0SUPPORT1")
    )


def _bodies(sandbox: Sandbox, n: int, offset: int) -> list[str]:
    """Ticket_Update deliveries for closed tickets: a re-read and a store each, no notification."""
    st = sandbox.state
    tickets = [t for t in st.desk_tickets.values() if t["statusType"] == "Closed"]
    rng = random.Random(offset)
    out = []
    for i in range(n):
        event = zw.desk_event(st, "Ticket_Update", rng.choice(tickets), {"priority": "Low"})
        event["eventTime"] = str(1_700_000_000_000 + offset + i)  # distinct deliveries, not replays
        out.append(json.dumps([event]))
    return out


async def _intake(http: httpx.AsyncClient, url: str, bodies: list[str], concurrency: int) -> dict[str, Any]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    times: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            reply = await http.post(
                f"{url}/zoho/desk?secret={WEBHOOK_SECRET}", content=body, headers={"Content-Type": "application/json"}
            )
            times.append((time.perf_counter() - started) * 1000)
            statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return {
        "deliveries": len(bodies),
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "per_second": round(len(bodies) / seconds, 1),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "statuses": statuses,
        "_times": times,
    }


async def _latency(http: httpx.AsyncClient, url: str, env: Any, samples: int) -> list[float]:
    """Ticket_Add for a new ticket on an active account, one at a time, until its post reaches Slack."""
    st = env.sandbox.state
    active = [
        a
        for a, deals in st.crm_deals_by_account.items()
        if any(not str(st.crm["Deals"][d]["Stage"]).startswith("Closed") for d in deals) and a in st.desk_account_by_crm
    ]
    out: list[float] = []
    for i in range(samples):
        account = active[i % len(active)]
        subject = f"Bench ticket {i}"
        ticket = zw.open_ticket(st, st.desk_account_by_crm[account], subject)
        body = json.dumps([zw.desk_event(st, "Ticket_Add", ticket)])
        started = time.perf_counter()
        reply = await http.post(f"{url}/zoho/desk?secret={WEBHOOK_SECRET}", content=body)
        reply.raise_for_status()
        while not any(
            subject in json.dumps(c.args.get("blocks") or [])
            for c in env.stub.calls[-20:]
            if c.method in ("chat.postMessage", "chat.update")
        ):
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"no Slack post for {subject}")
            await asyncio.sleep(0.001)
        out.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(1.05)  # stay clear of the one-message-a-second pacing, which is not what we measure
    return out


async def _drained(deps: Any, clock: Clock, limit: float = 600) -> None:
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if not Inbox(deps.store, clock).counts()["pending"]:
            return
        await asyncio.sleep(0.1)


async def run(accounts: int = 200, deliveries: int = 2000, concurrency: int = 16, samples: int = 10) -> dict[str, Any]:
    sandbox = Sandbox.seeded(accounts=accounts, seed=7)
    results: dict[str, Any] = {"accounts": accounts}
    async with environment(sandbox) as env:
        with tempfile.TemporaryDirectory() as tmp:
            clock = Clock()
            deps = make_deps(env, Path(tmp) / "intake.db", clock, _structure())
            await MirrorSync(deps.store, deps.zoho, clock).run()  # baseline mirror, as in production
            # 1. server side: the app in this process (ASGI), its inbox worker re-reading each ticket meanwhile
            app = create_app(deps)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
                inproc = await _intake(http, "http://bench", _bodies(sandbox, deliveries, 0), 1)
            print(
                f"durable intake, server side (in-process, sequential): {inproc['per_second']} deliveries/s   "
                f"{summary(inproc.pop('_times'))}"
            )
            results["intake_server_side"] = inproc
            await _drained(deps, clock)
            await deps.aclose()
            # 2. over loopback HTTP: uvicorn in its own thread, many deliveries in flight
            deps = make_deps(env, Path(tmp) / "intake.db", clock, _structure())
            with LocalServer(create_app(deps)) as server:
                async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as http:
                    idle: list[float] = []
                    for _ in range(20):
                        started = time.perf_counter()
                        await http.get(f"{server.url}/healthz")
                        idle.append((time.perf_counter() - started) * 1000)
                    results["loopback_healthz_p50_ms"] = round(percentile(idle, 50), 1)
                    over = await _intake(http, server.url, _bodies(sandbox, deliveries, 10**6), concurrency)
                    stored = sum(Inbox(deps.store, clock).counts().values())
                    print(
                        f"durable intake over HTTP ({concurrency} in flight): {over['per_second']} deliveries/s   "
                        f"{summary(over.pop('_times'))}   (GET /healthz alone: "
                        f"{results['loopback_healthz_p50_ms']} ms on this loopback)"
                    )
                    results["intake_http"] = over | {"inbox_rows": stored}
                    await _drained(deps, clock)
                    latency = await _latency(http, server.url, env, samples)
                    print(f"delivery → Slack post (Zoho re-read, feed, post):  {summary(latency)}")
                    results["delivery_to_post"] = {
                        "p50_ms": round(percentile(latency, 50), 1),
                        "p95_ms": round(percentile(latency, 95), 1),
                        "n": len(latency),
                    }
    return results


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run()), indent=2, default=str))
