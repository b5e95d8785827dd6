"""`/account` beside a bare Bolt app, idle and while reports build, over a 10,000-account mirror.

Every app gets the same signed slash commands in-process (ASGI, one httpx client each, the same transport), one
app after the other in a shuffled order for each sample, so machine noise falls on all of them alike:
- Throughline's real app (`bench.harness.SlackCaller`);
- `bare`: a slack-bolt AsyncApp in FastAPI whose `/account` listener only acknowledges. Bolt runs a listener as a
  task and looks for its acknowledgement every 10 ms, so this floor is about 10 ms;
- `bare_inline`: the same bare app acknowledging from a listener middleware, which Bolt awaits inline: the floor of
  the path Throughline's mirror answers take (`handlers.account.answer_from_mirror`). `account_over_bare_inline_p95`
  is what Throughline's own work (replay check, store read, card) adds to Bolt's fastest acknowledgement.

"While reports build": `/report` commands for every kind, back to back, sent to the same app the way a user sends
them (the listener builds each in a report child process, bot/reports/isolated.py), for the whole busy phase.
Idle and busy phases alternate (`rounds`), so a change in the machine's load over the run falls on both; the
ratios are taken within this one run. `bare_busy_over_idle_p95` shows how much of the busy slowdown the machine
itself gives (the reports' CPU), since the bare app does no work of its own. `in_thread` repeats one busy phase
with the same reports built in a thread of this process instead (what they would cost the event loop there).
Peak RSS is this process's (it also holds the 10,000-account sandbox), after the reports.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import resource
import secrets
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bench.harness import Clock, SlackCaller, environment, make_deps, percentile
from bench.reports import add_handoffs, fill_mirror
from bot.account.lookup import normalise_name
from bot.reports.periods import parse_period
from bot.reports.service import KINDS, ReportRequest, run_report
from bot.serve import settle_heap
from bot.slack_requests import command_body, signed_headers
from bot.sync import COMPLETED
from bot.zoho.sandbox import Sandbox

APPS = ("account", "bare", "bare_inline")
REPORT_TEXT = {kind: kind if kind == "renewals" else f"{kind} last 3 months" for kind in KINDS}


def bare_app(secret: str, slack_url: str, *, inline: bool = False) -> FastAPI:
    """The floor: Bolt verifying the signature and acknowledging with a constant, nothing else (its one
    `auth.test` goes to the same Slack stand-in as Throughline's). `inline`: acknowledged by a listener
    middleware, as Throughline's mirror answers are, rather than by the listener."""
    bolt = AsyncApp(signing_secret=secret, client=AsyncWebClient(token="xoxb-bare", base_url=f"{slack_url}/api/"))

    async def ack_inline(ack: AsyncAck, next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        await ack(response_type="ephemeral", text="ok")
        return ack.response

    async def account(ack: AsyncAck) -> None:
        await ack(response_type="ephemeral", text="ok")

    bolt.command("/account", middleware=[ack_inline] if inline else None)(account)
    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI()

    @api.post("/slack/events")
    async def events(req: Request) -> Any:
        return await handler.handle(req)

    return api


class BareCaller:
    def __init__(self, secret: str, slack_url: str, *, inline: bool) -> None:
        self.secret = secret
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bare_app(secret, slack_url, inline=inline)), base_url="http://bare"
        )

    async def ack_ms(self, text: str) -> float:
        body = command_body("/account", text, response_url="http://127.0.0.1:9/unused")
        started = time.perf_counter()
        reply = await self.http.post("/slack/events", content=body, headers=signed_headers(body, self.secret))
        reply.raise_for_status()
        return (time.perf_counter() - started) * 1000


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: kB


def _figures(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(values, 50), 2), "p95_ms": round(percentile(values, 95), 2), "n": len(values)}


async def run(accounts: int = 10_000, lookups: int = 400, rounds: int = 4, seed: int = 7) -> dict[str, Any]:
    """`lookups` samples idle and as many busy, each sample one command to each app; `rounds` idle/busy pairs."""
    out: dict[str, Any] = {"accounts": accounts, "lookups": lookups, "rounds": rounds}
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
            reporter = SlackCaller(deps, env)  # /report commands, through the same app
            bare = BareCaller(secrets.token_hex(16), env.slack_url, inline=False)
            inline = BareCaller(secrets.token_hex(16), env.slack_url, inline=True)
            samples: dict[str, dict[str, list[float]]] = {
                state: {app: [] for app in APPS} for state in ("idle", "busy", "in_thread")
            }
            cpu: dict[str, list[float]] = {app: [] for app in APPS}

            async def mine(name: str) -> float:
                _, ack_ms, answer_ms = await caller.command(name)
                assert answer_ms is None, "a fresh mirror answers inside the acknowledgement"
                return ack_ms

            send = {"account": mine, "bare": bare.ack_ms, "bare_inline": inline.ack_ms}

            async def measure(n: int, state: str) -> None:
                for name in rng.sample(names, n):
                    order = list(APPS)
                    rng.shuffle(order)
                    for app in order:
                        started = time.process_time()
                        samples[state][app].append(await send[app](name))
                        if state == "idle":  # nothing else runs: the process's CPU is this request's
                            cpu[app].append((time.process_time() - started) * 1000)

            built: dict[str, list[float]] = {}
            kinds = itertools.cycle(KINDS)  # one cycle across the busy phases: each kind gets its share of lookups

            async def reports_back_to_back(stop: asyncio.Event) -> None:
                while not stop.is_set():
                    kind = next(kinds)
                    _, _, answer_ms = await reporter.command(REPORT_TEXT[kind], name="/report", poll=0.05)
                    assert answer_ms is not None, "a report is answered through the response URL"
                    built.setdefault(kind, []).append(answer_ms)

            async def busy(n: int) -> None:
                stop = asyncio.Event()
                task = asyncio.ensure_future(reports_back_to_back(stop))
                await asyncio.sleep(0.3)  # the first report is under way
                await measure(n, "busy")
                stop.set()
                await task

            settle_heap()  # as `serve` does before it takes requests
            for name in rng.sample(names, 20):  # warm-up: imports, caches, first connections
                for app in APPS:
                    await send[app](name)
            per_round = max(lookups // rounds, 1)
            for _ in range(rounds):
                await measure(per_round, "idle")
                await busy(per_round)
            out["reports_built_meanwhile"] = sum(len(v) for v in built.values())
            out["report_ms_by_kind_p50"] = {k: round(percentile(v, 50), 1) for k, v in built.items()}
            out["rss_peak_mb"] = _rss_mb()

            # The same reports built in a thread of this process (one shorter busy phase): what they would cost.
            today = clock().date()
            requests = [
                ReportRequest(k, None if k == "renewals" else parse_period("last 3 months", today)) for k in KINDS
            ]
            halt = threading.Event()
            in_thread_built: list[float] = []

            def in_a_thread() -> None:
                while not halt.is_set():
                    for request in requests:
                        started = time.perf_counter()
                        run_report(store, deps.structure, request, clock())
                        in_thread_built.append((time.perf_counter() - started) * 1000)

            task = asyncio.ensure_future(asyncio.to_thread(in_a_thread))
            await asyncio.sleep(0.3)
            await measure(per_round, "in_thread")
            halt.set()
            await task

            for state in ("idle", "busy"):
                for app in APPS:
                    out[f"{app}_{state}"] = _figures(samples[state][app])
            out["cpu_ms_idle_p50"] = {app: round(percentile(cpu[app], 50), 2) for app in APPS}

            def p95(state: str, app: str) -> float:
                return percentile(samples[state][app], 95)

            out["busy_over_idle_p95"] = round(p95("busy", "account") / p95("idle", "account"), 2)
            out["bare_busy_over_idle_p95"] = round(p95("busy", "bare") / p95("idle", "bare"), 2)
            out["account_over_bare_p95"] = round(p95("idle", "account") / p95("idle", "bare"), 2)
            out["account_over_bare_inline_p95"] = round(p95("idle", "account") / p95("idle", "bare_inline"), 2)
            out["busy_account_over_bare_p95"] = round(p95("busy", "account") / p95("busy", "bare"), 2)
            out["in_thread"] = {
                **_figures(samples["in_thread"]["account"]),
                "busy_over_idle_p95": round(p95("in_thread", "account") / p95("idle", "account"), 2),
                "bare_busy_over_idle_p95": round(p95("in_thread", "bare") / p95("idle", "bare"), 2),
                "reports_built_meanwhile": len(in_thread_built),
                "rss_peak_mb": _rss_mb(),
            }
            a_i, b_i, n_i = out["account_idle"], out["bare_idle"], out["bare_inline_idle"]
            print(
                f"/account idle   p50 {a_i['p50_ms']} ms  p95 {a_i['p95_ms']} ms;  bare Bolt ack p50 {b_i['p50_ms']}"
                f" p95 {b_i['p95_ms']} ms → ratio {out['account_over_bare_p95']};  bare acked inline p50"
                f" {n_i['p50_ms']} p95 {n_i['p95_ms']} ms → ratio {out['account_over_bare_inline_p95']}"
            )
            print(f"  CPU of one request (process, idle, p50): {out['cpu_ms_idle_p50']} ms")
            a_b, b_b = out["account_busy"], out["bare_busy"]
            print(
                f"/account while reports build  p50 {a_b['p50_ms']} ms  p95 {a_b['p95_ms']} ms (bare Bolt p95 "
                f"{b_b['p95_ms']} ms)  → busy/idle p95 "
                f"{out['busy_over_idle_p95']} (bare Bolt: {out['bare_busy_over_idle_p95']}; {rounds} idle/busy "
                f"rounds, {out['reports_built_meanwhile']} reports built meanwhile, p50 by kind "
                f"{out['report_ms_by_kind_p50']} ms)"
            )
            print(
                f"  reports in a thread of this process instead: p95 {out['in_thread']['p95_ms']} ms → busy/idle "
                f"{out['in_thread']['busy_over_idle_p95']} (bare Bolt: {out['in_thread']['bare_busy_over_idle_p95']})"
            )
            print(
                f"peak RSS {out['rss_peak_mb']} MB with reports as the listener builds them (after the mirror fill: "
                f"{out['rss_after_fill_mb']} MB; {out['in_thread']['rss_peak_mb']} MB once built in a thread)"
            )
            for client in (bare, inline):
                await client.http.aclose()
            await caller.aclose()
            await reporter.aclose()
            await deps.aclose()
            store.close()
    return out
