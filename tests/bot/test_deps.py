"""The wiring: built eagerly with typed fields, one start and one stop however often stop is called."""

from __future__ import annotations

import httpx

from bot.deps import build_deps
from tests.conftest import FAST_RETRY


async def test_deps_start_once_and_stop_once(settings, structure, sandbox, clock):
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.asgi_app()), timeout=5)
    deps = build_deps(settings, structure, http=http, clock=clock, retry=FAST_RETRY)
    assert deps.feed.notifier is not None and deps.handoffs.audit is deps.audit_log  # one audit log
    deps.start()
    assert deps.intake.running
    await deps.aclose()
    await deps.aclose()  # a second stop (lifespan, then the caller) changes nothing
    assert not deps.intake.running and http.is_closed
