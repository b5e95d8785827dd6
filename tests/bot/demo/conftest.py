"""The demo runs once per test session (it is the slowest thing the suite does); its tests read the transcript."""

from __future__ import annotations

import asyncio
import io

import pytest

from bot.demo.run import run_demo


@pytest.fixture(scope="session")
def demo_text() -> str:
    """Everything `throughline demo` printed, run once for every test that reads it."""
    out = io.StringIO()
    assert asyncio.run(run_demo(json_out=False, out=out)) == 0
    return out.getvalue()
