"""`/account` beside a bare Bolt app, idle and while reports build, over a 10,000-account mirror.

Both apps get the same signed slash commands in-process (ASGI), so the ratio is what Throughline adds to Bolt's
own acknowledgement. "While a report builds" runs `/report`'s work back to back during the lookups, the way the
listener runs it (revenue and support on the store's threads, invoicing and renewals in a child process,
`bot.reports.isolated`); `--in-thread` figures (`in_thread`) show what the
same reports cost the event loop when built in a thread of the serving process instead. Peak RSS is this
process's (it also holds the 10,000-account sandbox), after the reports.
"""

from __future__ import annotations

import asyncio
import random
import resource
import secrets
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.harness import Clock, SlackCaller, environment, make_deps, percentile
from bench.reports import add_handoffs, fill_mirror
from bot.account.lookup import normalise_name
from bot.reports.isolated import ReportProcesses
from bot.reports.periods import parse_period
from bot.reports.service import KINDS, SQL_COUNTED, ReportRequest, run_report
from bot.slack_requests import command_body, signed_headers
from bot.sync import COMPLETED
from bot.zoho.sandbox import Sandbox


def bare_app(secret: str, slack_url: str) -> FastAPI:
    """The floor: Bolt verifying the signature and acknowledging with a constant, nothing else (its one
    `auth.test` goes to the same Slack stand-in as Throughline's)."""
    bolt = AsyncApp(signing_secret=secret, client=AsyncWebClient(token="xoxb-bare", base_url=f"{slack_url}/api/"))

    @bolt.command("/account")
    async def account(ack: AsyncAck) -> None:
        await ack(response_type="ephemeral", text="ok")

    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI()

    @api.post("/slack/events")
    async def events(req: Request) -> Any:
        return await handler.handle(req)

    return api


async def _bare_ack(http: httpx.AsyncClient, secret: str, text: str) -> float:
    body = command_body("/account", text, response_url="http://127.0.0.1:9/unused")
    started = time.perf_counter()
    reply = await http.post("/slack/events", content=body, headers=signed_headers(body, secret))
    reply.raise_for_status()
    return (time.perf_counter() - started) * 1000


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: kB


async def run(accounts: int = 10_000, lookups: int = 200, seed: int = 7) -> dict[str, Any]:
    out: dict[str, Any] = {"accounts": accounts}
    sandbox = Sandbox.seeded(accounts=accounts, seed=seed)
    rng = random.Random(seed)
    seen: dict[str, int] = {}
    for a in sandbox.state.crm["Accounts"].values():
        seen[normalise_name(a["Account_Name"])] = seen.get(normalise_name(a["Account_Name"]), 0) + 1
    names = [
        a["Account_Name"]
        for a in sandbox.state.crm["Accounts"].values()
        if seen[normalise_name(a["Account_Name"])] == 1
    ]
    async with environment(sandbox) as env:
        with tempfile.TemporaryDirectory() as tmp:
            clock = Clock()
            deps = make_deps(env, Path(tmp) / "contention.db", clock)
            store = deps.store
            out["mirror"] = fill_mirror(store, sandbox)
            add_handoffs(store, sandbox, datetime.now(UTC))
            store.set_watermark(COMPLETED, clock().isoformat())  # a whole-mirror sync just finished
            for a in sandbox.state.crm["Accounts"].values():
                email = ((a.get("Owner") or {}).get("email") or "").lower()
                if email:
                    store.remember_slack_user(email, env.stub.users_by_email.get(email), clock())
            out["rss_after_fill_mb"] = _rss_mb()
            caller = SlackCaller(deps, env)
            bare_secret = secrets.token_hex(16)
            bare = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=bare_app(bare_secret, env.slack_url)), base_url="http://bare"
            )

            async def measure(n: int) -> tuple[list[float], list[float]]:
                mine: list[float] = []
                floor: list[float] = []
                for name in rng.sample(names, n):
                    floor.append(await _bare_ack(bare, bare_secret, name))
                    _, ack_ms, answer_ms = await caller.command(name)
                    assert answer_ms is None, "a fresh mirror answers inside the acknowledgement"
                    mine.append(ack_ms)
                return mine, floor

            await measure(20)  # warm-up: imports, caches, first connections
            idle, bare_idle = await measure(lookups)
            today = clock().date()
            requests = [
                ReportRequest(k, None if k == "renewals" else parse_period("last 3 months", today)) for k in KINDS
            ]
            processes = ReportProcesses()
            by_kind: dict[str, list[float]] = {}

            async def while_reports_build(in_thread: bool) -> tuple[list[float], list[float], list[float]]:
                stop = threading.Event()
                built: list[float] = []

                def in_a_thread() -> None:
                    while not stop.is_set():
                        for request in requests:
                            started = time.perf_counter()
                            run_report(store, deps.structure, request, clock())
                            built.append((time.perf_counter() - started) * 1000)

                async def in_a_process() -> None:  # as handlers/report.py builds them
                    while not stop.is_set():
                        for request in requests:
                            started = time.perf_counter()
                            if request.kind in SQL_COUNTED:
                                await store.run(run_report, store, deps.structure, request, clock())
                            else:
                                await processes.run(store.path, deps.structure, request, clock())
                            built.append((time.perf_counter() - started) * 1000)
                            by_kind.setdefault(request.kind, []).append(built[-1])

                task = asyncio.ensure_future(asyncio.to_thread(in_a_thread) if in_thread else in_a_process())
                await asyncio.sleep(0.5)
                busy, bare_busy = await measure(lookups)
                stop.set()
                await task
                return busy, bare_busy, built

            busy, bare_busy, built = await while_reports_build(in_thread=False)
            processes.close()
            out["reports_built_meanwhile"] = len(built)
            out["report_ms_p50"] = round(percentile(built, 50), 1) if len(built) > 1 else None
            out["rss_peak_mb"] = _rss_mb()
            out["report_ms_by_kind_p50"] = {k: round(percentile(v, 50), 1) for k, v in by_kind.items()}
            thread_busy, _, thread_built = await while_reports_build(in_thread=True)
            out["in_thread"] = {
                "p50_ms": round(percentile(thread_busy, 50), 2),
                "p95_ms": round(percentile(thread_busy, 95), 2),
                "busy_over_idle_p95": round(percentile(thread_busy, 95) / percentile(idle, 95), 2),
                "reports_built_meanwhile": len(thread_built),
                "rss_peak_mb": _rss_mb(),
            }
            for key, values in (
                ("account_idle", idle),
                ("bare_idle", bare_idle),
                ("account_busy", busy),
                ("bare_busy", bare_busy),
            ):
                out[key] = {"p50_ms": round(percentile(values, 50), 2), "p95_ms": round(percentile(values, 95), 2)}
            out["busy_over_idle_p95"] = round(out["account_busy"]["p95_ms"] / out["account_idle"]["p95_ms"], 2)
            out["account_over_bare_p95"] = round(out["account_idle"]["p95_ms"] / out["bare_idle"]["p95_ms"], 2)
            print(
                f"/account idle   p50 {out['account_idle']['p50_ms']} ms  p95 {out['account_idle']['p95_ms']} ms;"
                f"  bare Bolt ack p95 {out['bare_idle']['p95_ms']} ms  → ratio {out['account_over_bare_p95']}"
            )
            print(
                f"/account while reports build  p50 {out['account_busy']['p50_ms']} ms  "
                f"p95 {out['account_busy']['p95_ms']} ms  → busy/idle p95 {out['busy_over_idle_p95']}  "
                f"({len(built)} reports built meanwhile, p50 {out['report_ms_p50']} ms each)"
            )
            print(
                f"  reports in a thread of this process instead: p95 {out['in_thread']['p95_ms']} ms → busy/idle "
                f"{out['in_thread']['busy_over_idle_p95']}"
            )
            print(
                f"peak RSS {out['rss_peak_mb']} MB with reports in a child (after the mirror fill: "
                f"{out['rss_after_fill_mb']} MB; {out['in_thread']['rss_peak_mb']} MB once built in a thread)"
            )
            await bare.aclose()
            await caller.aclose()
            await deps.aclose()
            store.close()
    return out
