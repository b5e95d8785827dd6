"""Peak memory of a real `throughline serve`: its peak RSS (VmHWM) once it has run its first full sync of a
10,000-account org, and again after the four `/report` commands.

The Zoho sandbox runs in a process of its own (`throughline sandbox`), so the seeded org's records are not in
the measured heap; the Slack stand-in is served from this process. `serve` is started exactly as an operator
starts it (environment variables, its own scheduler runs the first sync), then receives signed slash commands
as Slack sends them. Only serve's own process is measured: a report built in a child process
(bot/reports/isolated.py) is not in these figures, and is listed as such.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bot.localserver import LocalServer
from bot.reports.service import KINDS
from bot.slack_requests import command_body, signed_headers
from bot.slack_stub import SlackStub
from bot.store import Store
from bot.sync import COMPLETED

THROUGHLINE = Path(sys.executable).parent / "throughline"
SIGNING_SECRET = "bench-serve-rss"
SYNC_DEADLINE_S = 1200  # Books allows 100 calls a minute and a first 10,000-account sync makes ~400 of them


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak resident set) and VmRSS (now) of process `pid`, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)  # kB
    return {"peak_mb": fields["VmHWM"], "now_mb": fields["VmRSS"]}


def _wait_http(url: str, proc: subprocess.Popen[Any], log: Path, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"nothing answered at {url} within {seconds} s")


def start_sandbox(accounts: int, tmp: Path) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    """`throughline sandbox` on a free port: (process, base URL, the ZOHO_* variables it prints)."""
    port = _port()
    log = tmp / "sandbox.log"
    proc = subprocess.Popen(
        [str(THROUGHLINE), "sandbox", "--port", str(port), "--accounts", str(accounts)],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    assert proc.stdout is not None
    env: dict[str, str] = {}
    while len(env) < 8:  # the eight `export NAME=value` lines, printed once the org is seeded
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox exited: {log.read_text()[-2000:]}")
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            env[name] = value
    url = f"http://127.0.0.1:{port}"
    _wait_http(url, proc, log)
    return proc, url, env


def start_serve(zoho: dict[str, str], slack_url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    config = tmp / "throughline.toml"
    config.write_text('timezone = "Europe/Berlin"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THROUGHLINE_", "SLACK_", "ZOHO_"))}
    env.update(
        zoho,
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{slack_url}/api/",
        THROUGHLINE_DB=str(tmp / "serve.db"),
        THROUGHLINE_CONFIG=str(config),
        THROUGHLINE_WEBHOOK_SECRET="bench-webhook",
    )
    log = tmp / "serve.log"
    proc = subprocess.Popen(
        [str(THROUGHLINE), "serve", "--port", str(port)],
        env=env,
        cwd=tmp,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_http(f"{url}/healthz", proc, log, 120)
    return proc, url


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def report(url: str, stub: SlackStub, slack_url: str, kind: str) -> float:
    """One signed `/report <kind>`; seconds until its card reached the response URL."""
    token = f"rss-{kind}-{time.monotonic_ns()}"
    body = command_body("/report", kind, response_url=f"{slack_url}/response/{token}")
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as http:
        reply = await http.post(f"{url}/slack/events", content=body, headers=signed_headers(body, SIGNING_SECRET))
    if reply.status_code != 200:
        raise RuntimeError(f"/report {kind}: HTTP {reply.status_code} {reply.text[:300]}")
    while not any(r.method == token for r in stub.responses):
        if time.perf_counter() - started > 300:
            raise RuntimeError(f"/report {kind}: no card within 300 s")
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def run(accounts: int = 10_000) -> dict[str, Any]:
    out: dict[str, Any] = {"accounts": accounts}
    stub = SlackStub()
    with tempfile.TemporaryDirectory() as name, LocalServer(stub.asgi_app()) as slack:
        tmp = Path(name)
        sandbox, _zoho_url, zoho = start_sandbox(accounts, tmp)
        try:
            serve, url = start_serve(zoho, slack.url, tmp)
            try:
                out["after_start"] = memory_mb(serve.pid)
                started = time.perf_counter()
                with Store(tmp / "serve.db") as store:  # serve's scheduler starts the first sync 5 s after start
                    while store.get_watermark(COMPLETED) is None:  # noqa: ASYNC110 (polls another process's work)
                        if serve.poll() is not None or time.perf_counter() - started > SYNC_DEADLINE_S:
                            raise RuntimeError(f"no full sync: {(tmp / 'serve.log').read_text()[-3000:]}")
                        await asyncio.sleep(1)
                    out["mirror"] = store.counts()
                out["sync_s"] = round(time.perf_counter() - started, 1)
                out["after_sync"] = memory_mb(serve.pid)
                out["report_card_s"] = {}
                for kind in KINDS:
                    out["report_card_s"][kind] = round(await report(url, stub, slack.url, kind), 2)
                    out[f"after_report_{kind}"] = memory_mb(serve.pid)
                out["after_reports"] = memory_mb(serve.pid)
            finally:
                _stop(serve)
        finally:
            _stop(sandbox)
    print(f"serve over {accounts:,} accounts ({out['mirror']['accounts']:,} synced in {out['sync_s']} s):")
    for key in ("after_start", "after_sync", *(f"after_report_{k}" for k in KINDS)):
        print(f"  {key:26s} peak RSS {out[key]['peak_mb']:7.1f} MB   now {out[key]['now_mb']:7.1f} MB")
    print(f"  cards: {out['report_card_s']} s (each built in a report child process: not in these figures)")
    return out


if __name__ == "__main__":
    print(asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)))
