"""Several replicas on PostgreSQL (issue 13): webhook intake a second with one and with two `throughline serve`
processes on one database (deliveries spread round-robin, as a load balancer would), the time until every one is
processed; and `/account` p95 on PostgreSQL against SQLite through the same in-process app.

PostgreSQL is a throwaway cluster from the OS server binaries (tests/pg_cluster.py); the sandbox and the Slack
stand-in are served from this process on loopback ports.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import WEBHOOK_SECRET, Clock, SlackCaller, environment, make_deps, percentile, summary
from bench.intake import _bodies
from bot.store import Store
from bot.sync import MirrorSync
from bot.zoho.sandbox import Sandbox
from tests.pg_cluster import Cluster

THROUGHLINE = Path(sys.executable).parent / "throughline"
DELIVERIES = 3000
CONCURRENCY = 32


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    proc = subprocess.Popen(
        [str(THROUGHLINE), "serve", "--port", str(port)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("replica did not start")


async def _deliver(urls: list[str], bodies: list[str]) -> dict[str, Any]:
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for item in enumerate(bodies):
        queue.put_nowait(item)
    statuses: dict[int, int] = {}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CONCURRENCY * 2)) as http:

        async def worker() -> None:
            while not queue.empty():
                i, body = queue.get_nowait()
                for _attempt in range(3):  # a dropped keep-alive connection is retried, as Zoho would
                    try:
                        reply = await http.post(
                            f"{urls[i % len(urls)]}/zoho/desk?secret={WEBHOOK_SECRET}",
                            content=body,
                            headers={"Content-Type": "application/json"},
                        )
                    except httpx.TransportError:
                        statuses[0] = statuses.get(0, 0) + 1  # 0: a transport error, retried
                        continue
                    statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
                    break

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
    return {
        "deliveries": len(bodies),
        "seconds": round(seconds, 2),
        "per_second": round(len(bodies) / seconds, 1),
        "statuses": statuses,
    }


async def intake(
    cluster: Cluster | None, sandbox: Sandbox, env_urls: tuple[str, str], replicas: int, tmp: Path, offset: int
) -> dict[str, Any]:
    """Deliveries spread over `replicas` serve processes on PostgreSQL (`cluster`), or one on SQLite (None)."""
    zoho_url, slack_url = env_urls
    db = cluster.new_database() if cluster is not None else str(tmp / f"intake-{offset}.db")
    creds = sandbox.credentials
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-signing",
        "SLACK_API_URL": f"{slack_url}/api/",
        "ZOHO_CLIENT_ID": creds.client_id,
        "ZOHO_CLIENT_SECRET": creds.client_secret,
        "ZOHO_REFRESH_TOKEN": creds.refresh_token,
        "ZOHO_BOOKS_ORG_ID": creds.books_org_id,
        "ZOHO_DESK_ORG_ID": creds.desk_org_id,
        "ZOHO_ACCOUNTS_URL": zoho_url,
        "ZOHO_API_URL": zoho_url,
        "ZOHO_DESK_URL": zoho_url,
        "THROUGHLINE_DATABASE_URL": db if cluster is not None else "",
        "THROUGHLINE_DB": db,
        "THROUGHLINE_CONFIG": str(tmp / "none.toml"),
        "THROUGHLINE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    env.pop("SLACK_APP_TOKEN", None)
    logs = Path(tempfile.gettempdir()) / "throughline-bench-replicas"  # kept: a replica's log after the run
    logs.mkdir(exist_ok=True)
    procs = [_start(env, logs / f"{'pg' if cluster else 'sqlite'}-{replicas}-{i}.log") for i in range(replicas)]
    try:
        with Store(db) as store:
            deadline = time.monotonic() + 120  # the leader's first sync, so deliveries find a mirror
            while store.counts()["tickets"] == 0 and time.monotonic() < deadline:  # noqa: ASYNC110 (polls the db)
                await asyncio.sleep(0.5)
            started = time.perf_counter()
            figures = await _deliver([url for _, url in procs], _bodies(sandbox, DELIVERIES, offset))
            while store.inbox.counts()["pending"] and time.perf_counter() - started < 300:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            figures["all_processed_after_s"] = round(time.perf_counter() - started, 2)
            figures["done"] = store.inbox.counts()["done"]
    finally:
        for proc, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return figures


async def account(sandbox: Sandbox, env: Any, tmp: Path, database_url: str, n: int) -> dict[str, Any]:
    deps = make_deps(env, tmp / f"account-{'pg' if database_url else 'sqlite'}.db", Clock(), database_url=database_url)
    caller = SlackCaller(deps, env)
    try:
        await MirrorSync(deps.store, deps.zoho, deps.clock).run()
        names = [r["Account_Name"] for r in sandbox.state.crm["Accounts"].values()]
        rng = random.Random(3)
        for name in names[:20]:  # warm: each looked up once, so the measured ones are answered from the mirror
            await caller.command(name)
        times = [(await caller.command(rng.choice(names[:20])))[1] for _ in range(n)]
    finally:
        await caller.aclose()
        await deps.aclose()
    return {
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "n": n,
        "summary": summary(times),
    }


async def run(accounts: int = 1000, lookups: int = 300) -> dict[str, Any]:
    cluster = Cluster()
    sandbox = Sandbox.seeded(accounts=accounts, seed=7)
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            async with environment(sandbox) as env:
                urls = (env.zoho_url, env.slack_url)
                one = await intake(cluster, sandbox, urls, 1, tmp, 0)
                print(f"intake, 1 replica on PostgreSQL: {one}")
                two = await intake(cluster, sandbox, urls, 2, tmp, 10_000_000)
                print(f"intake, 2 replicas on PostgreSQL: {two}")
                lite = await intake(None, sandbox, urls, 1, tmp, 20_000_000)
                print(f"intake, 1 replica on SQLite: {lite}")
                sqlite = await account(sandbox, env, tmp, "", lookups)
                print(f"/account on SQLite: {sqlite['summary']}")
                pg = await account(sandbox, env, tmp, cluster.new_database(), lookups)
                print(f"/account on PostgreSQL: {pg['summary']}")
    finally:
        cluster.stop()
    return {
        "accounts": accounts,
        "intake_sqlite": lite,
        "intake_1_replica": one,
        "intake_2_replicas": two,
        "account_sqlite": sqlite,
        "account_postgresql": pg,
    }


if __name__ == "__main__":
    print(asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)))
