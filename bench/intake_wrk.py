"""Durable intake against a bare endpoint, driven by wrk (32 connections) from outside this process.

Both servers run the same way (uvicorn on loopback, in a thread of this process, with the same uvicorn settings:
whichever HTTP parser and event loop uvicorn picks here, `server` in the results says which); the bare one is a
FastAPI route that reads the body and answers 200, Throughline's stores each Desk delivery durably (group commit,
fsynced) before its 200 while its inbox worker processes meanwhile. Every request is a distinct delivery (a
counter in the event time) for one of TICKETS closed tickets, so none is a replay. After the run the durable side
is checked: every answered delivery is in the inbox (`stored` ≥ requests answered), none answered otherwise than
200, and the worker drains the backlog (`drain_seconds`, the time after wrk stops).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench.harness import WEBHOOK_SECRET, Clock, environment, make_deps
from bot.app import create_app
from bot.intake.inbox import Inbox
from bot.localserver import LocalServer
from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox import webhooks as zw

CONNECTIONS = 32
SECONDS = 5
ROUNDS = 3  # bare, durable / durable, bare / bare, durable: the machine's drift weighs on both sides alike
TICKETS = 50
DRAIN_DEADLINE = 120.0

LUA = """
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local n = 0
local templates = {%s}
local secret = "%s"
request = function()
  n = n + 1
  local stamp = tostring(1700000000000 + n * 10 + id)
  local body = string.gsub(templates[(n %% #templates) + 1], "EVENTTIME", stamp)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Throughline-Secret"] = secret}, body)
end
"""


def bare_endpoint() -> FastAPI:
    api = FastAPI()

    @api.post("/zoho/desk")
    async def desk(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"ok": True})

    return api


def _wrk(url: str, script: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=SECONDS + 60,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    assert total is not None, out
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "per_second": rate,
        "requests": int(total.group(1)),
        "seconds": float(total.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[total.group(3)],
        "non_2xx": int(errors.group(1)) if errors else 0,
        "p50_ms": round(float(p50.group(1)) * scale[p50.group(2)], 2) if p50 else None,
    }


def _server() -> str:
    """What uvicorn's "auto" picks here, the same for both servers."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn {http} + {loop}, access log off"


async def run(accounts: int = 200) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk): skipping the intake ratio")
        return {"skipped": "wrk not installed"}
    sandbox = Sandbox.seeded(accounts=accounts, seed=7)
    st = sandbox.state
    closed = [t for t in st.desk_tickets.values() if t["statusType"] == "Closed"][:TICKETS]
    templates = []
    for ticket in closed:
        event = zw.desk_event(st, "Ticket_Update", ticket, {"priority": "Low"})
        event["eventTime"] = "EVENTTIME"
        templates.append("[==[" + json.dumps([event]) + "]==]")
    results: dict[str, Any] = {"connections": CONNECTIONS, "seconds": SECONDS, "rounds": ROUNDS, "server": _server()}
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "durable": []}
    async with environment(sandbox) as env:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "post.lua"
            script.write_text(LUA % (", ".join(templates), WEBHOOK_SECRET))
            for round_ in range(ROUNDS):
                for side in ("bare", "durable") if round_ % 2 == 0 else ("durable", "bare"):
                    if side == "bare":
                        with LocalServer(bare_endpoint()) as bare:
                            runs["bare"].append(_wrk(f"{bare.url}/zoho/desk", script))
                        continue
                    last = round_ == ROUNDS - 1
                    runs["durable"].append(await _durable(env, Path(tmp) / f"intake-{round_}.db", script, drain=last))
    bare, durable = (_total(runs[side]) for side in ("bare", "durable"))
    results |= {"bare": bare, "durable": durable, "runs": runs}
    results["ratio"] = round(durable["per_second"] / bare["per_second"], 2)
    drained = runs["durable"][-1]
    results["round_ratios"] = [
        round(d["per_second"] / b["per_second"], 2) for b, d in zip(runs["bare"], runs["durable"], strict=True)
    ]
    print(
        f"wrk, {CONNECTIONS} connections ({results['server']}), {ROUNDS} rounds of {SECONDS} s: bare endpoint "
        f"{bare['per_second']:.0f}/s, durable intake {durable['per_second']:.0f}/s → ratio {results['ratio']} "
        f"(rounds: {', '.join(map(str, results['round_ratios']))}); "
        f"{durable['stored']} deliveries stored in {durable['group_commits']} commits; last round: "
        f"{drained['processed_meanwhile']} processed meanwhile, the rest within {drained['drain_seconds']} s after"
    )
    return results


async def _durable(env: Any, db: Path, script: Path, *, drain: bool) -> dict[str, Any]:
    """One durable round on a fresh app and database; checks that every answered delivery is stored."""
    clock = Clock()
    deps = make_deps(env, db, clock)
    inbox = Inbox(deps.store, clock)
    try:
        with LocalServer(create_app(deps)) as server:
            result = _wrk(f"{server.url}/zoho/desk", script)  # the secret goes in its header
            counts = inbox.counts()
            result |= {"stored": sum(counts.values()), "processed_meanwhile": counts["done"]}
            if drain:
                started = time.perf_counter()
                for _ in range(int(DRAIN_DEADLINE / 0.05)):  # the worker runs on the server's own loop
                    if not inbox.counts()["pending"]:
                        break
                    await asyncio.sleep(0.05)
                result["drain_seconds"] = round(time.perf_counter() - started, 2)
                result["left_pending"] = inbox.counts()["pending"]
        result["group_commits"] = deps.store.inbox.group_commits
    finally:
        # The worker and its HTTP connections lived on the server's loop, gone with it: nothing to close there.
        deps.store.close()
    if result["non_2xx"] or result["stored"] < result["requests"]:
        raise RuntimeError(f"durable intake lost or refused deliveries: {result}")
    return result


def _total(runs: list[dict[str, Any]]) -> dict[str, Any]:
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    total: dict[str, Any] = {"requests": requests, "per_second": round(requests / seconds, 1)}
    for key in ("non_2xx", "stored", "group_commits"):
        if key in runs[0]:
            total[key] = sum(r[key] for r in runs)
    return total
