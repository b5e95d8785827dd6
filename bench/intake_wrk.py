"""Durable intake against a bare endpoint, driven by wrk (32 connections) from outside this process.

Both servers run the same way (uvicorn on loopback); the bare one reads the body and answers 200, Throughline's
stores each Desk delivery durably (group commit) before its 200 while its inbox worker processes meanwhile.
Every request is a distinct delivery (a counter in the event time), so none is a replay.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
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
SECONDS = 8

LUA = """
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local n = 0
local template = [==[%s]==]
local secret = "%s"
request = function()
  n = n + 1
  local stamp = tostring(1700000000000 + n * 10 + id)
  local body = string.gsub(template, "EVENTTIME", stamp)
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
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "per_second": rate,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "p50_ms": round(float(p50.group(1)) * scale[p50.group(2)], 2) if p50 else None,
    }


async def run(accounts: int = 200) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk): skipping the intake ratio")
        return {"skipped": "wrk not installed"}
    sandbox = Sandbox.seeded(accounts=accounts, seed=7)
    st = sandbox.state
    ticket = next(t for t in st.desk_tickets.values() if t["statusType"] == "Closed")
    event = zw.desk_event(st, "Ticket_Update", ticket, {"priority": "Low"})
    event["eventTime"] = "EVENTTIME"
    results: dict[str, Any] = {"connections": CONNECTIONS, "seconds": SECONDS}
    async with environment(sandbox) as env:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "post.lua"
            script.write_text(LUA % (json.dumps([event]), WEBHOOK_SECRET))
            with LocalServer(bare_endpoint()) as bare:
                results["bare"] = _wrk(f"{bare.url}/zoho/desk", script)
            deps = make_deps(env, Path(tmp) / "intake.db", Clock())
            with LocalServer(create_app(deps)) as server:
                results["durable"] = _wrk(f"{server.url}/zoho/desk", script)  # the secret goes in its header
                results["inbox_rows"] = sum(Inbox(deps.store, Clock()).counts().values())
            results["group_commits"] = deps.store.inbox.group_commits
            # The worker and its HTTP connections lived on the server's loop, gone with it: nothing to close there.
            deps.store.close()
    results["ratio"] = round(results["durable"]["per_second"] / results["bare"]["per_second"], 2)
    print(
        f"wrk, {CONNECTIONS} connections: bare endpoint {results['bare']['per_second']:.0f}/s, durable intake "
        f"{results['durable']['per_second']:.0f}/s (non-2xx {results['durable']['non_2xx']}) → ratio "
        f"{results['ratio']}; {results['inbox_rows']} deliveries stored in {results['group_commits']} commits"
    )
    return results
