"""Run a `Sandbox` under uvicorn: in the foreground (``serve``) or on a background thread (``start_in_thread``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import uvicorn

from bot.zoho.sandbox.app import Sandbox


def _server(sandbox: Sandbox, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(sandbox.asgi_app(), host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off")
    return uvicorn.Server(config)


async def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until cancelled or interrupted (what ``throughline sandbox`` runs)."""
    await _server(sandbox, host, port).serve()


def start_in_thread(
    sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0
) -> tuple[str, Callable[[], None]]:
    """Start serving on a daemon thread; returns (base_url, stop) once the port answers.

    ``port=0`` picks a free port. ``stop()`` shuts the server down and joins the thread.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = _server(sandbox, host, bound_port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="zoho-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"Zoho sandbox did not start on {host}:{bound_port}")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()

    return f"http://{host}:{bound_port}", stop
