"""`throughline console` as a person runs it: prints the URL, serves the page, Ctrl-C stops it cleanly; a port in
use is a clear error."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time

import httpx

CLI = [sys.executable, "-c", "from bot.cli import main; main()", "console"]


def test_it_prints_the_url_serves_the_page_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen([*CLI, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = ""
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while not url and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            found = re.search(r"Throughline console: (http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else ""
        assert url, "the console never printed its URL"
        with httpx.Client(base_url=url, timeout=30) as http:
            assert "Throughline" in http.get("/").text
            with http.stream("GET", "/console/api/stream") as stream:  # an open live feed must not hold the stop
                proc.send_signal(signal.SIGINT)
                out, _ = proc.communicate(timeout=60)
                assert stream.status_code == 200
        assert proc.returncode == 0
        assert "Stopped." in out and "Traceback" not in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([*CLI, "--port", str(port)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"127.0.0.1:{port} is in use" in done.stderr and "--port" in done.stderr
