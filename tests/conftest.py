"""Shared fixtures: the sandbox over HTTP (ASGI transport), the Slack stand-in on a loopback port, a real
SQLite file, and the real FastAPI + Bolt app receiving signed requests."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

from bot.app import create_app
from bot.config import OperatingStructure, Settings
from bot.deps import Deps, build_deps
from bot.localserver import LocalServer
from bot.slack_requests import block_action_body, command_body, signed_headers
from bot.slack_stub import SlackStub
from bot.zoho.sandbox import Sandbox
from bot.zoho.transport import RetryPolicy

T = TypeVar("T")
ZOHO = "http://zoho.sandbox"
# Real retry behaviour with waits short enough for tests.
FAST_RETRY = RetryPolicy(attempts=3, initial_wait=0.001, max_wait=0.01, jitter=0.0, max_retry_after=0.05)


class Clock:
    """A clock tests can move; starts at the real now because the sandbox seeds relative to today."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def app_settled(wait: float = 10.0) -> None:
    """Wait until the app has finished what it was sent: Bolt runs each listener as a task on this loop after
    acknowledging, so every other task on the loop being done is the condition (no fixed sleep)."""
    loop, me = asyncio.get_running_loop(), asyncio.current_task()
    deadline = loop.time() + wait
    while pending := [t for t in asyncio.all_tasks() if t is not me and not t.done()]:
        if loop.time() > deadline:
            raise AssertionError(f"still running after {wait} s: {[t.get_name() for t in pending]}")
        await asyncio.sleep(0.01)


class SlackEnv:
    def __init__(self, stub: SlackStub, url: str) -> None:
        self.stub = stub
        self.url = url
        self._n = 0

    def response_url(self) -> str:
        self._n += 1
        return f"{self.url}/response/r{self._n}"

    async def wait_response(self, response_url: str, count: int = 1, wait: float = 10.0) -> list[dict[str, Any]]:
        token = response_url.rsplit("/", 1)[-1]
        got: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + wait
        while asyncio.get_running_loop().time() < deadline:
            got = [r.args for r in self.stub.responses if r.method == token]
            if len(got) >= count:
                return got
            await asyncio.sleep(0.01)
        raise AssertionError(f"expected {count} post(s) to {response_url}, got {len(got)}")

    async def wait_for(self, found: Callable[[], T], wait: float = 10.0) -> T:
        """`found()` as soon as it is truthy (polled while the app works); fails after `wait` seconds."""
        deadline = asyncio.get_running_loop().time() + wait
        while not (value := found()):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met within {wait} s")
            await asyncio.sleep(0.01)
        return value


@pytest.fixture(scope="session")
def sandbox_template() -> Sandbox:
    return Sandbox.seeded(accounts=25, seed=7)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox.seeded(accounts=25, seed=7)


@pytest.fixture
def slack() -> Iterator[SlackEnv]:
    stub = SlackStub()
    with LocalServer(stub.asgi_app()) as server:
        yield SlackEnv(stub, server.url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signing_secret() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def settings(tmp_path, sandbox: Sandbox, slack: SlackEnv, signing_secret: str, request: Any) -> Settings:
    creds = sandbox.credentials
    # THROUGHLINE_TEST_ENGINE=postgresql runs every test that uses these settings on a fresh PostgreSQL database.
    url = (
        request.getfixturevalue("postgres").new_database()
        if os.environ.get("THROUGHLINE_TEST_ENGINE") == "postgresql"
        else ""
    )
    return Settings(
        THROUGHLINE_DATABASE_URL=url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=signing_secret,
        SLACK_API_URL=f"{slack.url}/api/",
        ZOHO_CLIENT_ID=creds.client_id,
        ZOHO_CLIENT_SECRET=creds.client_secret,
        ZOHO_REFRESH_TOKEN=creds.refresh_token,
        ZOHO_BOOKS_ORG_ID=creds.books_org_id,
        ZOHO_DESK_ORG_ID=creds.desk_org_id,
        ZOHO_ACCOUNTS_URL=ZOHO,
        ZOHO_API_URL=ZOHO,
        ZOHO_DESK_URL=ZOHO,
        THROUGHLINE_DB=str(tmp_path / "throughline.db"),
        THROUGHLINE_CONFIG=str(tmp_path / "throughline.toml"),
        THROUGHLINE_WEBHOOK_SECRET="hook-secret-123",
    )


@pytest.fixture
def structure() -> OperatingStructure:
    return OperatingStructure(timezone="Europe/Berlin")


@pytest.fixture
async def deps(
    settings: Settings, structure: OperatingStructure, sandbox: Sandbox, clock: Clock
) -> AsyncIterator[Deps]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.asgi_app()), timeout=5)
    d = build_deps(settings, structure, http=http, clock=clock, retry=FAST_RETRY)
    yield d
    await d.aclose()


class SlackDriver:
    """Sends correctly signed Slack requests into the real FastAPI + Bolt app."""

    def __init__(self, http: httpx.AsyncClient, slack: SlackEnv, secret: str) -> None:
        self.http = http
        self.slack = slack
        self.secret = secret

    async def post(self, body: str, **header_overrides: str) -> httpx.Response:
        headers = signed_headers(body, self.secret) | header_overrides
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def command(self, text: str, command: str = "/account", **kw: str) -> tuple[httpx.Response, str]:
        url = self.slack.response_url()
        return await self.post(command_body(command, text, response_url=url, **kw)), url

    async def click(self, action_id: str, value: str, **kw: Any) -> tuple[httpx.Response, str]:
        url = self.slack.response_url()
        return await self.post(block_action_body(action_id, value, response_url=url, **kw)), url


@pytest.fixture
async def app_client(deps: Deps) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(deps)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://throughline") as client:
        yield client


@pytest.fixture
def driver(app_client: httpx.AsyncClient, slack: SlackEnv, signing_secret: str) -> SlackDriver:
    return SlackDriver(app_client, slack, signing_secret)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster for the session (tests/pg_cluster.py); `postgres.new_database()` per test."""
    from tests.pg_cluster import Cluster

    cluster = Cluster()
    yield cluster
    cluster.stop()
