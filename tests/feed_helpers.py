"""Shared helpers for the event-feed tests: a structure with channels and a tiny grouping window, and
ways to post Zoho deliveries into the real app and wait for the inbox to settle."""

from __future__ import annotations

import json
from typing import Any

import httpx

from bot.config import Channels, OperatingStructure, Routing
from bot.deps import Deps

SALES, FINANCE, SUPPORT = "C0SALES001", "C0FINANCE1", "C0SUPPORT1"
SECRET = "hook-secret-123"  # tests/conftest.py settings


def feed_structure(window: float = 0.0) -> OperatingStructure:
    return OperatingStructure(
        timezone="Europe/Berlin",
        channels=Channels(sales=SALES, finance=FINANCE, support=SUPPORT),
        routing=Routing(group_window_seconds=window, per_channel_per_second=50),
    )


async def deliver(
    client: httpx.AsyncClient, app: str, body: Any, *, secret: str = SECRET, **headers: str
) -> httpx.Response:
    return await client.post(
        f"/zoho/{app}?secret={secret}",
        content=json.dumps(body),
        headers={"Content-Type": "application/json", **headers},
    )


async def settle(deps: Deps) -> None:
    """Process everything due in the inbox (webhook items, then the events they raised)."""
    await deps.intake.drain()


def posts(stub: Any, channel: str | None = None) -> list[dict[str, Any]]:
    calls = stub.calls_to("chat.postMessage")
    return [c for c in calls if channel is None or c.get("channel") == channel]
