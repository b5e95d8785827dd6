"""Run a `Sandbox` under uvicorn: in the foreground (``serve``) or on a background thread (``start_in_thread``)."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn

from bot.localserver import LocalServer
from bot.zoho.sandbox.app import Sandbox


async def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until cancelled or interrupted (what ``throughline sandbox`` runs)."""
    config = uvicorn.Config(
        sandbox.asgi_app(), host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    await uvicorn.Server(config).serve()


def start_in_thread(
    sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0
) -> tuple[str, Callable[[], None]]:
    """Start serving on a daemon thread; returns (base_url, stop) once the port answers (``port=0``: any free)."""
    server = LocalServer(sandbox.asgi_app(), host=host, port=port)
    return server.start(timeout=timeout), server.stop
