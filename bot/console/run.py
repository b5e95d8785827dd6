"""`throughline console` (and `make run`): the real app on the embedded Zoho sandbox, a strict Slack Web API
emulator, and the console page, all served by one process on one port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from bot.app import create_app
from bot.config import OperatingStructure, Settings, parse_structure
from bot.console import cast
from bot.console.emulator import SlackEmulator
from bot.console.routes import ConsoleInfo, mount_console
from bot.console.slack_side import SlackSide
from bot.console.zoho_panel import ZohoPanel
from bot.deps import Deps, build_deps
from bot.localserver import LocalServer
from bot.zoho.sandbox import Sandbox

log = logging.getLogger(__name__)
TZ = "Europe/Berlin"


class _Server(uvicorn.Server):
    """uvicorn that also tells the console's open event streams to end when it is asked to stop (Ctrl-C)."""

    def __init__(self, config: uvicorn.Config, closing: threading.Event) -> None:
        super().__init__(config)
        self.closing = closing

    def handle_exit(self, sig: int, frame: object) -> None:
        self.closing.set()
        super().handle_exit(sig, frame)  # type: ignore[arg-type]


class PortInUse(Exception):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"{host}:{port} is in use: stop what runs there, or pick another port with --port")


@dataclass
class Console:
    api: FastAPI
    deps: Deps
    emulator: SlackEmulator
    sandbox: Sandbox
    app_client: httpx.AsyncClient
    closing: threading.Event = field(default_factory=threading.Event)  # set when the server stops
    _stops: list[Callable[[], object]] = field(default_factory=list)

    async def prime(self) -> None:
        """Read the sandbox into the mirror once, so the Home tab and digests have data from the start."""
        from bot.sync import MirrorSync

        deps = self.deps
        await MirrorSync(deps.store, deps.zoho, deps.clock, tz=deps.structure.tz).run()

    async def aclose(self) -> None:
        await self.app_client.aclose()
        await self.deps.aclose()
        for stop in reversed(self._stops):
            stop()


def build_console(data_dir: Path, *, accounts: int = 25) -> Console:
    """Start the sandbox and the emulator on loopback ports and build the app with the console mounted."""
    sandbox = Sandbox.seeded(accounts=accounts, seed=7)
    zoho_server = LocalServer(sandbox.asgi_app())
    emulator = SlackEmulator(strict=True)
    slack_server = LocalServer(emulator.asgi_app())
    stops: list[Callable[[], object]] = []
    try:
        zoho_url = zoho_server.start()
        stops.append(zoho_server.stop)
        emulator.base_url = slack_server.start()
        stops.append(slack_server.stop)
    except Exception:
        for stop in reversed(stops):
            stop()
        raise
    signing_secret, webhook_secret = secrets.token_hex(16), secrets.token_hex(16)
    creds = sandbox.credentials
    settings = Settings(
        SLACK_BOT_TOKEN="xoxb-console",
        SLACK_SIGNING_SECRET=signing_secret,
        SLACK_API_URL=f"{emulator.base_url}/api/",
        SLACK_APP_TOKEN="",
        ZOHO_CLIENT_ID=creds.client_id,
        ZOHO_CLIENT_SECRET=creds.client_secret,
        ZOHO_REFRESH_TOKEN=creds.refresh_token,
        ZOHO_BOOKS_ORG_ID=creds.books_org_id,
        ZOHO_DESK_ORG_ID=creds.desk_org_id,
        ZOHO_ACCOUNTS_URL=zoho_url,
        ZOHO_API_URL=zoho_url,
        ZOHO_DESK_URL=zoho_url,
        THROUGHLINE_DB=str(data_dir / "console.db"),
        THROUGHLINE_CONFIG=str(data_dir / "none.toml"),
        THROUGHLINE_WEBHOOK_SECRET=webhook_secret,
    )
    structure: OperatingStructure = parse_structure(cast.structure_toml(TZ), source="console")
    starter = cast.populate(emulator, sandbox)
    deps = build_deps(settings, structure)
    api = create_app(deps)
    # The page's requests reach the app as HTTP requests to its own routes, exactly as Slack's and Zoho's do.
    app_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://throughline", timeout=30)
    manifest = cast.read_manifest()
    commands = cast.manifest_commands(manifest)
    slack = SlackSide(
        emulator,
        app_client,
        signing_secret,
        {c["command"]: c["usage_hint"] for c in commands},
        cast.unfurl_domains(manifest),
        read_only_dm=cast.messages_tab_read_only(manifest),
    )
    zoho = ZohoPanel(sandbox, app_client, webhook_secret, structure.handoff.won_stage)
    channels = {team: getattr(structure.channels, team) for team in ("sales", "finance", "support", "leadership")}
    info = ConsoleInfo(
        starter=starter,
        picker=cast.picker_order(emulator, starter),
        commands=commands,
        channels=channels,
        teams=["leadership", "finance", "support"],
    )

    async def digest(team: str) -> str:
        from bot.reports.digest_runs import send_digest

        return (await send_digest(deps, team)).summary()

    closing = threading.Event()
    mount_console(api, emulator, slack, zoho, info, send_digest=digest, closing=closing)
    return Console(api, deps, emulator, sandbox, app_client, closing, stops)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(host, port) from exc
    return sock


async def serve_console(
    console: Console, sock: socket.socket, *, started: Callable[[str], None], stop: asyncio.Event | None = None
) -> None:
    from bot.scheduler import create_scheduler

    await console.prime()
    scheduler = create_scheduler(console.deps)
    scheduler.start()
    server = _Server(uvicorn.Config(console.api, log_level="warning", timeout_graceful_shutdown=5), console.closing)
    host, port = sock.getsockname()[:2]

    async def announce() -> None:
        while not server.started:  # noqa: ASYNC110  (uvicorn offers no event for "listening")
            await asyncio.sleep(0.05)
        started(f"http://{host}:{port}")
        if stop is not None:
            await stop.wait()
            console.closing.set()
            server.should_exit = True

    watcher = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
        scheduler.shutdown(wait=False)


def run_console(
    host: str = "127.0.0.1", port: int = 3000, *, accounts: int = 25, echo: Callable[[str], None] = print
) -> None:
    """Serve in the foreground until Ctrl-C."""
    sock = _bind(host, port)
    if host not in ("127.0.0.1", "localhost", "::1"):
        echo(
            f"Warning: the console has no sign-in and lets anyone act as anyone; {host} exposes it beyond this machine."
        )
    with tempfile.TemporaryDirectory(prefix="throughline-console-") as tmp:
        echo("Starting Throughline on the embedded Zoho sandbox (no credentials, no network)…")
        console = build_console(Path(tmp), accounts=accounts)

        def started(url: str) -> None:
            echo(f"\n  Throughline console: {url}\n\n  Open it in a browser; Ctrl-C stops.\n")

        async def main() -> None:
            try:
                await serve_console(console, sock, started=started)
            finally:
                await console.aclose()

        try:
            asyncio.run(main())
        finally:
            sock.close()
        echo("Stopped.")


@contextlib.contextmanager
def console_in_thread(*, accounts: int = 25, trigger_ttl: float | None = None) -> Iterator[tuple[str, Console]]:
    """The whole console on a free loopback port in a background thread (browser tests, screenshots)."""
    sock = _bind("127.0.0.1", 0)
    ready = threading.Event()
    holder: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="throughline-console-") as tmp:
        console = build_console(Path(tmp), accounts=accounts)
        if trigger_ttl is not None:
            console.emulator.trigger_ttl = trigger_ttl

        def run() -> None:
            async def main() -> None:
                stop = asyncio.Event()
                holder["stop"] = (asyncio.get_running_loop(), stop)

                def started(url: str) -> None:
                    holder["url"] = url
                    ready.set()

                try:
                    await serve_console(console, sock, started=started, stop=stop)
                except BaseException as exc:
                    holder["error"] = exc
                    raise
                finally:
                    await console.aclose()
                    ready.set()

            asyncio.run(main())

        thread = threading.Thread(target=run, name="throughline-console", daemon=True)
        thread.start()
        if not ready.wait(120) or "url" not in holder:
            raise RuntimeError(f"the console did not start: {holder.get('error')!r}")
        try:
            yield str(holder["url"]), console
        finally:
            stopper: tuple[asyncio.AbstractEventLoop, asyncio.Event] = holder["stop"]  # type: ignore[assignment]
            stopper[0].call_soon_threadsafe(stopper[1].set)
            thread.join(timeout=30)
            sock.close()
